"""Where independent simulation tasks run: in this process, on local processes, or on a
Dask cluster, with the same results on each.

An executor maps a function over a list of items, with one shared (read-only) value
passed to every call, and returns the results in the items' order. Tasks must take all
their randomness from the seed tree by their own index (never by worker), so that which
executor runs them, and on how many workers, cannot change a result. Forecasts map
over replications; a sweep can map over (variant, replication) pairs the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from .errors import InputError

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


ProgressCallback = Callable[[int, int], None]
"""Called with (tasks done, tasks in all) as tasks finish."""


class Executor(Protocol):
    """Runs ``function(shared, item)`` for every item; results in the items' order.
    ``progress``, when set, hears of every task that finishes (a terminal's progress bar)."""

    progress: ProgressCallback | None

    @property
    def name(self) -> str:
        """How the tasks ran, for messages (never written to results)."""
        ...

    def map(self, function: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """``[function(shared, item) for item in items]``, possibly in parallel."""
        ...


class SerialExecutor:
    """Every task in this process, one after another."""

    name = "serial"

    def __init__(self) -> None:
        self.progress: ProgressCallback | None = None

    def map(self, function: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """Run the tasks in order."""
        results = []
        for item in items:
            results.append(function(shared, item))
            _tell(self.progress, len(results), len(items))
        return results


def _tell(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


_WORKER_STATE: dict[str, Any] = {}


def _init_worker(function: Callable[[Any, Any], Any], shared: Any) -> None:
    _WORKER_STATE["function"] = function
    _WORKER_STATE["shared"] = shared


def _call_in_worker(item: Any) -> Any:
    return _WORKER_STATE["function"](_WORKER_STATE["shared"], item)


class ProcessExecutor:
    """Tasks on a pool of local processes (the shared value is sent once per process)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.progress: ProgressCallback | None = None

    @property
    def name(self) -> str:
        """Local processes and their count."""
        return f"{self.workers} local processes"

    def map(self, function: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """Run the tasks on up to ``workers`` processes (in this process if one suffices)."""
        workers = min(self.workers, len(items))
        if workers <= 1:
            serial = SerialExecutor()
            serial.progress = self.progress
            return serial.map(function, shared, items)
        results = []
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_init_worker, initargs=(function, shared)
        ) as pool:
            for result in pool.map(_call_in_worker, items):  # in order, as they come
                results.append(result)
                _tell(self.progress, len(results), len(items))
        return results


class DaskExecutor:
    """Tasks on a Dask cluster: a scheduler address (``tcp://host:8786``) or a client."""

    def __init__(self, scheduler: str | Any) -> None:
        self.scheduler = scheduler
        self.progress: ProgressCallback | None = None

    @property
    def name(self) -> str:
        """The scheduler's address."""
        address = getattr(self.scheduler, "scheduler_address", None) or getattr(
            getattr(self.scheduler, "scheduler", None), "address", None
        )
        return f"Dask at {address or self.scheduler}"

    def map(self, function: Callable[[S, T], R], shared: S, items: Sequence[T]) -> list[R]:
        """Scatter the shared value once, run one task per item, gather in order."""
        client, owned = _dask_client(self.scheduler)
        try:
            [shared_future] = client.scatter([shared], broadcast=True)
            futures = client.map(function, [shared_future] * len(items), list(items), pure=False)
            if self.progress is not None:
                from distributed import as_completed

                for done, _future in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
                    self.progress(done, len(items))
            return list(client.gather(futures))
        finally:
            if owned:
                client.close()


def _dask_client(scheduler: str | Any) -> tuple[Any, bool]:
    """A client for the scheduler, and whether this call made it (and must close it)."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "running on a Dask cluster needs dask.distributed",
            source="--scheduler",
            fix="pip install 'sandsim[dask]', or leave out --scheduler to use local processes",
        ) from None
    if not isinstance(scheduler, str):
        return scheduler, False
    try:
        return Client(scheduler, timeout="10s"), True  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as error:
        raise InputError(
            f"cannot reach the Dask scheduler ({error})",
            source="--scheduler",
            field=scheduler,
            fix="give the address the scheduler prints, e.g. tcp://10.0.0.5:8786, and check it runs",
        ) from None


def make_executor(scheduler: str | None = None, workers: int | None = None) -> Executor:
    """A Dask executor when a scheduler address is given, else local processes."""
    if scheduler:
        if not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
            raise InputError(
                f"{scheduler!r} is not a Dask scheduler address",
                source="--scheduler",
                fix="write it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786",
            )
        return DaskExecutor(scheduler)
    if workers is not None and workers < 1:
        raise InputError("at least one worker", source="--workers", fix="give 1 or more")
    return ProcessExecutor(workers)
