"""The method against hand-computed values: Eq. 1, Eqs. 2-7, physical removal, the SGD step."""

import math

import pytest
import torch

from bdnn.method.criteria import Criterion, Eq1, RandomCriterion, importance, least_important, n_to_prune, schedule_sizes
from bdnn.method.fitness import accuracy, fitness, mean_weight, stability
from bdnn.method.model import PrunableMLP
from bdnn.method.settings import PruneSettings
from bdnn.method.sgd import Batch, Tensors, sgd_step, train
from bdnn.method.streams import Stream, numpy_rng, stream_seed, torch_generator


def tiny_net() -> PrunableMLP:
    """2 inputs -> 3 hidden -> 2 outputs with hand-set weights."""
    m = PrunableMLP(2, 3, 2)
    with torch.no_grad():
        m.hidden.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.5], [-3.0, 0.0]]))
        m.hidden.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
        m.output.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [2.0, -0.25, 0.5]]))
        m.output.bias.copy_(torch.tensor([7.0, 8.0]))
    return m


def test_importance_eq1_by_hand():
    # neuron 0: |1|+|-2| + |1|+|2| = 6; neuron 1: 0.5+0.5 + 0+0.25 = 1.25; neuron 2: 3+0 + 1+0.5 = 4.5
    assert importance(tiny_net()).tolist() == [6.0, 1.25, 4.5]


def test_remove_hidden_is_physical_and_keeps_the_other_weights():
    m = tiny_net()
    m.remove_hidden([1])
    assert m.n_hidden == 2 and m.hidden.out_features == 2 and m.output.in_features == 2
    assert m.hidden.weight.tolist() == [[1.0, -2.0], [-3.0, 0.0]]
    assert [round(b, 6) for b in m.hidden.bias.tolist()] == [0.1, 0.3]
    assert m.output.weight.tolist() == [[1.0, -1.0], [2.0, 0.5]]
    assert m.output.bias.tolist() == [7.0, 8.0]  # output biases untouched
    assert m(torch.zeros(4, 2)).shape == (4, 2)
    assert sum(p.numel() for p in m.parameters()) == 2 * 2 + 2 + 2 * 2 + 2
    with pytest.raises(IndexError):
        m.remove_hidden([5])
    with pytest.raises(ValueError):
        m.remove_hidden([0, 1])


def test_prune_schedule_ties_and_floor():
    def prune(schedule, fraction, count, min_hidden):
        return PruneSettings(schedule=schedule, fraction=fraction, count=count, min_hidden=min_hidden, patience=None)

    assert n_to_prune(1000, prune("fraction", 0.1, 50, 2)) == 100
    assert n_to_prune(11, prune("fraction", 0.1, 50, 2)) == 2  # ceil(1.1)
    assert n_to_prune(3, prune("fraction", 0.5, 50, 2)) == 1  # never below the floor
    assert n_to_prune(120, prune("count", 0.1, 50, 2)) == 50
    assert n_to_prune(40, prune("count", 0.1, 50, 2)) == 38
    assert least_important(torch.tensor([2.0, 1.0, 1.0, 0.5, 1.0]), 3).tolist() == [3, 1, 2]  # ties: lower index
    sizes = schedule_sizes(1000, prune("fraction", 0.1, 50, 2))
    assert sizes[:3] == [900, 810, 729] and sizes[-1] == 2 and len(sizes) == 48
    assert schedule_sizes(120, prune("count", 0.1, 50, 10)) == [70, 20, 10]


def test_stability_eqs_3_to_5_by_hand():
    wp = torch.tensor([0.0, 0.0, 0.0, 0.0])
    wr = torch.tensor([0.5, -0.25, 0.25, 0.0])
    # raw: p = [.5, .25, .25, 0]; terms p log2 p = [-.5, -.5, -.5, 0]; H = 1.5; max|term| = .5; N_c = 4
    assert stability(wp, wr, "raw") == pytest.approx(1.5 / (0.5 * 4))
    # normalized: p / sum = same (sum = 1)
    assert stability(wp, wr, "normalized") == pytest.approx(0.75)
    wr2 = wr * 2  # raw p = [1, .5, .5, 0]: terms [0, -.5, -.5, 0], H = 1, max = .5
    assert stability(wp, wr2, "raw") == pytest.approx(1.0 / (0.5 * 4))
    assert stability(wp, wr2, "normalized") == pytest.approx(0.75)  # scale-free
    uniform = torch.ones(8)
    # normalized uniform p = 1/8: H = 3, max |term| = 3/8, S = 3 / (3/8 * 8) = 1
    assert stability(torch.zeros(8), uniform, "normalized") == pytest.approx(1.0)


def test_stability_of_no_change_is_zero_not_nan():
    w = torch.randn(10)
    for mode in ("normalized", "raw"):
        s = stability(w, w.clone(), mode)
        assert s == 0.0 and not math.isnan(s)
    with pytest.raises(ValueError):
        stability(w, w, "bogus")


def test_mean_weight_eq6_both_readings_by_hand():
    m = tiny_net()
    total = (1 + 2 + 0.5 + 0.5 + 3 + 0) + (1 + 0 + 1 + 2 + 0.25 + 0.5)  # = 11.75, biases excluded
    assert mean_weight(m, "per_connection") == pytest.approx(total / 12)
    assert mean_weight(m, "printed") == pytest.approx(total / (2 + 3))
    m.remove_hidden([1])
    assert mean_weight(m, "printed") == pytest.approx((total - 1.25) / (2 + 2))


def test_accuracy_and_fitness_eqs_2_and_7():
    assert accuracy(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 1, 2])) == 0.75
    assert fitness(0.9, 0.3, 0.06, 1 / 3, 1 / 3, 1 / 3) == pytest.approx((0.9 + 0.3 + 0.06) / 3)
    assert fitness(1.0, 2.0, 3.0, alpha=0.5, beta=0.25, gamma=0.0) == pytest.approx(1.0)


def test_hand_written_sgd_step_equals_autograd_sgd():
    torch.manual_seed(0)
    a = PrunableMLP(784, 37, 10)
    b = PrunableMLP(784, 37, 10)
    b.load_state_dict(a.state_dict())
    x = torch.rand(10, 784)
    y = torch.randint(0, 10, (10,))
    t = torch.nn.functional.one_hot(y, 10).float()
    sgd_step(a, Batch(x, t), lr=0.3)
    opt = torch.optim.SGD(b.parameters(), lr=0.3)
    loss = (0.5 * (b(x) - t).pow(2).sum(1)).mean()
    loss.backward()
    opt.step()
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6, rtol=1e-5), name


def test_running_training_stats_match_a_full_pass_when_weights_do_not_move():
    from bdnn.method.sgd import evaluate

    torch.manual_seed(1)
    m = PrunableMLP(784, 30, 10)
    y = torch.randint(0, 10, (50,))
    data = Tensors(x=torch.rand(50, 784), y=y, t=torch.nn.functional.one_hot(y, 10).float())
    loss, acc = train(m, data, lr=1e-30, batch_size=10, epochs=2, generator=torch_generator(0, Stream.ORDER), where="t")
    acc_full, loss_full = evaluate(m, data)
    assert acc == acc_full and loss == pytest.approx(loss_full, rel=1e-6)


def test_evaluate_is_the_models_forward_pass_bit_for_bit():
    """evaluate's in-place forward pass gives the model's outputs exactly: its accuracy and loss
    are those of model(x); in chunks the loss sums in another order (equal to rounding)."""
    from bdnn.method.fitness import accuracy
    from bdnn.method.sgd import evaluate

    torch.manual_seed(2)
    m = PrunableMLP(784, 40, 10)
    y = torch.randint(0, 10, (250,))
    data = Tensors(x=torch.rand(250, 784), y=y, t=torch.nn.functional.one_hot(y, 10).float())
    with torch.no_grad():
        o = m(data.x)
    want = (accuracy(o.argmax(1), y), float(0.5 * (o - data.t).double().pow(2).sum()) / 250)
    assert evaluate(m, data) == want
    acc, loss = evaluate(m, data, chunk=100)
    assert acc == want[0] and loss == pytest.approx(want[1], rel=1e-9)


def test_criteria_by_hand_eq1_and_random():
    m = tiny_net()
    assert Eq1().select(m, 1).tolist() == [1]  # importance 6, 1.25, 4.5: neuron 1 is the least important
    assert Eq1().select(m, 2).tolist() == [1, 2]
    gen, again = torch_generator(0, Stream.RANDOM_PRUNING), torch_generator(0, Stream.RANDOM_PRUNING)
    # the random control prunes the first n of a random permutation (today's choice, bit for bit)
    assert set(RandomCriterion(gen).select(m, 2).tolist()) == set(torch.randperm(3, generator=again)[:2].tolist())
    with pytest.raises(NotImplementedError):
        Criterion().scores(m)


def test_the_training_hook_sees_the_hidden_activations_and_their_gradient():
    """observe(h, dL/dh) on a mini-batch equals autograd's gradient of the batch's mean loss with
    respect to the hidden activations, before the update; the step itself is unchanged."""
    torch.manual_seed(0)
    a, b = PrunableMLP(784, 7, 10), PrunableMLP(784, 7, 10)
    b.load_state_dict(a.state_dict())
    x, y = torch.rand(5, 784), torch.randint(0, 10, (5,))
    t = torch.nn.functional.one_hot(y, 10).float()
    h = a.forward_hidden(x).detach().requires_grad_(True)
    loss = (0.5 * (torch.sigmoid(a.output(h)) - t).pow(2).sum(1)).mean()
    (grad,) = torch.autograd.grad(loss, h)
    seen = []
    sgd_step(a, Batch(x, t), 0.3, observe=lambda hid, g: seen.append((hid.clone(), g.clone())))
    sgd_step(b, Batch(x, t), 0.3)
    assert torch.allclose(seen[0][0], h.detach()) and torch.allclose(seen[0][1], grad, atol=1e-7)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_train_calls_the_hook_on_every_mini_batch_of_the_last_epoch_only():
    torch.manual_seed(0)
    y = torch.randint(0, 10, (25,))
    data = Tensors(x=torch.rand(25, 784), y=y, t=torch.nn.functional.one_hot(y, 10).float())
    sizes = []
    train(PrunableMLP(784, 6, 10), data, 0.1, 10, 3, torch_generator(0, Stream.ORDER), "t", observe=lambda h, g: sizes.append(len(h)))
    assert sizes == [10, 10, 5]  # 3 epochs of 25 samples at batch 10: the last epoch's 3 mini-batches


def test_random_streams_are_pinned():
    """The stream ids are part of every result: these values are today's (changing an id changes results)."""
    ids = {s.name: s.value for s in Stream}
    assert ids == {
        "TRAIN_DRAW": ("draw", 0), "VALIDATION_DRAW": ("draw", 1), "NEW_SAMPLES_DRAW": ("draw", 2), "TASK_DRAW": ("draw", 6),
        "ORDER": ("torch", 0), "TRANSFER_ORDER": ("torch", 2), "SCRATCH": ("torch", 3), "RANDOM_PRUNING": ("torch", 4), "NEW_HEAD": ("torch", 5),
        "SCRATCH_ORDER": ("torch", 7), "CRITERION": ("torch", 8),
    }  # fmt: skip
    assert stream_seed(0, Stream.ORDER) == 2968811710 and stream_seed(0, Stream.SCRATCH) == 2613022947
    assert stream_seed(0, Stream.TRANSFER_ORDER, 1200) == 1470173689
    assert stream_seed(0, Stream.SCRATCH_ORDER) != stream_seed(0, Stream.SCRATCH)  # initialisation and order apart
    assert numpy_rng(0, Stream.TRAIN_DRAW).integers(0, 1000, 3).tolist() == [850, 636, 511]
    assert numpy_rng(3, Stream.NEW_SAMPLES_DRAW, 1200).integers(0, 1000, 3).tolist() == [936, 391, 988]
    with pytest.raises(ValueError, match="draw stream"):
        stream_seed(0, Stream.TRAIN_DRAW)


def test_the_method_package_exports_resolve_to_their_objects():
    """Every name `bdnn.method` exports is the object of its module, even after its modules are
    imported (a submodule would shadow a lazily exported name of the same spelling)."""
    import bdnn.method as method
    import bdnn.method.develop  # noqa: F401
    import bdnn.method.fitness  # noqa: F401

    for name in method.__all__:
        obj = getattr(method, name)
        assert not isinstance(obj, type(method)), name
    from bdnn.method import DevelopData, Stream

    assert DevelopData.__module__ == "bdnn.method.develop" and Stream.__module__ == "bdnn.method.streams"
