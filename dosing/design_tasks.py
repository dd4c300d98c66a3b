"""The design page's long calculations as a Celery task (docs/rules/escalation.md).

Thin and idempotent (DESIGN.md §10 "A task"): it takes the run's id, and ``dosing.design.run``
reloads the run from the cache, computes it with ``dosing.rules.operating_characteristics`` and
writes its progress there for the page's progress bar. Without a broker (tests, ``make run``)
it runs eagerly inside the request that started it.
"""

from __future__ import annotations

from celery import shared_task

from dosing import design


@shared_task(name="dosing.design_tasks.run_design_job")
def run_design_job(job_id: str) -> dict:
    return design.run(job_id)
