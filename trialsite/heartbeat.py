"""The worker heartbeat: each worker writes the time into the shared cache every few seconds.

``/healthz`` reads it to tell whether any worker is alive (issue 9 §3): Celery's own heartbeats
are events a web process never sees, and a dead worker leaves no trace in the broker. The
heartbeat runs in a daemon thread of the worker's main process, started by the ``worker_init``
signal (``trialsite/celery.py``), so it keeps beating while a task runs and stops when the
process dies. It needs the cache shared by web and worker (``REDIS_URL``).

Liveness is wall-clock time (``time.time()``), deliberately not ``trialsite.clock``: a test that
freezes the clinical clock must not make a live worker look dead.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

KEY = "worker:heartbeat"
INTERVAL_SECONDS = 10
# Kept long after the last beat so /healthz can say when a worker was last seen.
KEEP_SECONDS = 7 * 24 * 60 * 60

# The running heartbeat thread and its stop signal; each start gets its own signal.
_stop: threading.Event | None = None
_thread: threading.Thread | None = None


def beat() -> None:
    """Record that a worker is alive now."""
    cache.set(KEY, time.time(), timeout=KEEP_SECONDS)


def last_seen() -> float | None:
    """When (POSIX seconds) a worker last wrote its heartbeat; None when none ever did."""
    value = cache.get(KEY)
    return float(value) if isinstance(value, int | float) else None


def age_seconds() -> float | None:
    """Seconds since the last heartbeat of any worker; None when none ever beat."""
    seen = last_seen()
    return None if seen is None else max(time.time() - seen, 0.0)


def _run(stop_event: threading.Event) -> None:
    while not stop_event.is_set():
        try:
            beat()
        except Exception:  # noqa: BLE001 - a cache hiccup must not kill the heartbeat
            logger.warning("Could not write the worker heartbeat", exc_info=True)
        stop_event.wait(INTERVAL_SECONDS)


def running() -> bool:
    return _thread is not None and _thread.is_alive() and not _stop.is_set()


def start() -> None:
    """Start beating in this process (once); called when a worker starts."""
    global _stop, _thread
    if running():
        return
    _stop = threading.Event()
    _thread = threading.Thread(target=_run, args=(_stop,), name="trialsite-heartbeat", daemon=True)
    _thread.start()


def stop(*, wait: bool = False) -> None:
    """Stop beating (when a worker shuts down); ``wait`` until the last write is done."""
    if _stop is not None:
        _stop.set()
    if wait and _thread is not None:
        _thread.join(5)
