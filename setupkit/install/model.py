"""A plan and its steps: what each step runs, what it writes, whether it needs a reboot, and whether the host's
facts say it is already done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TODO, DONE, SKIP = "todo", "done", "skip"
SCHEMA = "setupkit-install/1"


@dataclass(frozen=True)
class FileWrite:
    path: str
    content: str


@dataclass
class Step:
    """One idempotent step. ``status`` comes from the facts: ``done`` when the host already has what the step
    would bring, ``skip`` when it does not apply here; ``reason`` says which."""

    id: str
    title: str
    status: str = TODO
    reason: str = ""
    commands: list[list[str]] = field(default_factory=list)
    files: list[FileWrite] = field(default_factory=list)
    reboot: bool = False
    changes: bool = True  # False for a step that only reads (the doctor verification)
    interactive: bool = False  # the command talks to the person at the terminal (mokutil asks a password)
    dialog: dict[str, Any] | None = None  # a legacy CUDA runfile, driven through its prompts (runfile.py)
    fail_on_output: tuple[str, ...] = ()  # output that means failure even with exit status 0
    ran: bool = False  # set by the executor when this run carried the step out

    def mark(self, status: str, reason: str) -> Step:
        self.status, self.reason = status, reason
        return self

    def to_json(self) -> dict[str, Any]:
        doc = {"id": self.id, "title": self.title, "status": self.status, "reason": self.reason,
               "commands": [list(argv) for argv in self.commands],
               "files": [{"path": f.path, "content": f.content} for f in self.files], "reboot": self.reboot,
               "changes": self.changes, "ran": self.ran}
        if self.dialog:
            doc["dialog"] = dict(self.dialog)
        return doc


@dataclass
class Plan:
    steps: list[Step]
    path: str  # "gpu" | "cpu"
    distro: dict[str, str]
    choices: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    blocked: str | None = None  # "reboot first" and the like: nothing may run until it is resolved

    @property
    def reboot_required(self) -> bool:
        """A blocker says so, or a step that needs a reboot is still to do or was just done by this run."""
        return self.blocked is not None and "reboot" in self.blocked or any(
            s.reboot for s in self.steps if s.status == TODO or s.ran)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def todo(self) -> list[Step]:
        return [s for s in self.steps if s.status == TODO]

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "reboot_required": self.reboot_required, "path": self.path,
                "distro": self.distro, "blocked": self.blocked, "choices": self.choices,
                "warnings": list(self.warnings), "steps": [s.to_json() for s in self.steps]}
