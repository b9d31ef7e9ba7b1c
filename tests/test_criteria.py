"""The pruning criteria (prune.criterion) on networks and mini-batches small enough to compute by
hand; `magnitude` against torch.nn.utils.prune; the observing criteria inside the developmental
loop (they see the last epoch of every phase, the kept epoch of a trained start)."""

import copy

import pytest
import torch
from torch.nn.utils import prune as torch_prune

from bdnn.method import names
from bdnn.method.criteria import CRITERIA, Activation, Eq1, Magnitude, RandomCriterion, Taylor, criterion
from bdnn.method.develop import DevelopData, develop, develop_each, train_until_plateau
from bdnn.method.model import PrunableMLP
from bdnn.method.settings import DevelopSettings, FitnessSettings, NetworkSettings, PruneSettings, TrainedStart, TrainingSettings
from bdnn.method.sgd import Tensors
from bdnn.method.streams import Stream, torch_generator


def tiny_net() -> PrunableMLP:
    """2 inputs -> 3 hidden -> 2 outputs with hand-set weights (as in test_method.py)."""
    m = PrunableMLP(2, 3, 2)
    with torch.no_grad():
        m.hidden.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.5], [-3.0, 0.5]]))
        m.hidden.bias.copy_(torch.tensor([9.0, 9.0, 9.0]))  # biases count in no criterion
        m.output.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [2.0, -0.25, 0.5]]))
    return m


def test_the_registry_is_the_schema_list_and_builds_by_name():
    assert tuple(CRITERIA) == names.CRITERIA and names.CRITERIA[0] == "eq1"
    assert isinstance(criterion("taylor"), Taylor) and isinstance(criterion("random", torch.Generator()), RandomCriterion)
    with pytest.raises(ValueError, match="unknown pruning criterion 'l2'"):
        criterion("l2")
    with pytest.raises(ValueError, match="needs a generator"):
        criterion("random")


def test_magnitude_by_hand_is_incoming_weights_only():
    # incoming L1: |1|+|-2| = 3, 0.5+0.5 = 1, 3+0.5 = 3.5; Eq. 1 adds the outgoing: 6, 1.25, 5
    m = tiny_net()
    assert Magnitude().scores(m).tolist() == [3.0, 1.0, 3.5]
    assert Magnitude().select(m, 2).tolist() == [1, 0]
    assert Eq1().scores(m).tolist() == [6.0, 1.25, 5.0]


@pytest.mark.parametrize("amount", [1, 7, 30])
def test_magnitude_prunes_the_neurons_that_ln_structured_masks(amount):
    torch.manual_seed(amount)
    m = PrunableMLP(20, 40, 3)
    layer = copy.deepcopy(m.hidden)
    torch_prune.ln_structured(layer, "weight", amount=amount, n=1, dim=0)
    masked = (layer.weight_mask.sum(dim=1) == 0).nonzero().flatten().tolist()
    assert sorted(Magnitude().select(m, amount).tolist()) == sorted(masked) and len(masked) == amount


def test_taylor_by_hand_takes_the_absolute_value_per_mini_batch():
    c = Taylor()
    c.start_epoch()
    # batch 1: sum over samples of a_j * g_j = [1*1 + 0.5*2, 2*(-1) + 0.5*2, 3*0 + 0.5*2] = [2, -1, 1] -> |.| = [2, 1, 1]
    c.observe(torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), torch.tensor([[1.0, -1.0, 0.0], [2.0, 2.0, 2.0]]))
    # batch 2: [-4, 3, 0] -> [4, 3, 0]
    c.observe(torch.tensor([[1.0, 1.0, 1.0]]), torch.tensor([[-4.0, 3.0, 0.0]]))
    m = tiny_net()
    assert c.scores(m).tolist() == [3.0, 2.0, 0.5]  # the mean over the 2 mini-batches
    assert c.select(m, 1).tolist() == [2]  # (a signed sum over the epoch would give neuron 0 |2 - 4| / 2 = 1)
    c.start_epoch()  # a new phase forgets the last
    with pytest.raises(RuntimeError, match="observed no training epoch"):
        c.scores(m)


def test_activation_by_hand_is_the_variance_over_samples():
    c = Activation()
    c.start_epoch()
    c.observe(torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]), torch.zeros(2, 3))
    c.observe(torch.tensor([[1.0, 1.0, 1.0]]), torch.zeros(1, 3))
    # neuron 0: values 1, 0.5, 1: mean 5/6, mean square 0.75, variance 0.75 - 25/36 = 1/18
    # neuron 1: 2, 0.5, 1: 1.75 - (7/6)^2 = 7/18; neuron 2: 3, 0.5, 1: 41/12 - 2.25 = 7/6
    assert c.scores(tiny_net()).tolist() == pytest.approx([1 / 18, 7 / 18, 7 / 6])
    assert c.select(tiny_net(), 1).tolist() == [0]


def test_an_observing_criterion_refuses_scores_for_another_network():
    c = Activation()
    c.start_epoch()
    c.observe(torch.rand(4, 5), torch.rand(4, 5))
    with pytest.raises(RuntimeError, match="observed no training epoch of this network"):
        c.scores(tiny_net())  # 3 hidden neurons, 5 observed


def _settings(trained_start: TrainedStart | None = None, min_hidden: int = 2) -> DevelopSettings:
    return DevelopSettings(
        network=NetworkSettings(hidden_init=12, init="default"),
        training=TrainingSettings(lr=0.5, batch_size=10, initial_epochs=2, retrain_epochs=1, equal_steps=None, trained_start=trained_start),
        prune=PruneSettings(schedule="fraction", fraction=0.2, count=1, min_hidden=min_hidden, patience=None),
        fitness=FitnessSettings(alpha=1 / 3, beta=1 / 3, gamma=1 / 3, stability="normalized", mean_weight="per_connection"),
    )


def _data(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.rand(n, 16, generator=g) * 0.2 + torch.nn.functional.one_hot(y, 16).float() * 0.8
    return x.numpy(), y.numpy()


class Recording(Taylor):
    """Taylor that records each phase's observed mini-batches and what each selection saw."""

    def __init__(self) -> None:
        super().__init__()
        self.batches, self.phases, self.selected_after = 0, [], []

    def start_epoch(self) -> None:
        super().start_epoch()
        self.phases.append(0)

    def observe(self, hidden, grad_hidden) -> None:
        super().observe(hidden, grad_hidden)
        self.phases[-1] += 1

    def select(self, model, n):
        self.selected_after.append(self.phases[-1])
        return super().select(model, n)


@pytest.mark.parametrize("name", names.CRITERIA)
def test_every_criterion_develops_a_network_down_to_the_floor(name):
    data = DevelopData.of(3, train=_data(), test=_data(30, seed=1))
    torch.manual_seed(0)
    model = PrunableMLP(16, 12, 3)
    res = develop(model, data, _settings(), torch_generator(0, Stream.ORDER), criterion(name, torch_generator(0, Stream.CRITERION)))
    assert [r["hidden"] for r in res.curve] == [12, 9, 7, 5, 4, 3, 2] and res.final.n_hidden == 2


def test_taylor_selects_from_the_last_epoch_of_each_phase():
    """Each selection uses the 6 mini-batches (60 samples, batch 10) of the last epoch of the phase
    before it: the initial phase's second epoch first, then each retraining epoch."""
    data = DevelopData.of(3, train=_data(), test=_data(30, seed=1))
    torch.manual_seed(0)
    c = Recording()
    develop(PrunableMLP(16, 12, 3), data, _settings(), torch_generator(0, Stream.ORDER), c)
    assert c.selected_after == [6] * 6 and len(c.phases) == 7  # 6 pruning iterations, 7 phases


def test_the_trained_start_keeps_the_observations_of_its_kept_epoch():
    x, y = _data()
    train_d, val_d = Tensors.of(x, y, 3), Tensors.of(*_data(30, seed=2), 3)
    settings = _settings(TrainedStart(patience=2, max_epochs=6, min_steps=0)).training
    snapshots = []

    epochs = []

    class Spy(Taylor):
        def start_epoch(self):
            super().start_epoch()
            epochs.append(len(epochs) + 1)

        def snapshot(self):
            state = super().snapshot()
            snapshots.append((epochs[-1], state))
            return state

    torch.manual_seed(0)
    c = Spy()
    _, kept = train_until_plateau(PrunableMLP(16, 12, 3), train_d, val_d, settings, torch_generator(0, Stream.ORDER), c)
    assert len(epochs) > kept  # training went on past the kept epoch: what it observed then is dropped
    assert snapshots[-1][0] == kept  # a snapshot at every new best epoch, the last one the kept epoch's
    assert torch.equal(c.sums[0], snapshots[-1][1][0][0]) and c.count == 6


def _without_times(res):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in res.curve]


@pytest.mark.parametrize("trained_start", [None, TrainedStart(patience=2, max_epochs=6, min_steps=0)], ids=["epochs", "plateau"])
def test_every_criterion_from_one_trained_start_is_its_own_run_bit_for_bit(trained_start):
    """develop_each: one initial phase that every criterion observes, then each criterion's loop
    on a copy: the curves (but their times), the developed and the final networks and the
    summaries equal a separate develop run's under that criterion, with or without the plateau
    rule (whose kept epoch's observations each observing criterion must keep)."""
    data = DevelopData.of(3, train=_data(), test=_data(30, seed=1), validation=_data(30, seed=2))
    settings = _settings(trained_start)

    def crit(name):
        return criterion(name, torch_generator(0, Stream.CRITERION))

    torch.manual_seed(0)
    net = PrunableMLP(16, 12, 3)
    alone = {n: develop(copy.deepcopy(net), data, settings, torch_generator(0, Stream.ORDER), crit(n)) for n in names.CRITERIA}
    seen = []
    shared = develop_each(
        copy.deepcopy(net), data, settings, torch_generator(0, Stream.ORDER), [crit(n) for n in names.CRITERIA],
        lambda c: (lambda row, total: seen.append((c.name, row["iteration"]))),
    )  # fmt: skip
    for name, (c, res) in zip(names.CRITERIA, shared, strict=True):
        one = alone[name]
        assert c.name == name and _without_times(res) == _without_times(one)
        for a, b in ((res.model, one.model), (res.final, one.final)):
            assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
        assert {k: v for k, v in res.summary.items() if k != "seconds"} == {k: v for k, v in one.summary.items() if k != "seconds"}
    assert len({n for n, _ in seen}) == 5 and ("activation", 0) in seen  # each run reports its own progress
    # the criteria differ after the start: the shared start is not one run copied five times
    assert len({tuple(r["E"] for r in res.curve) for res in alone.values()}) == 5
