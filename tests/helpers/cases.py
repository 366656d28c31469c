"""Per lesson: non-default parameters it must run with under papermill, and bad values that must stop it.

Every notebook in notebooks/ needs an entry (tests/notebooks/test_lessons.py checks). ``params`` are
merged with ``result_path`` by the test, which then checks the result JSON. Each ``bad`` case is
(parameters, text the one-line error must contain).
"""

CASES: dict[str, dict] = {
    "00_start_here": {
        "params": {"n": 1024, "seed": 3},
        "bad": [
            ({"n": -1}, "n = -1 is not allowed: must be >= 1"),
            ({"seed": "zero"}, "seed = 'zero' is not allowed: must be a whole number"),
            ({"device": "tpu"}, "device = 'tpu' is not allowed"),
        ],
    },
    "03_linear_regression": {
        "params": {"seed": 1, "lr": 0.3, "epochs": 80, "features": ["area_m2", "age_years"]},
        "bad": [
            ({"lr": 0.0}, "lr = 0.0 is not allowed: must be > 0"),
            ({"epochs": 0}, "epochs = 0 is not allowed: must be >= 1"),
            ({"features": ["area_m2", "garden"]}, "features[1] = 'garden' is not allowed: must be one of"),
            ({"features": ["rooms"]}, "must include 'area_m2'"),
        ],
    },
    "04_gpu_vs_cpu": {
        "params": {"seed": 1, "sizes": [8, 64, 128], "loop_n": 8, "ladder_n": 128, "dtypes": ["float32", "float16"],
                   "precision_n": 64, "batch_sizes": [256], "train_samples": 512, "min_run_time": 0.01},
        "bad": [
            ({"sizes": [64, 0]}, "sizes[1] = 0 is not allowed: must be >= 1"),
            ({"dtypes": ["float8"]}, "dtypes[0] = 'float8' is not allowed: must be one of"),
            ({"min_run_time": 0}, "min_run_time = 0.0 is not allowed: must be > 0"),
            ({"device": "tpu"}, "device = 'tpu' is not allowed"),
        ],
    },
    "01_loss_functions": {
        "params": {"outlier": -8.0, "delta": 2.5, "n_samples": 200, "seed": 5},
        "bad": [
            ({"delta": 0.0}, "delta = 0.0 is not allowed: must be > 0"),
            ({"outlier": "high"}, "outlier = 'high' is not allowed: must be a number"),
            ({"n_samples": 1}, "n_samples = 1 is not allowed: must be >= 2"),
        ],
    },
    "02_gradient_descent": {
        "params": {"lr": 0.9, "steps": 60, "explore_lr": 0.005, "momentum": 0.8, "batch_size": 32, "seed": 1},
        "bad": [
            ({"lr": -0.1}, "lr = -0.1 is not allowed: must be > 0"),
            ({"momentum": 1.0}, "momentum = 1.0 is not allowed: must be >= 0 and < 1"),
            ({"batch_size": 0}, "batch_size = 0 is not allowed: must be >= 1"),
        ],
    },
}
