"""Run blocking work, or a coroutine on its own event loop, in a separate thread and re-raise its error.

Alembic's environment and one-off admin connections run their own event loop; calling them from code that may
already be inside a running loop (tests, benchmarks) needs them on another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_in_thread(fn: Callable[..., Any], *args: Any) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
