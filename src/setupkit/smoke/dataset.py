"""Choose the data for the smoke test: --synthetic, --data DIR, the Keras cache, --download, else synthetic."""

from __future__ import annotations

from dataclasses import dataclass

from setupkit.smoke import download, locate
from setupkit.smoke.cifar_files import Split, read_folder
from setupkit.smoke.synthetic import synthetic_cifar

SYNTHETIC_WARNING = ("SYNTHETIC DATA: no CIFAR-10 found (give --data DIR, or --download); training on generated "
                     "images of the same shape. The loss and speed are real; the test accuracy means nothing.")


@dataclass
class Dataset:
    train: Split
    test: Split
    source: str
    """synthetic, cifar-10-python, cifar-10-binary or keras-cache."""
    path: str | None
    note: str | None = None

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"


def load(data_dir: str | None, synthetic: bool, fetch: bool, seed: int) -> Dataset:
    if synthetic:
        return _synthetic(seed, "SYNTHETIC DATA (--synthetic): the test accuracy means nothing.")
    found = locate.from_user(data_dir) if data_dir else locate.in_keras_cache()
    if found is None and fetch:
        datasets = locate.keras_home() / "datasets"
        folder = download.unpack(download.fetch(datasets), datasets)
        found = locate.Found(folder, locate.PYTHON, "cifar-10-python")
    if found is None:
        return _synthetic(seed, SYNTHETIC_WARNING)
    train, test = read_folder(found.folder, found.layout)
    return Dataset(train, test, found.source, str(found.folder))


def _synthetic(seed: int, note: str) -> Dataset:
    train, test = synthetic_cifar(seed)
    return Dataset(train, test, "synthetic", None, note)
