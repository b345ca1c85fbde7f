"""Jinja filters that build the fleet report of one playbook run on the control node.

The rows come from this run's results only (the hosts' variables after their steps), one row for every targeted
host: a host that failed is FAILED with its error, a host that never answered is UNREACHABLE; nothing is read
from report files another run left in the folder. fleet.json, fleet.txt and fleet.html are three views of the
same document.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

SCHEMA = "setupkit-fleet/1"
# The facts a fleet should agree on: a host that differs from the majority is marked.
DRIFT_FACTS = ("driver.version", "cuda.toolkit_version", "cudnn.version", "tensorflow.version", "kernel.release",
               "gpu.names")
# What each row keeps of its report's facts: the drift facts and what the table shows besides.
ROW_FACTS = (*DRIFT_FACTS, "gpu.count", "os.pretty_name")
SPEED_LABELS = {"cpu.matmul": "cpu matmul", "cpu.memory-bandwidth": "cpu mem", "gpu.matmul": "gpu matmul",
                "gpu.memory-bandwidth": "gpu mem", "gpu.host-bandwidth": "gpu pcie"}
# status: the doctor's verdict on a host that reported, FAILED or UNREACHABLE on one that did not get that far.
TABLE_COLUMNS = ("host", "os", "gpus", "driver", "cuda", "tensorflow", "status", "failing checks", "level-2 speeds")
# Table column -> the drift fact shown in it (its cell gets a * when the host is an outlier).
COLUMN_FACTS = {"gpus": "gpu.names", "driver": "driver.version", "cuda": "cuda.toolkit_version",
                "tensorflow": "tensorflow.version"}


def _plain(value):
    """Ansible's lazy containers as plain JSON values (what json.dumps and the tests see)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _host_vars(hostvars, host: str) -> dict:
    try:
        variables = hostvars[host]
    except KeyError:
        return {}
    wanted = ("setupkit_unreachable", "setupkit_unreachable_error", "setupkit_failure", "setupkit_skipped",
              "setupkit_fetched")
    found = {name: variables.get(name) for name in wanted}
    return {name: _plain(value) for name, value in found.items() if value is not None}


def _without_prefix(message: str) -> str:
    """Ansible 2.19 starts its messages with "Task failed: ", which says nothing in a report of failures."""
    return message.removeprefix("Task failed: ")


def setupkit_failure_text(result, task: str = "") -> str:
    """One line saying why a task failed: its message, exit code and the last line it wrote to stderr."""
    result = _plain(result) if isinstance(result, Mapping) else {}
    parts = [task] if task else []
    message = _without_prefix(str(result.get("msg") or "").strip())
    if message and message not in ("non-zero return code", "Module failed: non-zero return code"):
        parts.append(message)
    if isinstance(result.get("rc"), int) and result["rc"] != 0:
        parts.append(f"exit {result['rc']}")
    stderr = [line.strip() for line in str(result.get("stderr") or "").splitlines() if line.strip()]
    if stderr:
        parts.append(stderr[-1])
    return ": ".join(parts) or "failed"


def _failing(report: dict) -> list[dict]:
    return [{"id": f.get("id"), "title": f.get("title"), "fix": f.get("fix")}
            for f in report.get("findings") or [] if isinstance(f, dict) and f.get("status") == "fail"]


def _measured(report: dict) -> dict:
    """The level-2 figures: {check id: {value, unit, expected}}; a check met twice (one per GPU) gets #2, #3."""
    found: dict[str, dict] = {}
    for finding in report.get("findings") or []:
        measured = finding.get("measured") if isinstance(finding, dict) else None
        if not isinstance(measured, dict) or measured.get("value") is None:
            continue
        name, count = str(finding.get("id")), 1
        while name in found:
            count += 1
            name = f"{finding.get('id')}#{count}"
        expected = finding.get("expected") if isinstance(finding.get("expected"), dict) else {}
        found[name] = {"value": measured.get("value"), "unit": measured.get("unit"), "expected": expected.get("value")}
    return found


def _row(host: str, variables: dict, report: dict | None, report_name: str, active: bool, run_id) -> dict:
    row: dict[str, Any] = {"host": host, "result": "ok", "status": None, "report": None, "stamp": None,
                           "failing": [], "measured": {}, "outliers": [], "error": None, "facts": {},
                           "files": list(variables.get("setupkit_fetched") or [])}
    if report:
        stamp = report.get("stamp") if isinstance(report.get("stamp"), dict) else None
        row.update(status=report.get("status") or "unknown", stamp=stamp, failing=_failing(report),
                   measured=_measured(report), report=report_name)
        # A report came from this run's output; its stamp proves it. One stamped by another run is stale (a
        # setupkit too old to stamp its reports proves nothing either way and is taken as it is).
        if stamp is not None and stamp.get("run_id") != run_id:
            row.update(result="failed", report=None,
                       error=f"the report is not this run's (its run id is {stamp.get('run_id')!r}, "
                             f"this run's is {run_id!r})")
    failure = variables.get("setupkit_failure")
    if variables.get("setupkit_unreachable"):
        row.update(result="unreachable",
                   error=_without_prefix(str(variables.get("setupkit_unreachable_error") or "")) or "unreachable")
    elif failure:
        error = failure.get("error") if isinstance(failure, dict) else str(failure)
        row.update(result="failed", error=error or "failed")
    elif variables.get("setupkit_skipped") and not report:
        # Stopped on purpose before its report (check mode on a host without setupkit): nothing failed.
        row.update(status="unknown", error=str(variables["setupkit_skipped"]))
    elif not report:
        row.update(result="failed" if active else "unreachable",
                   error="no report from this run" if active else
                   "left the play before reporting (unreachable, or failed outside the reported steps)")
    return row


def _fact_value(report: dict | None, fact: str):
    value = ((report or {}).get("facts") or {}).get(fact)
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


def _outliers(rows: list[dict], reports: dict[str, dict]) -> None:
    """Mark each reported host's key facts that differ from the value most of the reported hosts share."""
    reported = [row for row in rows if row["host"] in reports and row["report"]]
    for fact in DRIFT_FACTS:
        values = {row["host"]: _fact_value(reports[row["host"]], fact) for row in reported}
        if not values:
            continue
        majority, count = Counter(json.dumps(v) for v in values.values()).most_common(1)[0]
        if count * 2 <= len(values):
            continue  # no value is held by more than half: nothing to stand out against
        for row in reported:
            if json.dumps(values[row["host"]]) != majority:
                row["outliers"].append({"fact": fact, "value": values[row["host"]], "majority": json.loads(majority)})


def setupkit_fleet(hostvars, targets, active, run, report_var: str = "setupkit_doctor",
                   report_name: str = "{host}.json") -> dict:
    """The fleet document (schema setupkit-fleet/1) from the hosts' variables after this run.

    targets: every host the play targeted (ansible_play_hosts_all); active: those still in the play
    (ansible_play_hosts); run: {run_id, time, playbook}; report_var: the host variable holding the verb's report;
    report_name: its file name in the reports folder."""
    run = _plain(run)
    rows, reports = [], {}
    for host in targets:
        host = str(host)
        variables = _host_vars(hostvars, host)
        try:
            report = _plain(hostvars[host].get(report_var))
        except KeyError:
            report = None
        report = report if isinstance(report, dict) and report else None
        if report:
            reports[host] = report
        rows.append(_row(host, variables, report, report_name.format(host=host), host in active, run.get("run_id")))
    _outliers(rows, reports)
    for row in rows:
        report = reports.get(row["host"]) if row["report"] else None
        row["facts"] = {fact: _fact_value(report, fact) for fact in ROW_FACTS} if report else {}
    return {"schema": SCHEMA, "run_id": run.get("run_id"), "time": run.get("time"), "playbook": run.get("playbook"),
            "hosts": rows}


def setupkit_fleet_counts(fleet: dict) -> str:
    """"4 hosts: 2 ok, 1 failed, 1 unreachable"."""
    counts = Counter(row["result"] for row in fleet.get("hosts") or [])
    parts = [f"{counts[result]} {result}" for result in ("ok", "failed", "unreachable") if counts[result]]
    total = len(fleet.get("hosts") or [])
    return f"{total} host{'' if total == 1 else 's'}: " + (", ".join(parts) or "none")


def _show(value) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _speeds(measured: dict) -> str:
    return ", ".join(f"{SPEED_LABELS.get(name.split('#')[0], name)} {_show(m.get('value'))} {m.get('unit') or ''}"
                     .rstrip() for name, m in measured.items()) or "-"


def _gpus(row: dict) -> str:
    facts = row.get("facts") or {}
    if not row["report"]:
        return "-"
    count = facts.get("gpu.count") if isinstance(facts.get("gpu.count"), int) else 0
    names = str(facts.get("gpu.names") or "").split(", ")[0]
    return f"{count} x {names}" if count and names else str(count)


def _cells(row: dict) -> dict[str, str]:
    facts = row.get("facts") or {}
    cells = {"host": row["host"], "os": _show(facts.get("os.pretty_name")), "gpus": _gpus(row),
             "driver": _show(facts.get("driver.version")), "cuda": _show(facts.get("cuda.toolkit_version")),
             "tensorflow": _show(facts.get("tensorflow.version")),
             "status": _show(row["status"]) if row["result"] == "ok" else row["result"].upper(),
             "failing checks": ",".join(str(f["id"]) for f in row["failing"]) or "-",
             "level-2 speeds": _speeds(row["measured"])}
    outlying = {outlier["fact"] for outlier in row["outliers"]}
    for column, fact in COLUMN_FACTS.items():
        if fact in outlying:
            cells[column] += "*"
    return cells


def _table(columns, rows) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (columns, *rows)]
    return lines[:1] + ["  ".join("-" * width for width in widths)] + lines[1:]


def setupkit_fleet_text(fleet: dict) -> list[str]:
    """fleet.txt: the table, a line per outlier (* in the table) and per FAILED or UNREACHABLE host, the run."""
    rows = fleet.get("hosts") or []
    lines = _table(TABLE_COLUMNS, [tuple(_cells(row).values()) for row in rows])
    for row in rows:
        for outlier in row["outliers"]:
            lines.append(f"* {row['host']}: {outlier['fact']} is {_show(outlier['value'])}, "
                         f"most of the fleet has {_show(outlier['majority'])}")
    for row in rows:
        if row["error"]:
            label = row["result"].upper() if row["result"] != "ok" else "no report"
            lines.append(f"{row['host']} {label}: {row['error']}")
    lines.append(f"setupkit {fleet.get('playbook')} run {fleet.get('run_id')} at {fleet.get('time')}: "
                 f"{setupkit_fleet_counts(fleet)}")
    return lines


def setupkit_fleet_json(fleet: dict) -> str:
    return json.dumps(_plain(fleet), indent=2) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2430;background:#fff}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
p.run{color:#566;margin:.2rem 0 1rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #cfd6de;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#eef2f6}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.3rem;font-weight:600;font-size:.85rem}
.ok,.pass{background:#dcf5e3;color:#125b2a}.warn{background:#fff2cc;color:#6b4e00}
.fail,.failed{background:#fde0e0;color:#8a1010}.unreachable{background:#e6e0f5;color:#3b2370}
.unknown,.none{background:#eceff3;color:#445}
td.outlier{background:#fff2cc;font-weight:600}
section.host{border-top:2px solid #cfd6de;margin-top:1.2rem}
pre{background:#f5f7f9;padding:.4rem .6rem;border-radius:.3rem;white-space:pre-wrap;margin:.2rem 0}
p.error{color:#8a1010;font-weight:600}
"""


def _badge(value) -> str:
    text = "none" if value is None else str(value)
    label = text.upper() if text in ("failed", "unreachable") else text
    return f'<span class="badge {html.escape(text)}">{html.escape(label)}</span>'


def _summary_table(rows: list[dict]) -> list[str]:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in TABLE_COLUMNS)
    lines = ["<table id=\"fleet\">", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row in rows:
        cells = _cells(row)
        outlying = {COLUMN_FACTS.get(column) for column in cells} & {o["fact"] for o in row["outliers"]}
        tds = []
        for column, value in cells.items():
            if column == "host":
                tds.append(f'<td><a href="#host-{html.escape(row["host"])}">{html.escape(value)}</a></td>')
            elif column == "status":
                tds.append(f"<td>{_badge(row['status'] if row['result'] == 'ok' else row['result'])}</td>")
            else:
                marked = COLUMN_FACTS.get(column) in outlying
                # The text table's * becomes the cell's colour here.
                tds.append(f'<td class="outlier" title="differs from most of the fleet">'
                           f'{html.escape(value.removesuffix("*"))}</td>' if marked
                           else f"<td>{html.escape(value)}</td>")
        lines.append(f'<tr class="host-row" data-host="{html.escape(row["host"])}">{"".join(tds)}</tr>')
    return lines + ["</tbody>", "</table>"]


def _fix_html(fix) -> str:
    if not isinstance(fix, dict):
        return "<td>-</td>"
    commands = "".join(f"<pre>{html.escape(str(c))}</pre>" for c in fix.get("commands") or [])
    return f"<td>{html.escape(str(fix.get('text') or ''))}{commands}</td>"


def _host_section(row: dict) -> list[str]:
    host = html.escape(row["host"])
    lines = [f'<section class="host" id="host-{host}">', f"<h2>{host} {_badge(row['result'])}"
             f"{' ' + _badge(row['status']) if row['status'] else ''}</h2>"]
    if row["error"]:
        lines.append(f'<p class="error">{html.escape(row["error"])}</p>')
    if row["report"]:
        stamp = row["stamp"] or {}
        lines.append(f"<p>Report {html.escape(row['report'])}, written {html.escape(str(stamp.get('time')))} by "
                     f"setupkit {html.escape(str(stamp.get('setupkit')))} on {html.escape(str(stamp.get('host')))}"
                     f".</p>")
    if row["failing"]:
        lines += ["<table class=\"failing\"><thead><tr><th>failing check</th><th>title</th><th>fix</th></tr>"
                  "</thead><tbody>"]
        lines += [f"<tr><td>{html.escape(str(f['id']))}</td><td>{html.escape(str(f['title'] or ''))}</td>"
                  f"{_fix_html(f['fix'])}</tr>" for f in row["failing"]]
        lines.append("</tbody></table>")
    if row["measured"]:
        lines += ["<table class=\"measured\"><thead><tr><th>level-2 measurement</th><th>measured</th>"
                  "<th>healthy</th></tr></thead><tbody>"]
        lines += [f"<tr><td>{html.escape(name)}</td><td>{html.escape(_show(m['value']))} "
                  f"{html.escape(str(m['unit'] or ''))}</td><td>{html.escape(_show(m['expected']))}</td></tr>"
                  for name, m in row["measured"].items()]
        lines.append("</tbody></table>")
    if row["outliers"]:
        lines.append("<ul class=\"outliers\">")
        lines += [f"<li>{html.escape(o['fact'])} is <b>{html.escape(_show(o['value']))}</b>; most of the fleet has "
                  f"{html.escape(_show(o['majority']))}</li>" for o in row["outliers"]]
        lines.append("</ul>")
    if row.get("files"):
        lines.append("<p>Fetched: " + ", ".join(html.escape(str(f)) for f in row["files"]) + "</p>")
    return lines + ["</section>"]


def setupkit_fleet_html(fleet: dict) -> str:
    """fleet.html: one self-contained page (inline CSS, no scripts, nothing fetched) for reading offline."""
    rows = fleet.get("hosts") or []
    title = f"setupkit {fleet.get('playbook')}: {setupkit_fleet_counts(fleet)}"
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
             f"<h1>{html.escape(title)}</h1>",
             f'<p class="run">Run {html.escape(str(fleet.get("run_id")))} at {html.escape(str(fleet.get("time")))}'
             f" ({html.escape(str(fleet.get('schema')))}). A cell marked in yellow differs from most of the fleet."
             "</p>"]
    lines += _summary_table(rows)
    for row in rows:
        lines += _host_section(row)
    return "\n".join(lines + ["</body>", "</html>"]) + "\n"


class FilterModule:
    def filters(self):
        return {name: func for name, func in globals().items() if name.startswith("setupkit_") and callable(func)}
