"""Benchmark: the cost of a screening save (CRF write + audit + eligibility recompute).

Run:  TRIALSITE_VAR_DIR=/tmp/trialsite-bench .venv/bin/python -m bench.screening [subjects]
(or with DATABASE_URL=postgres://... for PostgreSQL). It builds a fresh demo study in that
database, screens N subjects through the services and prints timings. Not run by CI.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
os.environ.setdefault("DJANGO_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from enrollment import rules, selectors, services  # noqa: E402
from enrollment.models import ScreeningLabs, Subject  # noqa: E402
from tests.enrollment_data import screen_eligible_subject  # noqa: E402
from trialsite.studies.demo import seed_study, seed_users  # noqa: E402


def main(subjects: int) -> None:
    logging.disable(logging.INFO)  # the eager task log would drown the figures
    call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", verbosity=0)
    study, site = seed_study()
    users = seed_users(study, site, "bench-password-123")
    coordinator, investigator = users["coordinator"], users["investigator"]

    start = time.perf_counter()
    screened = [screen_eligible_subject(site, coordinator, investigator) for _ in range(subjects)]
    full = time.perf_counter() - start

    saves = []
    queries = []
    for subject in screened:
        labs = ScreeningLabs.objects.get(subject=subject)
        reset_queries()  # the query log is a bounded deque: start each capture empty
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            services.save_screening_crf(
                subject,
                ScreeningLabs,
                actor=coordinator,
                values={"creatinine": Decimal("1.0")},
                expected_version=labs.version,
                reason="benchmark correction",
            )
            saves.append(time.perf_counter() - t0)
        queries.append(len(captured))

    facts = selectors.eligibility_facts(screened[0])
    t0 = time.perf_counter()
    for _ in range(200):
        rules.evaluate_eligibility(facts)
    pure = (time.perf_counter() - t0) / 200

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        t0 = time.perf_counter()
        page = list(selectors.screening_log(study, investigator)[:25])
        selectors.assessments_for(page)
        log_time = time.perf_counter() - t0

    print(f"database: {connection.vendor}; subjects: {Subject.objects.count()}")
    print(f"screen one subject (register, consent, 10 CRFs): {1000 * full / subjects:.0f} ms")
    print(
        f"one screening save incl. eligibility recompute: median "
        f"{1000 * statistics.median(saves):.1f} ms, p95 "
        f"{1000 * sorted(saves)[int(0.95 * (len(saves) - 1))]:.1f} ms, "
        f"{statistics.median(queries):.0f} queries"
    )
    print(f"evaluate_eligibility alone: {1e6 * pure:.0f} µs")
    print(f"screening log page (25 rows): {1000 * log_time:.1f} ms, {len(captured)} queries")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
