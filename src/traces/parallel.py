"""Spreading CPU-bound work over forked processes, for large inputs on the command line.

The input is already in memory: forked children see it without copying or pickling it, and only their
results come back (pickled, through a pipe). Where fork is unavailable or a child fails, the work is simply
done here instead, so the result never depends on how it was computed.
"""

import os
import pickle
from collections.abc import Callable
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def available_workers() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def map_slices(work: Callable[[list[Item]], Result], items: list[Item], workers: int) -> list[Result]:
    """`work` applied to `workers` contiguous slices of `items`, in order; all but the first in children."""
    workers = max(1, min(workers, len(items)))
    if workers == 1 or not hasattr(os, "fork"):
        return [work(items)]
    size = -(-len(items) // workers)  # ceiling division
    slices = [items[start : start + size] for start in range(0, len(items), size)]
    children = [_fork(work, piece) for piece in slices[1:]]
    results = [work(slices[0])]
    for (pid, reader), piece in zip(children, slices[1:], strict=True):
        results.append(_collect(pid, reader, work, piece))
    return results


def _fork(work: Callable[[list[Item]], Result], piece: list[Item]) -> tuple[int, int]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running the parent's exit handlers
        status = 0
        try:
            os.close(reader)
            payload = pickle.dumps(work(piece), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(payload)
        except BaseException:  # noqa: BLE001 - whatever happens, the parent redoes this slice itself
            status = 1
        finally:
            os._exit(status)
    os.close(writer)
    return pid, reader


def _collect(pid: int, reader: int, work: Callable[[list[Item]], Result], piece: list[Item]) -> Result:
    with os.fdopen(reader, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status == 0 and payload:
        try:
            result: Result = pickle.loads(payload)  # noqa: S301 - our own child's output
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError):
            pass
        else:
            return result
    return work(piece)
