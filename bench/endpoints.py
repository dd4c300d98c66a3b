"""Benchmark: the ``endpoints`` recompute hook at 1,000 and 4,000 infused subjects (issue #13
Requirement 2: under 1 s and under 3 s, with the same number of queries).

Run against a database of your own (it migrates it and adds a new study on every run):
  DATABASE_URL=postgres://trialsite:trialsite@127.0.0.1:5432/trialsite_NAME \
    .venv/bin/python -m bench.endpoints [subjects] [runs]
It builds a study with the default four dose levels and synthesises infused subjects — dose level
round robin, response assessments at Months 1, 2, 3 and 6 (CR MRD−, CR, CRh, CRi, MLFS, PR, NR),
follow-up contacts, relapses, progressions, HSCTs and deaths — as bulk-created rows (not through
the services: this times the hook, not the CRFs), then times the hook (read the inputs, compute
every endpoint per dose level and overall, store the snapshots) at the first 1,000 subjects and
at all, the median of ``runs`` runs (default 3), with the query count. Not run by CI.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
os.environ.setdefault("DJANGO_ENV", "test")

import django  # noqa: E402

django.setup()

from decimal import Decimal  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from dosing import services as dosing  # noqa: E402
from dosing.models import CohortAssignment, DoseLevel  # noqa: E402
from efficacy.models import DiseaseEvent, FollowUp, ResponseAssessment  # noqa: E402
from enrollment.models import Subject  # noqa: E402
from trialsite.dashboards.efficacy_hook import endpoints_hook  # noqa: E402
from trialsite.studies import services as studies  # noqa: E402
from trialsite.studies.models import Study  # noqa: E402

MONTHS = (("M1", 28), ("M2", 56), ("M3", 91), ("M6", 182))
CATEGORIES = ("CR", "CR", "CRh", "CRi", "MLFS", "PR", "NR", "NR")


def _book(study, user, now) -> dict:
    return {
        "study": study,
        "status": "submitted",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "created_by": user,
        "updated_by": user,
    }


def synthesise(study, site, user, first: int, count: int, rng: random.Random) -> None:
    """``count`` infused subjects numbered from ``first``, with their efficacy CRF rows."""
    now = timezone.now()
    book = _book(study, user, now)
    levels = list(DoseLevel.objects.filter(study=study).order_by("level"))
    start = dt.date(2024, 1, 1)
    subjects = Subject.objects.bulk_create(
        [
            Subject(
                **book,
                site=site,
                screening_number=f"B-S-{n:05d}",
                screening_sequence=n,
                subject_number=f"B-{n:05d}",
                initials="BEN",
                sex="F" if n % 2 else "M",
                screening_date=start + dt.timedelta(days=n % 400),
                enrollment_date=start + dt.timedelta(days=n % 400 + 10),
                enrollment_status="enrolled",
                day0=start + dt.timedelta(days=n % 400 + 40),
            )
            for n in range(first, first + count)
        ]
    )
    assignments, responses, follow_ups, events = [], [], [], []
    for i, s in enumerate(subjects):
        assignments.append(
            CohortAssignment(
                **book,
                subject=s,
                visit=None,
                dose_level=levels[i % len(levels)],
                phase="3+3",
                cohort_number=1 + i // 30,
                assigned_at=now,
                assigned_by=user,
            )
        )
        last = s.day0
        first_response = None
        for timepoint, day in MONTHS[: rng.randint(1, len(MONTHS))]:
            category = rng.choice(CATEGORIES)
            when = s.day0 + dt.timedelta(days=day + rng.randint(-3, 3))
            in_cr = category in ("CR", "CRh", "CRi")
            responses.append(
                ResponseAssessment(
                    **book,
                    subject=s,
                    visit=None,
                    timepoint=timepoint,
                    assessment_date=when,
                    bm_adequacy="adequate",
                    bm_blasts_pct=Decimal(rng.choice(("1", "3", "8", "25", "60"))),
                    bm_cells_counted=500,
                    anc_10e9_l=Decimal("1.2"),
                    platelets_10e9_l=Decimal("120"),
                    pb_blasts="no",
                    extramedullary_disease="no",
                    computed_category=category,
                    mrd_status=(rng.choice(("negative", "positive")) if in_cr else ""),
                )
            )
            last = when
            if first_response is None and category != "NR":
                first_response = when
        if first_response is not None and rng.random() < 0.3:
            last += dt.timedelta(days=rng.randint(10, 200))
            events.append(DiseaseEvent(**book, subject=s, event_type="relapse", event_date=last))
        elif rng.random() < 0.2:
            last += dt.timedelta(days=rng.randint(10, 100))
            events.append(
                DiseaseEvent(**book, subject=s, event_type="progression", event_date=last)
            )
        if rng.random() < 0.15:
            hsct = s.day0 + dt.timedelta(days=rng.randint(60, 150))
            events.append(
                DiseaseEvent(
                    **book,
                    subject=s,
                    event_type="hsct",
                    event_date=hsct,
                    hsct_donor_type="matched_unrelated",
                )
            )
            last = max(last, hsct)
        last += dt.timedelta(days=rng.randint(5, 120))
        if rng.random() < 0.35:
            events.append(
                DiseaseEvent(
                    **book, subject=s, event_type="death", event_date=last, death_cause="AML"
                )
            )
        else:
            follow_ups.append(
                FollowUp(
                    **book,
                    subject=s,
                    visit=None,
                    contact_date=last,
                    survival_status="alive",
                    last_known_alive_date=last,
                )
            )
    for model, rows in (
        (CohortAssignment, assignments),
        (ResponseAssessment, responses),
        (FollowUp, follow_ups),
        (DiseaseEvent, events),
    ):
        model.objects.bulk_create(rows, batch_size=2000)
    Study.objects.filter(pk=study.pk).update(data_version=study.data_version + 1)


def time_hook(study, runs: int) -> tuple[float, int, dict]:
    times, queries, summary = [], 0, {}
    for _ in range(runs):
        study = Study.objects.get(pk=study.pk)
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            t0 = time.perf_counter()
            summary = endpoints_hook(study, study.data_version + 1)  # newer: every upsert writes
            times.append(time.perf_counter() - t0)
        Study.objects.filter(pk=study.pk).update(data_version=study.data_version + 1)
        queries = len(captured)
    return statistics.median(times), queries, summary


def main(subjects: int, runs: int) -> None:
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    study = studies.create_study(
        actor=None,
        protocol_number=f"BENCH-EP-{stamp}",
        nct_id=f"NCT{stamp[-8:]}",  # unique per run (the registry's ID is taken by the demo)
        title="Endpoint benchmark",
        short_title="Endpoint benchmark",
        phase=Study.Phase.PHASE1,
        design="benchmark",
    )
    site = studies.add_site(study, code="BE", name="Bench", time_zone="Asia/Shanghai")
    user, _ = get_user_model().objects.get_or_create(username="bench-endpoints")
    dosing.dose_levels(study)
    rng = random.Random(13)
    first = min(1000, subjects)
    t0 = time.perf_counter()
    synthesise(study, site, user, 1, first, rng)
    small = time_hook(study, runs)
    synthesise(study, site, user, first + 1, subjects - first, rng)
    built = time.perf_counter() - t0
    large = time_hook(study, runs)
    print(f"database: {connection.vendor}; study {study.protocol_number}; built in {built:.0f} s")
    for n, (median, queries, summary) in ((first, small), (subjects, large)):
        print(
            f"hook at {n} subjects: median {1000 * median:.0f} ms of {runs} runs, {queries} queries"
            f" (groups {', '.join(summary['groups'])}; kinetics read: {summary['kinetics']})"
        )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 4000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
