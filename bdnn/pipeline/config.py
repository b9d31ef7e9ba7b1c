"""Configuration: one JSON Schema (`bdnn/pipeline/config.schema.yaml`, shipped inside the package)
gives every default and every check; the rules it cannot express are bdnn.pipeline.checks.

The CLI, the library and the Snakemake workflow all go through `load_config`/`validate_config`
here, so they can never drift.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bdnn import BDNNError
from bdnn.data.registry import MNIST, DatasetSpec, dataset

SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"


class ConfigError(BDNNError):
    """A config value is missing, of the wrong type, or outside what is allowed."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-3` as a string; accept exponent floats without a dot, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def yaml_load(text: str) -> Any:
    """Parse YAML text (safe loader; `1e-3` is a float)."""
    return yaml.load(text, Loader=_Loader)


@functools.cache
def load_schema() -> dict[str, Any]:
    """The experiment's JSON Schema, parsed (once per process; do not modify the result)."""
    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def schema_enum(*path: str) -> tuple[str, ...]:
    """The allowed values of a key, e.g. schema_enum("fitness", "stability") -> ("normalized", "raw")."""
    node = load_schema()
    for key in path:
        node = node["properties"][key]
    return tuple(node["enum"])


def _fill_defaults(instance: dict[str, Any], schema: Mapping[str, Any]) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict) and "properties" in sub:
            _fill_defaults(instance[key], sub)


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"config: unknown key in {key}: {error.message.split('(')[-1].rstrip(')')}; allowed keys: {', '.join(allowed)}"
    rule = error.validator
    wanted = error.validator_value
    if rule == "enum":
        return f"config key {key}: {error.instance!r} is not allowed; choose one of {wanted}"
    if rule == "type":
        return f"config key {key}: {error.instance!r} is not of type {wanted}"
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"config key {key}: {error.instance!r} is not allowed; it must be {words[rule]} {wanted}"
    return f"config key {key}: {error.message}"


def variant(cfg: Mapping[str, Any]) -> str:
    """What sets a sweep's results apart from the paper's setting, as a folder name: the dataset
    where it is not MNIST and the pruning criterion where it is not Eq. 1 ("" for the default)."""
    criterion = cfg.get("prune", {}).get("criterion", "eq1") if isinstance(cfg.get("prune"), Mapping) else "eq1"
    parts = [cfg.get("dataset", MNIST.name), criterion]
    return "-".join(str(p) for p, default in zip(parts, (MNIST.name, "eq1"), strict=True) if p != default)


def _fill_places(cfg: dict[str, Any]) -> None:
    """The defaults that follow from the dataset and the criterion (unless set): the cache
    resources/<dataset>.npz; results/, figures/, the MLflow store and experiment of the default
    sweep, or results/<variant>/, figures/<variant>/, ... of any other (variant())."""
    sub = variant(cfg)
    cfg.setdefault("cache", f"resources/{cfg.get('dataset', MNIST.name)}.npz")
    cfg.setdefault("results_dir", f"results/{sub}" if sub else "results")
    cfg.setdefault("figures_dir", f"figures/{sub}" if sub else "figures")
    mlflow = cfg.get("mlflow")
    if isinstance(mlflow, dict):
        mlflow.setdefault("tracking_uri", f"sqlite:///{cfg['results_dir']}/mlflow.db")
        mlflow.setdefault("experiment", f"bdnn-sp-{sub}" if sub else "bdnn-sp")


def validate_config(config: Mapping[str, Any], lists: bool = True, transfer: bool = True) -> dict[str, Any]:
    """Fill defaults from the schema, validate, and check the cross-key rules; returns a new dict.
    A job's config (bdnn.pipeline.views) is checked without the sweep's lists (`lists`) and, where
    the job is not a transfer, without the transfer blocks (`transfer`).

    Raises ConfigError with a one-line message naming the offending key and what is allowed.
    """
    cfg = copy.deepcopy(dict(config))
    _fill_defaults(cfg, load_schema())
    _fill_places(cfg)
    errors = sorted(_validator().iter_errors(cfg), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise ConfigError(_describe(errors[0]))
    _resolve_class_names(cfg)
    from bdnn.pipeline.checks import check_semantics  # the cross-key rules need the validated types

    check_semantics(cfg, check_transfer=transfer, check_lists=lists)
    return cfg


def job_config(cfg: Mapping[str, Any], classes_spec: str, samples: int, seed: int) -> tuple[dict[str, Any], str]:
    """The config of one job: a validated sweep config narrowed to one subset, count and seed.

    Only what the narrowing can break is checked again (the job's own count and seed, and the
    cross-key rules for its subset); `cfg` must come from `validate_config`/`load_config`.
    """
    if samples < 1:
        raise ConfigError(f"--samples {samples}: must be a positive number of training samples")
    if seed < 0:
        raise ConfigError(f"--seed {seed}: must be >= 0")
    name, digits = parse_classes(classes_spec, cfg["classes"], dataset_of(cfg))
    job = {**copy.deepcopy(dict(cfg)), "classes": {name: digits}, "samples": [samples], "seeds": [seed]}
    from bdnn.pipeline.checks import check_semantics

    check_semantics(job, check_transfer=False)
    return job, name


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; a missing or malformed file is a one-line ConfigError."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {path}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: must hold a mapping of keys, not {type(data).__name__}")
    return data


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: values of `override` win, nested mappings are merged key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(
    *paths: str | Path, sets: Iterable[str] = (), overrides: Mapping[str, Any] | None = None, lists: bool = True, transfer: bool = True
) -> dict[str, Any]:
    """Read and merge YAML files (later wins), apply `--set KEY=VALUE` items and then
    `overrides`, fill defaults and validate (once)."""
    cfg: dict[str, Any] = {}
    for p in paths:
        cfg = merge(cfg, read_yaml(p))
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. prune.fraction=0.2")
        try:
            value = yaml_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: value is not valid YAML") from None
        set_dotted(cfg, key, value)
    if overrides:
        cfg = merge(cfg, overrides)
    return validate_config(cfg, lists, transfer)


def numbers_in_lists(value: Any) -> Any:
    """Integers written as strings inside lists become integers: `snakemake --config 'seeds=[0, 1]'`
    parses list items with YAML's base loader, which keeps every scalar a string."""
    if isinstance(value, list):
        return [int(v) if isinstance(v, str) and re.fullmatch(r"[-+]?\d+", v.strip()) else numbers_in_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: numbers_in_lists(v) for k, v in value.items()}
    return value


def set_dotted(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in a nested dict (creating the levels), as used by `--set a.b.c=VALUE`."""
    node = cfg
    *parents, last = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key {dotted}: {p} is not a mapping")
    node[last] = value


def dataset_of(cfg: Mapping[str, Any]) -> DatasetSpec:
    """The registry's entry of the config's dataset (`dataset`, MNIST where unset)."""
    return dataset(cfg.get("dataset", MNIST.name))


def class_labels(items: Iterable[int | str], data: DatasetSpec, key: str) -> list[int]:
    """Class labels from labels or class names (any case); a ConfigError naming `key` on an
    unknown name or a class given twice."""
    by_name = {name.lower(): label for label, name in enumerate(data.class_names)}
    labels = []
    for item in items:
        if isinstance(item, str) and not item.strip().isdigit():
            if item.strip().lower() not in by_name:
                raise ConfigError(f"{key}: unknown class {item!r}; {data.title}'s classes are {', '.join(data.class_names)}")
            labels.append(by_name[item.strip().lower()])
        else:
            labels.append(int(item))
    bad = [label for label in labels if not 0 <= label < data.n_classes]
    if bad:
        raise ConfigError(f"{key}: unknown class label(s) {bad}; {data.title}'s labels are 0-{data.n_classes - 1}")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{key}: a class is given twice in {list(items)}")
    return labels


def _resolve_class_names(cfg: dict[str, Any]) -> None:
    """Class names in `classes` and `task_transfer.to` become the dataset's labels."""
    data = dataset_of(cfg)
    cfg["classes"] = {name: class_labels(items, data, f"config key classes.{name}") for name, items in cfg["classes"].items()}
    tt = cfg.get("task_transfer")
    if isinstance(tt, dict) and "to" in tt:
        tt["to"] = class_labels(tt["to"], data, "config key task_transfer.to")


def parse_classes(spec: str, named: Mapping[str, list[int]] | None = None, data: DatasetSpec = MNIST) -> tuple[str, list[int]]:
    """Resolve `--classes`: a name from the config's `classes`, a range `0-4` or a list `1,3,7`.

    Returns (name, digits). Unknown, repeated or out-of-range labels, and fewer than two classes,
    are ConfigErrors.
    """
    if named and spec in named:
        digits = list(named[spec])
    else:
        try:
            if "-" in spec and "," not in spec and all(x.strip().isdigit() for x in spec.split("-")):
                lo, hi = (int(x) for x in spec.split("-"))
                digits = list(range(lo, hi + 1))
            else:
                digits = [int(x) for x in spec.split(",") if x.strip() != ""]
        except ValueError:
            parts = [x for x in spec.split(",") if x.strip() != ""]
            if not any(x.strip().lower() in {n.lower() for n in data.class_names} for x in parts):
                known = f" or one of {', '.join(named)}" if named else ""
                raise ConfigError(
                    f"--classes {spec!r}: give a label range like 0-4, a list like 1,3,7, class names like {data.class_names[1]},"
                    f"{data.class_names[3]}{known}"
                ) from None
            digits = class_labels(parts, data, f"--classes {spec!r}")
    if len(digits) < 2:
        raise ConfigError(f"--classes {spec!r}: needs at least two classes, got {digits}")
    if len(set(digits)) != len(digits):
        raise ConfigError(f"--classes {spec!r}: repeated class label in {digits}")
    bad = [d for d in digits if not 0 <= d < data.n_classes]
    if bad:
        raise ConfigError(f"--classes {spec!r}: unknown class label(s) {bad}; {data.title} {data.class_word}s are 0-{data.n_classes - 1}")
    return spec, digits
