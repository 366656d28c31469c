"""Papermill cases of lesson 02_gradient_descent."""

LESSON = "02_gradient_descent"
CASE = {'params': {'lr': 0.9, 'steps': 60, 'explore_lr': 0.005, 'momentum': 0.8, 'batch_size': 32, 'seed': 1},
 'bad': [({'lr': -0.1}, 'lr = -0.1 is not allowed: must be > 0'),
         ({'momentum': 1.0}, 'momentum = 1.0 is not allowed: must be >= 0 and < 1'),
         ({'batch_size': 0}, 'batch_size = 0 is not allowed: must be >= 1')]}
