"""Papermill cases of lesson 01_loss_functions."""

LESSON = "01_loss_functions"
CASE = {'params': {'outlier': -8.0, 'delta': 2.5, 'n_samples': 200, 'seed': 5},
 'bad': [({'delta': 0.0}, 'delta = 0.0 is not allowed: must be > 0'),
         ({'outlier': 'high'}, "outlier = 'high' is not allowed: must be a number"),
         ({'n_samples': 1}, 'n_samples = 1 is not allowed: must be >= 2')]}
