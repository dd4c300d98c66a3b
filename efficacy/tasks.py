"""Efficacy tasks (thin, idempotent; DESIGN.md §3): the sample-file import's commit."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="efficacy.tasks.import_sample_file")
def import_sample_file(token: str) -> dict:
    """Commit an uploaded sample CSV (``efficacy.sample_import.run_job``); progress in the cache."""
    from efficacy import sample_import

    return sample_import.run_job(token)
