"""Papermill cases of lesson 06_classifier."""

LESSON = "06_classifier"
CASE = {'params': {'seed': 1, 'hidden': 64, 'epochs': 12, 'lr': 0.05, 'batch_size': 32, 'weight_decay': 0.1,
                   'small_n': 40, 'small_epochs': 120, 'patience': 10, 'grid_widths': [8, 32],
                   'grid_sizes': [100, 400], 'grid_epochs': 40},
 'bad': [({'lr': -1.0}, 'lr = -1.0 is not allowed: must be > 0 and <= 0.5'),
         ({'hidden': 2}, 'hidden = 2 is not allowed: must be >= 4 and <= 4096'),
         ({'weight_decay': -0.1}, 'weight_decay = -0.1 is not allowed: must be >= 0 and <= 10'),
         ({'grid_sizes': [50, 5000]}, 'grid_sizes[1] = 5000 is not allowed: must be >= 10 and <= 1257')]}
