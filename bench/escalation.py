"""Benchmark: the ``escalation`` recompute hook at 40 and at 4,000 subjects (issue 12 "Speed").

Run (an empty database: PostgreSQL refuses to truncate the append-only audit tables):
  psql -h 127.0.0.1 -U postgres -c "create database trialsite_bench owner trialsite"
  DATABASE_URL=postgres://trialsite:trialsite@127.0.0.1:5432/trialsite_bench \
    .venv/bin/python -m bench.escalation [subjects]
It migrates that database, builds a demo study with the subjects assigned and evaluated (through
``tests/dosing/escalation_data.seed_history``: the records core, audited), then times the hook
(read the inputs, run the engine, store the state) and counts its queries, for the first 40
subjects and for all. Not run by CI. Figures: docs/rules/escalation.md "Speed".
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
os.environ.setdefault("DJANGO_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from dosing import escalation  # noqa: E402
from dosing.models import CohortAssignment  # noqa: E402
from dosing.rules import SubjectOutcome  # noqa: E402
from tests.dosing.escalation_data import seed_history  # noqa: E402
from trialsite.studies.demo import seed_study, seed_users  # noqa: E402
from trialsite.studies.models import Study  # noqa: E402


def time_hook(study, runs: int = 5) -> tuple[float, int]:
    times, queries = [], 0
    for _ in range(runs):
        study = Study.objects.get(pk=study.pk)
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            escalation.recompute(study, study.data_version + 1)  # newer: the upsert writes
            times.append(time.perf_counter() - t0)
        queries = len(captured)
    return statistics.median(times), queries


def main(subjects: int) -> None:
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    study, site = seed_study()
    users = seed_users(study, site, "bench-password-123")
    history = [SubjectOutcome(1 + (i % 3), dlt=(i % 7 == 0)) for i in range(subjects)]
    t0 = time.perf_counter()
    coordinator = users["coordinator"]
    with transaction.atomic():  # one recompute on commit, not one per save
        seed_history(site, coordinator, history[:40], start=dt.date(2025, 1, 1), per_day=20)
    small = time_hook(study)
    with transaction.atomic():
        seed_history(site, coordinator, history[40:], start=dt.date(2025, 1, 5), per_day=20)
    built = time.perf_counter() - t0
    large = time_hook(study)
    print(f"database: {connection.vendor}; assigned subjects: {CohortAssignment.objects.count()}")
    print(f"built in {built:.0f} s")
    print(f"hook at 40 subjects: median {1000 * small[0]:.1f} ms, {small[1]} queries")
    print(f"hook at {subjects} subjects: median {1000 * large[0]:.1f} ms, {large[1]} queries")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
