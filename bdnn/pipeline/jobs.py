"""What one compute command does, as plain functions: check the settings key and the memory, load
the data, run the method, save the result files atomically. The CLI's `develop` and `transfer`
are argparse over these; a notebook or another workflow engine can call them directly."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from bdnn import __version__
from bdnn.data.registry import DatasetSpec
from bdnn.data.store import Dataset, load_dataset
from bdnn.data.tasks import Task, classes_test_split, make_task, new_samples, task_draws
from bdnn.files import write_csv, write_json
from bdnn.method.criteria import Criterion, criterion
from bdnn.method.develop import DevelopData, DevelopResult, Progress, develop, develop_each
from bdnn.method.model import PrunableMLP, initial_network
from bdnn.method.scratch import Point, operating_points, scratch_at_widths
from bdnn.method.settings import DevelopSettings
from bdnn.method.sgd import Tensors
from bdnn.method.streams import Stream, torch_generator
from bdnn.method.transfer import Start, TransferResult, check_epoch_training, run_task_transfers, run_transfers
from bdnn.pipeline.checkpoint import load_checkpoint, save_checkpoint
from bdnn.pipeline.checks import validation_size
from bdnn.pipeline.config import ConfigError, dataset_of, job_config
from bdnn.pipeline.keys import settings, settings_key
from bdnn.pipeline.layout import (
    CURVE_COLUMNS,
    DEVELOP_FILES,
    SCRATCH_COLUMNS,
    SCRATCH_FILES,
    TASK_NETWORKS,
    TRANSFER_COLUMNS,
    TRANSFER_FILES,
)
from bdnn.pipeline.memory import check_memory
from bdnn.pipeline.settings import develop_settings, transfer_settings

Log = Callable[[str], None]


def set_threads(n: int | None) -> int:
    """Use `n` torch threads (and one inter-op thread); returns the threads in use."""
    if n is not None:
        if n < 1:
            raise ConfigError(f"--threads {n}: must be at least 1")
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    return torch.get_num_threads()


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda when present, else cpu; asking for cuda without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("runtime.device: cuda was asked for but no CUDA device is available; use auto or cpu")
    return torch.device(name)


def check_settings(expected: str | None, key: str) -> None:
    """--settings KEY (the workflow passes the key of the output folder) must be the config's."""
    if expected is not None and expected != key:
        raise ConfigError(f"--settings {expected}: the config's settings key is {key}; the output folder belongs to other settings")


def runtime(threads: int, device: torch.device) -> dict[str, Any]:
    """What a result records of how it was computed."""
    return {"threads": threads, "device": str(device), "torch": torch.__version__, "bdnn": __version__}


@dataclass
class Job:
    """One develop run's config (narrowed to its subset, count and seed), subset name, data and task."""

    cfg: dict[str, Any]
    name: str
    spec: DatasetSpec
    dataset: Dataset
    task: Task
    samples: int
    seed: int

    def identity(self, key: str) -> dict[str, Any]:
        """What identifies the run (summary.json, the checkpoint's metadata, the MLflow tags)."""
        t = self.task
        return {
            "classes": self.name,
            "digits": t.classes,
            "n_classes": t.n_classes,
            "samples": self.samples,
            "seed": self.seed,
            "settings": key,
        }

    def data(self, device: torch.device) -> DevelopData:
        t = self.task
        validation = None if t.validation is None else t.validation.arrays()
        eval_on = self.cfg["fitness"]["eval_split"]
        return DevelopData.of(t.n_classes, t.train.arrays(), t.test.arrays(), validation, eval_on, device)

    def criterion(self) -> Criterion:
        """The run's pruning criterion (prune.criterion; random draws from its own stream)."""
        return criterion(self.cfg["prune"]["criterion"], torch_generator(self.seed, Stream.CRITERION))

    def initial_network(self, device: torch.device) -> PrunableMLP:
        net = self.cfg
        return initial_network(self.spec.input_size, net["hidden_init"], self.task.n_classes, net["init"], self.seed, device)


def load_job(cfg: Mapping[str, Any], classes_spec: str, samples: int, seed: int, extra_samples: int = 0, log: Log | None = None) -> Job:
    """The develop run of one subset, count and seed (or the one a transfer job starts from, whose
    further draws are `extra_samples`); stops before loading anything where the job's estimated
    memory exceeds what it was given."""
    job, name = job_config(cfg, classes_spec, samples, seed)
    spec = dataset_of(job)
    n_classes = len(job["classes"][name])
    check_memory(job["hidden_init"], n_classes, samples + extra_samples + validation_size(job), n_in=spec.input_size)
    ds = load_dataset(job["cache"], job["data_dir"], spec, log)
    return Job(job, name, spec, ds, make_task(ds, job["classes"][name], samples, seed, validation_size(job)), samples, seed)


def save_develop(out: str | Path, res: DevelopResult, cfg: Mapping[str, Any], identity: Mapping[str, Any], info: Mapping[str, Any]) -> None:
    """A develop run's files (bdnn.pipeline.layout.DEVELOP_FILES), each atomically: the developed
    network's checkpoint, the curve, and the summary (identity, peak, config, runtime)."""
    out = Path(out)
    save_checkpoint(out / DEVELOP_FILES["model"], res.model, cfg, identity)
    write_csv(out / DEVELOP_FILES["curve"], res.curve, CURVE_COLUMNS)
    write_json(out / DEVELOP_FILES["summary"], {**identity, **res.summary, "peak": res.peak, "config": cfg, **info})


def run_develop(
    cfg: Mapping[str, Any], classes: str, samples: int, seed: int, out: str | Path, expected_key: str | None = None,
    threads: int | None = None, progress: Progress | None = None, log: Log | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`bdnn develop`: one developmental run into `out`; returns its summary."""
    used = set_threads(threads)
    key = settings_key(cfg)
    check_settings(expected_key, key)
    job = load_job(cfg, classes, samples, seed, log=log)
    device = resolve_device(job.cfg["runtime"]["device"])
    order = torch_generator(seed, Stream.ORDER)
    res = develop(job.initial_network(device), job.data(device), develop_settings(job.cfg), order, job.criterion(), progress)
    save_develop(out, res, job.cfg, job.identity(key), runtime(used, device))
    return res.summary


def start_settings(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a develop run's trained start depends on: all of its settings but the pruning
    criterion (no criterion changes the initial phase)."""
    out = settings(cfg)
    out.get("prune", {}).pop("criterion", None)
    return out


def run_develop_each(
    cfgs: Sequence[Mapping[str, Any]], classes: str, samples: int, seed: int, out: str,
    expected_keys: Sequence[str] | None = None, threads: int | None = None,
    progress: Callable[[str], Progress] | None = None, log: Log | None = None, scratch: ScratchRequest | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """`bdnn compare develop`: the develop runs of one subset, count and seed under each config of
    `cfgs` (one per pruning criterion, the same in everything else the result depends on) from one
    trained start (bdnn.method.develop.develop_each), each into `out` with "{settings}" replaced by
    its settings key: the files `bdnn develop` writes with that config, the same but for their
    times. Each run is saved as soon as it ends; returns their summaries (with their identity:
    settings key, seed...). `expected_keys`: the settings key of each, checked first;
    `progress(criterion)`: a run's progress callback. With `scratch`, then the networks trained
    from scratch at the operating widths of the Eq. 1 run (this job's or scratch.curve's), as
    `bdnn compare scratch` trains them, on the same data."""
    used = set_threads(threads)
    criteria = [c["prune"]["criterion"] for c in cfgs]
    if not criteria or len(set(criteria)) < len(criteria):
        raise ConfigError(f"--criteria {' '.join(criteria)}: each criterion once, at least one")
    if any(start_settings(c) != start_settings(cfgs[0]) for c in [*cfgs, *([scratch.cfg] if scratch else [])]):
        raise ConfigError("the runs of one trained start may differ in prune.criterion only")
    if "{settings}" not in out:
        raise ConfigError(f"--out {out}: must hold {{settings}} (each criterion's folder is named by its settings key)")
    keys = [settings_key(c) for c in cfgs]
    if expected_keys is not None:
        if len(expected_keys) != len(keys):
            raise ConfigError(f"--settings: {len(expected_keys)} keys for {len(keys)} criteria (one each, in the same order)")
        for expected, key in zip(expected_keys, keys, strict=True):
            check_settings(expected, key)
    plan = _scratch_plan(scratch, criteria)
    job = load_job(cfgs[0], classes, samples, seed, log=log)
    jobs = [replace(job, cfg=job_config(c, classes, samples, seed)[0]) for c in cfgs]
    device = resolve_device(job.cfg["runtime"]["device"])
    data, summaries, curves = job.data(device), [], {}
    each = develop_each(
        job.initial_network(device), data, develop_settings(job.cfg), torch_generator(seed, Stream.ORDER),
        [j.criterion() for j in jobs], (lambda c: progress(c.name)) if progress else None,
    )  # fmt: skip
    for j, key, (crit, res) in zip(jobs, keys, each, strict=True):  # each result as soon as it is done
        save_develop(out.replace("{settings}", key), res, j.cfg, j.identity(key), runtime(used, device))
        summaries.append({**j.identity(key), **res.summary})
        curves[crit.name] = res.curve
    if scratch is not None:
        points = plan or _scratch_points(develop_settings(scratch.cfg), curves["eq1"], scratch.widths, "the Eq. 1 run")
        eq1 = replace(job, cfg=job_config(scratch.cfg, classes, samples, seed)[0])
        _scratch(eq1, settings_key(scratch.cfg), data, points, scratch, used, device, log)
    return summaries


def _scratch_plan(scratch: ScratchRequest | None, criteria: Sequence[str]) -> list[Point] | None:
    """The scratch networks' operating points where their curve is a file (read before any
    training); None where they come from this job's Eq. 1 run (or there are none)."""
    if scratch is None:
        return None
    if scratch.cfg["prune"]["criterion"] != "eq1":
        raise ConfigError("the scratch networks are those of an Eq. 1 run (prune.criterion eq1)")
    check_settings(scratch.expected_key, settings_key(scratch.cfg))
    if (scratch.curve is None) == ("eq1" not in criteria):
        raise ConfigError("the scratch networks need the Eq. 1 run's curve: --curve, or eq1 among --criteria (not both)")
    if scratch.curve is None:
        _check_scratch_training(develop_settings(scratch.cfg))
        return None
    return _scratch_points(develop_settings(scratch.cfg), _read_curve(scratch.curve), scratch.widths, f"--curve {scratch.curve}")


def save_transfer(
    out: str | Path, res: TransferResult, cfg: Mapping[str, Any], identity: Mapping[str, Any], info: Mapping[str, Any]
) -> None:
    """A transfer run's files (bdnn.pipeline.layout.TRANSFER_FILES), each atomically."""
    out = Path(out)
    write_csv(out / TRANSFER_FILES["table"], [{"seed": identity["seed"], **r} for r in res.rows], TRANSFER_COLUMNS)
    write_json(out / TRANSFER_FILES["summary"], {**identity, **res.summary, "config": cfg, **info})


def _developed(
    job: Job, data: DevelopData, device: torch.device, model: str | None, summary: str | None, log: Log | None
) -> tuple[PrunableMLP, int]:
    """The developed network a transfer starts from and its peak iteration: the checkpoint
    `model` of the same develop run (with its `summary`), or developed here."""
    key = settings_key(job.cfg)
    if model is None:
        if log:
            log(f"developing the network on {job.samples} samples first (pass --model to reuse one)")
        res = develop(
            job.initial_network(device), data, develop_settings(job.cfg), torch_generator(job.seed, Stream.ORDER), job.criterion()
        )
        return res.model, res.summary["peak_iteration"]
    developed, _, meta = load_checkpoint(model, expect_in=job.spec.input_size, expect_out=job.task.n_classes, device=device)
    wanted = (job.samples, job.seed, job.task.classes, key)
    if (meta.get("samples"), meta.get("seed"), meta.get("digits"), meta.get("settings")) != wanted:
        raise ConfigError(
            f"--model {model}: was developed on {meta.get('samples')} samples of {meta.get('digits')} with seed "
            f"{meta.get('seed')} and settings {meta.get('settings')}, not {job.samples} of {job.task.classes} with seed "
            f"{job.seed} and settings {key}"
        )
    if not summary:
        raise ConfigError("--model needs --develop-summary: the summary.json of the same develop run (its peak iteration)")
    return developed, _develop_summary(summary, meta)["peak_iteration"]


def _develop_summary(path: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The develop run's summary.json; it must be the run of the checkpoint's metadata."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--develop-summary {path}: cannot be read ({exc})") from None
    if any(summary.get(k) != meta.get(k) for k in ("samples", "seed", "digits", "settings")):
        raise ConfigError(f"--develop-summary {path}: belongs to another develop run than --model")
    return summary


@dataclass(frozen=True)
class TransferJob:
    """What `bdnn transfer` is asked for: networks of one seed, of the main transfer or (other_task)
    of the transfer to another task, from a checkpoint (`model`, `summary`) or developed first.
    `out`: the result folder; with several networks, a pattern in which "{network}" names each."""

    networks: tuple[str, ...]
    seed: int
    out: str
    other_task: bool = False
    model: str | None = None
    summary: str | None = None
    expected_key: str | None = None
    threads: int | None = None

    def out_of(self, network: str) -> str:
        return self.out.replace("{network}", network)

    def check(self) -> None:
        """Each network once; several networks need "{network}" in `out` (else one folder for all)."""
        repeated = sorted({n for n in self.networks if self.networks.count(n) > 1})
        if repeated:
            raise ConfigError(f"--network {repeated[0]}: given twice")
        if len(self.networks) > 1 and "{network}" not in self.out:
            raise ConfigError(f"--out {self.out}: with several networks it must hold {{network}} (each network's folder)")


def _transfer_key(cfg: Mapping[str, Any], req: TransferJob) -> tuple[str, str]:
    """(the job's settings key, the class subset its network was developed on)."""
    try:
        check_epoch_training(develop_settings(cfg).training)
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None
    if not req.other_task:
        return settings_key(cfg, "transfer"), cfg["transfer"]["classes"]
    if cfg["task_transfer"] is None:
        raise ConfigError("--other-task: the config's task_transfer is null (off)")
    for network in req.networks:
        if network not in TASK_NETWORKS:
            raise ConfigError(f"--network {network}: the transfer to another task has {', '.join(TASK_NETWORKS)}")
    return settings_key(cfg, "transfer", "task_transfer"), cfg["task_transfer"]["from"]


def _draws(job: Job, cfg: Mapping[str, Any], other_task: bool, device: torch.device, test: Tensors) -> tuple[dict[int, Tensors], Tensors]:
    """The draws of new samples a transfer trains on, and the test images it is measured on."""
    t, ds = cfg["transfer"], job.dataset
    if not other_task:
        splits = {n: new_samples(ds, job.task, n, job.seed) for n in t["new_samples"]}
        return {n: Tensors.of(*s.arrays(), job.task.n_classes, device) for n, s in splits.items()}, test
    tt = cfg["task_transfer"]
    main = make_task(ds, cfg["classes"][t["classes"]], t["samples"], job.seed, validation_size(cfg))  # as the main transfer jobs draw it
    splits = task_draws(ds, main, t["new_samples"], tt["to"], tt["new_samples"], job.seed)
    n_new = len(tt["to"])
    return {n: Tensors.of(*s.arrays(), n_new, device) for n, s in splits.items()}, Tensors.of(
        *classes_test_split(ds, tt["to"]).arrays(), n_new, device
    )


def run_transfer_job(cfg: Mapping[str, Any], req: TransferJob, log: Log | None = None) -> list[dict[str, Any]]:
    """`bdnn transfer`: networks of the transfer experiment (or of the transfer to another task),
    each into its folder (req.out_of) as soon as it is done; returns their summaries."""
    req.check()
    used = set_threads(req.threads)
    key, source = _transfer_key(cfg, req)
    check_settings(req.expected_key, key)
    t, tt = cfg["transfer"], cfg["task_transfer"]
    extra = sum(t["new_samples"]) + (sum(tt["new_samples"]) if req.other_task else 0)
    job = load_job(cfg, source, t["samples"], req.seed, extra_samples=extra, log=log)
    if req.other_task:  # its draws avoid those of the main transfer: the job needs that subset too
        job.cfg["classes"][t["classes"]] = cfg["classes"][t["classes"]]
    device = resolve_device(job.cfg["runtime"]["device"])
    data = job.data(device)
    developed, peak_iteration = _developed(job, data, device, req.model, req.summary, log)
    start = Start(data, developed, peak_iteration, develop_settings(job.cfg), transfer_settings(job.cfg), req.seed)
    draws, test = _draws(job, job.cfg, req.other_task, device, data.test)
    if req.other_task:
        results = run_task_transfers(req.networks, start, draws, test, log)
    else:
        results = run_transfers(req.networks, start, draws, log)
    experiment = "task_transfer" if req.other_task else "transfer"
    identity = {"classes": job.name, "samples": t["samples"], "seed": req.seed, "settings": key, "experiment": experiment}
    summaries = []
    for res in results:
        if req.other_task:
            res.summary["to"] = tt["to"]
        save_transfer(req.out_of(res.summary["network"]), res, job.cfg, identity, runtime(used, device))
        summaries.append(res.summary)
    return summaries


@dataclass(frozen=True)
class ScratchRequest:
    """Networks trained from scratch at the operating `widths` of one Eq. 1 develop run (config
    `cfg`), into `out`: the run's curve is `curve` (a curve.csv), or the run of the same job;
    `expected_key`: the settings key of `out`'s folder, checked first."""

    cfg: Mapping[str, Any]
    widths: Sequence[int]
    out: str
    curve: str | None = None
    expected_key: str | None = None


def _scratch_points(settings: DevelopSettings, rows: Sequence[Mapping[str, Any]], widths: Sequence[int], curve: str) -> list[Point]:
    """The operating points of a develop run's curve rows (`curve` names them in errors)."""
    _check_scratch_training(settings)
    try:
        iterations, hidden = [int(r["iteration"]) for r in rows], [int(r["hidden"]) for r in rows]
        return operating_points(iterations, hidden, widths, settings.training)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{curve}: not a develop run's curve ({exc})") from None


def _check_scratch_training(settings: DevelopSettings) -> None:
    try:
        check_epoch_training(settings.training)
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None


def _read_curve(curve: str | Path) -> list[dict[str, str]]:
    try:
        with open(curve, newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"--curve {curve}: cannot be read ({exc.strerror})") from None


def _scratch(
    job: Job, key: str, data: DevelopData, points: list[Point], req: ScratchRequest, used: int, device: torch.device, log: Log | None
):
    """Train the scratch networks of `points` on the job's data; write SCRATCH_FILES into req.out
    (the table, then the summary: identity, operating widths, config, runtime)."""
    settings = develop_settings(job.cfg)
    if log:
        log("scratch networks of " + ", ".join(f"{p.hidden} hidden ({p.epochs} epochs)" for p in points))
    found = scratch_at_widths(data, settings.network, settings.training, job.seed, points, job.spec.input_size)
    table = [{"seed": job.seed, "samples": job.samples, **r} for r in found]
    write_csv(Path(req.out) / SCRATCH_FILES["table"], table, SCRATCH_COLUMNS)
    summary = {**job.identity(key), "widths": list(req.widths), "seconds": sum(r["seconds"] for r in found), "config": job.cfg}
    write_json(Path(req.out) / SCRATCH_FILES["summary"], {**summary, **runtime(used, device)})
    return table


def run_scratch_job(
    cfg: Mapping[str, Any], classes: str, samples: int, seed: int, curve: str | Path, widths: Sequence[int], out: str | Path,
    expected_key: str | None = None, threads: int | None = None, log: Log | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """`bdnn compare scratch`: networks trained from scratch at the operating widths of one develop
    run (its `curve`, of the same config, subset, count and seed) into `out` (SCRATCH_FILES)."""
    used = set_threads(threads)
    key = settings_key(cfg)
    check_settings(expected_key, key)
    points = _scratch_points(develop_settings(cfg), _read_curve(curve), widths, f"--curve {curve}")
    job = load_job(cfg, classes, samples, seed, log=log)
    device = resolve_device(job.cfg["runtime"]["device"])
    return _scratch(job, key, job.data(device), points, ScratchRequest(cfg, widths, str(out)), used, device, log)
