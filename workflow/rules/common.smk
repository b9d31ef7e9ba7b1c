# Config validation (JSON Schema + the cross-key rules of bdnn.config) and shared helpers.
import os
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from bdnn.config import ConfigError, config_hash, validate_config

# bdnn's check first: the same schema, but a one-line message naming the key and what is allowed,
# plus the cross-key rules (counts divisible by the classes, floor below hidden_init, ...).
try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
validate(config, "../schemas/config.schema.yaml")  # Snakemake's check; fills the defaults in place

R = config["results_dir"]
FIG = config["figures_dir"]
SWEEP = config_hash(config)
CLASSES = list(config["classes"])
# The validated config every job reads (rewritten only when it changes, so its mtime is stable).
EFFECTIVE = f"{R}/config.yaml"


def _write_effective():
    text = yaml.safe_dump(dict(config), sort_keys=True)
    path = Path(EFFECTIVE)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


_write_effective()
CFG = f"--no-default-config --config {EFFECTIVE}"


wildcard_constraints:
    classes="|".join(map(__import__("re").escape, CLASSES)),
    samples=r"\d+",
    seed=r"\d+",


def develop_outputs(classes, samples, seed):
    d = f"{R}/develop/{classes}/{samples}/seed{seed}"
    return {"curve": f"{d}/curve.csv", "summary": f"{d}/summary.json", "model": f"{d}/model.pt"}


def all_develop(what):
    return [develop_outputs(c, s, seed)[what] for c in CLASSES for s in config["samples"] for seed in config["seeds"]]


def tracked_outputs():
    return [f"{R}/tracking/develop/{c}/{s}/seed{seed}.json" for c in CLASSES for s in config["samples"] for seed in config["seeds"]] + [
        f"{R}/tracking/transfer/seed{seed}.json" for seed in config["seeds"]
    ]
