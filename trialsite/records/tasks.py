"""Celery tasks of the records core: thin, idempotent wrappers (docs/architecture.md §10 "A task").

This module imports ``recompute``, never the other way round: ``recompute.enqueue`` finds
``recompute_study`` by name in the Celery app's registry.
"""

from __future__ import annotations

from celery import shared_task
from django.db.models import F, Max, Q

from trialsite.records import recompute


@shared_task(name=recompute.RECOMPUTE_TASK)
def recompute_study(study_id: int) -> dict:
    """Recompute one study's derived state; returns the data version it saw and failing hooks."""
    run = recompute.run(study_id)
    if run is None:
        return {"study": study_id, "skipped": "no such study"}
    return {
        "study": study_id,
        "data_version": run.data_version,
        "hooks": sorted(run.results),
        "failed": [error["hook"] for error in run.errors],
    }


@shared_task(name="trialsite.records.tasks.sweep_stale_studies")
def sweep_stale_studies() -> dict:
    """Re-enqueue every study whose newest recompute is older than its data.

    A study whose recompute is waiting is skipped, unless the wait is older than a few coalescing
    periods: then its task was lost with a dead worker and ``enqueue`` takes the key over.
    """
    from trialsite.studies.models import Study

    stale = (
        Study.objects.annotate(seen=Max("recompute_runs__data_version"))
        .filter(Q(seen__isnull=True, data_version__gt=0) | Q(seen__lt=F("data_version")))
        .values_list("pk", flat=True)
    )
    sent = [study_id for study_id in stale if recompute.enqueue(study_id)]
    return {"enqueued": sent}
