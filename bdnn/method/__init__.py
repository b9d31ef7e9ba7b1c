"""The paper's method on tensors: the network, the pruning criteria, fitness (Eqs. 1-7), SGD and
evaluation, the developmental loop and the transfer procedures. It imports torch and numpy and
nothing of the project's files, configs or tracking (`make lint` enforces it).

    from bdnn.method import DevelopData, Stream, initial_network, torch_generator
    from bdnn.method.develop import develop

The names below are loaded on first use, so that `bdnn.method.names` (the method's lists of
names, needed to parse the workflow) imports without torch. A name that is also a module's
(`develop`, `fitness`) is imported from its module.
"""

from importlib import import_module

_EXPORTS = {
    "criteria": (
        "Activation",
        "Criterion",
        "Eq1",
        "Magnitude",
        "RandomCriterion",
        "Taylor",
        "criterion",
        "importance",
        "least_important",
        "n_to_prune",
        "schedule_sizes",
    ),
    "develop": ("DevelopData", "DevelopResult"),
    "fitness": ("accuracy", "mean_weight", "stability"),
    "model": ("PrunableMLP", "initial_network"),
    "names": ("CONTROLS", "NETWORKS", "TASK_NETWORKS"),
    "settings": (
        "DevelopSettings",
        "FitnessSettings",
        "NetworkSettings",
        "PruneSettings",
        "TrainedStart",
        "TrainingSettings",
        "TransferSettings",
    ),
    "sgd": ("NumericalError", "Tensors", "evaluate", "train"),
    "streams": ("Stream", "numpy_rng", "stream_seed", "torch_generator"),
    "transfer": ("Start", "TransferResult", "run_task_transfer", "run_task_transfers", "run_transfer", "run_transfers"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'bdnn.method' has no attribute {name!r}")
    return getattr(import_module(f"bdnn.method.{_MODULE_OF[name]}"), name)
