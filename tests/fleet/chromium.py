"""Open an HTML file in real headless Chromium: its DOM after loading, its console messages and a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium logs a page's console as: [...:INFO:CONSOLE(12)] "message", source: file:///... (12)
CONSOLE_LINE = re.compile(r"CONSOLE\(\d+\)\]|:CONSOLE:|Uncaught|console\.(error|warn)", re.IGNORECASE)


def find() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


@dataclass
class Page:
    dom: str
    console: list[str]
    screenshot: Path
    log: str


def _run(browser: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--metrics-recording-only", "--mute-audio",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *arguments]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def open_page(html_file: Path, out: Path, size: str = "1400,1000") -> Page:
    """Load html_file twice: once for the DOM (--dump-dom), once for a screenshot under out."""
    browser = find()
    if browser is None:
        raise RuntimeError("no chromium on PATH")
    out.mkdir(parents=True, exist_ok=True)
    url = html_file.resolve().as_uri()
    dom = _run(browser, out / "profile-dom", "--dump-dom", url)
    screenshot = out / f"{html_file.stem}.png"
    shot = _run(browser, out / "profile-shot", f"--screenshot={screenshot}", f"--window-size={size}", url)
    log = dom.stderr + shot.stderr
    if dom.returncode != 0 or shot.returncode != 0 or not screenshot.exists():
        raise RuntimeError(f"chromium failed (exit {dom.returncode}, {shot.returncode}): {log[-3000:]}")
    console = [line for line in log.splitlines() if CONSOLE_LINE.search(line)]
    return Page(dom=dom.stdout, console=console, screenshot=screenshot, log=log)
