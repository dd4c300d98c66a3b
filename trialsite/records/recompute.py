"""Recomputation of a study's derived state after clinical writes (docs/architecture.md §5).

Apps register *hooks* (``register("escalation")(fn)``); ``fn(study, data_version)`` recomputes its
snapshot from the data as of ``data_version`` (``store_snapshot``) and returns a small JSON
summary. A save schedules one run per study on commit, coalesced: the first save of a burst sets a
cache key (holding the moment it was set) and enqueues a task ``RECOMPUTE_COALESCE_SECONDS``
later; later saves of the burst find the key and add nothing. The task clears the key *before* it
reads the data version, so a save that lands during a run schedules another run — no change is
ever left uncomputed.

Recovery (issue 9 §3): a key older than ``PENDING_LOST_PERIODS`` coalescing periods belongs to a
task that was lost (its worker died before running it), so the next save or the beat sweep takes
it over and enqueues again instead of waiting for the key to expire.

Isolation (issue 8 §5): each hook runs in its own savepoint; a hook that raises is logged with its
traceback and recorded on the run (name and one-line error), the other hooks still run, and the
run is still recorded, so the sweep does not retry a study forever because of one broken hook.

The task is looked up by name in the Celery app's registry (``RecordsConfig.ready`` imports
``tasks``), so this module never imports ``tasks`` and ``tasks`` may import this one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from trialsite import clock
from trialsite.celery import app as celery_app
from trialsite.records.snapshots import store_snapshot

__all__ = [
    "enqueue",
    "hooks",
    "pending_key",
    "pending_since",
    "register",
    "run",
    "schedule",
    "store_snapshot",
]

logger = logging.getLogger(__name__)

Hook = Callable[[object, int], dict]
_HOOKS: dict[str, Hook] = {}

RECOMPUTE_TASK = "trialsite.records.tasks.recompute_study"
# The key only coalesces; after this it is dropped even if nothing took it over.
PENDING_TTL_SECONDS = 15 * 60
# A waiting task older than this many coalescing periods is taken to be lost (issue 9 §3).
PENDING_LOST_PERIODS = 5
# What "the broker is unreachable" looks like; any other error is a bug and is not swallowed.
BROKER_ERRORS = (BrokerOperationalError, RedisConnectionError, RedisTimeoutError, OSError)


def register(name: str) -> Callable[[Hook], Hook]:
    """Decorator: add a recompute hook under ``name`` (the key of its summary)."""

    def decorate(fn: Hook) -> Hook:
        _HOOKS[name] = fn
        return fn

    return decorate


def hooks() -> dict[str, Hook]:
    return dict(_HOOKS)


def pending_key(study_id: int) -> str:
    return f"recompute:pending:{study_id}"


def lost_after_seconds() -> float:
    """How old a pending key may get before its task counts as lost."""
    return PENDING_LOST_PERIODS * max(settings.RECOMPUTE_COALESCE_SECONDS, 1)


def pending_since(study_id: int) -> float | None:
    """When (POSIX seconds) the waiting recompute of the study was enqueued; None if none waits.

    A key without a time (written before keys carried one) reads as 0.0, i.e. long lost.
    """
    value = cache.get(pending_key(study_id))
    if value is None:
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class _EnqueueOnCommit:
    """The on-commit callback; a class so a transaction registers it once per study."""

    def __init__(self, study_id: int):
        self.study_id = study_id

    def __call__(self) -> None:
        enqueue(self.study_id)


def schedule(study_id: int) -> None:
    """Ask for a recompute of the study once the current transaction commits.

    Many saves in one transaction register one callback: Django keeps the pending callbacks in
    ``connection.run_on_commit`` (and drops those of a rolled-back savepoint), so looking there
    is exact, and it also works with eager tasks, where the cache key alone would not coalesce.
    The callback is *robust*: the data is committed by then, so an unexpected failure of the
    recompute is logged (and left to the sweep) instead of turning the user's save into an error.
    """
    connection = transaction.get_connection()
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _EnqueueOnCommit) and callback.study_id == study_id:
            return
    transaction.on_commit(_EnqueueOnCommit(study_id), robust=True)


def _claim(study_id: int) -> bool:
    """Set the pending key, or take over a lost one; False when a live task is already waiting."""
    key, now = pending_key(study_id), clock.now().timestamp()
    if cache.add(key, now, timeout=PENDING_TTL_SECONDS):
        return True
    since = pending_since(study_id)
    if since is not None and now - since < lost_after_seconds():
        return False
    logger.warning("The waiting recompute of study %s was lost; enqueuing it again", study_id)
    cache.set(key, now, timeout=PENDING_TTL_SECONDS)
    return True


def enqueue(study_id: int) -> bool:
    """Enqueue one recompute unless a live one is already waiting; True when a task was sent.

    Only an unreachable broker counts as "could not enqueue": the key is dropped so that the next
    save (or the sweep) tries again. Hook failures never get here (``run`` records them).
    """
    if not _claim(study_id):
        return False
    task = celery_app.tasks[RECOMPUTE_TASK]
    if celery_app.conf.task_always_eager:
        # No broker: the task runs here and now, and any error in it is not a broker error.
        task.apply_async((study_id,))
        return True
    try:
        task.apply_async((study_id,), countdown=settings.RECOMPUTE_COALESCE_SECONDS)
    except BROKER_ERRORS:
        cache.delete(pending_key(study_id))
        logger.exception("Could not enqueue the recompute of study %s", study_id)
        return False
    return True


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """``ExceptionClass: first line of the message``, at most ``limit`` characters."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".strip().rstrip(":")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_hook(name: str, hook: Hook, study, data_version: int) -> tuple[dict | None, str | None]:
    """One hook in its own savepoint: (summary, None) or (None, its one-line error)."""
    try:
        with transaction.atomic():
            return hook(study, data_version), None
    except Exception as exc:  # noqa: BLE001 - one hook must never stop the others
        logger.exception(
            "Recompute hook %r failed for study %s at data version %s",
            name,
            study.pk,
            data_version,
        )
        return None, _one_line(exc)


def run(study_id: int):
    """Run every hook for the study's current data and record the run (also when hooks fail)."""
    from trialsite.records.models import RecomputeRun
    from trialsite.studies.models import Study

    cache.delete(pending_key(study_id))
    started = clock.now()
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        return None
    data_version = study.data_version
    results, errors = {}, []
    for name, hook in _HOOKS.items():
        summary, error = _run_hook(name, hook, study, data_version)
        if error is None:
            results[name] = summary
        else:
            errors.append({"hook": name, "error": error})
    return RecomputeRun.objects.create(
        study=study,
        data_version=data_version,
        started_at=started,
        finished_at=clock.now(),
        results=results,
        errors=errors,
    )
