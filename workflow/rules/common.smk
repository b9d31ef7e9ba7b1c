# Config validation and the job keys. Every path comes from bdnn.pipeline.layout; every default
# and check from the JSON Schema shipped inside the bdnn package (workflow/schemas/ links to it).
# Parsing the workflow writes nothing and imports no torch (tests/test_workflow.py checks both):
# the configs the jobs read are written by the `config` rule, each named by its content.
import os
import re

from snakemake.exceptions import WorkflowError

from bdnn.pipeline import layout
from bdnn.pipeline.cells import cells as study_cells
from bdnn.pipeline.config import ConfigError, numbers_in_lists, validate_config
from bdnn.files import write_text
from bdnn.pipeline.keys import settings_key

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
# Beyond the paper, the transfer to another task (task_transfer; null = off).
TASK = settings_key(config, "transfer", "task_transfer") if config["task_transfer"] else None
# The validated configs the jobs read, each a file named by the digest of its content (written by
# the `config` rule, never rewritten), so a run with other settings never changes a file a running
# sweep reads. A run's own config (`whole=False`) is named without the sweep's lists (samples,
# seeds, the study block), which no run depends on: adding a seed, or running the study over the
# same runs, gives their jobs the same file, and reruns none of them.
SWEEP_LISTS = ("samples", "seeds", "study")
CONFIG_TEXT = {}


def config_file(cfg, whole=True):
    """The file of a validated config (see above)."""
    text = yaml.safe_dump(dict(cfg), sort_keys=True)
    named = text if whole else yaml.safe_dump({k: v for k, v in cfg.items() if k not in SWEEP_LISTS}, sort_keys=True)
    path = layout.config_file(R, named)
    CONFIG_TEXT.setdefault(path, text)
    return path


# the sweep's whole config (its tables, claims, figures and the study read it) and its runs' config
EFFECTIVE = config_file(config)
RUNS_CONFIG = config_file(config, whole=False)
# The config file of each settings key (the study adds its variants here).
CONFIG_OF = {DEVELOP: RUNS_CONFIG, TRANSFER: RUNS_CONFIG, TASK: RUNS_CONFIG}
# The develop settings and class subset whose network each transfer settings key transfers.
DEVELOP_OF = {TRANSFER: DEVELOP, TASK: DEVELOP}
SOURCE_OF = {TRANSFER: config["transfer"]["classes"], TASK: (config["task_transfer"] or {}).get("from")}
# The parent MLflow run (its record: the sweep's, keyed by its transfer settings) each settings
# key's runs nest under (the study adds its cells' keys, under the study's parent).
SWEEP_RECORD = layout.sweep_tracking_file(R, TRANSFER)
SWEEP_FILE_OF = {DEVELOP: SWEEP_RECORD, TRANSFER: SWEEP_RECORD, TASK: SWEEP_RECORD}
# The transfer jobs of this config: (experiment, settings key, networks).
TRANSFERS = [("transfer", TRANSFER, layout.NETWORKS)] + ([("task_transfer", TASK, layout.TASK_NETWORKS)] if TASK else [])


wildcard_constraints:
    digest=r"[0-9a-f]{16}",
    cell=r"[A-Za-z0-9_.+-]+",
    settings=r"[0-9a-f]{10}",
    classes="|".join(map(re.escape, CLASSES)),
    samples=r"\d+",
    seed=r"\d+",
    network="|".join(layout.NETWORKS),
    experiment="|".join(layout.EXPERIMENTS),


def develop_files(settings, classes, samples, seed):
    return layout.job_files(R, layout.develop_job(settings, classes, samples, seed))


def develop_jobs(settings):
    """The develop jobs of this config's sweep under one settings key (subset x count x seed)."""
    return [layout.develop_job(settings, c, s, seed) for c in CLASSES for s in config["samples"] for seed in config["seeds"]]


def transfer_files(experiment, settings, network, seed):
    return layout.job_files(R, layout.transfer_job(settings, network, seed, experiment))


def developed_files(wildcards):
    """The develop run whose network a transfer job starts from."""
    s = wildcards.settings
    return develop_files(DEVELOP_OF[s], SOURCE_OF[s], config["transfer"]["samples"], wildcards.seed)


def sweep_develop_files(role, settings=DEVELOP):
    """One file of the given role per develop run of this config (subset x count x seed)."""
    return [layout.job_files(R, job)[role] for job in develop_jobs(settings)]


def transfer_jobs(experiment):
    """The jobs of one transfer experiment of this config (network x seed); none where it is off."""
    return [
        layout.transfer_job(key, network, seed, experiment)
        for name, key, networks in TRANSFERS
        if name == experiment
        for network in networks
        for seed in config["seeds"]
    ]


def sweep_transfer_files(experiment, role):
    """One file of the given role per job of one transfer experiment."""
    return [layout.job_files(R, job)[role] for job in transfer_jobs(experiment)]


def tracked_outputs():
    develop = develop_jobs(DEVELOP)
    transfer = [job for experiment in layout.EXPERIMENTS for job in transfer_jobs(experiment)]
    return [layout.tracking_file(R, job) for job in develop + transfer]


def job_config(wildcards):
    """The config file of a job's settings key (ancient: its content is its name, so a newer copy
    never reruns a job)."""
    return ancient(CONFIG_OF[wildcards.settings])


def cell_config(wildcards):
    return ancient(config_file(CELLS[wildcards.cell].config, whole=False))


def sweep_record(wildcards):
    return SWEEP_FILE_OF[wildcards.settings]


# ---- the study (workflow/rules/study.smk): its cells, each a variant of this config

STUDY = config["study"]
STUDY_RECORD = layout.study_tracking_file(R)
STUDY_CONFIG = EFFECTIVE  # the study's config is this one (with its study block)
# the study's key (its cells and thresholds over the method's settings): a param of the study's
# rules, so that a change of the study block reruns them
STUDY_KEY = settings_key(config, "study") if STUDY is not None else None
CELLS = {}
if STUDY is not None:
    try:
        CELLS = {cell.name: cell for cell in study_cells(config)}
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    # each trained cell's config (the one its runs read)
    for cell in CELLS.values():
        if cell.trained:
            CONFIG_OF[cell.key] = config_file(cell.config, whole=False)


def study_cell(wildcards):
    if STUDY is None:
        raise WorkflowError("config key study: the study is off (null); run `make study` (config/study.yaml)")
    return CELLS[wildcards.cell]


def trained_cells():
    return [name for name, cell in CELLS.items() if cell.trained]


def study_targets(wildcards):
    """Everything the study makes; refused in one line where the config has no study block."""
    if STUDY is None:
        raise WorkflowError("config key study: the study is off (null); run `make study` (config/study.yaml)")
    runs = [layout.study_tracking_file(R, f"cells/{name}") for name in trained_cells()]
    return [*list(rules.study_map.output), *runs, *list(rules.track_study.output)]
