"""What the hostile snapshot tests share: a bound on how long an in-process case may run."""

from __future__ import annotations

import signal

import pytest


@pytest.fixture
def no_hang():
    """In-process cases too must end: SIGALRM turns a hang into a failure."""

    def expire(signum, frame):
        raise TimeoutError("the snapshot reader did not finish in time")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
