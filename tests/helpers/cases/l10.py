"""Papermill cases of lesson 10_attention_and_gpt."""

LESSON = "10_attention_and_gpt"
CASE = {'params': {'seed': 1,
            'vocab_size': 300,
            'layers': 3,
            'width': 30,
            'heads': 5,
            'context': 24,
            'batch_size': 8,
            'steps': 40,
            'warmup': 4,
            'temperature': 1.2,
            'sample_tokens': 12},
 'bad': [({'width': 30, 'heads': 4}, 'heads = 4 is not allowed with width = 30: must divide the width'),
         ({'context': 8}, 'context = 8 is not allowed: must be >= 16 and <= 2048'),
         ({'warmup': 700}, 'warmup = 700 is not allowed: must be >= 0 and <= 699'),
         ({'layers': 0}, 'layers = 0 is not allowed: must be >= 1 and <= 48'),
         ({'temperature': 0.0}, 'temperature = 0.0 is not allowed: must be > 0 and <= 10')]}
