"""`bdnn`: the command line (argparse only). Every subcommand validates its config through the
project's JSON Schema and calls one function of the library; bad input is a one-line error
(exit 2), never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bdnn import BDNNError
from bdnn.pipeline.config import ConfigError, load_config
from bdnn.pipeline.keys import settings_key
from bdnn.pipeline.layout import DEVELOP_FILES, TABLES, tables

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


def _config(args: argparse.Namespace, lists: bool = True, transfer: bool = True, sets: Sequence[str] = ()) -> dict[str, Any]:
    """The validated config of a command: files, then --set (and `sets` after them), then the
    command's own flags. A job's command checks its own sample count and seed, not the sweep's
    lists (`lists`), and a command that transfers nothing does not check the transfer blocks (`transfer`)."""
    paths = list(args.config or [])
    if not paths and DEFAULT_CONFIG.exists() and not args.no_default_config:
        paths = [DEFAULT_CONFIG]
    flags: dict[str, Any] = {key: str(getattr(args, key)) for key in ("cache", "data_dir") if getattr(args, key, None) is not None}
    if getattr(args, "device", None):
        flags["runtime"] = {"device": args.device}
    return load_config(*paths, sets=[*(args.set or []), *sets], overrides=flags, lists=lists, transfer=transfer)


def _develop_progress(label: str):
    """A develop run's progress callback: a bar (or log lines) of its iterations."""
    bar = Progress(label)

    def progress(r: dict[str, Any], total: int) -> None:
        bar(r["iteration"] + 1, total, f"hidden={r['hidden']} A={r['A']:.4f}" + (f" F={r['F']:.4f}" if r["F"] is not None else ""))

    return progress


def _log_developed(s: dict[str, Any], out: str) -> None:
    log(
        f"peak of F at {s['hidden_at_peak']} hidden (iteration {s['peak_iteration']}{', censored at the floor' if s['peak_censored'] else ''}): "
        f"A={s['A_at_peak']:.4f} F={s['F_at_peak']:.4f}; un-pruned test accuracy {s['test_acc_unpruned']:.4f}; {s['seconds']:.1f}s -> {out}"
    )


def cmd_develop(args: argparse.Namespace) -> None:
    from bdnn.pipeline.jobs import run_develop

    progress = _develop_progress(f"develop {args.classes}/{args.samples}/seed{args.seed}")
    cfg = _config(args, lists=False, transfer=False)
    s = run_develop(cfg, args.classes, args.samples, args.seed, args.out, args.settings, args.threads, progress, log)
    _log_developed(s, args.out)


def _compare_develop(args: argparse.Namespace) -> None:
    from bdnn.pipeline.jobs import ScratchRequest, run_develop_each

    if len(set(args.criteria)) < len(args.criteria):
        raise ConfigError(f"--criteria {' '.join(args.criteria)}: each criterion once")
    cfgs = [_config(args, lists=False, transfer=False, sets=[f"prune.criterion={c}"]) for c in args.criteria]
    scratch = None
    if args.scratch:
        eq1 = _config(args, lists=False, transfer=False, sets=["prune.criterion=eq1"])
        scratch = ScratchRequest(eq1, _widths(args, eq1), args.scratch, args.curve, args.scratch_settings)
    elif args.curve or args.widths or args.scratch_settings:
        raise ConfigError("--curve, --widths and --scratch-settings are the scratch networks'; give --scratch too")
    progress = lambda c: _develop_progress(f"develop {c} {args.classes}/{args.samples}/seed{args.seed}")  # noqa: E731
    summaries = run_develop_each(cfgs, args.classes, args.samples, args.seed, args.out, args.settings, args.threads, progress, log, scratch)
    for s in summaries:
        _log_developed(s, args.out.replace("{settings}", s["settings"]))
    if scratch:
        log(f"scratch networks -> {scratch.out}")


def _widths(args: argparse.Namespace, cfg: dict[str, Any]) -> list[int]:
    """The operating widths: --widths, else the config's compare.widths."""
    widths = args.widths or (cfg["compare"] or {}).get("widths")
    if not widths:
        raise ConfigError("--widths: give the operating widths (the config has no compare block)")
    return widths


def cmd_transfer(args: argparse.Namespace) -> None:
    from bdnn.pipeline.jobs import TransferJob, run_transfer_job

    req = TransferJob(
        tuple(args.network), args.seed, args.out, args.other_task, args.model, args.develop_summary, args.settings, args.threads
    )
    for s in run_transfer_job(_config(args, lists=False), req, log):
        log(
            f"{'task ' if args.other_task else ''}transfer of the {s['network']} network ({s['hidden']} hidden, "
            f"accuracy {s['accuracy_before']:.4f} after {s['epochs']} epochs"
            f"{'' if s['reached_target'] else ', target NOT reached'}) done in {s['seconds']:.1f}s -> {req.out_of(s['network'])}"
        )


def cmd_data(args: argparse.Namespace) -> None:
    from bdnn.data.store import load_dataset
    from bdnn.pipeline.config import dataset_of

    cfg = _config(args)
    t0 = time.perf_counter()
    spec = dataset_of(cfg)
    ds = load_dataset(cfg["cache"], cfg["data_dir"], spec, log=log)
    log(
        f"{spec.title} verified: {len(ds.train_labels)} training and {len(ds.test_labels)} test images in {cfg['cache']} ({time.perf_counter() - t0:.1f}s)"
    )


def cmd_validate(args: argparse.Namespace) -> None:
    cfg = _config(args)
    if args.print:
        print(json.dumps(cfg, indent=2))
    log(f"config is valid (develop settings key {settings_key(cfg)}, transfer settings key {settings_key(cfg, 'transfer')})")


def cmd_aggregate(args: argparse.Namespace) -> None:
    from bdnn.pipeline.aggregate import collect, write_table

    frames = collect(args.curves, args.summaries, args.transfer, args.transfer_summaries, args.task_transfer, args.task_transfer_summaries)
    for name, path in tables(args.out).items():
        log(f"wrote {write_table(frames[name], path)}")


def cmd_figures(args: argparse.Namespace) -> None:
    from bdnn.pipeline.outputs import write_figures

    for path in write_figures(_config(args), {name: getattr(args, name) for name in TABLES}, args.out):
        log(f"wrote {path}")


def cmd_claims(args: argparse.Namespace) -> None:
    from bdnn.pipeline.outputs import write_claims

    for path in write_claims(_config(args), args.curves, args.transfer_summary, args.task_transfer_summary, args.out, args.data, args.html):
        log(f"wrote {path}")


def _track(args: argparse.Namespace) -> dict[str, Any]:
    from bdnn.tracking import parents, runs

    cfg = _config(args, lists=False, transfer=False)
    if args.what in ("init", "study", "compare"):
        return runs.init_parent(cfg, "sweep" if args.what == "init" else args.what, _run_names(cfg, args.what))
    results = {
        "sweep": parents.track_sweep_results,
        "study-results": parents.track_study_results,
        "compare-results": parents.track_compare_results,
    }
    if args.what in results:
        return results[args.what](cfg, args.sweep, Path(args.claims), Path(args.claims_data), [Path(f) for f in args.files])
    # several folders in one process: one import of mlflow for all (the study logs a cell's runs at once)
    done = [_track_result(cfg, args.what, Path(r), args.sweep) for r in args.result]
    return done[0] if len(done) == 1 else {"runs": done}


def _run_names(cfg: dict[str, Any], kind: str) -> dict[str, str]:
    """The name of each settings key whose runs nest under the study's or the comparison's parent
    run: a trained study cell's, or a comparison variant's (the sweep's own runs stay the sweep's)."""
    if kind == "study":
        from bdnn.pipeline.cells import cells as study_cells

        return {c.key: c.name for c in study_cells(cfg) if c.trained}
    if kind == "compare":
        from bdnn.pipeline.comparison import variants
        from bdnn.pipeline.keys import settings_key

        return {v.key: f"{v.dataset}-{v.criterion}" for v in variants(cfg) if v.key != settings_key(cfg)}
    return {}


def _track_result(cfg: dict[str, Any], kind: str, result: Path, sweep: str) -> dict[str, Any]:
    """One result folder as one MLflow run; a new develop run also gets a plot of its curve."""
    from bdnn.tracking import runs

    if kind in ("transfer", "scratch"):
        return (runs.track_transfer if kind == "transfer" else runs.track_scratch)(cfg, result, sweep)
    summary = json.loads((result / DEVELOP_FILES["summary"]).read_text())
    cell = json.loads(Path(sweep).read_text()).get("cells", {}).get(summary["settings"])
    name = f"{cell + '-' if cell else ''}develop-{summary['classes']}-{summary['samples']}-seed{summary['seed']}"

    def plot(folder: Path) -> list[Path]:
        import pandas as pd

        from bdnn.report.run_plot import plot_run

        return [plot_run(pd.read_csv(result / DEVELOP_FILES["curve"]), folder / "curve.png", name)]

    return runs.track_develop(cfg, result, sweep, plot)


def cmd_track(args: argparse.Namespace) -> None:
    from bdnn.files import write_json
    from bdnn.tracking.store import require_mlflow

    require_mlflow()
    info = _track(args)
    if args.out:
        write_json(args.out, info)
    log(f"tracked: {info}")


def cmd_study(args: argparse.Namespace) -> None:
    from bdnn.pipeline import study

    cfg = _config(args)
    if cfg["study"] is None:
        raise ConfigError("config key study: this config has no study block; give the study's config")
    if args.step == "cell":
        written = study.write_cell(cfg, args.cell, args.curves, args.summaries, args.out, args.figures)
    else:
        written = study.write_map(cfg, args.cells, args.cell_figures or [], args.out, args.figures)
    for path in written:
        log(f"wrote {path}")


def cmd_compare(args: argparse.Namespace) -> None:
    from bdnn.pipeline import compare
    from bdnn.pipeline.comparison import compare_block

    if args.step == "develop":
        _compare_develop(args)
        return
    if args.step == "scratch":
        from bdnn.pipeline.jobs import run_scratch_job

        cfg = _config(args, lists=False, transfer=False)
        widths = _widths(args, cfg)
        rows = run_scratch_job(cfg, args.classes, args.samples, args.seed, args.curve, widths, args.out, args.settings, args.threads, log)
        log(f"{len(rows)} scratch networks: " + ", ".join(f"{r['hidden']} hidden {r['test_acc']:.4f}" for r in rows) + f" -> {args.out}")
        return
    cfg = _config(args)
    compare_block(cfg)
    if args.step == "dataset":
        written = compare.write_dataset(cfg, args.dataset, args.curves, args.summaries, args.scratch, args.out, args.figures)
    else:
        written = compare.write_claims(cfg, args.verdicts, args.curves, args.summaries, args.out, args.figures)
    for path in written:
        log(f"wrote {path}")


def cmd_ui(args: argparse.Namespace) -> None:
    import os

    from bdnn.tracking.store import ui_target

    target = ui_target(_config(args))
    if target["warning"]:
        log(f"warning: {target['warning']}")
    url = f"http://127.0.0.1:{args.port}/#/experiments/{target['experiment_id']}/runs"
    log(f"serving {target['store']}: open {url} (the runs table; Ctrl-C stops the server)")
    for kind, command in (("study", "make study"), ("compare", "make compare")):
        if target[f"{kind}_experiment_id"] is not None:
            log(f"the {kind} ({command}): http://127.0.0.1:{args.port}/#/experiments/{target[f'{kind}_experiment_id']}/runs")
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", f"sqlite:///{target['store']}",
           "--artifacts-destination", str(target["artifacts"]), "--host", "127.0.0.1", "--port", str(args.port)]  # fmt: skip
    os.execv(sys.executable, cmd)


def cmd_readme(args: argparse.Namespace) -> None:
    import csv

    from bdnn.pipeline.layout import published, published_compare
    from bdnn.report.readme_blocks import BlockError, render

    readme, claims = Path(args.readme), Path(args.claims)
    study = Path(args.study_map or published("figures")["study_map"])
    compare = Path(args.compare or published_compare("figures"))
    for path in (readme, claims, *([study] if args.study_map else []), *([compare] if args.compare else [])):
        if not path.is_file():
            raise BDNNError(f"no file {path}")
    try:
        data = json.loads(claims.read_text())
        rows = None
        if study.is_file():
            with study.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
        compared = json.loads(compare.read_text()) if compare.is_file() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise BDNNError(f"cannot read the results: {exc}") from None
    text = readme.read_text()
    try:
        new = render(text, data, rows, (str(claims), str(study), str(compare)), compared)
    except BlockError as exc:
        raise BDNNError(str(exc)) from None
    sources = ", ".join([str(claims), *([str(study)] if rows is not None else []), *([str(compare)] if compared is not None else [])])
    if args.check:
        if new != text:
            sys.stderr.write(f"bdnn readme: {readme}'s generated blocks differ from {sources}: run `bdnn readme`\n")
            raise SystemExit(1)
        log(f"{readme}: the generated blocks match {sources}")
        return
    if new != text:
        readme.write_text(new)
    log(f"{readme}: generated blocks written from {sources}")


def main(argv: Sequence[str] | None = None) -> int:
    from bdnn.cli_parser import build_parser

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
