"""Verified offline datasets (a registry: name -> source, hashes, class names, input size) and the
seed-determined draws of a task."""

from bdnn.data.registry import DATASETS, MNIST, DataError, DatasetSpec, dataset
from bdnn.data.store import Dataset, array_sha256, load_dataset, load_mnist, read_cache, verify
from bdnn.data.tasks import Split, Task, classes_test_split, make_task, new_samples, stratified_indices, task_draws

__all__ = [
    "DATASETS",
    "MNIST",
    "DataError",
    "Dataset",
    "DatasetSpec",
    "Split",
    "Task",
    "array_sha256",
    "classes_test_split",
    "dataset",
    "load_dataset",
    "load_mnist",
    "make_task",
    "new_samples",
    "read_cache",
    "stratified_indices",
    "task_draws",
    "verify",
]
