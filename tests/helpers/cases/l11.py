"""Papermill cases of lesson 11_scaling."""

LESSON = "11_scaling"
CASE = {'params': {'seed': 1,
            'corpus': 'synthetic',
            'sizes': [2, 4, 6, 8],
            'larger': 12,
            'steps': [20, 40],
            'batch_size': 8,
            'context': 8,
            'lr_grid': [0.2, 0.4],
            'sgd_lr_grid': [0.3, 1.0],
            'symbols': 4,
            'order': 2,
            'bootstrap_rounds': 20,
            'utilisation': 0.3},
 'bad': [({'corpus': 'poems'}, "corpus = 'poems' is not allowed: must be one of 'real', 'synthetic'"),
         ({'sizes': [2, 4, 8]}, 'sizes = [2, 4, 8] is not allowed: must hold at least 4 item(s)'),
         ({'sizes': [2, 4, 6, 9]}, 'sizes = [2, 4, 6, 9] is not allowed: need at least 4 different even widths'),
         ({'larger': 16}, 'larger = 16 is not allowed: must be > 32 and <= 1024'),
         ({'steps': [80]}, 'steps = [80] is not allowed: must hold at least 2 item(s)'),
         ({'lr_grid': []}, 'lr_grid = [] is not allowed: must hold at least 1 item(s)'),
         ({'bootstrap_rounds': 5}, 'bootstrap_rounds = 5 is not allowed: must be >= 20 and <= 10000'),
         ({'utilisation': 1.5}, 'utilisation = 1.5 is not allowed: must be > 0 and <= 1')]}
