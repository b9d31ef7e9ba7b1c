# Config validation and the job keys. Every path comes from bdnn.layout; every default and check
# from the JSON Schema shipped inside the bdnn package (workflow/schemas/ links to it).
import os
import re

from snakemake.exceptions import WorkflowError

from bdnn import layout
from bdnn.config import ConfigError, numbers_in_lists, settings_key, validate_config
from bdnn.files import write_text

import yaml

# One validation: the schema (defaults filled in place) plus the cross-key rules, with a
# one-line message naming the key and what is allowed.
try:
    config.update(validate_config(numbers_in_lists(dict(config))))
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

R = config["results_dir"]
FIG = config["figures_dir"]
CLASSES = list(config["classes"])
# The settings keys: a develop job's result depends on its subset, count, seed and the method's
# settings (DEVELOP); a transfer job's also on the transfer block (TRANSFER). Adding a seed or a
# sample count changes neither key, so no existing job reruns.
DEVELOP = settings_key(config)
TRANSFER = settings_key(config, "transfer")
# The validated config the jobs read (rewritten only when it changes, so its mtime is stable).
EFFECTIVE = f"{R}/{layout.CONFIG_FILE}"
write_text(EFFECTIVE, yaml.safe_dump(dict(config), sort_keys=True), only_if_changed=True)
# The config file of each settings key (the study adds its variants here).
CONFIG_OF = {DEVELOP: EFFECTIVE, TRANSFER: EFFECTIVE}
# The develop settings whose network each transfer settings key transfers.
DEVELOP_OF = {TRANSFER: DEVELOP}
# The sweep (parent MLflow run, keyed by its transfer settings) each settings key's runs nest under.
SWEEP_OF = {DEVELOP: TRANSFER, TRANSFER: TRANSFER}


wildcard_constraints:
    settings=r"[0-9a-f]{10}",
    classes="|".join(map(re.escape, CLASSES)),
    samples=r"\d+",
    seed=r"\d+",
    network="|".join(layout.NETWORKS),


def develop_files(settings, classes, samples, seed):
    return layout.job_files(R, layout.develop_job(settings, classes, samples, seed))


def transfer_files(settings, network, seed):
    return layout.job_files(R, layout.transfer_job(settings, network, seed))


def developed_files(wildcards):
    """The develop run whose network a transfer job starts from."""
    t = config["transfer"]
    return develop_files(DEVELOP_OF[wildcards.settings], t["classes"], t["samples"], wildcards.seed)


def sweep_develop_files(role):
    """One file of the given role per develop run of this config (subset x count x seed)."""
    return [develop_files(DEVELOP, c, s, seed)[role] for c in CLASSES for s in config["samples"] for seed in config["seeds"]]


def sweep_transfer_files(role):
    """One file of the given role per transfer job of this config (network x seed)."""
    return [transfer_files(TRANSFER, network, seed)[role] for network in layout.NETWORKS for seed in config["seeds"]]


def tracked_outputs():
    develop = [layout.develop_job(DEVELOP, c, s, seed) for c in CLASSES for s in config["samples"] for seed in config["seeds"]]
    transfer = [layout.transfer_job(TRANSFER, network, seed) for network in layout.NETWORKS for seed in config["seeds"]]
    return [layout.tracking_file(R, job) for job in develop + transfer]


def job_config(wildcards):
    return CONFIG_OF[wildcards.settings]


def sweep_record(wildcards):
    return layout.sweep_tracking_file(R, SWEEP_OF[wildcards.settings])
