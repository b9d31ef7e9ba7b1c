"""How far Eq. 1 and the `magnitude` criterion agree on the default runs (docs/method.md, "Other
pruning criteria"): Eq. 1 adds each neuron's outgoing weights to the incoming ones that magnitude
(torch's ln_structured on the hidden layer) counts alone.

`python -m benchmarks.agreement [--seeds 0 1 2] [--classes 0-9]` reruns the default develop runs
(config/config.yaml: Eq. 1 prunes, so each run is the default sweep's run, bit for bit) with a
criterion that, before each pruning step, also scores the neurons by magnitude: the Spearman rank
correlation of the two scores over the remaining neurons, and the share of the neurons Eq. 1
prunes that magnitude would prune too. Writes benchmarks/agreement.json (per sample count and
width band: medians and ranges over seeds and iterations).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from scipy.stats import spearmanr

from bdnn.data.store import load_dataset
from bdnn.data.tasks import make_task
from bdnn.method.criteria import Eq1, Magnitude
from bdnn.method.develop import DevelopData, develop
from bdnn.method.model import initial_network
from bdnn.method.streams import Stream, torch_generator
from bdnn.pipeline.config import dataset_of, load_config
from bdnn.pipeline.settings import develop_settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BANDS = ((1000, 1000), (300, 999), (50, 299), (2, 49))  # widths before a pruning step


class Agreement(Eq1):
    """Eq. 1, recording at every selection how magnitude would have chosen."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def select(self, model, n):
        chosen = super().select(model, n)
        other = Magnitude().select(model, n)
        eq1, mag = self.scores(model).numpy(), Magnitude().scores(model).numpy()
        rho = float(spearmanr(eq1, mag).statistic) if model.n_hidden > 2 else float("nan")
        overlap = len(set(chosen.tolist()) & set(other.tolist())) / n
        self.rows.append({"width": model.n_hidden, "pruned": n, "spearman": rho, "overlap": overlap})
        return chosen


def _summary(values: list[float]) -> dict[str, float | int]:
    values = [v for v in values if v == v]  # NaN: too few neurons for a rank correlation
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": statistics.median(values), "min": min(values), "max": max(values)}


def run(seeds: list[int], classes: str) -> dict[str, Any]:
    cfg = load_config(REPO / "config" / "config.yaml")
    ds = load_dataset(REPO / cfg["cache"], cfg["data_dir"], dataset_of(cfg))
    digits = cfg["classes"][classes]
    settings = develop_settings(cfg)
    per_count: dict[str, Any] = {}
    t0 = time.perf_counter()
    for samples in cfg["samples"]:
        rows = []
        for seed in seeds:
            task = make_task(ds, digits, samples, seed, 0)
            data = DevelopData.of(task.n_classes, task.train.arrays(), task.test.arrays())
            model = initial_network(ds.spec.input_size, cfg["hidden_init"], task.n_classes, cfg["init"], seed)
            criterion = Agreement()
            develop(model, data, settings, torch_generator(seed, Stream.ORDER), criterion)
            rows += criterion.rows
            print(f"{samples} samples, seed {seed}: {len(criterion.rows)} steps ({time.perf_counter() - t0:.0f} s)", flush=True)
        per_count[str(samples)] = {
            f"{lo}-{hi}": {
                "spearman": _summary([r["spearman"] for r in rows if lo <= r["width"] <= hi]),
                "overlap": _summary([r["overlap"] for r in rows if lo <= r["width"] <= hi]),
            }
            for lo, hi in BANDS
        }
    return {"seeds": seeds, "classes": classes, "per_count": per_count, "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--classes", default="0-9")
    parser.add_argument("--out", default=str(HERE / "agreement.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = run(args.seeds, args.classes)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for samples, bands in result["per_count"].items():
        line = "; ".join(
            f"width {b}: rho {v['spearman'].get('median', float('nan')):.2f}, overlap {v['overlap'].get('median', float('nan')):.2f}"
            for b, v in bands.items()
        )
        print(f"{samples}: {line}")


if __name__ == "__main__":
    main()
