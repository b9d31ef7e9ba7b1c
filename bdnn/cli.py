"""`bdnn`: the command line. Every subcommand validates its config through the project's JSON
Schema; bad input is a one-line error (exit 2), never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import yaml

from bdnn import BDNNError, __version__
from bdnn.config import ConfigError, job_config, merge, read_yaml, set_dotted, validate_config, yaml_load

DEFAULT_CONFIG = Path("config/config.yaml")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class Progress:
    """A progress bar on a terminal, plain log lines otherwise (both on stderr)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.t0 = max(total, 1), label, time.perf_counter()
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, text: str) -> None:
        elapsed = time.perf_counter() - self.t0
        if self.tty:
            width = 30
            fill = int(width * min(done, self.total) / self.total)
            sys.stderr.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} {text} {elapsed:6.1f}s\x1b[K")
            if done >= self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(f"{self.label} {done}/{self.total} {text} ({elapsed:.1f}s)\n")
        sys.stderr.flush()


def log(msg: str) -> None:
    sys.stderr.write(f"[bdnn] {msg}\n")
    sys.stderr.flush()


def _config_from_args(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    paths = list(args.config or [])
    if not paths and DEFAULT_CONFIG.exists() and not args.no_default_config:
        paths = [DEFAULT_CONFIG]
    cfg: dict[str, Any] = {}
    for p in paths:
        cfg = merge(cfg, read_yaml(p))
    for item in args.set or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. prune.fraction=0.2")
        key, raw = item.split("=", 1)
        try:
            value = yaml_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: value is not valid YAML") from None
        set_dotted(cfg, key, value)
    for key in ("cache", "data_dir"):
        if getattr(args, key, None) is not None:
            cfg[key] = str(getattr(args, key))
    if getattr(args, "device", None):
        cfg.setdefault("runtime", {})["device"] = args.device
    if extra:
        cfg = merge(cfg, extra)
    return cfg


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


def _task_from_args(base: dict[str, Any], classes_spec: str, samples: int, seed: int, check_transfer: bool = False):
    from bdnn.data import load_mnist, make_task

    cfg, name = job_config(base, classes_spec, samples, seed, check_transfer)
    digits = cfg["classes"][name]
    mnist = load_mnist(cfg["cache"], cfg["data_dir"], log=log)
    val = cfg["fitness"]["validation_size"] if cfg["fitness"]["eval_split"] == "validation" else 0
    return cfg, name, mnist, make_task(mnist, digits, samples, seed, val)


def cmd_develop(args: argparse.Namespace) -> None:
    import torch

    from bdnn.checkpoint import save_checkpoint
    from bdnn.develop import CURVE_COLUMNS, develop
    from bdnn.files import write_csv, write_json
    from bdnn.pruning import schedule_sizes
    from bdnn.train import resolve_device

    threads = _threads(args.threads)
    cfg, name, _, task = _task_from_args(_config_from_args(args), args.classes, args.samples, args.seed)
    device = resolve_device(cfg["runtime"]["device"])
    p = cfg["prune"]
    total = len(schedule_sizes(cfg["hidden_init"], p["schedule"], p["fraction"], p["count"], p["min_hidden"])) + 1
    bar = Progress(total, f"develop {name}/{args.samples}/seed{args.seed}")
    res = develop(task, cfg, args.seed, device,
                  progress=lambda r: bar(r["iteration"] + 1, f"hidden={r['hidden']} A={r['A']:.4f}" + (f" F={r['F']:.4f}" if r["F"] is not None else "")))
    out = Path(args.out)
    identity = {"classes": name, "digits": task.digits, "n_classes": task.n_classes, "samples": args.samples, "seed": args.seed}
    save_checkpoint(out / "model.pt", res.model, cfg, identity)
    write_csv(out / "curve.csv", res.curve, CURVE_COLUMNS)
    write_json(out / "summary.json", {**identity, **res.summary, "peak": res.peak, "config": cfg,
                                      "threads": threads, "device": str(device), "torch": torch.__version__, "bdnn": __version__})
    s = res.summary
    log(f"peak of F at {s['hidden_at_peak']} hidden (iteration {s['peak_iteration']}{', censored at the floor' if s['peak_censored'] else ''}): "
        f"A={s['A_at_peak']:.4f} F={s['F_at_peak']:.4f}; un-pruned test accuracy {s['test_acc_unpruned']:.4f}; {s['seconds']:.1f}s -> {out}")


def cmd_transfer(args: argparse.Namespace) -> None:
    import torch

    from bdnn.checkpoint import load_checkpoint
    from bdnn.develop import develop
    from bdnn.files import write_csv, write_json
    from bdnn.transfer import TRANSFER_COLUMNS, run_transfer
    from bdnn.train import resolve_device

    threads = _threads(args.threads)
    base = _config_from_args(args)
    t = validate_config(base)["transfer"]
    cfg, name, mnist, task = _task_from_args(base, t["classes"], t["samples"], args.seed, check_transfer=True)
    device = resolve_device(cfg["runtime"]["device"])
    if args.model:
        pruned, _, meta = load_checkpoint(args.model, expect_in=784, expect_out=task.n_classes, device=device)
        if meta and (meta.get("samples"), meta.get("seed"), meta.get("digits")) != (t["samples"], args.seed, task.digits):
            raise ConfigError(f"--model {args.model}: was developed on {meta.get('samples')} samples of {meta.get('digits')} with seed "
                              f"{meta.get('seed')}, not {t['samples']} of {task.digits} with seed {args.seed}")
    else:
        log(f"developing the pruned network on {t['samples']} samples first (pass --model to reuse one)")
        pruned = develop(task, cfg, args.seed, device).model
    res = run_transfer(mnist, task, pruned, cfg, args.seed, device, log=log)
    out = Path(args.out)
    write_csv(out / "transfer.csv", [{"seed": args.seed, **r} for r in res.rows], ["seed", *TRANSFER_COLUMNS])
    write_json(out / "summary.json", {"seed": args.seed, "classes": name, "samples": t["samples"], **res.summary, "config": cfg,
                                      "threads": threads, "device": str(device), "torch": torch.__version__, "bdnn": __version__})
    s = res.summary
    log(f"transfer done in {s['seconds']:.1f}s: pruned {s['hidden_pruned']} hidden at A={s['A_pruned']:.4f}, "
        f"un-pruned A={s['A_unpruned']:.4f} after {s['unpruned_epochs']} epochs -> {out}")


def cmd_data(args: argparse.Namespace) -> None:
    from bdnn.data import load_mnist

    cfg = validate_config(_config_from_args(args))
    t0 = time.perf_counter()
    m = load_mnist(cfg["cache"], cfg["data_dir"], log=log)
    log(f"MNIST verified: {len(m.train_labels)} training and {len(m.test_labels)} test images in {cfg['cache']} ({time.perf_counter() - t0:.1f}s)")


def cmd_validate(args: argparse.Namespace) -> None:
    cfg = validate_config(_config_from_args(args))
    if args.print:
        print(json.dumps(cfg, indent=2))
    log("config is valid")


def cmd_aggregate(args: argparse.Namespace) -> None:
    from bdnn.aggregate import aggregate

    cfg = validate_config(_config_from_args(args))
    for path in aggregate(cfg):
        log(f"wrote {path}")


def cmd_figures(args: argparse.Namespace) -> None:
    from bdnn.plots import make_figures

    cfg = validate_config(_config_from_args(args))
    for path in make_figures(cfg, Path(args.out) if args.out else None):
        log(f"wrote {path}")


def cmd_claims(args: argparse.Namespace) -> None:
    from bdnn.claims import write_claims

    cfg = validate_config(_config_from_args(args))
    log(f"wrote {write_claims(cfg)}")


def cmd_track(args: argparse.Namespace) -> None:
    from bdnn import tracking

    cfg = validate_config(_config_from_args(args))
    if args.kind == "init":
        info = tracking.init_sweep(cfg, args.sweep_name)
    else:
        info = tracking.track_result(cfg, args.kind, Path(args.result), args.sweep)
    if args.out:
        from bdnn.files import write_json

        write_json(args.out, info)
    log(f"tracked: {info}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bdnn", description="BDNN-sp: developmental network by adaptive synaptic pruning")
    parser.add_argument("--version", action="version", version=f"bdnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", action="append", metavar="FILE", help="YAML config (repeatable; default config/config.yaml if present)")
        p.add_argument("--no-default-config", action="store_true", help="do not read config/config.yaml")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. --set prune.fraction=0.2")
        p.add_argument("--cache", help="MNIST cache file (config key cache)")
        p.add_argument("--data-dir", dest="data_dir", help="folder with the original MNIST IDX files (config key data_dir)")

    def compute(p: argparse.ArgumentParser) -> None:
        p.add_argument("--threads", type=int, help="torch threads (Snakemake passes its threads)")
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="runtime.device")
        p.add_argument("--out", required=True, help="output folder")

    p = sub.add_parser("develop", help="one developmental run (Algorithm 1): curve.csv, summary.json, model.pt")
    common(p); compute(p)
    p.add_argument("--classes", required=True, help="a name from the config's classes, a range like 0-4 or a list like 1,3,7")
    p.add_argument("--samples", required=True, type=int, help="training samples (stratified)")
    p.add_argument("--seed", required=True, type=int)
    p.set_defaults(func=cmd_develop)

    p = sub.add_parser("transfer", help="the transfer experiment: transfer.csv, summary.json")
    common(p); compute(p)
    p.add_argument("--seed", required=True, type=int)
    p.add_argument("--model", help="developed network (model.pt of the develop run on transfer.samples); else developed here")
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("data", help="build and verify the MNIST cache")
    common(p)
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("validate", help="validate a config against the schema")
    common(p)
    p.add_argument("--print", action="store_true", help="print the config with defaults filled in")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("aggregate", help="results tables from the develop/transfer outputs")
    common(p)
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("figures", help="Fig. 3, Fig. 4 from the results tables")
    common(p)
    p.add_argument("--out", help="figures folder (default: figures_dir)")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("claims", help="results/claims.md: the paper's claims against the results")
    common(p)
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("track", help="log results to MLflow (init: the sweep's parent run)")
    common(p)
    p.add_argument("kind", choices=["init", "develop", "transfer"])
    p.add_argument("--result", help="result folder (develop/transfer)")
    p.add_argument("--sweep", help="JSON written by `bdnn track init`")
    p.add_argument("--sweep-name", help="name of the sweep (init)")
    p.add_argument("--out", help="write the run's ids here (JSON)")
    p.set_defaults(func=cmd_track)
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
