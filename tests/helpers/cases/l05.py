"""Papermill cases of lesson 05_backpropagation."""

LESSON = "05_backpropagation"
CASE = {'params': {'seed': 2, 'activation': 'sigmoid', 'lr': 0.3, 'steps': 12, 'depth': 8, 'width': 32, 'batch': 64,
                   'min_run_time': 0.05},
 'bad': [({'lr': -1.0}, 'lr = -1.0 is not allowed: must be > 0'),
         ({'activation': 'swish'}, "activation = 'swish' is not allowed: must be one of 'relu', 'tanh', 'sigmoid'"),
         ({'depth': 1}, 'depth = 1 is not allowed: must be >= 2'),
         ({'device': 'tpu'}, "device = 'tpu' is not allowed")]}
