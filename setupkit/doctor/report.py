"""The report: findings grouped by section, one line a check with its mark, the fix as copy-paste commands under
a failing or warning line, a summary at the end. Rendering only; the verdicts are the engine's.

Everything shown comes from the host or from check files (an os-release name, a GPU name, a message made
from facts), and a snapshot or a --checks-dir is anyone's file: every text goes through ``shown``
(bounded.one_line: an escape sequence shows as \x1b instead of acting on the terminal, a newline cannot forge
a line of the report, a megabyte is cut) and is printed as rich ``Text``, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from setupkit.bounded import one_line
from setupkit.doctor.catalog import Check
from setupkit.doctor.engine import Finding, overall_status

MARKS = {"pass": "✓", "warn": "!", "fail": "✗", "info": "i", "unknown": "?", "skip": "-"}
STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "info": "cyan", "unknown": "magenta", "skip": "dim"}
SUMMARY_ORDER = (("fail", "failed", "failed"), ("warn", "warning", "warnings"), ("pass", "passed", "passed"),
                 ("info", "info", "info"), ("unknown", "unknown", "unknown"), ("skip", "skipped", "skipped"))
ID_WIDTH = 26
INDENT = ID_WIDTH + 5
"""Where the message column starts: two spaces, the mark, a space, the id column, a space."""


def render(console: Console, findings: list[Finding], facts: Mapping[str, Any], source: str,
           verbose: bool = False) -> None:
    console.print(header(facts, source), highlight=False)
    for section, members in group(findings):
        console.print()
        console.print(Text(shown(section), style="bold"))
        for finding in members:
            _line(console, finding)
            _extras(console, finding, verbose)
    console.print()
    console.print(summary_text(findings))


shown = one_line


def header(facts: Mapping[str, Any], source: str) -> Text:
    parts = [_fact_text(facts, "os.pretty_name") or "unknown OS",
             f"kernel {_fact_text(facts, 'kernel.release') or '?'}",
             f"Python {_fact_text(facts, 'python.version') or '?'}"]
    gpus = gpu_summary(facts)
    if gpus:
        parts.append(gpus)
    return Text(f"setupkit doctor: {shown(source)}\n" + " · ".join(shown(part) for part in parts), style="bold")


def gpu_summary(facts: Mapping[str, Any]) -> str | None:
    """'2 x NVIDIA H100 80GB HBM3' or 'NVIDIA A100, GPU 1: could not be opened (could not open this GPU)'."""
    names, errors = _fact_list(facts, "gpu.names"), _fact_list(facts, "gpu.errors")
    labels = [_gpu_label(index, name, errors[index] if index < len(errors) else None)
              for index, name in enumerate(names)]
    counts = {label: labels.count(label) for label in labels}
    return ", ".join(label if n == 1 else f"{n} x {label}" for label, n in counts.items()) or None


def _gpu_label(index: int, name: Any, error: Any) -> str:
    """The GPU's name; for one NVML could not read, which GPU and why (its checks say unknown)."""
    if isinstance(name, str) and name:
        return name
    if isinstance(error, str) and error:
        return f"GPU {index}: could not be opened ({error})"
    return f"GPU {index}: name unknown"


def _fact_text(facts: Mapping[str, Any], name: str) -> str | None:
    value = facts.get(name)
    return value if isinstance(value, str) else None


def _fact_list(facts: Mapping[str, Any], name: str) -> list[Any]:
    value = facts.get(name)
    return value if isinstance(value, list) else []


def group(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """Sections in the order they first appear in the catalog."""
    sections: dict[str, list[Finding]] = {}
    for finding in findings:
        sections.setdefault(finding.section, []).append(finding)
    return list(sections.items())


def _line(console: Console, finding: Finding) -> None:
    style = STYLES[finding.status]
    prefix = Text.assemble("  ", (MARKS[finding.status], style), " ", (f"{shown(finding.id):<{ID_WIDTH}}", style),
                           " ")
    _hanging(console, prefix, Text(shown(finding.message)))


def _extras(console: Console, finding: Finding, verbose: bool) -> None:
    indent = Text(" " * INDENT)
    if verbose and finding.detail:
        _hanging(console, indent, Text(shown(finding.detail), style="dim"))
    if finding.fix:
        _hanging(console, indent, Text(f"fix: {shown(finding.fix['text'])}", style="bold"))
        for command in finding.fix["commands"]:
            console.print(Text(f"{indent}  $ {shown(command)}"), soft_wrap=True)


def _hanging(console: Console, prefix: Text, body: Text) -> None:
    """``body`` wrapped to the console's width, its first line after ``prefix``, the rest under it."""
    for number, line in enumerate(body.wrap(console, max(console.width - INDENT, 30))):
        line.rstrip()
        console.print(Text.assemble(prefix if number == 0 else " " * INDENT, line), soft_wrap=True)


def summary_text(findings: list[Finding]) -> Text:
    counts = {status: sum(1 for f in findings if f.status == status) for status, _, _ in SUMMARY_ORDER}
    words = [f"{counts[s]} {one if counts[s] == 1 else many}" for s, one, many in SUMMARY_ORDER if counts[s]]
    status = overall_status(findings)
    text = Text("Summary: ", style="bold")
    text.append(", ".join(words) or "no checks ran")
    text.append(f" (status: {status})", style=STYLES[status])
    return text


def list_checks(console: Console, checks: Iterable[Check]) -> None:
    """One line a check: id, section, severity, title (deep checks run only with --deep)."""
    console.print(Text(f"{'id':<{ID_WIDTH}} {'section':<22} {'severity':<9} title", style="bold"), soft_wrap=True)
    for check in checks:
        title = f"{shown(check.title)} [--deep]" if check.deep else shown(check.title)
        console.print(f"{shown(check.id):<{ID_WIDTH}} {shown(check.section):<22} {shown(check.severity):<9} {title}",
                      soft_wrap=True, markup=False, highlight=False, emoji=False)
