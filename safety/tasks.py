"""Safety tasks (thin, idempotent; DESIGN.md §3): the daily closing of DLT windows, lab imports.

Beat: ``close-dlt-windows`` in ``CELERY_BEAT_SCHEDULE`` (trialsite/settings.py). The lab-file
import runs here too, with its progress in the cache.
"""

from __future__ import annotations

from celery import shared_task

from safety.services.dlt import close_dlt_windows as close_study_windows
from trialsite.studies.models import Study


@shared_task(name="safety.tasks.close_dlt_windows")
def close_dlt_windows() -> dict:
    """Re-evaluate every open DLT window of every study (at Day 28 + grace it completes)."""
    summary = {}
    for study_id in Study.objects.order_by("pk").values_list("pk", flat=True):
        result = close_study_windows(Study.objects.get(pk=study_id))
        if result["refreshed"]:
            summary[study_id] = result
    return summary


@shared_task(name="safety.tasks.import_lab_file")
def import_lab_file(token: str) -> dict:
    """Commit an uploaded lab CSV (``safety.lab_import.run_job``); progress goes to the cache."""
    from safety import lab_import

    return lab_import.run_job(token)
