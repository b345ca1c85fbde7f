"""Training progress for people: a rich bar with the loss and images/sec on a terminal, a line every tenth
of the run otherwise (logs, CI), nothing under --json."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Silent:
    def note(self, text: str) -> None:
        """Something to say before training starts (synthetic data)."""

    def start(self, total: int, label: str = "training") -> None:
        pass

    def update(self, step: int, loss: float, images_per_sec: float | None) -> None:
        pass

    def finish(self) -> None:
        pass


def _rate(images_per_sec: float | None) -> str:
    return f"{images_per_sec:,.0f} img/s" if images_per_sec else "- img/s"


class Loud(Silent):
    """Says notes at once, in bold, so that nobody reads a synthetic run as a CIFAR-10 one."""

    def __init__(self, console: Console):
        self.console = console

    def note(self, text: str) -> None:
        self.console.print(f"WARNING: {text}", style="bold yellow", markup=False, highlight=False, soft_wrap=True)


class Lines(Loud):
    """For a stream that is not a terminal: a plain line at every tenth of the run."""

    def __init__(self, console: Console):
        self.console, self.total, self.label = console, 1, "training"

    def start(self, total: int, label: str = "training") -> None:
        self.total, self.label = total, label

    def update(self, step: int, loss: float, images_per_sec: float | None) -> None:
        if step == 1 or step == self.total or step % max(1, self.total // 10) == 0:
            self.console.print(f"{self.label}: step {step}/{self.total}  loss {loss:.4f}  {_rate(images_per_sec)}",
                               markup=False, highlight=False)


class Bar(Loud):
    def __init__(self, console: Console):
        self.console, self.progress, self.task = console, None, None

    def start(self, total: int, label: str = "training") -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]}"),
                                 TimeElapsedColumn(), console=self.console, transient=False)
        self.task = self.progress.add_task(label, total=total, loss="-", rate=_rate(None))
        self.progress.start()

    def update(self, step: int, loss: float, images_per_sec: float | None) -> None:
        self.progress.update(self.task, completed=step, loss=f"{loss:.4f}", rate=_rate(images_per_sec))

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def progress_for(json_output: bool, console: Console) -> Silent:
    if json_output:
        return Silent()
    return Bar(console) if console.is_terminal else Lines(console)
