"""The fan-out: grading tasks on Dask distributed.

One small interface, :class:`GradingEngine`, runs a function over many items
and yields results as they finish. By default it starts a ``LocalCluster``
with one single-threaded worker process per core; given a scheduler address
(``--scheduler tcp://HOST:8786`` or ``CS230_DASK_SCHEDULER``) it connects to an
existing cluster instead. Nothing else in the package talks to Dask.

Worker processes load nbgrader once and keep it (see :func:`worker_api`), so
the ~4 s start-up of an ``nbgrader`` command is paid once per worker, not once
per student; every notebook still gets a fresh kernel from nbgrader.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

SCHEDULER_ENV = "CS230_DASK_SCHEDULER"


@dataclasses.dataclass
class TaskOutcome:
    """What one task produced: its item, its value, or the error that ended it."""

    item: Any
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _safe_call(func: Callable[[Any], Any], item: Any) -> TaskOutcome:
    """Run on a worker: never raise, so one bad item cannot fail the whole map."""
    try:
        return TaskOutcome(item, func(item))
    except Exception as exc:  # noqa: BLE001 - reported per item
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return TaskOutcome(item, error=detail)


class GradingEngine:
    """Run tasks on a Dask cluster: a LocalCluster by default, or an existing scheduler."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        env: dict[str, str] | None = None,
        retries: int = 1,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.env = env or {}
        self.retries = retries
        self._stack = contextlib.ExitStack()
        self.client: Any = None

    def __enter__(self) -> GradingEngine:
        from dask.distributed import Client, LocalCluster

        # Workers (and the kernels they start) inherit this environment.
        os.environ.update(self.env)
        if self.scheduler:
            self.client = self._stack.enter_context(Client(self.scheduler))
        else:
            cluster = self._stack.enter_context(
                LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    memory_limit=0,
                    silence_logs=40,
                )
            )
            self.client = self._stack.enter_context(Client(cluster))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self.client = None

    def map(self, func: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[TaskOutcome]:
        """Yield a :class:`TaskOutcome` per item, in completion order."""
        from dask.distributed import as_completed

        if self.client is None:
            raise RuntimeError("use GradingEngine as a context manager")
        items = list(items)
        futures = [
            self.client.submit(_safe_call, func, item, pure=False, retries=self.retries,
                               key=f"grade-{i}-{os.getpid()}-{id(item)}")
            for i, item in enumerate(items)
        ]
        by_key = {f.key: item for f, item in zip(futures, items, strict=True)}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - the worker itself died
                yield TaskOutcome(by_key[future.key], error=f"worker failed: {exc}")
