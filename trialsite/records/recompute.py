"""Recomputation of a study's derived state after clinical writes (docs/architecture.md §5).

Apps register *hooks* (``register("escalation", fn)``); ``fn(study, data_version)`` recomputes its
snapshot from the data as of ``data_version`` and returns a small JSON summary. A save schedules
one run per study on commit, coalesced: the first save of a burst sets a cache key and enqueues a
task ``RECOMPUTE_COALESCE_SECONDS`` later; later saves of the burst find the key and add nothing.
The task clears the key *before* it reads the data version, so a save that lands during a run
schedules another run — no change is ever left uncomputed. The beat sweep re-enqueues any study
whose newest run is older than its data (a lost task or a dead worker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from trialsite import clock

logger = logging.getLogger(__name__)

Hook = Callable[[object, int], dict]
_HOOKS: dict[str, Hook] = {}
PENDING_TTL_SECONDS = 15 * 60


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
    """
    connection = transaction.get_connection()
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _EnqueueOnCommit) and callback.study_id == study_id:
            return
    transaction.on_commit(_EnqueueOnCommit(study_id))


def enqueue(study_id: int) -> bool:
    """Enqueue one recompute unless one is already waiting; True when a task was sent."""
    from trialsite.records.tasks import recompute_study

    if not cache.add(pending_key(study_id), 1, timeout=PENDING_TTL_SECONDS):
        return False
    try:
        recompute_study.apply_async((study_id,), countdown=settings.RECOMPUTE_COALESCE_SECONDS)
    except Exception:
        # The broker is down: drop the key so the next save (or the sweep) tries again.
        cache.delete(pending_key(study_id))
        logger.exception("Could not enqueue the recompute of study %s", study_id)
        return False
    return True


def run(study_id: int):
    """Run every hook for the study's current data and record the run."""
    from trialsite.records.models import RecomputeRun
    from trialsite.studies.models import Study

    cache.delete(pending_key(study_id))
    started = clock.now()
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        return None
    results = {}
    for name, hook in _HOOKS.items():
        results[name] = hook(study, study.data_version)
    return RecomputeRun.objects.create(
        study=study,
        data_version=study.data_version,
        started_at=started,
        finished_at=clock.now(),
        results=results,
    )


def store_snapshot(model, *, study, data_version: int, values: dict) -> bool:
    """Store a per-study snapshot only if it comes from newer data than the stored one.

    A conditional write (``data_version__lt``) and a row count, so a slow task that read older
    data can never overwrite a snapshot made from newer data. True when stored.
    """
    updated = model.objects.filter(study=study, data_version__lt=data_version).update(
        data_version=data_version, **values
    )
    if updated:
        return True
    _obj, created = model.objects.get_or_create(
        study=study, defaults={"data_version": data_version, **values}
    )
    return created
