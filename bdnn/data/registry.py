"""The datasets the project knows, as a registry: name -> what it is (its arrays' shapes and
sha256, its class names, its input size) and where its original files are named. A dataset's
facts live here and nowhere else (the input size is `spec.input_size`, never a literal)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bdnn import BDNNError

ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


class DataError(BDNNError):
    """A dataset could not be obtained or did not verify."""


@dataclass(frozen=True)
class DebianPackage:
    """A Debian package that carries the dataset's original IDX files (.gz)."""

    package: str
    folder: str  # the files' folder inside the package (relative to /)


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the registry key
    title: str  # as figures and texts name it
    image_shape: tuple[int, int]
    n_train: int
    n_test: int
    class_names: tuple[str, ...]  # by label
    class_word: str  # what a class is called in a sentence ("digit")
    train_class_counts: tuple[int, ...]  # training images per class (checked by the tests)
    array_sha256: dict[str, str]  # sha256 of .tobytes() of the C-ordered uint8 arrays
    idx_files: dict[str, str]  # the original IDX file of each array (without .gz)
    pixel_mean_std: tuple[float, float]  # published mean and std of the training pixels on [0, 1] (4 decimals)
    ranges: bool = True  # consecutive labels read as a range of names ("digits 0-4"); else listed
    debian: DebianPackage | None = None  # a Debian package with its IDX files (bdnn.data.debian)
    download_url: str | None = None  # the canonical download: <url><idx file>.gz (bdnn.data.download)
    # A published MLP's test accuracy to set the un-pruned network beside: (what it is, accuracy,
    # where it is published); tests/test_fashion.py reads it in the Debian package's own README.
    reference_mlp: tuple[str, float, str] | None = None

    @property
    def input_size(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "train_images": (self.n_train, *self.image_shape),
            "train_labels": (self.n_train,),
            "test_images": (self.n_test, *self.image_shape),
            "test_labels": (self.n_test,),
        }

    def available_per_class(self, labels: Iterable[int]) -> int:
        """Largest stratified draw per class the training images allow for these classes."""
        return min(self.train_class_counts[c] for c in labels)

    def describe(self, labels: Sequence[int]) -> str:
        """The classes in words: "digits 0-4" for a run of consecutive labels, else "digits 1, 3, 7"."""
        labels = list(labels)
        if self.ranges and len(labels) > 2 and labels == list(range(labels[0], labels[0] + len(labels))):
            names = f"{self.class_names[labels[0]]}-{self.class_names[labels[-1]]}"
        else:
            names = ", ".join(self.class_names[c] for c in labels)
        return f"{self.class_word}s {names}"


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    image_shape=(28, 28),
    n_train=60000,
    n_test=10000,
    class_names=tuple(str(d) for d in range(10)),
    class_word="digit",
    train_class_counts=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    array_sha256={
        "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    idx_files={
        "train_images": "train-images-idx3-ubyte",
        "train_labels": "train-labels-idx1-ubyte",
        "test_images": "t10k-images-idx3-ubyte",
        "test_labels": "t10k-labels-idx1-ubyte",
    },
    pixel_mean_std=(0.1307, 0.3081),
)

# Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): Zalando's article images, a drop-in for MNIST with
# the same file names, shapes and split, 6,000 training images per class.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    image_shape=(28, 28),
    n_train=60000,
    n_test=10000,
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    class_word="garment",
    train_class_counts=(6000,) * 10,
    array_sha256={
        "train_images": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "train_labels": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "test_images": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "test_labels": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
    idx_files=MNIST.idx_files,
    pixel_mean_std=(0.2860, 0.3530),
    ranges=False,
    debian=DebianPackage("dataset-fashion-mnist", "usr/share/datasets/fashion-mnist"),
    download_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    reference_mlp=(
        "MLP 256-128-100 trained on all 60,000 training images",
        0.8833,
        "the benchmark table of the dataset's README (usr/share/doc/dataset-fashion-mnist/README.md.gz)",
    ),
)

DATASETS = {MNIST.name: MNIST, FASHION_MNIST.name: FASHION_MNIST}


def dataset(name: str) -> DatasetSpec:
    """The registry's entry for `name`; a DataError naming the known ones otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}: one of {', '.join(DATASETS)}") from None
