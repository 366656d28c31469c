"""Papermill cases of lesson 00_start_here."""

LESSON = "00_start_here"
CASE = {'params': {'n': 1024, 'seed': 3, 'model_billions': 70.0},
 'bad': [({'n': -1}, 'n = -1 is not allowed: must be >= 1'),
         ({'seed': 'zero'}, "seed = 'zero' is not allowed: must be a whole number"),
         ({'model_billions': 0.0}, 'model_billions = 0.0 is not allowed: must be > 0'),
         ({'device': 'tpu'}, "device = 'tpu' is not allowed")]}
