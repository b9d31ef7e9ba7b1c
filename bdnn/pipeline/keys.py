"""Settings keys: a job's identity is a hash of the settings that change its result, never of the
sweep's lists of seeds or sample counts, so adding a seed or a sample count changes no existing
job's key (and no folder), and a changed method setting runs new jobs beside the old ones."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

# The keys that change a develop run's result besides its class subset, sample count and seed.
# Everything else is the sweep's lists (samples, seeds, classes), the transfer experiment, or
# where/how a job runs (runtime, mlflow, results_dir, figures_dir, cache, data_dir).
# A key that is null (an optional feature that is off) is left out of the key, so adding such a
# feature to the schema changes no existing key.
METHOD_KEYS = (
    "dataset",
    "hidden_init",
    "lr",
    "batch_size",
    "initial_epochs",
    "retrain_epochs",
    "init",
    "prune",
    "fitness",
    "equal_steps",
    "trained_start",
)

# Settings added after results existed, left out of a key (and of a job's config file) while they
# hold the value every earlier result had, so that adding them changed no existing key or file:
# (path into the config, that value).
NEUTRAL = ((("dataset",), "mnist"), (("prune", "criterion"), "eq1"))

# The version of the code behind each part of a key: a change of the code that alters a result
# (not only a setting) bumps its part here, so that its jobs run anew under new keys beside the
# old results instead of mixing with them. A part at version 1 is left out of the hash (so keys
# made before versions existed stay valid). History: transfer 2 = the record schedule
# (transfer.records), the test error recorded only at epoch ends, and the scratch control's
# sample order from its own stream (Stream.SCRATCH_ORDER; its initialisation keeps SCRATCH).
CODE_VERSIONS = {"method": 1, "transfer": 2, "task_transfer": 1, "study": 1}


def method_settings(cfg: Mapping[str, Any], keys: Sequence[str] = METHOD_KEYS, nulls: bool = False) -> dict[str, Any]:
    """The config's values of `keys` (copies) without the NEUTRAL ones, and without the null ones
    unless `nulls` (a job's config file keeps them, as it always did)."""
    out = {k: copy.deepcopy(cfg[k]) for k in keys if k in cfg and (nulls or cfg[k] is not None)}
    for path, value in NEUTRAL:
        *parents, last = path
        node = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(last) == value:
            del node[last]
    return out


def settings(cfg: Mapping[str, Any], *extra: str) -> dict[str, Any]:
    """The settings that change a job's result besides its identity: METHOD_KEYS plus `extra`
    (a transfer job adds "transfer"), and the code versions of those parts past 1."""
    out = method_settings(cfg, (*METHOD_KEYS, *extra))
    versions = {part: CODE_VERSIONS[part] for part in ("method", *extra) if CODE_VERSIONS.get(part, 1) > 1}
    if versions:
        out["code_version"] = versions
    return out


def settings_key(cfg: Mapping[str, Any], *extra: str, length: int = 10) -> str:
    """A short stable hash of `settings(cfg, *extra)`: part of every result path and run key, so
    adding a seed or a sample count changes no existing job's key."""
    blob = json.dumps(settings(cfg, *extra), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:length]
