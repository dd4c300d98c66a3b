"""Safety Celery tasks: thin wrappers over services (DESIGN.md §3)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="safety.tasks.import_lab_file")
def import_lab_file(token: str) -> dict:
    """Commit an uploaded lab CSV (``safety.lab_import.run_job``); progress goes to the cache."""
    from safety import lab_import

    return lab_import.run_job(token)
