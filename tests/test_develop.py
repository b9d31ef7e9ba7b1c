"""Algorithm 1 end to end on a tiny task: curve, peak selection, early stop, determinism,
NaN detection, checkpoints, transfer."""

import json
import pickle

import pytest
import torch

from bdnn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from bdnn.data import make_task
from bdnn.develop import develop
from bdnn.layout import CURVE_COLUMNS, TIMING_COLUMNS
from bdnn.train import NumericalError
from bdnn.transfer import run_transfer


@pytest.fixture
def task(mnist):
    return make_task(mnist, list(range(10)), 100, seed=0)


def _strip(curve):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in curve]


def test_curve_runs_to_the_floor_and_peak_is_first_argmax(task, tiny_cfg):
    res = develop(task, tiny_cfg, seed=0)
    c = res.curve
    assert set(CURVE_COLUMNS) <= set(c[0])
    assert c[0]["iteration"] == 0 and c[0]["hidden"] == 20 and c[0]["S"] is None and c[0]["F"] is None
    assert [r["hidden"] for r in c] == [20, 16, 12, 9, 7, 5, 4, 3, 2]
    fs = [r["F"] for r in c[1:]]
    best = max(range(len(fs)), key=lambda i: (fs[i], -i))
    assert res.peak is c[1 + best] and res.model.n_hidden == c[1 + best]["hidden"]
    for r in c[1:]:
        f = tiny_cfg["fitness"]
        assert r["F"] == pytest.approx(f["alpha"] * r["A"] + f["beta"] * r["S_normalized"] + f["gamma"] * r["E_per_connection"])
    assert res.summary["test_acc_unpruned"] == c[0]["test_acc"]
    assert res.summary["peak_censored"] == (res.peak is c[-1])


def test_developed_model_reproduces_the_peak_accuracy(task, tiny_cfg):
    from bdnn.train import Tensors, evaluate

    res = develop(task, tiny_cfg, seed=0)
    acc, _ = evaluate(res.model, Tensors.of(task.test, 10, torch.device("cpu")))
    assert acc == res.peak["A"]


def test_same_seed_bit_identical_other_seed_differs(task, tiny_cfg):
    a, b = develop(task, tiny_cfg, seed=3), develop(task, tiny_cfg, seed=3)
    assert _strip(a.curve) == _strip(b.curve)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])
    assert _strip(develop(task, tiny_cfg, seed=4).curve) != _strip(a.curve)


def test_patience_stops_early_and_keeps_the_argmax(task, tiny_cfg):
    cfg = {**tiny_cfg, "prune": {**tiny_cfg["prune"], "patience": 1}}
    res = develop(task, cfg, seed=0)
    full = develop(task, tiny_cfg, seed=0)
    assert res.summary["stopped_early"] or len(res.curve) == len(full.curve)
    assert res.peak["F"] == max(r["F"] for r in res.curve[1:])
    assert _strip(res.curve) == _strip(full.curve)[: len(res.curve)]


def test_validation_split_is_used_for_A(mnist, tiny_cfg):
    task = make_task(mnist, [0, 1], 100, seed=0, validation_size=50)
    cfg = {**tiny_cfg, "fitness": {**tiny_cfg["fitness"], "eval_split": "validation"}}
    res = develop(task, cfg, seed=0)
    assert any(r["A"] != r["test_acc"] for r in res.curve)


def test_absurd_learning_rate_stops_with_the_iteration_named(task, tiny_cfg):
    with pytest.raises(NumericalError, match=r"initial training, epoch 1: .*NaN/inf"):
        develop(task, {**tiny_cfg, "lr": 1e300}, seed=0)


def test_weights_turning_nan_mid_run_stop_with_the_iteration_named(task, tiny_cfg, monkeypatch):
    import bdnn.develop as dev

    real = dev.train

    def poisoned(model, data, lr, batch_size, epochs, gen, where):
        stats = real(model, data, lr, batch_size, epochs, gen, where)
        if where == "iteration 3":
            with torch.no_grad():
                model.output.weight[0, 0] = float("nan")
            stats = real(model, data, lr, batch_size, epochs, gen, where)
        return stats

    monkeypatch.setattr(dev, "train", poisoned)
    with pytest.raises(NumericalError, match=r"iteration 3, epoch 1: .*NaN/inf"):
        develop(task, tiny_cfg, seed=0)


def test_checkpoint_round_trip_any_size(task, tiny_cfg, tmp_path):
    res = develop(task, tiny_cfg, seed=0)
    path = tmp_path / "m.pt"
    save_checkpoint(path, res.model, tiny_cfg, {"seed": 0})
    model, cfg, meta = load_checkpoint(path, expect_in=784, expect_out=10)
    assert model.n_hidden == res.model.n_hidden and cfg == tiny_cfg and meta == {"seed": 0}
    for k, v in res.model.state_dict().items():
        assert torch.equal(v, model.state_dict()[k])


def test_checkpoint_wrong_shape_newer_format_and_code_are_refused(task, tiny_cfg, tmp_path):
    res = develop(task, tiny_cfg, seed=0)
    path = tmp_path / "m.pt"
    save_checkpoint(path, res.model, tiny_cfg)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(path, expect_in=784, expect_out=5)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="newer"):
        load_checkpoint(tmp_path / "new.pt")

    class Evil:
        def __reduce__(self):
            return (exec, ("open('%s', 'w').write('x')" % (tmp_path / "pwned"),))

    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"format_version": 1, "x": Evil()}, fh)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


def test_transfer_brings_unpruned_to_the_same_accuracy_and_records_errors(mnist, tiny_cfg):
    task = make_task(mnist, list(range(10)), 200, seed=0)
    pruned = develop(task, tiny_cfg, seed=0).model
    res = run_transfer(mnist, task, pruned, tiny_cfg, seed=0, device=torch.device("cpu"))
    s = res.summary
    assert s["hidden_unpruned"] == 20 and s["hidden_pruned"] == pruned.n_hidden
    assert s["unpruned_reached_target"] == (s["A_unpruned"] >= s["A_pruned"])
    rows = res.rows
    assert {r["network"] for r in rows} == {"pruned", "unpruned"}
    steps = [r["step"] for r in rows if r["network"] == "pruned"]
    assert steps == [0, 5, 10]  # 100 samples / batch 10 = 10 steps, logged every 5
    assert all(0.0 <= r["error_new"] <= 1.0 and 0.0 <= r["error_test"] <= 1.0 for r in rows)
    json.dumps(s)
