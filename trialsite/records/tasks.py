"""Celery tasks of the records core: thin, idempotent wrappers (architecture.md §10 "A task")."""

from __future__ import annotations

from celery import shared_task
from django.db.models import F, Max, Q

from trialsite.records import recompute


@shared_task(name="trialsite.records.tasks.recompute_study")
def recompute_study(study_id: int) -> dict:
    """Recompute one study's derived state; returns the data version it saw."""
    run = recompute.run(study_id)
    if run is None:
        return {"study": study_id, "skipped": "no such study"}
    return {"study": study_id, "data_version": run.data_version, "hooks": sorted(run.results)}


@shared_task(name="trialsite.records.tasks.sweep_stale_studies")
def sweep_stale_studies() -> dict:
    """Re-enqueue every study whose newest recompute is older than its data."""
    from trialsite.studies.models import Study

    stale = (
        Study.objects.annotate(seen=Max("recompute_runs__data_version"))
        .filter(Q(seen__isnull=True, data_version__gt=0) | Q(seen__lt=F("data_version")))
        .values_list("pk", flat=True)
    )
    sent = [study_id for study_id in stale if recompute.enqueue(study_id)]
    return {"enqueued": sent}
