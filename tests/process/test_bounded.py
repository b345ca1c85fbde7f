"""Bounded reads: FIFOs, devices, sparse giants, deep JSON, odd numbers and terminal escapes."""

from __future__ import annotations

import os

import pytest

from setupkit.bounded import BoundError, ascii_int, finite_number, loads_json, printable, read_regular_file


def test_a_regular_file_within_its_bound_is_read(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert read_regular_file(path, 3) == b"abc"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(BoundError, match="is a FIFO"):
        read_regular_file(fifo, 100)


def test_a_link_to_dev_zero_is_refused(tmp_path):
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    with pytest.raises(BoundError, match="is a device"):
        read_regular_file(link, 100)


def test_a_sparse_giant_is_refused_by_its_size(tmp_path):
    path = tmp_path / "sparse"
    with open(path, "wb") as handle:
        handle.truncate(4 * 1024**3)
    with pytest.raises(BoundError, match="more than the 1,024 allowed"):
        read_regular_file(path, 1024)


def test_links_are_refused_when_asked(tmp_path):
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(BoundError):
        read_regular_file(tmp_path / "link", 10, follow_links=False)


def test_a_folder_and_a_missing_file_give_their_reasons(tmp_path):
    with pytest.raises(BoundError, match="folder"):
        read_regular_file(tmp_path, 10)
    with pytest.raises(BoundError, match="no such file"):
        read_regular_file(tmp_path / "absent", 10)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deep_json_is_refused_before_the_recursive_parser(text):
    with pytest.raises(BoundError, match="nests deeper"):
        loads_json(text)


def test_brackets_inside_strings_do_not_count_as_depth():
    assert loads_json('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', max_depth=2)


@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "[-Infinity]"])
def test_nan_and_infinity_are_not_json(text):
    with pytest.raises(BoundError, match="not JSON"):
        loads_json(text)


def test_bad_json_and_bad_utf8_give_reasons():
    with pytest.raises(BoundError, match="not valid JSON"):
        loads_json("{")
    with pytest.raises(BoundError, match="not UTF-8"):
        loads_json(b"\xff")


@pytest.mark.parametrize("value,expected", [("12", 12), ("²", None), ("١٢", None), ("-5", None), ("1" * 5000, None),
                                            (True, None), (7, 7), (["1"], None), ("", None)])
def test_ascii_int(value, expected):
    assert ascii_int(value) == expected


@pytest.mark.parametrize("value,expected", [(1.5, 1.5), (float("nan"), None), (float("inf"), None), (True, None),
                                            ("1", None), (3, 3.0)])
def test_finite_number(value, expected):
    assert finite_number(value) == expected


def test_printable_shows_escapes_instead_of_acting():
    assert printable("ok\x1b]0;pwned\x07\r\u202e") == "ok\\x1b]0;pwned\\x07\\x0d\\u202e"
    assert printable("two\nlines\ttab") == "two\nlines\ttab"
    assert printable("two\nlines", keep_newlines=False) == "two\\nlines"
