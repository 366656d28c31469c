"""Papermill cases of lesson 03_linear_regression."""

LESSON = "03_linear_regression"
CASE = {'params': {'seed': 1, 'lr': 0.3, 'epochs': 80, 'features': ['area_m2', 'age_years'], 'overfit_houses': 40},
 'bad': [({'lr': 0.0}, 'lr = 0.0 is not allowed: must be > 0'),
         ({'epochs': 0}, 'epochs = 0 is not allowed: must be >= 1'),
         ({'overfit_houses': 4}, 'overfit_houses = 4 is not allowed: must be >= 5'),
         ({'features': ['area_m2', 'garden']}, "features[1] = 'garden' is not allowed: must be one of"),
         ({'features': ['rooms']}, "must include 'area_m2'")]}
