"""The Prometheus multiprocess directory for `hub serve --workers N`.

Kept apart from `shop.metrics` (which imports the web stack) so the CLI can prepare it in a second before uvicorn
starts the workers, which inherit it through the environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir() -> Path:
    """A fresh, empty directory shared by the workers (set in the environment).

    An operator may set PROMETHEUS_MULTIPROC_DIR themselves (docker-compose does, on a tmpfs); it is emptied here
    because samples of processes from a previous run would otherwise be added to this run's.
    """
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="hub-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        if child.is_file() and child.suffix == ".db":
            child.unlink()
        elif child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path
