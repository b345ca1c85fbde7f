"""Choose the data for the smoke test, as Keras users expect: --synthetic, --data DIR, a cached copy (setupkit's
or Keras'), else a download into the cache; synthetic data only when the download is impossible (no network),
and then said at once."""

from __future__ import annotations

from dataclasses import dataclass

from setupkit.errors import PreconditionError
from setupkit.smoke import archive, download, locate
from setupkit.smoke.cifar_files import PYTHON, Split, read_folder
from setupkit.smoke.progress import Silent
from setupkit.smoke.synthetic import synthetic_cifar

SYNTHETIC_REQUESTED = "SYNTHETIC DATA (--synthetic): the test accuracy means nothing."
NO_DOWNLOAD_HINT = "give --data DIR, leave out --no-download to download it, or pass --synthetic"


@dataclass
class Dataset:
    train: Split
    test: Split
    source: str
    """synthetic, cifar-10-python, cifar-10-binary (--data), setupkit-cache, keras-cache or download."""
    path: str | None
    note: str | None = None

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"


def load(data_dir: str | None, synthetic: bool, may_download: bool, seed: int, progress=None) -> Dataset:
    if synthetic:
        return _synthetic(seed, SYNTHETIC_REQUESTED)
    found = locate.from_user(data_dir) if data_dir else locate.in_caches()
    if found is None:
        if not may_download:
            raise PreconditionError("no CIFAR-10 in the cache and --no-download was given", hint=NO_DOWNLOAD_HINT)
        try:
            found = _downloaded(progress or Silent())
        except download.DownloadImpossible as why:
            return _synthetic(seed, fallback_note(str(why)))
    train, test = read_folder(found.folder, found.layout)
    return Dataset(train, test, found.source, str(found.folder))


def _downloaded(progress) -> locate.Found:
    source = download.Source.from_environment()
    cache = locate.download_dir()
    folder = archive.unpack(download.fetch(cache, source, progress), cache)
    return locate.Found(folder, PYTHON, "download")


def fallback_note(why: str) -> str:
    return (f"SYNTHETIC DATA: {why}; training on generated images of CIFAR's shape instead (the loss and speed "
            f"are real, the test accuracy means nothing; give --data DIR, or run again online)")


def _synthetic(seed: int, note: str) -> Dataset:
    train, test = synthetic_cifar(seed)
    return Dataset(train, test, "synthetic", None, note)
