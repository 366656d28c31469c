"""Papermill cases of lesson 09_tokens_and_language_models."""

LESSON = "09_tokens_and_language_models"
CASE = {'params': {'seed': 1,
            'vocab_size': 400,
            'compare_sizes': [300, 350],
            'context': 2,
            'embed_dim': 16,
            'hidden': 64,
            'steps': 300,
            'batch_size': 128,
            'bigram_steps': 60,
            'temperature': 1.3,
            'top_k': 5,
            'sample_tokens': 20},
 'bad': [({'vocab_size': 200}, 'vocab_size = 200 is not allowed: must be >= 257 and <= 4096'),
         ({'context': 0}, 'context = 0 is not allowed: must be >= 1 and <= 16'),
         ({'temperature': 0.0}, 'temperature = 0.0 is not allowed: must be > 0 and <= 10'),
         ({'top_k': 600}, 'top_k = 600 is not allowed: must be >= 1 and <= 512'),
         ({'compare_sizes': [300, 100]}, 'compare_sizes[1] = 100 is not allowed: must be >= 257 and <= 4096')]}
