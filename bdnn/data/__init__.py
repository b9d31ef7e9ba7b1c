"""Verified offline datasets (a registry: name -> source, hashes, class names, input size;
`registry`) and the seed-determined draws of a task (`tasks`). The registry imports neither torch
nor numpy: the workflow reads it at parse time."""

from bdnn.data.registry import DATASETS, FASHION_MNIST, MNIST, DataError, DatasetSpec, dataset

__all__ = ["DATASETS", "FASHION_MNIST", "MNIST", "DataError", "DatasetSpec", "dataset"]
