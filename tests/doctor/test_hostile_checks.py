"""Hostile check files through the real CLI: `setupkit doctor --snapshot H100 --checks-dir DIR`, as a user runs it.

Each class of bad input (alias bombs, special files and folders, nesting and let chains, values the YAML
constructor cannot build, oversized inputs) must end in exit 3 with ONE line on stderr naming the file, no
traceback, within seconds, in a child whose address space is capped (an expanded bomb would die of MemoryError
or run out the timeout, and fail the test). The inputs are generated here; none is kept in git.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.scenarios import H100

TIMEOUT_S = 15
"""Well past the half second a refusal takes, for a loaded machine; an expanded bomb takes hours."""
MEMORY_BYTES = 512 << 20
"""The child's address space: a doctor run needs about 200 MiB of it; a bomb expanded in memory needs gigabytes."""

CHECK = """\
checks:
  - id: site.hostile
    section: Site policy
    title: Hostile
    severity: low
    facts: [gpu.count, driver.version]
{let}    rules:
      - when: {when}
        status: warn
        message: "Seen {{gpu.count}}."
    default: {{status: pass, message: "Fine."}}
"""


def check_text(when: str = '{fact: gpu.count, op: "==", value: 1}', let: str = "") -> str:
    return CHECK.format(when=when, let=let)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def doctor(checks_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "setupkit", "doctor", "--snapshot", str(H100), "--checks-dir", str(checks_dir)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env, preexec_fn=_cap_memory)
    return result, time.monotonic() - started


def assert_refused(checks_dir: Path, *words: str, fix: str | None = None) -> str:
    """doctor refuses ``checks_dir`` with exit 3 and one line holding ``words``, followed by the line
    ``fix: <fix>`` when a fix is given; returns the message line."""
    result, elapsed = doctor(checks_dir)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-2000:]
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert len(lines) == (1 if fix is None else 2), lines
    line = lines[0]
    assert line.startswith("setupkit: "), line
    if fix is not None:
        assert lines[1] == f"fix: {fix}", lines
    for word in words:
        assert word in line, (word, line)
    assert len(line) < 600, line  # never a structure printed whole
    assert elapsed < TIMEOUT_S
    return line


def site(tmp_path: Path, text: str | bytes, name: str = "site.yaml") -> Path:
    """A --checks-dir holding ``text`` as ``name``, one folder a file name."""
    folder = tmp_path / ("site" if name == "site.yaml" else Path(name).stem)
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def test_a_good_site_check_runs(tmp_path):
    """The baseline the refusals are measured against: the same harness passes a good file."""
    result, _ = doctor(site(tmp_path, check_text()))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    assert "site.hostile               Seen 1." in result.stdout
    assert result.returncode == 0  # the H100 capture passes; the site check warns


def _laughs(levels: int = 10, width: int = 9) -> list[str]:
    """Anchors l0..l{levels-1}, each a list of ``width`` aliases of the one before: width**levels values."""
    first = "&l0 [" + ", ".join(["lol"] * width) + "]"
    return [first] + [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]


ALIAS_BOMBS = {
    # a billion laughs, as the issue found it: nine levels of nine aliases, a few hundred bytes
    "top level": "\n".join(f"l{i}: {node}" for i, node in enumerate(_laughs())) + "\nchecks: [*l9]\n",
    # inside a comparison's value, where the validator walks every item
    "in a value": check_text("{fact: gpu.count, op: in, value: [" + ", ".join(_laughs()) + "]}"),
    # as the list of checks itself
    "as the checks": "checks: [" + ", ".join(_laughs()) + "]\n",
    # wide rather than deep: one list of 2,000 repeated 100 times
    "wide": "x: &w [" + ", ".join(["1"] * 2000) + "]\ny: [" + ", ".join(["*w"] * 100) + "]\n",
    # aliases of mappings, as a shared fix would be
    "mappings": "\n".join(["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
                          + [f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(8)) + "}"
                             for i in range(1, 9)]) + "\n",
}


@pytest.mark.parametrize("text", ALIAS_BOMBS.values(), ids=ALIAS_BOMBS)
def test_an_alias_bomb_is_refused_unexpanded(tmp_path, text):
    assert len(text) < 40_000
    assert_refused(site(tmp_path, text), "site.yaml (line ", "more than 50,000 values")


def test_an_alias_cycle_is_refused(tmp_path):
    text = check_text("&c {all: [*c]}")
    assert_refused(site(tmp_path, text), "site.yaml (line 8)", "inside the node it names")


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "site.yaml")


def _zero(folder: Path) -> None:
    (folder / "site.yaml").symlink_to("/dev/zero")


def _a_folder(folder: Path) -> None:
    (folder / "site.yaml").mkdir()


def _dangling(folder: Path) -> None:
    (folder / "site.yaml").symlink_to(folder / "gone.yaml")


def _sparse(folder: Path) -> None:
    with open(folder / "site.yaml", "wb") as out:
        out.truncate(4 << 30)  # 4 GiB of holes: no disk used, but a reader that reads it whole dies


def _just_over(folder: Path) -> None:
    (folder / "site.yaml").write_text(check_text() + "#" * (1 << 20))


SPECIAL_FILES = {
    "a FIFO": (_fifo, "is a FIFO, not a regular file"),
    "a link to /dev/zero": (_zero, "is a device, not a regular file"),
    "a folder named .yaml": (_a_folder, "is a folder, not a regular file"),
    "a dangling link": (_dangling, "no such file or directory"),
    "a sparse 4 GiB file": (_sparse, "is 4,294,967,296 bytes, more than the 1,048,576 allowed"),
    "a file just past 1 MiB": (_just_over, "bytes, more than the 1,048,576 allowed"),
}


@pytest.mark.parametrize(("make", "reason"), SPECIAL_FILES.values(), ids=SPECIAL_FILES)
def test_a_check_file_that_is_not_a_small_regular_file_is_refused_unread(tmp_path, make, reason):
    folder = tmp_path / "site"
    folder.mkdir()
    make(folder)
    line = assert_refused(folder, f"{folder / 'site.yaml'}: cannot read: ")
    assert line.endswith(reason), line


def test_checks_dir_that_is_not_a_folder_is_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "file.yaml").write_text(check_text())
    assert_refused(tmp_path / "fifo", "is a FIFO, not a checks folder")
    assert_refused(tmp_path / "zero", "is a device, not a checks folder")
    assert_refused(tmp_path / "file.yaml", "is a regular file, not a checks folder")
    assert_refused(tmp_path / "missing", "no such checks folder")


def test_too_many_files_or_entries_are_refused(tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for index in range(101):
        (many / f"{index:03}.yaml").write_text("checks: []\n")
    assert_refused(many, "101 check files, more than the 100 allowed")
    crowded = tmp_path / "crowded"
    crowded.mkdir()
    for index in range(10_001):
        (crowded / f"{index}.txt").touch()
    line = assert_refused(crowded, "more than 10,000 entries", fix="give a folder that holds check files only")
    assert line == f"setupkit: {crowded}: more than 10,000 entries", line


def test_too_many_checks_are_refused(tmp_path):
    one = check_text().split("\n", 1)[1]
    text = "checks:\n" + "".join(one.replace("site.hostile", f"site.hostile{index}") for index in range(1001))
    assert_refused(site(tmp_path, text), "more than the 1,000 checks allowed")


def _nots(levels: int) -> str:
    return "{not: " * levels + '{fact: gpu.count, op: "==", value: 1}' + "}" * levels


def _chain(length: int) -> str:
    lines = ["    let:", "      v0: {fact: gpu.count}"]
    lines += [f"      v{i}: {{call: coalesce, args: [{{var: v{i - 1}}}]}}" for i in range(1, length)]
    return "\n".join(lines) + "\n"


def _calls(levels: int) -> str:
    return "{call: coalesce, args: [" * levels + "{fact: gpu.count}" + "]}" * levels


def _lookups(levels: int) -> str:
    return "{lookup: cuda_driver, field: driver, key: " * levels + "{fact: driver.version}" + "}" * levels


NESTING = {
    "not 17 deep": (check_text(_nots(17)), ["check 'site.hostile'", "nest deeper than 16 levels"]),
    "not 5000 deep": (check_text(_nots(5000)), ["site.yaml (line 8)", "nest deeper than 32 levels"]),
    "all, any and not 17 deep": (check_text("{all: [{any: [{all: [" + _nots(14) + "]}]}]}"),
                                 ["check 'site.hostile'", "deeper than 16 levels"]),
    "flow lists 10,000 deep": ("checks: " + "[" * 10_000 + "]" * 10_000 + "\n", ["site.yaml (line 1)", "nest"]),
    "block lists 200 deep": ("checks:\n" + "".join(" " * i + "-\n" for i in range(200)),
                             ["site.yaml (line ", "nest deeper than 32 levels"]),
    "let chain 5000 long": (check_text("{var: v4999, op: '==', value: 1}", _chain(5000)),
                            ["check 'site.hostile'", "5000 let values, more than the 32 allowed"]),
    "let chain 30 long": (check_text("{var: v29, op: '==', value: 1}", _chain(30)),
                          ["check 'site.hostile'", "let v8", "deeper than 16 levels"]),
    "calls 20 deep": (check_text(_calls(20)[:-1] + ", op: '==', value: 1}"),
                      ["site.yaml (line 8)", "nest deeper than 32 levels"]),
    "lookups 17 deep": (check_text("{var: deep, op: '==', value: 1}", "    let:\n      deep: " + _lookups(17) + "\n"),
                        ["check 'site.hostile'", "let deep", "deeper than 16 levels"]),
}


@pytest.mark.parametrize(("text", "words"), NESTING.values(), ids=NESTING)
def test_deep_nesting_is_refused_before_evaluation(tmp_path, text, words):
    assert_refused(site(tmp_path, text), *words)


CONSTRUCTOR = {
    # (the value put where a comparison's value goes, on line 8; what the one line says)
    "!!int of text": ('!!int "x"', "cannot read this !!int value"),
    "!!float of text": ('!!float "x"', "cannot read this !!float value"),
    "!!bool of text": ('!!bool "maybe"', "cannot read this !!bool value"),
    "!!int of a list": ("!!int [1]", "expected a scalar node"),
    "!!timestamp 2001-13-45": ("!!timestamp 2001-13-45", "the tag !!timestamp is not allowed"),
    "!!binary with bad base64": ('!!binary "@@@="', "the tag !!binary is not allowed"),
    "!!python/object/apply": ('!!python/object/apply:os.system ["touch pwned"]', "the tag !!python/object/apply"),
    "!!python/name": ('!!python/name:os.system ""', "the tag !!python/name:os.system is not allowed"),
    "!!set": ("!!set {a, b}", "the tag !!set is not allowed"),
    "!!omap": ("!!omap [a: 1]", "the tag !!omap is not allowed"),
    "a local tag": ("!shell id", "the tag !shell is not allowed"),
    ".nan": (".nan", "NaN and infinity"),
    "-.inf": ("-.Inf", "NaN and infinity"),
    "1.0e+999": ("1.0e+999", "NaN and infinity"),
    "a 19-digit integer": ("1234567890123456789", "past 18 digits"),
    "a 5000-digit integer": ("9" * 5000, "past 18 digits"),
    "a hex integer past 64 bits": ("0x" + "f" * 40, "past 18 digits"),
    "a 20,000-character string": ('"' + "x" * 20_000 + '"', "20,000 characters, more than the 10,000 allowed"),
    "an undefined alias": ("*nowhere", "names no anchor"),
    "a duplicate key": ('1, value: 2', "duplicate key 'value'"),
    "a list as a key": ('{? [a]: b}', "cannot be a key"),
    "an unclosed bracket": ("[1, 2", "not valid catalog YAML"),
    "a NUL character": ('"a\x00b"', "U+0000 is not allowed"),
    "an escape character": ("a\x1b[2Jb", "U+001B is not allowed"),
}


@pytest.mark.parametrize(("value", "words"), CONSTRUCTOR.values(), ids=CONSTRUCTOR)
def test_a_value_the_constructor_cannot_build_is_refused_with_its_line(tmp_path, value, words):
    text = check_text("{fact: gpu.count, op: '==', value: " + value + "}")
    line = assert_refused(site(tmp_path, text), "site.yaml (line ", words)
    if value != "[1, 2":  # the parser finds an unclosed bracket where the text ends
        assert "site.yaml (line 8)" in line, line
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


def test_a_duplicate_top_level_key_and_bad_utf8_are_refused_with_their_line(tmp_path):
    assert_refused(site(tmp_path, "checks: []\nchecks: []\n", "a.yaml"), "a.yaml (line 2)", "duplicate key 'checks'")
    bad = check_text().encode().replace(b"Hostile", b"Host\xffile")
    assert_refused(site(tmp_path, bad, "b.yaml"), "b.yaml (line 4)", "not UTF-8")


def test_a_huge_structure_in_a_wrong_place_is_named_not_printed(tmp_path):
    big_list = "[" + ", ".join(str(i) for i in range(20_000)) + "]"
    line = assert_refused(site(tmp_path, check_text().replace("id: site.hostile", f"id: {big_list}")),
                          "check a list of 20000 items", "id must be dotted")
    assert "19999" not in line
    assert_refused(site(tmp_path, "checks:\n  - " + big_list + "\n", "other.yaml"),
                   "must be a mapping, not a list of 20000 items")


def test_terminal_escapes_in_a_check_are_shown_not_obeyed(tmp_path):
    text = check_text().replace("id: site.hostile", 'id: "\\e[2J\\e]0;owned\\a"')
    line = assert_refused(site(tmp_path, text), "id must be dotted")
    assert "\x1b" not in line and "\x07" not in line
    assert "\\x1b[2J" in line
