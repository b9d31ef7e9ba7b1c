"""The draws of a task: stratified, seed-determined subsets of a dataset's classes, and the draws
of unseen samples the transfer experiments train on (each disjoint from what the task used)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bdnn.data.registry import DataError
from bdnn.data.store import Dataset
from bdnn.method.streams import Stream, numpy_rng


def stratified_indices(
    labels: np.ndarray, classes: Sequence[int], n: int, rng: np.random.Generator, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Indices of `n` images, n / len(classes) of each class, drawn without replacement.

    Images in `exclude` are never drawn. The result is shuffled (not grouped by class).
    """
    c = len(classes)
    if n <= 0:
        raise DataError(f"sample count {n}: must be positive")
    if n % c:
        raise DataError(f"sample count {n} does not divide by the {c} classes (stratified: equal per class)")
    per = n // c
    excluded = np.zeros(len(labels), dtype=bool)
    if exclude is not None and len(exclude):
        excluded[exclude] = True
    picks = []
    for d in classes:
        pool = np.flatnonzero((labels == d) & ~excluded)
        if per > len(pool):
            raise DataError(f"asked for {per} images of class {d} but only {len(pool)} are available")
        picks.append(rng.choice(pool, size=per, replace=False))
    idx = np.concatenate(picks)
    return idx[rng.permutation(len(idx))]


def remap(labels: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """Map dataset labels to 0..C-1 in the order of `classes`."""
    table = np.full(256, -1, dtype=np.int64)
    table[list(classes)] = np.arange(len(classes))
    out = table[labels]
    if (out < 0).any():
        raise DataError("label outside the task's classes")
    return out


@dataclass
class Split:
    """Images as float32 in [0, 1] of shape (N, input size), labels in 0..C-1 (numpy)."""

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray  # indices into the source (train or test) arrays

    def __len__(self) -> int:
        return len(self.y)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y


def make_split(images: np.ndarray, labels: np.ndarray, idx: np.ndarray, classes: Sequence[int]) -> Split:
    x = images[idx].reshape(len(idx), -1).astype(np.float32) / np.float32(255.0)
    return Split(x=x, y=remap(labels[idx], classes), index=np.asarray(idx))


@dataclass
class Task:
    """A task: a stratified training draw of some classes, their test images, and optionally a
    held-out validation draw."""

    classes: list[int]
    train: Split
    test: Split
    validation: Split | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def used(self) -> np.ndarray:
        """The training images this task drew (training and validation draws)."""
        return self.train.index if self.validation is None else np.concatenate([self.train.index, self.validation.index])


def classes_test_split(ds: Dataset, classes: Sequence[int]) -> Split:
    """Every test image of these classes."""
    return make_split(ds.test_images, ds.test_labels, np.flatnonzero(np.isin(ds.test_labels, classes)), classes)


def make_task(ds: Dataset, classes: Sequence[int], n_samples: int, seed: int, validation_size: int = 0) -> Task:
    """Stratified, seed-determined training draw of `classes`, plus the test images of `classes`.

    With `validation_size` > 0 a further disjoint stratified draw (the split A is measured on under
    fitness.eval_split validation, and the one trained_start stops on).
    """
    classes = list(classes)
    train_idx = stratified_indices(ds.train_labels, classes, n_samples, numpy_rng(seed, Stream.TRAIN_DRAW))
    val = None
    if validation_size:
        rng = numpy_rng(seed, Stream.VALIDATION_DRAW)
        val_idx = stratified_indices(ds.train_labels, classes, validation_size, rng, exclude=train_idx)
        val = make_split(ds.train_images, ds.train_labels, val_idx, classes)
    train = make_split(ds.train_images, ds.train_labels, train_idx, classes)
    return Task(classes=classes, train=train, test=classes_test_split(ds, classes), validation=val)


def new_samples(ds: Dataset, task: Task, n: int, seed: int) -> Split:
    """A stratified draw of `n` training images of the task's classes that the task never used."""
    idx = stratified_indices(ds.train_labels, task.classes, n, numpy_rng(seed, Stream.NEW_SAMPLES_DRAW, n), exclude=task.used())
    return make_split(ds.train_images, ds.train_labels, idx, task.classes)


def task_draws(
    ds: Dataset, main: Task, main_draws: Sequence[int], classes: Sequence[int], sizes: Sequence[int], seed: int
) -> dict[int, Split]:
    """The training draws of a new task's `classes`, one per size: stratified, disjoint from each
    other and from the same seed's draws of the main transfer experiment (the `main` task's
    training and validation samples and its new-sample draws of sizes `main_draws`)."""
    used = [main.used(), *(new_samples(ds, main, n, seed).index for n in main_draws)]
    draws = {}
    for n in sizes:
        idx = stratified_indices(ds.train_labels, classes, n, numpy_rng(seed, Stream.TASK_DRAW, n), exclude=np.concatenate(used))
        used.append(idx)
        draws[n] = make_split(ds.train_images, ds.train_labels, idx, classes)
    return draws
