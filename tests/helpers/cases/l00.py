"""Papermill cases of lesson 00_start_here."""

LESSON = "00_start_here"
CASE = {'params': {'n': 1024, 'seed': 3},
 'bad': [({'n': -1}, 'n = -1 is not allowed: must be >= 1'),
         ({'seed': 'zero'}, "seed = 'zero' is not allowed: must be a whole number"),
         ({'device': 'tpu'}, "device = 'tpu' is not allowed")]}
