"""Progress for people, on stderr: the download and the training as a rich bar on a terminal, a line every
tenth otherwise (logs, CI); under --json the notes only (stdout holds the JSON)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)


class Silent:
    def note(self, text: str) -> None:
        """Something to say before training starts (synthetic data)."""

    def start(self, total: int, label: str = "training") -> None:
        pass

    def update(self, step: int, loss: float, images_per_sec: float | None) -> None:
        pass

    def start_download(self, total_bytes: int | None, label: str) -> None:
        pass

    def downloaded(self, done_bytes: int) -> None:
        pass

    def finish(self) -> None:
        pass


def _rate(images_per_sec: float | None) -> str:
    return f"{images_per_sec:,.0f} img/s" if images_per_sec else "- img/s"


class Loud(Silent):
    """Says notes at once, in bold, so that nobody reads a synthetic run as a CIFAR-10 one (under --json too:
    they go to stderr)."""

    def __init__(self, console: Console):
        self.console = console

    def note(self, text: str) -> None:
        self.console.print(f"WARNING: {text}", style="bold yellow", markup=False, highlight=False, soft_wrap=True)


class Lines(Loud):
    """For a stream that is not a terminal: a plain line at every tenth of the run."""

    def __init__(self, console: Console):
        self.console, self.label = console, "training"
        self.total: int | None = 1
        self.tenth = 0

    def start(self, total: int, label: str = "training") -> None:
        self.total, self.label = total, label

    def update(self, step: int, loss: float, images_per_sec: float | None) -> None:
        total = self.total or 1
        if step == 1 or step == total or step % max(1, total // 10) == 0:
            self.console.print(f"{self.label}: step {step}/{self.total}  loss {loss:.4f}  {_rate(images_per_sec)}",
                               markup=False, highlight=False)

    def start_download(self, total_bytes: int | None, label: str) -> None:
        self.total, self.label, self.tenth = total_bytes, label, 0
        self.console.print(f"{label}: {_size(total_bytes)}", markup=False, highlight=False)

    def downloaded(self, done_bytes: int) -> None:
        tenth = done_bytes * 10 // self.total if self.total else 0
        if tenth > self.tenth:
            self.tenth = tenth
            self.console.print(f"{self.label}: {_size(done_bytes)} of {_size(self.total)}", markup=False,
                               highlight=False)


class Bar(Loud):
    def __init__(self, console: Console):
        self.console = console
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def start(self, total: int, label: str = "training") -> None:
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]}"),
                            TimeElapsedColumn(), console=self.console, transient=False)
        self.task = progress.add_task(label, total=total, loss="-", rate=_rate(None))
        self.progress = progress
        progress.start()

    def update(self, step: int, loss: float, images_per_sec: float | None) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=step, loss=f"{loss:.4f}", rate=_rate(images_per_sec))

    def start_download(self, total_bytes: int | None, label: str) -> None:
        progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                            TransferSpeedColumn(), TimeElapsedColumn(), console=self.console, transient=False)
        self.task = progress.add_task(label, total=total_bytes)
        self.progress = progress
        progress.start()

    def downloaded(self, done_bytes: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=done_bytes)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _size(count: int | None) -> str:
    return "size unknown" if count is None else f"{count / 1e6:,.1f} MB"


def progress_for(json_output: bool, console: Console) -> Silent:
    if json_output:
        return Loud(console)
    return Bar(console) if console.is_terminal else Lines(console)
