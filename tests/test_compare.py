"""The comparison against the baselines (bdnn.analysis.compare) on hand-made curves: the operating
points, the per-seed differences, and the family's Holm verdicts computed by hand."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import task_data

from bdnn.analysis.compare import baseline_differences, claim5, judge, operating_points
from bdnn.data.tasks import make_task
from bdnn.method.model import initial_network
from bdnn.method.scratch import Point, scratch_at_widths
from bdnn.method.scratch import operating_points as scratch_plan
from bdnn.method.settings import TrainingSettings
from bdnn.method.sgd import evaluate, train_epoch
from bdnn.method.streams import Stream, stream_seed, torch_generator
from bdnn.pipeline.settings import develop_settings

WIDTHS = [1000, 510, 490, 210, 100, 60, 40, 20, 10]  # iteration 0 is the un-pruned network


def curves(accuracy, seeds=range(8), samples=(1200, 9600)) -> pd.DataFrame:
    """One curve per criterion, count and seed; accuracy(criterion, samples, seed, width)."""
    rows = []
    for criterion in ("eq1", "magnitude", "random"):
        for s in samples:
            for seed in seeds:
                for it, h in enumerate(WIDTHS):
                    rows.append({"criterion": criterion, "samples": s, "seed": seed, "iteration": it, "hidden": h,
                                 "test_acc": accuracy(criterion, s, seed, h)})  # fmt: skip
    return pd.DataFrame(rows)


def test_operating_points_take_the_nearest_recorded_width_the_earlier_on_a_tie():
    points = operating_points(curves(lambda c, s, seed, h: h / 1000, seeds=[0], samples=[1200]), widths=(500, 200, 50, 1000))
    eq1 = points[points["criterion"] == "eq1"].set_index("target")
    # 500: 510 and 490 are both 10 away, the earlier (510) wins; 200 -> 210; 50: 60 and 40, the earlier;
    # 1000: the un-pruned network is not a pruning iteration, so the nearest pruned width (510)
    assert eq1["hidden"].to_dict() == {500: 510, 200: 210, 50: 60, 1000: 510}
    assert eq1.loc[200, "iteration"] == 3 and eq1.loc[200, "test_acc"] == pytest.approx(0.21)


def test_differences_are_per_seed_means_over_counts_and_widths():
    # Eq. 1 at 0.9; magnitude 0.01 x (seed + 1) lower at 1,200 samples and equal at 9,600; random 0.5 everywhere
    def acc(c, s, seed, h):
        return {"eq1": 0.9, "magnitude": 0.9 - (0.01 * (seed + 1) if s == 1200 else 0.0), "random": 0.5}[c]

    d = baseline_differences(operating_points(curves(acc)))
    assert list(d.columns) == ["magnitude", "random"] and list(d.index) == list(range(8))
    assert d["magnitude"].to_numpy() == pytest.approx(0.005 * np.arange(1, 9))  # half the counts at 0.01 (seed + 1)
    assert d["random"].to_numpy() == pytest.approx([0.4] * 8)
    # a seed missing one pair of a baseline is left out of that baseline
    short = operating_points(curves(acc))
    short = short.drop(short[(short["criterion"] == "random") & (short["seed"] == 3) & (short["target"] == 20)].index)
    assert np.isnan(baseline_differences(short).loc[3, "random"]) and not np.isnan(baseline_differences(short).loc[3, "magnitude"])


def test_the_family_verdicts_by_hand():
    """8 seeds, two baselines. Eq. 1 better than magnitude on every seed: the exact one-sided p is
    1/256, Holm over 2 gives 2/256 <= 0.025: holds. Random better than Eq. 1 on every seed: fails.
    With a third, null baseline the family is 3, and the others are still decided (3/256)."""
    d = pd.DataFrame({"magnitude": 0.01 * np.arange(1, 9), "random": -0.02 * np.arange(1, 9)}, index=range(8))
    verdicts = judge(d)
    assert verdicts["magnitude"].verdict == "holds" and verdicts["magnitude"].p == pytest.approx(2 / 256)
    assert verdicts["random"].verdict == "fails" and verdicts["random"].p_reverse == pytest.approx(2 / 256)
    assert verdicts["magnitude"].statistic == pytest.approx(0.045) and verdicts["magnitude"].n == 8
    # Hartigan at 0.025 / 2: k = floor(0.0125 x 256) = 3, the 3rd smallest and 3rd largest of the 255 subset means of
    # 0.01 .. 0.08: 0.01, 0.015 ({1, 2}), 0.02 ({2} and {1, 2, 3}) and 0.08, 0.075 ({7, 8}), 0.07 ({7} and {6, 7, 8})
    assert verdicts["magnitude"].interval == pytest.approx((0.02, 0.07))
    d["taylor"] = [0.01, -0.01] * 4
    three = judge(d)
    assert three["taylor"].verdict == "inconclusive" and three["magnitude"].p == pytest.approx(3 / 256)
    # 5 seeds: no verdict at all; 6 seeds and a family of 2: 2/64 > 0.025, inconclusive however clear
    assert judge(d.iloc[:5])["magnitude"].verdict == "inconclusive (n < 6)"
    assert judge(d.iloc[:6][["magnitude", "random"]])["magnitude"].verdict == "inconclusive"


def test_operating_points_of_a_curve_and_the_epochs_received_there():
    """The scratch networks' plan uses the same nearest-width rule as the trade-off points, and the
    epochs the pruned network had received: initial_epochs + iteration x retrain_epochs."""
    training = TrainingSettings(lr=0.1, batch_size=10, initial_epochs=4, retrain_epochs=2, equal_steps=None, trained_start=None)
    points = scratch_plan(list(range(len(WIDTHS))), WIDTHS, [500, 200, 50], training)
    assert [(p.target, p.iteration, p.hidden, p.epochs) for p in points] == [(500, 1, 510, 6), (200, 3, 210, 10), (50, 5, 60, 14)]
    with pytest.raises(ValueError, match="equal_steps"):
        scratch_plan([0, 1], [10, 5], [5], dataclasses.replace(training, equal_steps=100))


def test_scratch_networks_are_fresh_networks_of_the_width_trained_that_long(mnist, tiny_cfg):
    """Each scratch network is the network initial_network gives for its width from the SCRATCH
    stream, trained by train_epoch with the SCRATCH_ORDER stream for its epochs: rebuilt by hand."""
    task = make_task(mnist, list(range(10)), 100, seed=3)
    data = task_data(task, tiny_cfg)
    s = develop_settings(tiny_cfg)
    points = [Point(12, 2, 12, 3), Point(3, 7, 3, 0)]
    rows = scratch_at_widths(data, s.network, s.training, 3, points, 784)
    assert [(r["hidden"], r["epochs"]) for r in rows] == [(12, 3), (3, 0)]
    model = initial_network(784, 12, 10, tiny_cfg["init"], stream_seed(3, Stream.SCRATCH))
    gen = torch_generator(3, Stream.SCRATCH_ORDER)
    for _ in range(3):
        train_epoch(model, data.train, s.training.lr, s.training.batch_size, gen)
    assert rows[0]["test_acc"] == evaluate(model, data.test)[0]
    untrained = initial_network(784, 3, 10, tiny_cfg["init"], stream_seed(3, Stream.SCRATCH))
    assert rows[1]["test_acc"] == evaluate(untrained, data.test)[0]


def _peaks(sizes):
    """Run peaks (classes, samples, seed, hidden) from {samples: [size per seed]}."""
    return pd.DataFrame([{"classes": "0-9", "samples": s, "seed": i, "hidden": h} for s, hs in sizes.items() for i, h in enumerate(hs)])


def test_claim5_is_claim3s_rule_on_the_datasets():
    """Fashion larger than MNIST by 1..8 neurons on every seed at both counts: the per-seed mean
    difference is positive on all 8 seeds, exact one-sided p 1/256: holds; swapped: fails."""
    mnist_sizes = _peaks({1200: [10] * 8, 9600: [12] * 8})
    fashion_sizes = _peaks({1200: [10 + k for k in range(1, 9)], 9600: [12 + k for k in range(1, 9)]})
    c = claim5(fashion_sizes, mnist_sizes, ("fashion-mnist", "mnist"))
    assert c.verdict == "holds" and c.statistic == pytest.approx(4.5) and c.p == pytest.approx(1 / 256) and c.n == 8
    assert c.text.startswith("mnist's developed network smaller than fashion-mnist's: smaller at 2 of 2 sample counts")
    assert claim5(mnist_sizes, fashion_sizes, ("mnist", "fashion-mnist")).verdict == "fails"


TINY = ["--set", "hidden_init=16", "--set", "initial_epochs=2", "--set", "prune.fraction=0.25"]


def test_bdnn_compare_develop_writes_each_criterions_develop_run(mnist_cache, tmp_path):
    """One job, one trained start: each criterion's folder (named by its settings key) holds the
    files `bdnn develop` writes under that criterion: the same curve but for its times, the same
    developed network and summary; then the scratch networks of its Eq. 1 run (or of the Eq. 1
    curve it is given), the table `bdnn compare scratch` writes; bad input is refused in one line
    before any training."""
    from conftest import bdnn_cli

    from bdnn.pipeline.checkpoint import load_checkpoint
    from bdnn.pipeline.config import load_config
    from bdnn.pipeline.keys import settings_key

    common = [*TINY, "--no-default-config", "--cache", str(mnist_cache), "--classes", "0-9", "--samples", "100", "--seed", "2"]
    keys = {c: settings_key(load_config(sets=[*TINY[1::2], f"prune.criterion={c}"])) for c in ("eq1", "taylor", "random")}
    out, widths = str(tmp_path / "shared" / "{settings}"), ["--widths", "12", "6", "3"]

    def run(*args):
        proc = bdnn_cli(*args, "--threads", "1")
        assert proc.returncode == 0, proc.stderr

    run("compare", "develop", *common, "--criteria", "eq1", "taylor", "--settings", keys["eq1"], keys["taylor"], "--out", out,
        "--scratch", str(tmp_path / "scratch-shared"), "--scratch-settings", keys["eq1"], *widths)  # fmt: skip
    for criterion in ("eq1", "taylor"):
        key, alone = keys[criterion], tmp_path / criterion
        run("develop", *common, "--set", f"prune.criterion={criterion}", "--settings", key, "--out", str(alone))
        shared = tmp_path / "shared" / key
        a, b = pd.read_csv(shared / "curve.csv"), pd.read_csv(alone / "curve.csv")
        assert a.drop(columns="seconds").equals(b.drop(columns="seconds")) and len(a) > 3
        sa, sb = (json.loads((d / "summary.json").read_text()) for d in (shared, alone))
        sa["peak"].pop("seconds"), sb["peak"].pop("seconds"), sa.pop("seconds"), sb.pop("seconds")  # times differ, nothing else
        assert sa == sb and sa["config"]["prune"]["criterion"] == criterion and sa["settings"] == key
        (ma, _, _), (mb, _, _) = load_checkpoint(shared / "model.pt"), load_checkpoint(alone / "model.pt")
        assert all(torch.equal(x, y) for x, y in zip(ma.state_dict().values(), mb.state_dict().values(), strict=True))
    curve = str(tmp_path / "eq1" / "curve.csv")
    run("compare", "scratch", *common, "--curve", curve, "--settings", keys["eq1"], "--out", str(tmp_path / "scratch-alone"), *widths)
    run("compare", "develop", *common, "--criteria", "random", "--out", out, "--scratch", str(tmp_path / "scratch-given"),
        "--curve", curve, *widths)  # fmt: skip
    tables = [
        pd.read_csv(tmp_path / d / "scratch.csv").drop(columns="seconds") for d in ("scratch-alone", "scratch-shared", "scratch-given")
    ]
    assert len(tables[0]) == 3 and tables[0].equals(tables[1]) and tables[0].equals(tables[2])
    summary = json.loads((tmp_path / "scratch-shared" / "summary.json").read_text())
    assert summary["settings"] == keys["eq1"] and summary["config"]["prune"]["criterion"] == "eq1"
    refusals = {
        ("--criteria", "taylor", "taylor"): "each criterion once",
        ("--criteria", "taylor", "--out", str(tmp_path / "one")): "must hold {settings}",
        ("--criteria", "taylor", "random", "--settings", keys["taylor"]): "1 keys for 2 criteria",
        ("--criteria", "random", "taylor", "--settings", keys["taylor"], keys["random"]): "the output folder belongs to other settings",
        ("--criteria", "prune"): "invalid choice",
        ("--criteria", "taylor", "--scratch", str(tmp_path / "s")): "--curve, or eq1 among --criteria",
        ("--criteria", "eq1", "--scratch", str(tmp_path / "s"), "--curve", curve): "--curve, or eq1 among --criteria",
        ("--criteria", "taylor", "--curve", curve): "give --scratch too",
        ("--criteria", "taylor", "--widths", "3"): "give --scratch too",
        ("--criteria", "eq1", "--scratch", str(tmp_path / "s"), "--scratch-settings", keys["taylor"]): "belongs to other settings",
        ("--criteria", "taylor", "--scratch", str(tmp_path / "s"), "--curve", str(tmp_path / "absent.csv")): "cannot be read",
    }
    for args, message in refusals.items():
        flags = args if "--out" in args else (*args, "--out", out)
        proc = bdnn_cli("compare", "develop", *common, *flags, *(widths if "--scratch" in args else ()))
        assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_runs_of_one_trained_start_differ_in_the_criterion_only(tmp_path):
    """Configs that differ in anything else the initial phase depends on are refused before any
    data is read (the cache named does not exist)."""
    from bdnn.pipeline.config import ConfigError, load_config
    from bdnn.pipeline.jobs import run_develop_each

    def cfg(*sets):
        return load_config(sets=[*sets, f"cache={tmp_path / 'absent.npz'}"], lists=False, transfer=False)

    with pytest.raises(ConfigError, match="differ in prune.criterion only"):
        run_develop_each(
            [cfg("prune.criterion=taylor"), cfg("prune.criterion=random", "lr=0.1")], "0-9", 100, 0, str(tmp_path / "{settings}")
        )
    with pytest.raises(ConfigError, match="each criterion once"):
        run_develop_each([cfg("prune.criterion=taylor")] * 2, "0-9", 100, 0, str(tmp_path / "{settings}"))
