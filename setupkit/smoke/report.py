"""The smoke test's result for people (the JSON document is the same data, printed as it is)."""

from __future__ import annotations

from rich.console import Console

SCHEMA = "setupkit-smoke-test/1"  # run.SCHEMA, here too: this module must load where numpy is missing


def cannot_start_document(message: str, fix: str | None, backend: str | None) -> dict:
    """The JSON report of a smoke test that could not start (no framework, no data, a GPU not seen): a failure
    that says what is wrong and what to install or give, so that a fleet's report of the host is there too."""
    return {"schema": SCHEMA, "status": "fail", "started": False, "backend": backend, "devices": [], "dataset": None,
            "images_per_sec": None, "failures": [message], "fix": fix, "warnings": []}


def render(document: dict, console: Console) -> None:
    for line in _lines(document):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for warning in document["warnings"]:
        console.print(f"WARNING: {warning}", style="bold yellow", markup=False, highlight=False, soft_wrap=True)
    for failure in document["failures"]:
        console.print(f"FAIL: {failure}", style="bold red", markup=False, highlight=False, soft_wrap=True)
    style = "bold green" if document["status"] == "pass" else "bold red"
    console.print(f"smoke test: {document['status'].upper()}", style=style, markup=False, highlight=False,
                  soft_wrap=True)


def _lines(doc: dict) -> list[str]:
    data = doc["dataset"]
    lines = [f"backend      {doc['backend']} ({_versions(doc['versions'])})"]
    if doc.get("backend_choice"):
        lines.append(f"chosen       {doc['backend_choice']}")
    lines += [f"devices      {', '.join(_device(d) for d in doc['devices'])}",
              f"dataset      {data['source'].upper() if data['source'] == 'synthetic' else data['source']}"
              f"{' ' + data['path'] if data['path'] else ''} ({data['train_images']} train, {data['test_images']} "
              "test)"]
    if doc["images_per_sec"] is None and doc["trained_on"] is None:
        return lines
    lines += [f"trained on   {doc['trained_on']} ({doc['trained_on_device']}), {doc['steps']} timed steps after "
              f"{doc['warmup']} warm-up, batch {doc['global_batch']}"
              + (f", {doc['mixed_precision']}" if doc["mixed_precision"] else ""),
              f"training     {_number(doc['images_per_sec'])} images/sec",
              f"loss         {doc['loss_first']} -> {doc['loss_last']} (mean of the first and last steps)",
              f"test         accuracy {doc['test_accuracy']}{_accuracy_note(data)}, inference "
              f"{_number(doc['inference_images_per_sec'])} images/sec"]
    return lines + _extras(doc)


def _extras(doc: dict) -> list[str]:
    lines = []
    if doc["reference"]:
        ref = doc["reference"]
        lines.append(f"reference    {ref['summary']} [{ref['source']}]" + (f"; {ref['note']}" if ref["note"] else ""))
    if doc["scaling"]:
        s = doc["scaling"]
        lines.append(f"scaling      1 GPU {_number(s['one_gpu'])}, {s['gpus']} GPUs {_number(s['all_gpus'])} "
                     f"images/sec: efficiency {s['efficiency']}")
    if doc["compare_cpu"]:
        c = doc["compare_cpu"]
        lines.append(f"vs CPU       {c['error']}" if "error" in c else
                     f"vs CPU       {_number(c['cpu_images_per_sec'])} images/sec on the CPU: GPU:CPU "
                     f"{c['gpu_to_cpu']}x (a GTX 1080 Ti against an i7 was ~{c['reference_gpu_to_cpu']}x)"
                     + (f"; {c['note']}" if c.get("note") else ""))
    return lines


def _accuracy_note(data: dict) -> str:
    return " (SYNTHETIC DATA: meaningless)" if data["source"] == "synthetic" else ""


def _number(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _device(device: dict) -> str:
    return f"{device['type']}:{device['index']} {device['name']}"


def _versions(versions: dict) -> str:
    return ", ".join(f"{name} {version}" for name, version in versions.items())
