"""Benchmark: the ``escalation`` recompute hook at 40 to 16,000 subjects (issue 12 "Speed").

Run (an empty database: PostgreSQL refuses to truncate the append-only audit tables):
  psql -h 127.0.0.1 -U postgres -c "create database trialsite_bench owner trialsite"
  DATABASE_URL=postgres://trialsite:trialsite@127.0.0.1:5432/trialsite_bench \
    .venv/bin/python -m bench.escalation [--runs N] [--reference] [subjects ...]
Sizes default to 40 and 4000. For each size it builds (once: a later run reuses it) a study of
its own with that many subjects assigned and evaluated over DL1-DL3 (through
``tests/dosing/escalation_data.seed_history``: the records core, audited), then times the hook
(read the inputs, run the engine, store the state) ``--runs`` times (default 7) and prints the
median and its query count. ``--reference`` also times the hook with the engine as it was before
the linear replay (``tests/dosing/reference_engine.py``), for the before/after figures.
``--engine`` times the engine alone on the same histories (no database work):
``escalation_history`` (what the hook calls) and ``escalation_trace``. ``--bulk-from N`` inserts
the studies of N subjects or more in bulk (the rows the hook reads, without their audit trail):
the records core builds about 3 subjects a second on the shared machine. Each figure is printed
as wall-clock and as CPU time of this process, with the load average.
Not run by CI. Figures: docs/rules/escalation.md "Speed", docs/architecture.md §8b.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
os.environ.setdefault("DJANGO_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from dosing import escalation, rules, services  # noqa: E402
from dosing.models import CohortAssignment, DoseLevel  # noqa: E402
from dosing.rules import SubjectOutcome  # noqa: E402
from enrollment.models import Subject  # noqa: E402
from safety.models import DLTEvaluation  # noqa: E402
from tests.dosing import reference_engine  # noqa: E402
from tests.dosing.escalation_data import _status, seed_history  # noqa: E402
from trialsite import clock  # noqa: E402
from trialsite.records.models import RecordStatus  # noqa: E402
from trialsite.studies import services as study_services  # noqa: E402
from trialsite.studies.demo import DEMO_SITE_CODE, seed_study, seed_users  # noqa: E402
from trialsite.studies.models import Study  # noqa: E402


def history(subjects: int) -> list[SubjectOutcome]:
    """DL1-DL3 in turn, a DLT every 7th subject (off protocol: the engine lists deviations)."""
    return [SubjectOutcome(1 + (i % 3), dlt=(i % 7 == 0)) for i in range(subjects)]


def bench_study(template: Study, subjects: int):
    """The study of this size (built on first use, with the demo study's settings), its site."""
    protocol = f"BENCH-{subjects}"
    study = Study.objects.filter(protocol_number=protocol).first()
    if study is None:
        study = study_services.create_study(
            actor=None,
            protocol_number=protocol,
            nct_id=f"NCT9{subjects:07d}",  # unique per study; not a registered trial
            title=f"{template.title} (benchmark, {subjects} subjects)",
            short_title=f"Benchmark {subjects}",
            phase=template.phase,
            design=template.design,
            status=Study.Status.RECRUITING,
            settings_document={"dosing": {"atd_levels": 2}},
        )
    site = study.sites.filter(code=DEMO_SITE_CODE).first()
    if site is None:
        site = study_services.add_site(study, code=DEMO_SITE_CODE, name="Benchmark site")
    return study, site


def bulk_history(site, coordinator, outcomes, *, start: dt.date, per_day: int) -> None:
    """The rows ``seed_history`` writes that the hook reads (subject, assignment, stored DLT
    evaluation), inserted in bulk: no audit trail, visits or eligibility. Only for sizes the
    records core cannot build in time on a shared machine (about 0.3 s a subject)."""
    study = site.study
    services.dose_levels(study)
    levels = {lv.level: lv for lv in DoseLevel.objects.filter(study=study)}
    now = clock.now()
    book = {"study": study, "status": RecordStatus.SUBMITTED, "version": 1, "created_at": now}
    book |= {"created_by": coordinator, "updated_at": now, "updated_by": coordinator}
    first = Subject.objects.filter(site=site).count() + 1
    subjects = Subject.objects.bulk_create(
        [
            Subject(
                site=site,
                screening_sequence=first + i,
                screening_number=f"{site.code}-S-{first + i:05d}",
                initials="ESC",
                sex="F" if i % 2 else "M",
                birth_date=dt.date(1970, 1, 1),
                birth_year=1970,
                screening_date=start + dt.timedelta(days=2 * (i // per_day) - 30),
                **book,
            )
            for i in range(len(outcomes))
        ],
        batch_size=1000,
    )
    assignments, evaluations = [], []
    for i, (subject, outcome) in enumerate(zip(subjects, outcomes, strict=True)):
        day0 = start + dt.timedelta(days=2 * (i // per_day))
        assigned = dt.datetime.combine(day0 - dt.timedelta(days=20), dt.time(9, i % 60))
        assignments.append(
            CohortAssignment(
                subject=subject,
                visit=None,
                dose_level=levels[outcome.dose_level],
                phase="3+3",
                cohort_number=1,
                assigned_at=timezone.make_aware(assigned),
                assigned_by=coordinator,
                **book,
            )
        )
        evaluations.append(
            DLTEvaluation(
                subject=subject,
                visit=None,
                dlt_status=_status(outcome),
                dlt=outcome.dlt,
                evaluable=outcome.evaluable,
                max_related_grade=outcome.max_related_grade,
                window_start=day0,
                window_end_day=28,
                closes_on_day=28,
                as_of_day=28,
                as_of_date=day0 + dt.timedelta(days=28),
                **book,
            )
        )
    CohortAssignment.objects.bulk_create(assignments, batch_size=1000)
    DLTEvaluation.objects.bulk_create(evaluations, batch_size=1000)


def reference_history(design, outcomes, *, strict=True):
    """What the hook computed before the linear replay: the old engine's full trace, whose
    last step is the recommendation (``compute_state`` as it was)."""
    steps = reference_engine.escalation_trace(design, outcomes, strict=strict)
    if steps:
        return steps[-1].recommendation, steps
    return reference_engine.recommend(design, [], strict=strict), steps


@contextlib.contextmanager
def reference_rules():
    """Run the hook on the engine as it was before the linear replay (the frozen reference)."""
    saved = rules.escalation_history
    rules.escalation_history = reference_history
    try:
        yield
    finally:
        rules.escalation_history = saved


def time_hook(study, runs: int) -> tuple[float, float, int]:
    """Median wall-clock and CPU seconds of this process (PostgreSQL's work is in its own
    process: on a machine with more runnable processes than cores, the wall-clock time is
    mostly waiting for a core), and the query count."""
    times, cpu, queries = [], [], 0
    for _ in range(runs):
        study = Study.objects.get(pk=study.pk)
        reset_queries()  # the seeding filled the query log
        with CaptureQueriesContext(connection) as captured:
            t0, c0 = time.perf_counter(), time.process_time()
            escalation.recompute(study, study.data_version + 1)  # newer: the upsert writes
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        queries = len(captured)
    return statistics.median(times), statistics.median(cpu), queries


def time_engine(function, design, outcomes, runs: int) -> tuple[float, float]:
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        function(design, outcomes, strict=False)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpu)


def ms(seconds: tuple[float, float]) -> str:
    return f"{1000 * seconds[0]:.1f} ms (CPU {1000 * seconds[1]:.1f} ms)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("subjects", nargs="*", type=int, default=[40, 4000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reference", action="store_true", help="also time the old engine")
    parser.add_argument("--engine", action="store_true", help="also time the engine alone")
    parser.add_argument(
        "--bulk-from", type=int, default=10**9, help="insert studies this large in bulk"
    )
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    demo, demo_site = seed_study()
    users = seed_users(demo, demo_site, "bench-password-123")
    coordinator = users["coordinator"]
    print(f"database: {connection.vendor}; median of {args.runs} runs; load {os.getloadavg()}")
    for subjects in args.subjects:
        study, site = bench_study(demo, subjects)
        have = CohortAssignment.objects.filter(study=study, is_active=True).count()
        if have < subjects:
            t0 = time.perf_counter()
            seed = bulk_history if subjects >= args.bulk_from else seed_history
            with transaction.atomic():  # one recompute on commit, not one per save
                seed(
                    site,
                    coordinator,
                    history(subjects)[have:],
                    start=dt.date(2025, 1, 1),
                    per_day=20,
                )
            how = "in bulk" if seed is bulk_history else "through the records core"
            print(f"built {subjects - have} subjects {how} in {time.perf_counter() - t0:.0f} s")
        *hook, queries = time_hook(study, args.runs)
        line = f"hook at {subjects} subjects: median {ms(hook)}, {queries} queries"
        if args.reference:
            with reference_rules():
                *old, old_queries = time_hook(study, args.runs)
            line += f"; reference engine {ms(old)}, {old_queries} queries"
        print(line, f"[load {os.getloadavg()[0]:.1f}]", flush=True)
        if args.engine:
            design = escalation.study_design(study).design
            outcomes = [row.outcome for row in escalation.escalation_inputs(study)]
            replay = ms(time_engine(rules.escalation_history, design, outcomes, args.runs))
            trace = ms(time_engine(rules.escalation_trace, design, outcomes, args.runs))
            line = f"  engine alone: escalation_history {replay}, escalation_trace {trace}"
            if args.reference:
                old = time_engine(reference_engine.escalation_trace, design, outcomes, args.runs)
                line += f"; reference escalation_trace {ms(old)}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
