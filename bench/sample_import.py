"""Benchmark: a kinetics CSV import (preview, commit, re-import) and ``kinetics_points``.

Run against a database of your own (it adds a demo study and subjects to it):
  DATABASE_URL=postgres://trialsite:trialsite@127.0.0.1:5432/<yours> \
    .venv/bin/python -m bench.sample_import [rows]
It migrates that database, infuses 20 subjects through the services, builds one file of
``rows`` kinetics samples spread over them (study days 0–180), and times the preview (and counts
its queries), the commit (one transaction, every row audited), the re-import of the same file
(every row unchanged) and ``efficacy.selectors_samples.kinetics_points`` on the study. Not run
by CI.
"""

from __future__ import annotations

import logging
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
os.environ.setdefault("DJANGO_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from efficacy import sample_import, selectors_samples  # noqa: E402
from tests.efficacy.sample_data import KINETICS_HEADER, infused_subject, kinetics_line  # noqa: E402
from trialsite.studies.demo import seed_study, seed_users  # noqa: E402


def timed(label: str, fn):
    with CaptureQueriesContext(connection) as captured:
        t0 = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t0
    print(f"{label}: {elapsed:.2f} s, {len(captured)} queries")
    return result


def main(rows: int) -> None:
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    study, site = seed_study()
    users = seed_users(study, site, "bench-password-123")
    coordinator, investigator = users["coordinator"], users["investigator"]
    subjects = [infused_subject(site, coordinator, investigator, initials="BN") for _ in range(20)]
    run = time.strftime("%H%M%S")
    lines = [KINETICS_HEADER]
    for i in range(rows):
        subject = subjects[i % len(subjects)]
        day = (i // len(subjects)) % 181
        lines.append(
            kinetics_line(
                subject,
                f"B{run}-{i}",
                day,
                str(100 + i % 5000),
                timepoint="UNS",
                method="qpcr" if i % 2 else "flow",
                unit="copies/ug gDNA" if i % 2 else "cells/uL",
                lloq="",
            )  # fmt: skip
        )
    content = "".join(lines).encode()
    print(f"database: {connection.vendor}; file: {rows} rows, {len(content) // 1024} KiB")

    def preview():
        return sample_import.preview(content, kind="kinetics", filename="bench.csv", study=study,
                                     user=coordinator)  # fmt: skip

    plan = timed("preview", preview)
    assert plan.error_count == 0, [r.errors for r in plan.rows if r.errors][:3]
    timed("commit", lambda: sample_import.commit(plan, user=coordinator, study=study))
    again = timed("re-import preview", preview)
    timed("re-import commit (unchanged)",
          lambda: sample_import.commit(again, user=coordinator, study=study))  # fmt: skip
    points = timed("kinetics_points", lambda: selectors_samples.kinetics_points(study))
    print(f"kinetics_points: {sum(len(p) for p in points.values())} points")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
