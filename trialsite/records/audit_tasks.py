"""The periodic audit anchor task (beat: ``anchor-audit-heads`` in ``CELERY_BEAT_SCHEDULE``).

Kept apart from ``tasks.py`` (the recompute tasks); ``RecordsConfig.ready`` imports it so the
worker registers it.
"""

from __future__ import annotations

from celery import shared_task

from trialsite.records.anchors import anchor_all_studies


@shared_task(name="trialsite.records.audit_tasks.anchor_audit_heads")
def anchor_audit_heads() -> dict:
    """Anchor every study's audit head; idempotent (nothing new, nothing written)."""
    anchors = anchor_all_studies()
    return {"anchored": {anchor.study_id: anchor.last_event_id for anchor in anchors}}
