"""Make data/house_prices.csv and data/house_prices_truth.json: SYNTHETIC house prices with a known truth.

Run from anywhere: ``python data/make_house_prices.py [OUTPUT_DIR]`` (default: this folder).
Only the standard library is used (``random`` with a fixed seed, fixed float formatting), so the
files come out byte for byte the same on every machine and Python version.

The generating model (price in thousands):

    area     ~ Uniform(40, 200) m²                    rounded to 0.1 m²
    rooms    = 1 + Poisson(area / 40)                 so E[rooms | area] = 1 + area / 40
    age      ~ Uniform(0, 80) years                   rounded to whole years
    distance ~ Uniform(0.5, 25) km to the centre      rounded to 0.01 km
    price    = 80 + 3.0·area + 12·rooms − 0.8·age − 3.0·distance + Normal(0, 25²),  rounded to 0.1
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

SEED = 2024
N = 600
NOISE_SD = 25.0
COEFFICIENTS = {"intercept": 80.0, "area_m2": 3.0, "rooms": 12.0, "age_years": -0.8, "distance_km": -3.0}
COLUMNS = ["area_m2", "rooms", "age_years", "distance_km", "price_k"]
AREA = (40.0, 200.0)
AGE = (0.0, 80.0)
DISTANCE = (0.5, 25.0)
ROOMS_PER_M2 = 1 / 40


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: count uniform draws until their product falls below exp(-mean)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def rows(seed: int = SEED, n: int = N) -> list[tuple[float, int, int, float, float]]:
    """The n houses, features rounded first so the price follows the model from the stored features."""
    rng = random.Random(seed)
    b = COEFFICIENTS
    out = []
    for _ in range(n):
        area = round(rng.uniform(*AREA), 1)
        rooms = 1 + poisson(rng, area * ROOMS_PER_M2)
        age = round(rng.uniform(*AGE))
        distance = round(rng.uniform(*DISTANCE), 2)
        mean = (
            b["intercept"] + b["area_m2"] * area + b["rooms"] * rooms
            + b["age_years"] * age + b["distance_km"] * distance
        )
        price = round(mean + rng.gauss(0.0, NOISE_SD), 1)
        out.append((area, rooms, age, distance, price))
    return out


def truth() -> dict:
    """What the lesson checks fitted models against: the coefficients, the noise and the feature laws."""
    return {
        "synthetic": True,
        "seed": SEED,
        "n": N,
        "units": {"area_m2": "m²", "rooms": "count", "age_years": "years", "distance_km": "km", "price_k": "thousands"},
        "coefficients": COEFFICIENTS,
        "noise_sd": NOISE_SD,
        "feature_means": {
            "area_m2": sum(AREA) / 2,
            "age_years": sum(AGE) / 2,
            "distance_km": sum(DISTANCE) / 2,
        },
        "rooms_given_area": {"intercept": 1.0, "slope": ROOMS_PER_M2},
    }


def write(folder: Path) -> tuple[Path, Path]:
    """Write the CSV and the truth JSON into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, truth_path = folder / "house_prices.csv", folder / "house_prices_truth.json"
    lines = [",".join(COLUMNS)]
    lines += [f"{a:.1f},{r:d},{g:d},{d:.2f},{p:.1f}" for a, r, g, d, p in rows()]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    truth_path.write_text(json.dumps(truth(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")
    return csv_path, truth_path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for path in write(target):
        print(f"wrote {path}")
