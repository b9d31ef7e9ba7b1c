"""The study layer: cells from the config, F recomputed under each weighting on hand-made curves,
plateau and trainable range by hand, the equal-steps budget counted step by step, the trained
start, refused configs, and a tiny study end to end through `snakemake`."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, copy_run, develop_run, initial, mlflow_runs, snakemake

import bdnn.method.sgd as train_module
from bdnn.analysis.peaks import recompute as recompute_settings
from bdnn.analysis.study import CLAIMS, judge, run_table
from bdnn.data.tasks import make_task
from bdnn.method.develop import phase_steps, train_until_plateau
from bdnn.method.sgd import Tensors, evaluate, train
from bdnn.method.streams import Stream, torch_generator
from bdnn.pipeline.cells import cells
from bdnn.pipeline.config import ConfigError, load_config, validate_config
from bdnn.pipeline.keys import settings_key
from bdnn.pipeline.layout import STUDY_CELL_FILES, study_cell_figures, study_files, study_map_figures
from bdnn.pipeline.settings import fitness_settings, training_settings


def recompute(curves, fit):
    return recompute_settings(curves, fitness_settings(fit))


STUDY = {
    "cells": ["default", "A+S", "A+E", "A-only", "equal-steps", "trained-start", "paper-lr", "validation"],
    "weights": {"A+S": [1, 1, 0], "A+E": [1, 0, 1], "A-only": [1, 0, 0]},
}


def _cfg(**study):
    return validate_config({"study": {**STUDY, **study}})


def hand_curves(seeds=(0,), samples=(600,), n_classes=10):
    """Four pruning iterations at widths 100, 50, 20, 10 (and the un-pruned 200) whose F peaks
    are known: A alone peaks at 100 (iteration 1), A+S at 20 (S spikes there), A+E at 10 (E
    spikes there); with equal weights A + S + E peaks at 10 (0.6 + 0 + 2)."""
    rows = []
    for samples_ in samples:
        for seed in seeds:
            for it, (h, a, s, e) in enumerate(
                [(200, 0.5, None, 0.0), (100, 0.9, 0.0, 0.0), (50, 0.8, 0.0, 0.0), (20, 0.7, 1.0, 0.0), (10, 0.6, 0.0, 2.0)]
            ):
                rows.append(
                    {"classes": "0-9" if n_classes == 10 else "0-4", "n_classes": n_classes, "samples": samples_, "seed": seed,
                     "iteration": it, "hidden": h, "A": a, "test_acc": a, "S_normalized": s, "S_raw": s, "E_per_connection": e,
                     "E_printed": e}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_cells_are_one_change_each_and_weights_reuse_the_default_runs():
    cfg = _cfg()
    by = {c.name: c for c in cells(cfg)}
    base = settings_key(cfg)
    assert [c.name for c in cells(cfg)] == STUDY["cells"]
    for name in ("default", "A+S", "A+E", "A-only"):  # recomputed: the default cell's runs
        assert by[name].key == base and not by[name].trained
    assert by["A+E"].config["fitness"] == {**cfg["fitness"], "alpha": 1, "beta": 0, "gamma": 1}
    assert by["equal-steps"].config["equal_steps"] == 19200 and by["paper-lr"].config["lr"] == 1.0
    assert by["trained-start"].config["trained_start"] == {"patience": 5, "max_epochs": 50, "min_steps": 3000}
    assert by["validation"].config["fitness"]["eval_split"] == "validation"
    trained = [c.key for c in by.values() if c.trained]
    assert len(set(trained)) == 4 and base not in trained
    # a null key is left out of the settings key: the default runs keep the folders they had before
    # these keys existed (the key was the hash of the eight keys below)
    old = ("hidden_init", "lr", "batch_size", "initial_epochs", "retrain_epochs", "init", "prune", "fitness")
    before = {k: cfg[k] for k in old} | {"prune": {k: v for k, v in cfg["prune"].items() if k != "criterion"}}  # criterion: eq1 is left out
    blob = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert cfg["equal_steps"] is None and base == hashlib.sha256(blob.encode()).hexdigest()[:10]
    assert settings_key({**cfg, "equal_steps": 600}) != base


@pytest.mark.parametrize(("cell", "peak"), [("default", 10), ("A+S", 20), ("A+E", 10), ("A-only", 100)])
def test_each_weighting_selects_its_known_peak_on_hand_made_curves(cell, peak):
    cfg = next(c for c in cells(_cfg()) if c.name == cell).config
    runs = run_table(recompute(hand_curves(), cfg["fitness"]), tolerance=1e-9, level=0.5)
    assert runs["hidden"].tolist() == [peak]
    assert runs["interior"].tolist() == [peak in (50, 20)]


def test_plateau_and_trainable_range_by_hand():
    c = recompute(hand_curves(), {"stability": "normalized", "mean_weight": "per_connection", "alpha": 1, "beta": 0, "gamma": 0})
    # F = A: 0.9, 0.8, 0.7, 0.6 -> within 0.15 of the peak: 100 and 50 (0.75 would be the edge)
    r = run_table(c, tolerance=0.15, level=0.5).iloc[0]
    assert (r["hidden"], r["plateau_iterations"], r["plateau_min"], r["plateau_max"]) == (100, 2, 50, 100)
    # chance 0.1, best 0.9: trainable where A > 0.1 + 0.7 x 0.8 = 0.66 -> widths 100, 50 and 20
    r = run_table(c, tolerance=0.15, level=0.7).iloc[0]
    assert (r["trainable_min"], r["trainable_max"]) == (20, 100) and r["trainable_level"] == pytest.approx(0.66)
    # every width trainable in every run (the un-pruned 200 too): claim 2' has nothing to rank
    c.loc[:, "A"] = 0.9
    assert judge(run_table(c, 0.003, 0.5))["claim2_range"].verdict.startswith("n/a")


def test_judge_reads_claim2_on_the_peak_and_on_the_trainable_range():
    """The peak moves to smaller widths with the samples (100, 100, 50, 50, 20, 20) while the
    un-pruned width trains only from the fourth count on (widest trainable width 100, 100, 100,
    200, 200, 200): claim 2 fails (Spearman -0.956, the Pearson correlation of (1..6) with
    (5.5, 5.5, 3.5, 3.5, 1.5, 1.5): ties take average ranks; every one of 6 seeds the same, p = 1/64);
    2' is censored: the widest trainable width is the cap (200, the un-pruned width) for every
    seed at three of six counts, too few counts remain to read a trend."""
    frames = []
    for i, s in enumerate([600, 1200, 2400, 4800, 9600, 19200]):
        for seed in range(6):
            c = hand_curves(seeds=(seed,), samples=(s,))
            peak = [100, 100, 50, 50, 20, 20][i]
            c["A"] = np.where(c["iteration"] == 0, 0.9 if i >= 3 else 0.1, np.where(c["hidden"] == peak, 0.95, 0.8))
            frames.append(c)
    c = recompute(pd.concat(frames), {"stability": "normalized", "mean_weight": "per_connection", "alpha": 1, "beta": 0, "gamma": 0})
    claims = judge(run_table(c, 0.003, 0.5))
    assert set(claims) == set(CLAIMS)
    assert claims["claim2"].verdict == "fails" and claims["claim2"].statistic == pytest.approx(-0.9562, abs=1e-4)
    assert claims["claim2"].p == 1.0 and claims["claim2"].p_reverse == pytest.approx(1 / 64)
    assert claims["claim2_range"].verdict == "n/a (censored at 3 of 6 counts)"
    # 100 is the first pruning iteration (not interior), 50 and 20 are interior: 24 of 36 runs; the
    # seeds agree (t interval [2/3, 2/3]) but the Wilson interval of 24 of 36 at t(0.975, 5) reaches
    # above 0.8
    assert claims["claim1"].verdict == "inconclusive" and claims["claim1"].statistic == pytest.approx(2 / 3)
    assert claims["claim1"].interval[1] > 0.8
    assert claims["claim3"].verdict == "n/a"  # one subset only


def test_equal_steps_budget_is_exact(monkeypatch, mnist, tiny_cfg):
    calls = []
    real = train_module.sgd_update
    monkeypatch.setattr(train_module, "sgd_update", lambda *a, **k: (calls.append(1), real(*a, **k)))
    cfg = {**tiny_cfg, "equal_steps": 57}  # ceil(57 / 10) = 6 steps per epoch of a 57-sample run
    assert phase_steps(training_settings(cfg), 4) == 24 and phase_steps(training_settings({**cfg, "equal_steps": None}), 4) is None
    task = make_task(mnist, list(range(10)), 100, seed=0)
    data = Tensors.of(*task.train.arrays(), 10)
    for steps in (3, 10, 24, 25):  # 10 steps per epoch of the 100 samples: cut epochs, whole ones, several
        calls.clear()
        train(initial(task, cfg, 0), data, 0.5, 10, 99, torch_generator(0, Stream.ORDER), "test", steps=steps)
        assert len(calls) == steps
    calls.clear()
    res = develop_run(task, cfg, seed=0)
    phases = cfg["initial_epochs"] + res.summary["iterations"] * cfg["retrain_epochs"]
    assert len(calls) == phases * 6


def test_equal_steps_of_the_own_count_is_training_by_epochs(mnist, tiny_cfg):
    task = make_task(mnist, list(range(10)), 100, seed=0)
    by_epochs = develop_run(task, tiny_cfg, seed=0).curve
    by_steps = develop_run(task, {**tiny_cfg, "equal_steps": 100}, seed=0).curve
    strip = lambda c: [{k: v for k, v in r.items() if k != "seconds"} for r in c]  # noqa: E731
    assert strip(by_steps) == strip(by_epochs)


@pytest.mark.parametrize(("patience", "max_epochs", "min_steps"), [(1, 6, 0), (2, 6, 0), (6, 3, 0), (1, 8, 50), (2, 8, 71)])
def test_trained_start_stops_on_validation_and_keeps_its_best_epoch(mnist, tiny_cfg, patience, max_epochs, min_steps):
    """Replayed by hand: patience stops the phase only once min_steps SGD steps are done (100
    samples in batches of 10: 10 steps an epoch, so min_steps 50 allows a stop from epoch 5, 71
    from epoch 8)."""
    task = make_task(mnist, list(range(10)), 100, seed=0, validation_size=100)
    cfg = {**tiny_cfg, "lr": 0.3, "trained_start": {"patience": patience, "max_epochs": max_epochs, "min_steps": min_steps}}
    train_d, val_d = Tensors.of(*task.train.arrays(), 10), Tensors.of(*task.validation.arrays(), 10)
    # replay epoch by epoch: the validation accuracy after each, and the rule's stop
    replay, gen, accs = initial(task, cfg, 0), torch_generator(0, Stream.ORDER), []
    for _ in range(max_epochs):
        train(replay, train_d, cfg["lr"], cfg["batch_size"], 1, gen, "replay")
        accs.append(evaluate(replay, val_d)[0])
        best = int(np.argmax(accs))  # first argmax
        if len(accs) - 1 - best >= patience and len(accs) * 10 >= min_steps:
            break
    assert min_steps == 0 or len(accs) * 10 >= min_steps or len(accs) == max_epochs
    model = initial(task, cfg, 0)
    _, epoch = train_until_plateau(model, train_d, val_d, training_settings(cfg), torch_generator(0, Stream.ORDER))
    assert epoch == best + 1 and evaluate(model, val_d)[0] == accs[best]
    assert develop_run(task, cfg, seed=0).summary["initial_epochs_run"] == epoch
    with pytest.raises(ValueError, match="validation draw"):
        develop_run(make_task(mnist, list(range(10)), 100, seed=0), cfg, seed=0)


@pytest.mark.parametrize(
    ("study", "message"),
    [
        ({"cells": ["default", "lr-2"]}, "study.cells: unknown cell 'lr-2'"),
        ({"cells": []}, "study.cells"),
        ({"cells": ["zero"], "weights": {"zero": [0, 0, 0]}}, "study.weights.zero: alpha, beta and gamma are all 0"),
        ({"cells": ["default"], "tolerance": 0.1}, "unknown key in study"),
        ({"cells": ["default"], "weights": {"default": [1, 0, 0]}}, "study.weights.default: the name of a built-in cell"),
        ({"cells": ["default"], "trainable_level": 1.5}, "study.trainable_level"),
    ],
)
def test_bad_study_configs_are_refused_in_one_line_naming_the_key(study, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")) as err:
        cells(validate_config({"study": study}))
    assert "\n" not in str(err.value)


def test_study_seeds_give_every_cell_one_seed_list():
    sweep = validate_config({"seeds": [0, 1, 2, 3], "study": STUDY})
    assert {tuple(c.config["seeds"]) for c in cells(sweep)} == {(0, 1, 2, 3)}  # null: the sweep's seeds
    narrowed = validate_config({"seeds": [0, 1, 2, 3], "study": {**STUDY, "seeds": [1, 3]}})
    by = {c.name: c for c in cells(narrowed)}
    assert {tuple(c.config["seeds"]) for c in by.values()} == {(1, 3)}
    # the seeds are no setting: every cell keeps its settings key
    assert {c.name: c.key for c in cells(sweep)} == {name: c.key for name, c in by.items()}
    with pytest.raises(ConfigError, match="study.seeds"):
        validate_config({"study": {**STUDY, "seeds": [1, 1]}})
    with pytest.raises(ConfigError, match=r"config key study.seeds: \[7\] are not among the sweep's seeds"):
        cells(validate_config({"seeds": [0, 1, 2, 3], "study": {**STUDY, "seeds": [1, 7]}}))


def test_study_off_is_refused():
    with pytest.raises(ConfigError, match="config key study: the study is off"):
        cells(validate_config({}))


def test_study_config_file_is_valid_and_changes_no_default_run():
    cfg = load_config(REPO / "config" / "config.yaml", REPO / "config" / "study.yaml")
    assert settings_key(cfg) == settings_key(load_config(REPO / "config" / "config.yaml"))
    assert [c.name for c in cells(cfg)] == cfg["study"]["cells"]


@pytest.mark.slow
def test_tiny_study_through_snakemake(baseline, tmp_path, mnist_cache):
    """The tiny study over a copy of the tiny sweep (its MLflow store left behind, so the study
    makes its own): map, report, figures, tracking under the study's parent; a second call has
    nothing to do; a bad study config stops before any job."""
    work = tmp_path / "work"
    copy_run(baseline[0], work, ignore=("mlflow.db", "mlartifacts", "tracking", "locks"))
    study_cfg = REPO / "config" / "test-study.yaml"
    cfg = yaml.safe_load(study_cfg.read_text())["study"]
    configs = (REPO / "config" / "test.yaml", study_cfg)
    snakemake(work, "study", config=configs, cache=mnist_cache)
    results = work / "results"

    def cells_json(cell):
        return json.loads((results / "study" / "cells" / cell / STUDY_CELL_FILES["cell"]).read_text())

    study_map = pd.read_csv(study_files(results)["map"])
    assert study_map["cell"].unique().tolist() == cfg["cells"]
    assert len(study_map) == len(cfg["cells"]) * len(CLAIMS)
    assert study_map["verdict"].str.startswith(("inconclusive (n < 6)", "n/a")).all()  # one seed
    assert (study_map["runs"] == 4).all()  # 2 subsets x 2 counts x the study's one seed (study.seeds: [1])
    report = (results / "study" / "report.md").read_text()
    assert f"within {cfg['plateau_tolerance']} of the run's peak" in report and "## The map" in report
    for cell in cfg["cells"]:
        for path in study_cell_figures(work / "figures", cell).values():
            assert Path(path).stat().st_size > 1000
        d = cells_json(cell)
        assert d["trained"] == (cell in ("equal-steps", "trained-start"))
        assert (d["settings"] == cells_json("default")["settings"]) == (not d["trained"])
    for path in study_map_figures(work / "figures").values():
        assert Path(path).stat().st_size > 1000
    assert (work / "figures" / "study" / "claims_map.csv").read_bytes() == Path(study_files(results)["map"]).read_bytes()
    assert (work / "figures" / "study" / "report.md").read_text() == report  # published beside the figures
    assert {"n", "p_reverse", "p_min"} <= set(study_map.columns) and (study_map[study_map["claim"] == "claim1"]["n"] == 1).all()
    # equal steps: every phase of every run has the 200-sample run's steps (20 at batch 10)
    eq = cells_json("equal-steps")
    assert set(eq["mechanisms"]["retrain_steps"].values()) == {20}
    # the recomputed A-only cell selects, in every run, the first argmax of A over the pruning iterations
    curves = pd.read_csv(results / "curves.csv")
    runs = pd.read_csv(results / "study" / "cells" / "A-only" / "runs.csv")
    for r in runs.itertuples():
        g = curves[
            (curves["classes"] == r.classes) & (curves["samples"] == r.samples) & (curves["seed"] == r.seed) & (curves["iteration"] > 0)
        ]
        assert r.hidden == g["hidden"].iloc[int(np.argmax(g["A"].to_numpy()))]
    # MLflow: the study's parent carries the report; the trained cells' 8 runs nest under it, named by cell
    client, exp, all_runs = mlflow_runs(work, "bdnn-sp-test-study")  # the study's own experiment
    parent = [r for r in all_runs if r.data.tags.get("kind") == "study"]
    assert len(parent) == 1 and "## The map" in parent[0].data.tags["mlflow.note.content"]
    nested = [r for r in all_runs if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert (
        len(nested) == 8
        and all(r.info.run_name.endswith("-seed1") for r in nested)
        and {r.data.tags["cell"] for r in nested} == {"equal-steps", "trained-start"}
    )
    assert all(r.info.run_name.startswith(r.data.tags["cell"] + "-develop-") for r in nested)
    assert any(k.startswith("A_plus_S_claim2") for k in parent[0].data.metrics)
    # nothing left to do; a bad study config is refused before any job, in one line naming the key
    again = snakemake(work, "study", "-n", config=configs, cache=mnist_cache)
    assert "Nothing to be done" in again.stdout + again.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: {cells: [default, nope]}\n")
    proc = snakemake(work, "study", config=(configs[0], bad), cache=mnist_cache, check=False)
    assert proc.returncode != 0 and "config key study.cells: unknown cell 'nope'" in proc.stdout + proc.stderr
