"""The fan-out: grading tasks on Dask distributed.

One small interface, :class:`GradingEngine`, runs a function over many items
and yields results as they finish (:meth:`GradingEngine.run`, which
:func:`cs230_grading.grading.driver.grade_class` uses). By default it starts a ``LocalCluster``
with one single-threaded worker process per core; given a scheduler address
(``--scheduler tcp://HOST:8786`` or ``CS230_DASK_SCHEDULER``) it connects to an
existing cluster instead (a Slurm or Kubernetes one started with dask-jobqueue
or dask-kubernetes: see docs/cluster.md). Nothing else in the package talks to Dask.

Worker processes load nbgrader once and keep it (a private course per worker, see
:class:`cs230_grading.grading.stage.PrivateCourse`), so the ~4 s start-up of an ``nbgrader``
command is paid once per worker, not once per student; every notebook still gets a fresh
sandboxed kernel from nbgrader.

Faults. :meth:`GradingEngine.run` keeps at most one task per worker thread in
flight, so a worker that dies only takes down the task it was running. The
scheduler re-runs that task on another worker; each :class:`TaskOutcome` says
how many workers died under it (``retries``). A task that kills more workers
than allowed (``allowed_failures``, the scheduler's
``distributed.scheduler.allowed-failures``) comes back with
``killed_workers=True`` instead of stalling the run.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

SCHEDULER_ENV = "CS230_DASK_SCHEDULER"


@dataclasses.dataclass
class TaskOutcome:
    """What one task produced: its item, its value, or the error that ended it."""

    item: Any
    value: Any = None
    error: str | None = None
    #: address of the worker that produced the value
    worker: str = ""
    #: workers that died while running this task (the scheduler re-ran it elsewhere)
    retries: int = 0
    #: the scheduler gave up: the task killed more workers than allowed
    killed_workers: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _safe_call(func: Callable[..., Any], item: Any, *shared: Any) -> TaskOutcome:
    """Run on a worker: never raise, so one bad item cannot fail the whole map."""
    worker = _worker_address()
    try:
        return TaskOutcome(item, func(*shared, item), worker=worker)
    except Exception as exc:  # noqa: BLE001 - reported per item
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return TaskOutcome(item, error=detail, worker=worker)


def _import_modules(names: list[str]) -> None:
    """Run on each worker before shared data arrives: import what unpickling it needs."""
    import importlib

    for name in names:
        importlib.import_module(name)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def _suspicious(keys: list[str], dask_scheduler: Any = None) -> dict[str, int]:
    """Run on the scheduler: how many workers died while running each task."""
    tasks = dask_scheduler.tasks
    return {k: int(tasks[k].suspicious) for k in keys if k in tasks}


def default_workers() -> int:
    """Local worker processes: one per core.

    A worker and its notebook's kernel take turns, but one more worker than cores did not
    help: on 2 cores, 3 workers graded the sample class in 47.4 to 53.4 s against 46.6 and
    47.2 s for 2 (docs/cluster.md).
    """
    return os.cpu_count() or 1


class GradingEngine:
    """Run tasks on a Dask cluster: a LocalCluster by default, or an existing scheduler."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        env: dict[str, str] | None = None,
        retries: int = 1,
        allowed_failures: int | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.env = env or {}
        self.retries = retries
        #: workers a task may kill before it is given up (LocalCluster only; a remote
        #: scheduler applies its own ``distributed.scheduler.allowed-failures``, default 3)
        self.allowed_failures = allowed_failures
        self._stack = contextlib.ExitStack()
        self.client: Any = None

    def __enter__(self) -> GradingEngine:
        import dask
        from dask.distributed import Client, LocalCluster

        # Workers (and the kernels they start) inherit this environment.
        os.environ.update(self.env)
        # The client is closed by a callback, not as a context manager: a context manager would
        # tie its exit to this thread (``grade_class`` may close the engine from another one).
        if self.scheduler:
            self.client = Client(self.scheduler, set_as_default=False)
            self._stack.callback(self.client.close)
        else:
            settings: dict[str, Any] = {"distributed.scheduler.worker-saturation": 1.0}
            if self.allowed_failures is not None:
                settings["distributed.scheduler.allowed-failures"] = self.allowed_failures
            with dask.config.set(settings):
                cluster = self._stack.enter_context(
                    LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",  # no fixed port to collide on
                        memory_limit=0,
                        silence_logs=50,
                    )
                )
            self.client = Client(cluster, set_as_default=False)
            self._stack.callback(self.client.close)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self.client = None

    def run_on_workers(self, func: Callable[[], Any]) -> dict[str, Any]:
        """Run ``func()`` once on every current worker (best effort: clean-up, warm-up)."""
        try:
            return dict(self.client.run(func))
        except Exception:  # noqa: BLE001 - a worker that went away has nothing to clean
            return {}

    def worker_threads(self) -> int:
        """Threads across the cluster's current workers (at least 1, to queue one task)."""
        return max(1, sum(self.client.nthreads().values()))

    def run(self, func: Callable[[Any, Any], Any], items: Iterable[Any], *,
            shared: Any = None, when_idle: Callable[[], None] | None = None
            ) -> Iterator[TaskOutcome]:
        """Yield ``func(shared, item)`` per item as a :class:`TaskOutcome`, in completion order.

        ``shared`` (say, the course every task needs) is sent to the workers once,
        not once per task. At most one task per worker thread is in flight, so a
        worker death affects only what it was running; such tasks are re-run by the
        scheduler and their outcome counts the lost workers in ``retries``.
        ``when_idle`` is called once, the first time a task finishes with no item left to
        hand out: from then on the cluster has a free worker thread, and the caller may use
        the machine's spare core (the last tasks are still running).
        """
        from dask.distributed import as_completed
        from distributed import KilledWorker

        if self.client is None:
            raise RuntimeError("use GradingEngine as a context manager")
        client = self.client
        token = uuid.uuid4().hex[:8]
        # Import the task's module on every worker first. Unpickling ``shared`` would import
        # it anyway, but inside ``scatter``, where it took 7.0 s for a 1.3 s import (2 workers
        # on 2 cores, cs230_grading.grading.worker); imported beforehand, the scatter is instant.
        with contextlib.suppress(Exception):  # best effort: unpickling imports it regardless
            client.run(_import_modules, sorted({func.__module__} | (
                {type(shared).__module__} if shared is not None else set())))
        shared_future = client.scatter(shared, broadcast=True, hash=False) if shared is not None \
            else None
        queue = collections.deque(enumerate(items))
        in_flight: dict[str, tuple[int, Any, int]] = {}
        done = as_completed(loop=client.loop)

        def submit(index: int, item: Any, attempt: int) -> None:
            key = f"cs230-grade-{token}-{index}-{attempt}"
            extra = () if shared_future is None else (shared_future,)
            future = client.submit(_safe_call, func, item, *extra, key=key, pure=False)
            in_flight[future.key] = (index, item, attempt)
            done.add(future)

        while queue or in_flight:
            while queue and len(in_flight) < self.worker_threads():
                index, item = queue.popleft()
                submit(index, item, 0)
            future = next(done)
            index, item, attempt = in_flight.pop(future.key)
            if when_idle is not None and not queue:
                when_idle()
                when_idle = None
            try:
                lost = client.run_on_scheduler(_suspicious, [future.key]).get(future.key, 0)
            except Exception:  # noqa: BLE001 - only the report loses detail
                lost = 0
            try:
                outcome = future.result()
            except KilledWorker as exc:
                n = getattr(exc, "allowed_failures", lost) + 1
                yield TaskOutcome(item, error=f"killed {n} workers (each time it ran)",
                                  retries=n - 1, killed_workers=True)
                continue
            except Exception as exc:  # noqa: BLE001 - lost data, cancelled: submit again
                if attempt < self.retries:
                    if shared is not None:
                        shared_future = client.scatter(shared, broadcast=True, hash=False)
                    submit(index, item, attempt + 1)
                    continue
                yield TaskOutcome(item, error=f"worker failed: {exc}", retries=lost + attempt)
                continue
            finally:
                future.release()
            outcome.retries = lost + attempt
            yield outcome
