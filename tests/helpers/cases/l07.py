"""Papermill cases of lesson 07_precision_and_compression."""

LESSON = "07_precision_and_compression"
CASE = {'params': {'seed': 1,
            'threads': 2,
            'epochs': 4,
            'hidden': 64,
            'wide': 256,
            'sparsities': [0.5, 0.9],
            'finetune_epochs': 1,
            'keep_units': 16,
            'matmul_n': 128,
            'matmul_batch': 32,
            'densities': [0.5, 0.05],
            'matvec_n': 256,
            'min_run_time': 0.01,
            'explore_bits': 4,
            'explore_sparsity': 0.7},
 'bad': [({'threads': 0}, 'threads = 0 is not allowed: must be >= 1'),
         ({'sparsities': [0.5, 1.0]}, 'sparsities[1] = 1.0 is not allowed: must be >= 0 and <= 0.99'),
         ({'explore_bits': 6}, 'explore_bits = 6 is not allowed: must be one of 32, 16, 8, 4'),
         ({'keep_units': 500}, 'keep_units = 500 is not allowed: must be >= 1 and <= 128'),
         ({'matvec_n': -1}, 'matvec_n = -1 is not allowed: must be >= 0 and <= 16384')]}
