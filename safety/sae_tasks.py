"""The beat task that re-checks SAE clocks (thin over ``safety.services.sae``).

Registered from ``SafetyConfig.ready()`` (Celery autodiscovers only ``<app>/tasks.py``) and
scheduled by ``CELERY_BEAT_SCHEDULE`` in trialsite/settings.py. Idempotent: a clock is notified
once, whatever the number of runs.
"""

from __future__ import annotations

from celery import shared_task

CHECK_TASK = "safety.sae_tasks.check_sae_clocks"


@shared_task(name=CHECK_TASK)
def check_sae_clocks() -> dict:
    """Notify for every SAE clock that became overdue since the last run."""
    from safety.services.sae import notify_overdue_clocks

    return {"notified": notify_overdue_clocks()}
