"""Algorithm 1 end to end on a tiny task: curve, peak selection, early stop, determinism,
NaN detection, checkpoints, transfer."""

import dataclasses
import json
import math
import pickle

import pytest
import torch
from conftest import develop_run, initial, start_of

from bdnn.data.tasks import classes_test_split, make_task, new_samples, task_draws
from bdnn.method.settings import TransferSettings
from bdnn.method.sgd import NumericalError, Tensors
from bdnn.method.streams import Stream, stream_seed
from bdnn.method.transfer import (
    new_head,
    prepare,
    prepare_networks,
    record_steps,
    run_task_transfer,
    run_task_transfers,
    run_transfer,
    run_transfers,
)
from bdnn.pipeline.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from bdnn.pipeline.layout import CURVE_COLUMNS, NETWORKS, TIMING_COLUMNS


@pytest.fixture
def task(mnist):
    return make_task(mnist, list(range(10)), 100, seed=0)


def _strip(curve):
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in curve]


def test_curve_runs_to_the_floor_and_peak_is_first_argmax(task, tiny_cfg):
    res = develop_run(task, tiny_cfg, seed=0)
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
    from bdnn.method.sgd import evaluate

    res = develop_run(task, tiny_cfg, seed=0)
    acc, _ = evaluate(res.model, Tensors.of(*task.test.arrays(), 10))
    assert acc == res.peak["A"]


def test_same_seed_bit_identical_other_seed_differs(task, tiny_cfg):
    a, b = develop_run(task, tiny_cfg, seed=3), develop_run(task, tiny_cfg, seed=3)
    assert _strip(a.curve) == _strip(b.curve)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])
    assert _strip(develop_run(task, tiny_cfg, seed=4).curve) != _strip(a.curve)


@pytest.mark.parametrize("patience", [1, 2, 4])
def test_patience_stops_exactly_patience_iterations_after_the_peak(task, tiny_cfg, monkeypatch, patience):
    """F made to peak at iteration 3 and fall after it: the loop stops exactly `patience`
    iterations later (or runs to the floor, 8 iterations, without patience), keeping the peak."""
    import bdnn.method.develop as dev

    real, calls = dev.measure, []
    f_of = [None, 0.2, 0.6, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1]  # iteration 0 has no F; the peak is at iteration 3

    def known_f(*args):
        row = real(*args)
        row["F"] = f_of[len(calls)]
        calls.append(row["A"])
        return row

    monkeypatch.setattr(dev, "measure", known_f)
    res = develop_run(task, {**tiny_cfg, "prune": {**tiny_cfg["prune"], "patience": patience}}, seed=0)
    assert res.summary["iterations"] == 3 + patience and res.summary["stopped_early"]
    assert res.summary["peak_iteration"] == 3 and res.model.n_hidden == res.summary["hidden_at_peak"] == 9
    calls.clear()
    full = develop_run(task, tiny_cfg, seed=0)
    assert full.summary["iterations"] == 8 and not full.summary["stopped_early"] and full.summary["peak_iteration"] == 3
    assert _strip(res.curve) == _strip(full.curve)[: len(res.curve)]


def test_validation_split_is_used_for_A(mnist, tiny_cfg):
    task = make_task(mnist, [0, 1], 100, seed=0, validation_size=50)
    cfg = {**tiny_cfg, "fitness": {**tiny_cfg["fitness"], "eval_split": "validation"}}
    res = develop_run(task, cfg, seed=0)
    assert any(r["A"] != r["test_acc"] for r in res.curve)


def test_absurd_learning_rate_stops_with_the_iteration_named(task, tiny_cfg):
    with pytest.raises(NumericalError, match=r"initial training, epoch 1: .*NaN/inf"):
        develop_run(task, {**tiny_cfg, "lr": 1e300}, seed=0)


def test_weights_turning_nan_mid_run_stop_with_the_iteration_named(task, tiny_cfg, monkeypatch):
    import bdnn.method.develop as dev

    real = dev.train

    def poisoned(model, data, lr, batch_size, epochs, gen, where, steps=None, observe=None):
        stats = real(model, data, lr, batch_size, epochs, gen, where, steps, observe)
        if where == "iteration 3":
            with torch.no_grad():
                model.output.weight[0, 0] = float("nan")
            stats = real(model, data, lr, batch_size, epochs, gen, where, steps, observe)
        return stats

    monkeypatch.setattr(dev, "train", poisoned)
    with pytest.raises(NumericalError, match=r"iteration 3, epoch 1: .*NaN/inf"):
        develop_run(task, tiny_cfg, seed=0)


def test_checkpoint_round_trip_any_size(task, tiny_cfg, tmp_path):
    res = develop_run(task, tiny_cfg, seed=0)
    path = tmp_path / "m.pt"
    save_checkpoint(path, res.model, tiny_cfg, {"seed": 0})
    model, cfg, meta = load_checkpoint(path, expect_in=784, expect_out=10)
    assert model.n_hidden == res.model.n_hidden and cfg == tiny_cfg and meta == {"seed": 0}
    for k, v in res.model.state_dict().items():
        assert torch.equal(v, model.state_dict()[k])


def test_checkpoint_wrong_shape_newer_format_and_code_are_refused(task, tiny_cfg, tmp_path):
    res = develop_run(task, tiny_cfg, seed=0)
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


def test_transfer_of_each_network_records_errors_and_what_it_received(mnist, tiny_cfg):
    task = make_task(mnist, list(range(10)), 200, seed=0)
    dev = develop_run(task, tiny_cfg, seed=0)
    epochs = tiny_cfg["initial_epochs"] + dev.summary["peak_iteration"] * tiny_cfg["retrain_epochs"]
    start = start_of(task, dev, tiny_cfg)
    draws = {n: Tensors.of(*new_samples(mnist, task, n, 0).arrays(), 10) for n in tiny_cfg["transfer"]["new_samples"]}
    out = {kind: run_transfer(kind, start, draws) for kind in NETWORKS}
    s = {kind: r.summary for kind, r in out.items()}
    size = dev.model.n_hidden
    assert s["pruned"]["hidden"] == s["scratch"]["hidden"] == s["random"]["hidden"] == size
    assert s["unpruned"]["hidden"] == s["unpruned_epochs"]["hidden"] == 20
    assert s["pruned"]["epochs"] == s["unpruned_epochs"]["epochs"] == s["scratch"]["epochs"] == s["random"]["epochs"] == epochs
    assert s["unpruned"]["reached_target"] == (s["unpruned"]["accuracy_before"] >= s["pruned"]["accuracy_before"])
    assert all(v["target"] == s["pruned"]["accuracy_before"] for v in s.values())
    for kind, r in out.items():
        assert {row["network"] for row in r.rows} == {kind}
        assert [row["step"] for row in r.rows if row["new_samples"] == 100] == [0, 5, 10]  # 10 steps, logged every 5
        assert all(0.0 <= row["error_new"] <= 1.0 for row in r.rows)
        # the test error at step 0 and at epoch ends (10 steps an epoch) only
        assert [math.isnan(row["error_test"]) for row in r.rows if row["new_samples"] == 100] == [False, True, False]
        draw = r.summary["draws"]["100"]
        errors = [row for row in r.rows if row["new_samples"] == 100]
        assert draw["final_error_new"] == errors[-1]["error_new"] and draw["final_error_test"] == errors[-1]["error_test"]
        assert draw["best_error_test"] == min(errors[0]["error_test"], errors[-1]["error_test"])
        json.dumps(r.summary)
    # the same sample order and draws for every network: the pruned network's curve does not depend on the job
    again = run_transfer("pruned", start, draws)
    assert again.rows == out["pruned"].rows


def _weights(model):
    return [t.clone() for t in model.state_dict().values()]


@pytest.mark.parametrize("order", [("unpruned", "unpruned_epochs"), ("unpruned_epochs", "unpruned")])
def test_the_unpruned_controls_from_one_training_are_the_networks_of_two(mnist, tiny_cfg, order):
    """Asked together, the two un-pruned controls come from one training: bit for bit the networks
    (and epochs, targets, accuracies) that each gets alone, whether the accuracy-matched network is
    reached before the developed network's epochs (peak at its iteration) or after them (peak at
    iteration 0, 6 epochs allowed), in either order of asking."""
    task = make_task(mnist, list(range(10)), 200, seed=0)
    dev = develop_run(task, tiny_cfg, seed=0)
    base = start_of(task, dev, tiny_cfg)
    later = dataclasses.replace(base, peak_iteration=0, transfer=dataclasses.replace(base.transfer, max_epochs=6))
    received = []
    for start in (base, later):
        alone = {kind: prepare(kind, start) for kind in order}
        together = dict(zip(order, prepare_networks(order, start), strict=True))
        for kind in order:
            assert together[kind][1] == alone[kind][1], kind
            assert all(torch.equal(a, b) for a, b in zip(_weights(together[kind][0]), _weights(alone[kind][0]), strict=True)), kind
        received.append((alone["unpruned"][1]["epochs"], alone["unpruned_epochs"][1]["epochs"]))
    (m1, e1), (m2, e2) = received
    assert m1 <= e1 and m2 > e2, received  # both cases happen: matched within, and beyond, the developed epochs
    # a job of every network gives each the rows its own job gives; a task job likewise
    draws = {n: Tensors.of(*new_samples(mnist, task, n, 0).arrays(), 10) for n in tiny_cfg["transfer"]["new_samples"]}
    for res in run_transfers(NETWORKS, base, draws):
        kind = res.summary["network"]
        assert res.rows == run_transfer(kind, base, draws).rows, kind
    with pytest.raises(ValueError, match="unknown network kind 'nope'"):
        next(prepare_networks(["pruned", "nope"], base))
    with pytest.raises(ValueError, match="for the task transfer"):
        next(run_task_transfers(["pruned", "random"], base, draws, base.data.test))


def test_record_steps_by_hand():
    """Geometric: round(geomspace(1, 20, 4)) = 1, 3, 7, 20, with step 0 and the epoch ends 10, 20;
    every 4 mini-batches of each 10-step epoch: 4, 8 and 14, 18, with 0, 10, 20."""
    geometric = TransferSettings(epochs=2, max_epochs=1, records=4, log_every=None)
    assert sorted(record_steps(geometric, 10)) == [0, 1, 3, 7, 10, 20]
    every = TransferSettings(epochs=2, max_epochs=1, records=None, log_every=4)
    assert sorted(record_steps(every, 10)) == [0, 4, 8, 10, 14, 18, 20]
    with pytest.raises(ValueError, match="records or log_every"):
        record_steps(TransferSettings(epochs=1, max_epochs=1, records=None, log_every=None), 10)


def test_controls_scratch_and_random_are_what_they_claim(mnist, tiny_cfg):
    task = make_task(mnist, list(range(10)), 200, seed=0)
    dev = develop_run(task, tiny_cfg, seed=0)
    # scratch: with no training it is exactly a fresh network of the developed size from its own stream
    untrained = {**tiny_cfg, "initial_epochs": 0}
    scratch, info = prepare("scratch", dataclasses.replace(start_of(task, dev, untrained), peak_iteration=0))
    fresh = initial(task, tiny_cfg, stream_seed(0, Stream.SCRATCH), hidden=dev.model.n_hidden)
    assert info["epochs"] == 0 and scratch.n_hidden == dev.model.n_hidden
    for a, b in zip(scratch.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    full = initial(task, tiny_cfg, 0)  # the 1000-unit (here 20-unit) start it never saw
    assert not torch.equal(scratch.output.weight, full.output.weight[:, : dev.model.n_hidden])
    # random: the same schedule down to the developed size; Eq. 1's run down to that size shares its
    # initial training, sample order and retraining, so equal weights would mean equal choices
    eq1 = develop_run(task, {**tiny_cfg, "prune": {**tiny_cfg["prune"], "min_hidden": dev.model.n_hidden}}, 0)
    random_net, info = prepare("random", start_of(task, dev, tiny_cfg))
    assert random_net.n_hidden == dev.model.n_hidden == eq1.final.n_hidden
    assert info["epochs"] == tiny_cfg["initial_epochs"] + eq1.summary["iterations"] * tiny_cfg["retrain_epochs"]
    assert [r["hidden"] for r in eq1.curve] == [r["hidden"] for r in dev.curve[: len(eq1.curve)]]  # the same schedule
    assert not torch.equal(random_net.hidden.weight, eq1.final.hidden.weight)


def test_transfer_to_another_task_keeps_the_hidden_layer_and_uses_unseen_draws(mnist, tiny_cfg):
    cfg = {**tiny_cfg, "task_transfer": {"from": "0-4", "to": [5, 6, 7, 8, 9], "new_samples": [50, 100]}}
    task = make_task(mnist, [0, 1, 2, 3, 4], 100, seed=0)
    dev = develop_run(task, cfg, seed=0)
    head = new_head(dev.model, 5, cfg["init"], seed=0)
    assert head.n_out == 5 and torch.equal(head.hidden.weight, dev.model.hidden.weight)  # the hidden layer is kept
    assert not torch.equal(head.output.weight, dev.model.output.weight)  # a fresh output layer
    main = make_task(mnist, list(range(10)), cfg["transfer"]["samples"], seed=0)
    draws = task_draws(mnist, main, cfg["transfer"]["new_samples"], [5, 6, 7, 8, 9], [50, 100], seed=0)
    seen = set(main.train.index).union(*(new_samples(mnist, main, n, 0).index for n in cfg["transfer"]["new_samples"]))
    assert sorted(draws) == [50, 100] and not set(draws[50].index) & set(draws[100].index)
    for d in draws.values():
        assert not set(d.index) & seen and set(mnist.train_labels[d.index]) == {5, 6, 7, 8, 9}
        assert sorted(set(d.y.tolist())) == [0, 1, 2, 3, 4]  # remapped to the new head's units
    start = start_of(task, dev, cfg)
    tensors = {n: Tensors.of(*d.arrays(), 5) for n, d in draws.items()}
    new_test = Tensors.of(*classes_test_split(mnist, [5, 6, 7, 8, 9]).arrays(), 5)
    results = {kind: run_task_transfer(kind, start, tensors, new_test) for kind in ("pruned", "unpruned", "scratch")}
    assert results["scratch"].summary["epochs"] == 0 and results["scratch"].summary["hidden"] == dev.model.n_hidden
    assert results["unpruned"].summary["hidden"] == cfg["hidden_init"]
    for r in results.values():
        assert set(r.summary["draws"]) == {"50", "100"}
        assert [row["step"] for row in r.rows if row["new_samples"] == 50] == [0, 5]  # 5 steps an epoch, logged every 5


def test_the_method_runs_without_a_config_file(task, tiny_cfg):
    """develop(model, data, settings) from a notebook: settings built by hand, no config, no files;
    the same run as the pipeline's under the same values."""
    from bdnn.method import DevelopData, Stream, initial_network, torch_generator
    from bdnn.method.develop import develop
    from bdnn.method.settings import DevelopSettings, FitnessSettings, NetworkSettings, PruneSettings, TrainingSettings

    third = 0.3333333333333333
    settings = DevelopSettings(
        network=NetworkSettings(hidden_init=20, init="default"),
        training=TrainingSettings(lr=0.5, batch_size=10, initial_epochs=1, retrain_epochs=1, equal_steps=None, trained_start=None),
        prune=PruneSettings(schedule="fraction", fraction=0.2, count=50, min_hidden=2, patience=None),
        fitness=FitnessSettings(alpha=third, beta=third, gamma=third, stability="normalized", mean_weight="per_connection"),
    )
    data = DevelopData.of(10, train=task.train.arrays(), test=task.test.arrays())
    res = develop(initial_network(784, 20, 10, "default", seed=0), data, settings, torch_generator(0, Stream.ORDER))
    assert _strip(res.curve) == _strip(develop_run(task, tiny_cfg, seed=0).curve)
