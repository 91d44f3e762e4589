"""GradingEngine.run's ``when_idle`` (issue 15): the driver learns when a worker is free.

``cs230-grade run`` computes the similarity report in that moment, while the last students
are still grading, instead of after them.
"""

from __future__ import annotations

import time

from cs230_grading.engine import GradingEngine


def _sleep(seconds: float) -> tuple[float, float]:
    time.sleep(seconds)
    return seconds, time.time()


def test_when_idle_is_called_once_while_the_last_task_still_runs() -> None:
    items = [0.2, 0.2, 0.2, 3.0]  # on 2 workers the 3.0 s task is the last one handed out
    received: list[float] = []
    calls: list[tuple[list[float], float]] = []

    def when_idle() -> None:
        calls.append((list(received), time.time()))

    with GradingEngine(workers=2) as engine:
        for outcome in engine.run(_sleep, items, when_idle=when_idle):
            assert outcome.ok, outcome.error
            received.append(outcome.value[0])
            if outcome.value[0] == 3.0:
                slow_done = outcome.value[1]

    assert sorted(received) == sorted(items)
    assert len(calls) == 1, calls
    seen, at = calls[0]
    # every item was handed out, and a worker was free: one short task had come back...
    assert seen.count(0.2) == 2 and 3.0 not in seen
    # ... while the long one was still running
    assert at < slow_done - 1.0
