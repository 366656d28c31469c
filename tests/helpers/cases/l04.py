"""Papermill cases of lesson 04_gpu_vs_cpu."""

LESSON = "04_gpu_vs_cpu"
CASE = {
    "params": {"seed": 1, "sizes": [8, 64, 128], "add_sizes": [32, 512], "loop_n": 8, "ladder_n": 128,
               "dtypes": ["float32", "float16"], "precision_n": 64, "batch_sizes": [256], "train_samples": 512,
               "gpu_launch_us": 50.0, "min_run_time": 0.01},
    "bad": [
        ({"sizes": [64, 0]}, "sizes[1] = 0 is not allowed: must be >= 1"),
        ({"dtypes": ["float8"]}, "dtypes[0] = 'float8' is not allowed: must be one of"),
        ({"min_run_time": 0}, "min_run_time = 0.0 is not allowed: must be > 0"),
        ({"gpu_launch_us": -1.0}, "gpu_launch_us = -1.0 is not allowed: must be >= 0"),
        ({"device": "tpu"}, "device = 'tpu' is not allowed"),
    ],
}
