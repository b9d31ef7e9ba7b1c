# Config validation and the job keys. Every path comes from bdnn.pipeline.layout; every default
# and check from the JSON Schema shipped inside the bdnn package (workflow/schemas/ links to it).
# Parsing the workflow writes nothing and imports no torch (tests/test_workflow.py checks both):
# the configs the jobs read are written by the `config` rule, each named by its content.
import os
import re

from snakemake.exceptions import WorkflowError

from bdnn.pipeline import layout
from bdnn.pipeline.cells import cells as study_cells
from bdnn.pipeline.comparison import cache_of, variants as compare_variants
from bdnn.pipeline.config import ConfigError, numbers_in_lists, validate_config
from bdnn.pipeline.keys import settings_key
from bdnn.pipeline.views import develop_view, tracking_view, transfer_view

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
# The configs the jobs read, each written by the `config` rule to a file named by the digest of its
# content (never rewritten), so a run with other settings never changes a file a running sweep
# reads. A job reads only what its result depends on (bdnn.pipeline.views): adding a seed, a
# sample count or a class subset gives the existing jobs the same files, and reruns none of them.
CONFIG_TEXT = {}


def config_file(cfg):
    """The file of a config or a job's view of it (see above)."""
    text = yaml.safe_dump(dict(cfg), sort_keys=True)
    path = layout.config_file(R, text)
    CONFIG_TEXT[path] = text
    return path


# the sweep's whole config: its tables, claims, figures and the study read it
EFFECTIVE = config_file(config)
# The config of each settings key (the study adds its variants here).
CFG_OF = {DEVELOP: config, TRANSFER: config, TASK: config}
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


def develop_jobs(settings, seeds=None):
    """The develop jobs of this config's sweep under one settings key (subset x count x seed; the
    sweep's seeds unless `seeds` is given)."""
    seeds = config["seeds"] if seeds is None else seeds
    return [layout.develop_job(settings, c, s, seed) for c in CLASSES for s in config["samples"] for seed in seeds]


def transfer_files(experiment, settings, network, seed):
    return layout.job_files(R, layout.transfer_job(settings, network, seed, experiment))


def seed_transfer_files(experiment, networks):
    """The result files of one transfer job (every network of one seed), by network and role."""
    return {
        f"{network}_{role}": path
        for network in networks
        for role, path in transfer_files(experiment, "{settings}", network, "{seed}").items()
    }


def transfer_out(wildcards, experiment):
    """The result folder of each network of a transfer job, as `bdnn transfer --out` takes it."""
    return os.path.dirname(transfer_files(experiment, wildcards.settings, "{network}", wildcards.seed)["table"])


def developed_files(wildcards):
    """The develop run whose network a transfer job starts from."""
    s = wildcards.settings
    return develop_files(DEVELOP_OF[s], SOURCE_OF[s], config["transfer"]["samples"], wildcards.seed)


# Scheduling: the longest jobs first, so that short develop runs fill the end of a sweep instead
# of a lone transfer job on one core (rules transfer and task_transfer: TRANSFER_PRIORITY).
TRANSFER_PRIORITY = {"transfer": 30, "task_transfer": 20}


def develop_priority(wildcards):
    """A develop run a transfer job starts from before any other; the others largest count first."""
    samples = int(wildcards.samples)
    key = (wildcards.settings, wildcards.classes)
    if samples == config["transfer"]["samples"] and key in {(DEVELOP_OF[s], SOURCE_OF[s]) for s in DEVELOP_OF}:
        return 10
    return develop_rank(samples)


def develop_rank(samples):
    """The priority of develop runs on `samples`: larger counts (longer runs) first."""
    return sum(count <= int(samples) for count in config["samples"])


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


def batch_develop_files(wildcards, role):
    """One file of the given role per seed of a tracking batch of develop runs."""
    w = wildcards
    return [develop_files(w.settings, w.classes, w.samples, seed)[role] for seed in config["seeds"]]


def batch_transfer_files(wildcards, role):
    """One file of the given role per seed of a tracking batch of transfer runs."""
    w = wildcards
    return [transfer_files(w.experiment, w.settings, w.network, seed)[role] for seed in config["seeds"]]


def tracked_outputs():
    """The tracking batches of this config: develop runs by subset and count, transfer runs by
    experiment and network (every seed in each)."""
    develop = [layout.develop_batch(DEVELOP, c, s) for c in CLASSES for s in config["samples"]]
    transfer = [layout.transfer_batch(key, network, name) for name, key, networks in TRANSFERS for network in networks]
    return [layout.tracking_file(R, batch) for batch in develop + transfer]


def develop_config(wildcards):
    """The config file a develop job reads (ancient: its content is its name, so a newer copy never
    reruns a job)."""
    return ancient(config_file(develop_view(CFG_OF[wildcards.settings], wildcards.classes)))


def transfer_config_of(experiment):
    """The config file the transfer jobs of one experiment read (ancient, as develop_config)."""
    return lambda w: ancient(config_file(transfer_view(CFG_OF[w.settings], experiment)))


def tracking_config(wildcards):
    """The config a tracking job reads: the store (a parent run's also its settings)."""
    return ancient(config_file(tracking_view(config)))


def parent_config(wildcards):
    return ancient(config_file(tracking_view(CFG_OF[wildcards.settings], parent=True)))


def cell_tracking_config(wildcards):
    return ancient(config_file(tracking_view(CELLS[wildcards.cell].config)))


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
    # each trained cell's config (its runs' views are read from it)
    for cell in CELLS.values():
        if cell.trained:
            CFG_OF[cell.key] = cell.config


def study_cell(wildcards):
    if STUDY is None:
        raise WorkflowError("config key study: the study is off (null); run `make study` (config/study.yaml)")
    return CELLS[wildcards.cell]


def cell_develop_files(role):
    """An input function: one file of the given role per develop run of a study cell (its settings
    key, the study's seeds)."""

    def files(wildcards):
        cell = study_cell(wildcards)
        return [layout.job_files(R, job)[role] for job in develop_jobs(cell.key, cell.config["seeds"])]

    return files


def trained_cells():
    return [name for name, cell in CELLS.items() if cell.trained]


def study_targets(wildcards):
    """Everything the study makes; refused in one line where the config has no study block."""
    if STUDY is None:
        raise WorkflowError("config key study: the study is off (null); run `make study` (config/study.yaml)")
    runs = [layout.study_tracking_file(R, f"cells/{name}") for name in trained_cells()]
    return [*list(rules.study_map.output), *runs, *list(rules.track_study.output), *list(rules.publish_study_map.output)]


# ---- the comparison (workflow/rules/compare.smk): one variant of this config per dataset and criterion

COMPARE = config["compare"]
COMPARE_RECORD = layout.compare_tracking_file(R)
VARIANTS = {}
if COMPARE is not None:
    try:
        VARIANTS = {(v.dataset, v.criterion): v for v in compare_variants(config)}
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    for _variant in VARIANTS.values():
        CFG_OF.setdefault(_variant.key, _variant.config)  # the configured dataset's Eq. 1 variant is this config
        # its runs are tracked under the comparison's parent run (the sweep's own under the sweep's)
        SWEEP_FILE_OF.setdefault(_variant.key, COMPARE_RECORD)
# the comparison's key (the method's settings and the compare block): its parent run's identity
COMPARE_KEY = settings_key(config, "compare") if COMPARE is not None else None
# the datasets other than the configured one, whose caches the compare_data rule builds
OTHER_DATASETS = [d for d in (COMPARE or {}).get("datasets", []) if d != config["dataset"]]


def compare_cache(dataset):
    """The cache of another dataset, beside the configured one's (as the variants read it)."""
    return cache_of(config, dataset)


def compare_on():
    if COMPARE is None:
        raise WorkflowError("config key compare: the comparison is off (null); run `make compare` (config/compare.yaml)")


def compare_targets(wildcards):
    """The comparison's outputs (its claims and their published copy) and their MLflow records,
    refused while it is off."""
    compare_on()
    return [*rules.compare_claims.output, *rules.publish_compare.output, *compare_tracked()]


def compare_batches(dataset, criterion):
    """(class subset, sample count) of one variant's develop runs: Eq. 1's whole sweep (claims 1-3,
    claim 5), every other criterion's compare.classes at compare.samples."""
    if criterion == "eq1":
        return [(c, s) for c in CLASSES for s in config["samples"]]
    return [(COMPARE["classes"], s) for s in COMPARE["samples"]]


def compare_develop_jobs(dataset, criterion):
    """The develop jobs of one variant (compare_batches x seeds)."""
    key = VARIANTS[dataset, criterion].key
    return [layout.develop_job(key, c, s, seed) for c, s in compare_batches(dataset, criterion) for seed in config["seeds"]]


def compare_tracked():
    """The MLflow records of the comparison: every variant's develop runs by subset and count (the
    sweep's own Eq. 1 runs under the sweep's parent run, the others under the comparison's), the
    scratch networks by dataset, and its results on its parent run."""
    develop = [
        layout.tracking_file(R, layout.develop_batch(VARIANTS[d, c].key, classes, samples))
        for d, c in VARIANTS
        for classes, samples in compare_batches(d, c)
    ]
    scratch = [layout.compare_tracking_file(R, f"scratch/{d}") for d in COMPARE["datasets"]]
    return [*develop, *scratch, layout.compare_tracking_file(R, "results")]


def shared_criteria(dataset):
    """The criteria whose runs on `dataset` at compare.samples the comparison's develop job makes
    from one trained start: every criterion but the one whose variant is the sweep's own settings
    (the configured dataset's Eq. 1)."""
    return [c for c in COMPARE["criteria"] if VARIANTS[dataset, c].key != DEVELOP]


def compare_develop_outputs():
    """The files of a comparison's develop job (rule compare_develop), named <dataset>_<criterion>_<role>
    and <dataset>_scratch_<role>."""
    runs = {
        f"{d}_{c}_{role}": path
        for d in COMPARE["datasets"]
        for c in shared_criteria(d)
        for role, path in develop_files(VARIANTS[d, c].key, "{classes}", "{samples}", "{seed}").items()
    }
    scratch = {
        f"{d}_scratch_{role}": path
        for d in COMPARE["datasets"]
        for role, path in layout.scratch_files(R, VARIANTS[d, "eq1"].key, "{classes}", "{samples}", "{seed}").items()
    }
    return {name.replace("-", "_"): path for name, path in {**runs, **scratch}.items()}


def compare_develop_inputs(role):
    """What each dataset's runs read: the config (a develop view of one of its variants), the
    cache, or the Eq. 1 curve of its scratch networks where Eq. 1 is the sweep's own run."""

    def files(wildcards):
        w, datasets = wildcards, COMPARE["datasets"]
        if role == "curve":
            return [develop_files(DEVELOP, w.classes, w.samples, w.seed)["curve"] for d in datasets if "eq1" not in shared_criteria(d)]
        variants = [VARIANTS[d, shared_criteria(d)[0]] for d in datasets]
        if role == "cache":
            return [v.config["cache"] for v in variants]
        return [ancient(config_file(develop_view(v.config, w.classes))) for v in variants]

    return files


def compare_develop_priority(wildcards):
    """A comparison's develop job before any single develop run (it is several runs long), the
    larger count first."""
    return develop_rank(wildcards.samples) + len(config["samples"])


def compare_develop_commands(wildcards, input, threads):
    """`bdnn compare develop` once per dataset: its criteria from one trained start, each run into
    its develop folder, then the scratch networks of its Eq. 1 run."""
    w, curves = wildcards, iter(input.curves)
    out = os.path.dirname(develop_files("{settings}", w.classes, w.samples, w.seed)["curve"])
    commands = []
    for d, cfg, cache in zip(COMPARE["datasets"], input.configs, input.caches, strict=True):
        criteria = shared_criteria(d)
        scratch = os.path.dirname(layout.scratch_files(R, VARIANTS[d, "eq1"].key, w.classes, w.samples, w.seed)["table"])
        curve = "" if "eq1" in criteria else f" --curve {next(curves)}"
        commands.append(
            f"bdnn compare develop --no-default-config --config {cfg} --cache {cache} --criteria {' '.join(criteria)}"
            f" --settings {' '.join(VARIANTS[d, c].key for c in criteria)} --classes {w.classes} --samples {w.samples}"
            f" --seed {w.seed} --threads {threads} --out '{out}' --scratch {scratch}{curve} --widths {' '.join(map(str, COMPARE['widths']))}"
            f" --scratch-settings {VARIANTS[d, 'eq1'].key}"
        )
    return " && ".join(commands)


def compare_trade_off_files(dataset, role):
    """One file of the given role per develop run on one dataset's trade-off curves (every
    criterion at compare.samples, compare.classes)."""
    return [
        layout.job_files(R, layout.develop_job(VARIANTS[dataset, c].key, COMPARE["classes"], s, seed))[role]
        for c in COMPARE["criteria"]
        for s in COMPARE["samples"]
        for seed in config["seeds"]
    ]


def compare_scratch_files(dataset, role):
    """One file of the given role per scratch job of one dataset (every Eq. 1 run at compare.samples)."""
    key = VARIANTS[dataset, "eq1"].key
    return [layout.scratch_files(R, key, COMPARE["classes"], s, seed)[role] for s in COMPARE["samples"] for seed in config["seeds"]]


def compare_sweep_files(role):
    """One file of the given role per run of every dataset's Eq. 1 sweep."""
    return [layout.job_files(R, job)[role] for d in COMPARE["datasets"] for job in compare_develop_jobs(d, "eq1")]


def develop_cache(wildcards):
    """The dataset cache a develop job reads: its settings' dataset's."""
    return CFG_OF[wildcards.settings]["cache"]


# Every config file any job may read, registered while parsing (no file is written: the `config`
# rule writes the one a job needs, from this table).
for _cfg in {id(c): c for c in CFG_OF.values()}.values():
    for _classes in _cfg["classes"]:
        config_file(develop_view(_cfg, _classes))
    for _experiment in layout.EXPERIMENTS:
        if _experiment == "transfer" or _cfg["task_transfer"]:
            config_file(transfer_view(_cfg, _experiment))
    config_file(tracking_view(_cfg, parent=True))
config_file(tracking_view(config))
for _cell in CELLS.values():
    config_file(tracking_view(_cell.config))


def registered_config(path):
    """The text of the registered config of this file's digest (the `config` rule writes it)."""
    if path not in CONFIG_TEXT:
        raise WorkflowError(f"{path}: no config of this workflow has this digest")
    return CONFIG_TEXT[path]
