"""Where results live: the one home of the results layout and of every file name.

The Snakemake rules build their paths from these functions and pass them to the `bdnn`
commands; the commands and the tracking adapter name the files of a result folder only through
the constants here. Every argument may be a Snakemake wildcard such as "{seed}".

    <results>/configs/<digest>.yaml                            a validated config the jobs read, named by its content
    <results>/develop/<settings>/<classes>/<samples>/seed<seed>/{curve.csv,summary.json,model.pt}
    <results>/transfer/<settings>/<network>/seed<seed>/{transfer.csv,summary.json}
    <results>/task_transfer/<settings>/<network>/seed<seed>/{transfer.csv,summary.json}
    <results>/{logs,benchmarks,tracking}/<job>.{log,tsv,json}  <job> = develop/... or transfer/...
    <results>/{curves,summary,transfer,transfer_summary,task_transfer,task_transfer_summary}.csv
    <results>/claims.{md,json,html}, <results>/mlflow.db, <results>/mlartifacts/
    <figures>/{fig3,fig4,transfer_controls,task_transfer}.{png,pdf}, <figures>/README.md

<settings> is the job's settings key (bdnn.pipeline.keys.settings_key): runs of different method
settings sit side by side, and adding a seed or a sample count touches no existing folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# The network kinds of the transfer jobs (the {network} wildcard) and the figures' file names:
# defined where they belong (the method, the report), listed here with every other name.
from bdnn.method.names import CONTROLS, MEAN_WEIGHT_MODES, NETWORKS, STABILITY_MODES, TASK_NETWORKS  # noqa: F401
from bdnn.report.names import FIGURE_FORMATS, FIGURES_README  # noqa: F401

DEVELOP_FILES = {"curve": "curve.csv", "summary": "summary.json", "model": "model.pt"}
TRANSFER_FILES = {"table": "transfer.csv", "summary": "summary.json"}
TABLES = {
    "curves": "curves.csv",
    "summary": "summary.csv",
    "transfer": "transfer.csv",
    "transfer_summary": "transfer_summary.csv",
    "task_transfer": "task_transfer.csv",
    "task_transfer_summary": "task_transfer_summary.csv",
}
FIGURES = ("fig3", "fig4", "transfer_controls", "task_transfer")
MLARTIFACTS_DIR = "mlartifacts"  # the MLflow artifacts beside a SQLite store
CLAIMS_FILE = "claims.md"
CLAIMS_DATA_FILE = "claims.json"  # the verdicts and their statistics, for machines (MLflow, the study)
CLAIMS_PAGE_FILE = "claims.html"  # the same text as claims.md, for the Snakemake report

# ---- the columns of the files
# Both readings of S and of E are recorded at every iteration.
READING_COLUMNS = [f"S_{m}" for m in STABILITY_MODES] + [f"E_{m}" for m in MEAN_WEIGHT_MODES]
# curve.csv: `seconds` is its only timing column (everything else is deterministic);
# METRIC_COLUMNS are the per-iteration measurements (MLflow metrics with step = iteration).
TIMING_COLUMNS = ["seconds"]
CURVE_COLUMNS = [
    "iteration",
    "hidden",
    "pruned",
    "A",
    "test_acc",
    "S",
    "E",
    "F",
    *READING_COLUMNS,
    "train_loss",
    "train_acc",
    *TIMING_COLUMNS,
]
METRIC_COLUMNS = [c for c in CURVE_COLUMNS if c not in ("iteration", "pruned", *TIMING_COLUMNS)]
# summary.json of a develop run: its identity (RUN_KEYS, the key columns of the tables) and the
# scalars that describe the developed network (the summary table's other columns).
RUN_KEYS = ["classes", "n_classes", "samples", "seed"]
PEAK_KEYS = [
    "hidden_at_peak",
    "peak_censored",
    "peak_iteration",
    "A_at_peak",
    "S_at_peak",
    "E_at_peak",
    "F_at_peak",
    "test_acc_at_peak",
    "test_acc_unpruned",
    "hidden_at_S_peak",
    "iterations",
    "seconds",
]
SUMMARY_COLUMNS = [*RUN_KEYS, *PEAK_KEYS]
EXPERIMENTS = ("transfer", "task_transfer")
# transfer.csv: ERROR_COLUMNS are the measurements (MLflow metrics with step = step).
ERROR_COLUMNS = ["error_new", "error_test"]
TRANSFER_COLUMNS = ["seed", "network", "hidden", "new_samples", "step", "epoch", *ERROR_COLUMNS]
# transfer_summary.csv: one row per seed, network and draw of new samples (from summary.json).
NETWORK_KEYS = ["network", "hidden", "accuracy_before", "target", "epochs", "reached_target"]
DRAW_KEYS = ["auc_error_new", "final_error_new", "final_error_test", "best_error_test"]
TRANSFER_SUMMARY_COLUMNS = ["seed", *NETWORK_KEYS, "new_samples", *DRAW_KEYS]


def config_file(results: str | Path, text: str) -> str:
    """The file of a validated config whose YAML is `text`, named by the sha256 of its content:
    a config with other settings is another file, so writing one never changes what a running
    sweep reads (the workflow's `config` rule writes it)."""
    return f"{results}/configs/{config_digest(text)}.yaml"


def config_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def develop_job(settings: str, classes: str, samples: int | str, seed: int | str) -> str:
    """The id of a develop job, relative to the results folder."""
    return f"develop/{settings}/{classes}/{samples}/seed{seed}"


def develop_batch(settings: str, classes: str, samples: int | str) -> str:
    """The id of a batch of develop jobs tracked together (every seed of one subset and count)."""
    return f"develop/{settings}/{classes}/{samples}"


def transfer_batch(settings: str, network: str, experiment: str = "transfer") -> str:
    """The id of a batch of transfer jobs tracked together (every seed of one network kind)."""
    return f"{experiment}/{settings}/{network}"


def transfer_job(settings: str, network: str, seed: int | str, experiment: str = "transfer") -> str:
    """The id of a transfer job, relative to the results folder: one network kind (NETWORKS) of
    the transfer experiment, or (experiment "task_transfer", TASK_NETWORKS) of the transfer to
    another task."""
    return f"{experiment}/{settings}/{network}/seed{seed}"


def transfer_seed_job(settings: str, seed: int | str, experiment: str = "transfer") -> str:
    """The id of a transfer job as Snakemake runs it (its log and benchmark): every network of one
    seed; each network's results stay in its own folder (transfer_job)."""
    return f"{experiment}/{settings}/seed{seed}"


def job_files(results: str | Path, job: str) -> dict[str, str]:
    """The result files of a job (develop, transfer or task_transfer), by role."""
    names = DEVELOP_FILES if job.startswith("develop/") else TRANSFER_FILES
    return {role: f"{results}/{job}/{name}" for role, name in names.items()}


def log_file(results: str | Path, job: str) -> str:
    """The log of a job, or of a rule that runs once per sweep (`job` is then its name)."""
    return f"{results}/logs/{job}.log"


def benchmark_file(results: str | Path, job: str) -> str:
    return f"{results}/benchmarks/{job}.tsv"


def tracking_file(results: str | Path, job: str) -> str:
    """The record of a job's MLflow run (its id), written once the run is logged."""
    return f"{results}/tracking/{job}.json"


def sweep_tracking_file(results: str | Path, settings: str) -> str:
    """The record of the sweep's parent MLflow run."""
    return f"{results}/tracking/sweep-{settings}.json"


def sweep_results_file(results: str | Path, settings: str) -> str:
    """The record of the results put on the sweep's parent run."""
    return f"{results}/tracking/sweep-{settings}-results.json"


def tables(results: str | Path) -> dict[str, str]:
    """The results tables, by name."""
    return {name: f"{results}/{file}" for name, file in TABLES.items()}


def figure_files(figures: str | Path) -> dict[str, str]:
    """Every figure file, keyed `fig3`, `fig3_pdf`, ...: the first format is the plain key."""
    return {(name if i == 0 else f"{name}_{fmt}"): f"{figures}/{name}.{fmt}" for name in FIGURES for i, fmt in enumerate(FIGURE_FORMATS)}


# ---- the study (`make study`, bdnn.pipeline.study): its own folder under the results and the figures
#   <results>/study/cells/<cell>/{runs.csv,curves.csv,cell.json}
#   <results>/study/{claims_map.csv,report.md,report.html}
#   <results>/study/tracking/{parent,results}.json, <results>/study/tracking/cells/<cell>.json
#   <figures>/study/claims_map.{png,pdf}, <figures>/study/<cell>/{fig3,fig4}.{png,pdf}, <figures>/study/README.md
# A trained cell's develop runs sit beside the default's under <results>/develop/<its settings key>/.
STUDY_DIR = "study"
STUDY_CELL_FILES = {"runs": "runs.csv", "curves": "curves.csv", "cell": "cell.json"}
STUDY_FILES = {"map": "claims_map.csv", "report": "report.md", "page": "report.html"}
STUDY_FIGURES = ("fig3", "fig4")
MAP_FIGURE = "claims_map"


def study_dir(results: str | Path) -> str:
    return f"{results}/{STUDY_DIR}"


def study_cell_files(results: str | Path, cell: str) -> dict[str, str]:
    return {role: f"{study_dir(results)}/cells/{cell}/{name}" for role, name in STUDY_CELL_FILES.items()}


def study_files(results: str | Path) -> dict[str, str]:
    return {role: f"{study_dir(results)}/{name}" for role, name in STUDY_FILES.items()}


def study_tracking_file(results: str | Path, what: str = "parent") -> str:
    """The study's parent MLflow run (`parent`, written before its runs are logged), the record of
    its results on that run (`results`), or of a trained cell's runs logged under it (`cells/<cell>`)."""
    return f"{study_dir(results)}/tracking/{what}.json"


def study_cell_figures(figures: str | Path, cell: str) -> dict[str, str]:
    """{fig3, fig3_pdf, fig4, fig4_pdf} of one cell."""
    out = {}
    for name in STUDY_FIGURES:
        out[name] = f"{figures}/{STUDY_DIR}/{cell}/{name}.png"
        out[f"{name}_pdf"] = f"{figures}/{STUDY_DIR}/{cell}/{name}.pdf"
    return out


def published(figures: str | Path) -> dict[str, str]:
    """The results committed beside the figures, from which `bdnn readme` writes the README's
    generated blocks: the run's claims.json and the study's claims_map.csv (and its report.md, the
    mechanisms with their numbers, which the README points to)."""
    return {
        "claims": f"{figures}/{CLAIMS_DATA_FILE}",
        "study_map": f"{figures}/{STUDY_DIR}/{STUDY_FILES['map']}",
        "study_report": f"{figures}/{STUDY_DIR}/{STUDY_FILES['report']}",
    }


def study_map_figures(figures: str | Path) -> dict[str, str]:
    return {"map": f"{figures}/{STUDY_DIR}/{MAP_FIGURE}.png", "map_pdf": f"{figures}/{STUDY_DIR}/{MAP_FIGURE}.pdf"}


# ---- the comparison (`make compare`, bdnn.pipeline.compare): its own folder under the results and the figures
#   <results>/compare/scratch/<settings>/<classes>/<samples>/seed<seed>/{scratch.csv,summary.json}   networks trained from scratch
#   <results>/compare/<dataset>/{points.csv,verdicts.json}                            one dataset's trade-off and verdicts
#   <results>/compare/{claims.md,claims.json,claims.html}                             the comparison's verdicts and claim 5
#   <figures>/compare/tradeoff-<dataset>.{png,pdf}, <figures>/compare/claims.json, <figures>/compare/README.md
# Its develop runs are ordinary develop runs under each variant's settings key (<results>/develop/...).
COMPARE_DIR = "compare"
SCRATCH_FILES = {"table": "scratch.csv", "summary": "summary.json"}
SCRATCH_COLUMNS = ["seed", "samples", "target", "iteration", "hidden", "epochs", "test_acc", "seconds"]
COMPARE_DATASET_FILES = {"points": "points.csv", "verdicts": "verdicts.json"}
COMPARE_FILES = {"claims": CLAIMS_FILE, "data": CLAIMS_DATA_FILE, "page": CLAIMS_PAGE_FILE}
TRADEOFF_FIGURE = "tradeoff"


def compare_dir(results: str | Path) -> str:
    return f"{results}/{COMPARE_DIR}"


def compare_develop_job(classes: str, samples: int | str, seed: int | str) -> str:
    """The id of a comparison's develop job (every criterion's run of one subset, count and seed on
    every dataset), relative to the results folder; its runs' files are develop jobs' (develop_job)."""
    return f"{COMPARE_DIR}/develop/{classes}/{samples}/seed{seed}"


def scratch_job(settings: str, classes: str, samples: int | str, seed: int | str) -> str:
    """The id of a comparison's scratch job (every operating width of one develop run), relative to
    the results folder; <settings> is the develop run's (the Eq. 1 variant of one dataset)."""
    return f"{COMPARE_DIR}/scratch/{settings}/{classes}/{samples}/seed{seed}"


def scratch_files(results: str | Path, settings: str, classes: str, samples: int | str, seed: int | str) -> dict[str, str]:
    """{table, summary} of one scratch job: a row per operating width; its identity, config and time."""
    return {role: f"{results}/{scratch_job(settings, classes, samples, seed)}/{name}" for role, name in SCRATCH_FILES.items()}


def compare_dataset_files(results: str | Path, dataset: str) -> dict[str, str]:
    return {role: f"{compare_dir(results)}/{dataset}/{name}" for role, name in COMPARE_DATASET_FILES.items()}


def compare_files(results: str | Path) -> dict[str, str]:
    return {role: f"{compare_dir(results)}/{name}" for role, name in COMPARE_FILES.items()}


def tradeoff_figures(figures: str | Path, dataset: str) -> dict[str, str]:
    """{figure, figure_pdf} of one dataset's trade-off curves."""
    stem = f"{figures}/{COMPARE_DIR}/{TRADEOFF_FIGURE}-{dataset}"
    return {"figure": f"{stem}.png", "figure_pdf": f"{stem}.pdf"}


def compare_tracking_file(results: str | Path, what: str = "parent") -> str:
    """The comparison's parent MLflow run (`parent`, written before its runs are logged), the record
    of its results on that run (`results`), or of one dataset's scratch networks (`scratch/<dataset>`)."""
    return f"{compare_dir(results)}/tracking/{what}.json"


def published_compare(figures: str | Path) -> str:
    """The comparison's claims.json committed beside its figures (`bdnn readme` reads it)."""
    return f"{figures}/{COMPARE_DIR}/{CLAIMS_DATA_FILE}"
