"""Pack a setupkit source checkout into a reproducible .tar.gz (same files in, same bytes out).

Run on the control node by install_setupkit.yml:  python pack_source.py SOURCE_DIR OUT.tar.gz PATH [PATH ...]
Only the named top-level PATHs that exist are packed; caches (__pycache__, *.pyc, *.egg-info) never are. Fixed
owners, modes and times make the archive's bytes depend on the file contents alone, so Ansible's copy sees "no
change" when nothing changed and the host does not rebuild setupkit.
"""

from __future__ import annotations

import gzip
import sys
import tarfile
from pathlib import Path

# 2020-01-01: any fixed time works, but zip (wheels) refuses times before 1980.
FIXED_MTIME = 1577836800
SKIPPED_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def wanted(path: Path) -> bool:
    return path.name not in SKIPPED_NAMES and not path.name.endswith(SKIPPED_SUFFIXES)


def walk(root: Path, relative: Path):
    """Yield every path under root/relative worth packing, parents before children, in sorted order."""
    path = root / relative
    if not wanted(path):
        return
    yield relative
    if path.is_dir() and not path.is_symlink():
        for child in sorted(path.iterdir()):
            yield from walk(root, relative / child.name)


def normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = FIXED_MTIME
    executable = info.isdir() or info.mode & 0o100
    info.mode = 0o755 if executable else 0o644
    return info


def pack(source: Path, out: Path, paths: list[str]) -> int:
    count = 0
    with open(out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for top in paths:
                if not (source / top).exists():
                    continue
                for relative in walk(source, Path(top)):
                    tar.add(source / relative, arcname=str(relative), recursive=False, filter=normalised)
                    count += 1
    return count


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: pack_source.py SOURCE_DIR OUT.tar.gz PATH [PATH ...]", file=sys.stderr)
        return 2
    source, out, paths = Path(argv[0]), Path(argv[1]), argv[2:]
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        print(f"pack_source: {source} is not a Python project (no pyproject.toml or setup.py); "
              "set setupkit_source to a setupkit checkout, a wheel or a package spec", file=sys.stderr)
        return 3
    print(f"packed {pack(source, out, paths)} paths from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
