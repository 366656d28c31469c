"""Papermill cases of lesson 08_data_parallel."""

LESSON = "08_data_parallel"
CASE = {'params': {'world_size': 3, 'steps': 6, 'batch_size': 48, 'lr': 0.05, 'seed': 1, 'predict_batch': 65536},
 'bad': [({'world_size': 0}, 'world_size = 0 is not allowed: must be >= 1 and <= 8'),
         ({'batch_size': 63}, 'batch_size = 63 is not allowed: must be a multiple of world_size (2)'),
         ({'steps': 0}, 'steps = 0 is not allowed: must be >= 1'),
         ({'timeout_s': 1.0}, 'timeout_s = 1.0 is not allowed: must be >= 5')]}
