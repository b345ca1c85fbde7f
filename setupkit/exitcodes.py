"""Exit codes, defined in one place (DESIGN.md, "Contracts")."""

OK = 0
"""All good; warnings allowed."""
CHECK_FAILED = 1
"""A doctor check failed, or the smoke test failed."""
USAGE = 2
"""A usage error (click's own code for an unknown flag or a bad value)."""
PRECONDITION = 3
"""A precondition is not met: not root, lock held, snapshot unreadable, no data."""
ACTION_FAILED = 4
"""An action failed midway; the message names the step and its log."""
INTERRUPTED = 130
"""Interrupted by Ctrl-C."""
