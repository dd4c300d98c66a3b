"""Recompute hooks cannot poison each other (issue 8 §5); a lost task is taken over (issue 9 §3)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests.testapp.models import VitalSigns
from trialsite.celery import app as celery_app
from trialsite.records import recompute, services
from trialsite.records.models import RecomputeRun
from trialsite.records.tasks import sweep_stale_studies
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)

T0 = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 0, 0))


@pytest.fixture
def extra_hooks():
    """Register hooks for one test: ``extra_hooks(name, fn)``; all removed afterwards."""
    added = []

    def add(name, fn):
        recompute.register(name)(fn)
        added.append(name)

    yield add
    for name in added:
        recompute._HOOKS.pop(name, None)


@pytest.fixture
def broker_configured():
    """Tasks go to a broker for this test (the broker itself is mocked where a test sends)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def failing_hook(study, data_version):
    raise ValueError(f"dose level table missing for data v{data_version}\nsecond line")


def database_error_hook(study, data_version):
    with connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM no_such_table")
    return {}


def save_vitals(study, site, actor, label="TJ-S-0001"):
    return services.create_record(
        VitalSigns,
        actor=actor,
        study=study,
        values={"site": site, "subject_label": label, "weight_kg": Decimal("70")},
    )


def test_it_records_a_failing_hook_and_still_runs_the_others(
    study, extra_hooks, seen_versions, caplog
):
    extra_hooks("broken", failing_hook)
    extra_hooks("after-broken", lambda study, v: {"ok": v})
    Study.objects.filter(pk=study.pk).update(data_version=4)

    with caplog.at_level(logging.ERROR, logger="trialsite.records.recompute"):
        run = recompute.run(study.pk)

    assert RecomputeRun.objects.get() == run
    assert run.data_version == 4
    assert _results_of(run, "test-hook", "after-broken") == {
        "test-hook": {"saw": 4},
        "after-broken": {"ok": 4},
    }
    assert set(run.results) == set(recompute._HOOKS) - {"broken"}  # the apps' hooks ran too
    assert run.errors == [
        {"hook": "broken", "error": "ValueError: dose level table missing for data v4"}
    ]
    # The worker log has the whole traceback; the run keeps one line for the status page.
    (record,) = caplog.records
    assert "'broken'" in record.getMessage() and record.exc_info[0] is ValueError


def test_a_hook_database_error_cannot_break_the_next_hook_or_the_run(
    study, extra_hooks, seen_versions
):
    extra_hooks("bad-sql", database_error_hook)
    extra_hooks("reads-after", lambda study, v: {"studies": Study.objects.count()})

    # Inside a caller's transaction: on PostgreSQL, without a savepoint per hook, the failed
    # statement would abort the transaction and every later query would fail.
    with transaction.atomic():
        run = recompute.run(study.pk)

    assert _results_of(run, "test-hook", "reads-after") == {
        "test-hook": {"saw": 0},
        "reads-after": {"studies": 1},
    }
    assert set(run.results) == set(recompute._HOOKS) - {"bad-sql"}
    assert [e["hook"] for e in run.errors] == ["bad-sql"]
    assert RecomputeRun.objects.filter(study=study).count() == 1


def test_a_failing_hook_after_a_save_is_not_a_failed_enqueue(
    study, site_a, coordinator_a, extra_hooks, seen_versions
):
    extra_hooks("broken", failing_hook)
    save_vitals(study, site_a, coordinator_a)
    study.refresh_from_db()

    run = RecomputeRun.objects.get(study=study)
    assert run.data_version == study.data_version
    assert [e["hook"] for e in run.errors] == ["broken"]
    assert seen_versions == [study.data_version]
    # Recorded, so the sweep does not retry the study forever because of one broken hook.
    assert sweep_stale_studies() == {"enqueued": []}


def test_only_an_unreachable_broker_counts_as_could_not_enqueue(
    study, broker_configured, monkeypatch, caplog
):
    task = celery_app.tasks[recompute.RECOMPUTE_TASK]

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(task, "apply_async", broker_down)
    assert recompute.enqueue(study.pk) is False
    # The key is dropped, so the next save or the sweep tries again at once.
    assert recompute.pending_since(study.pk) is None
    assert "Could not enqueue the recompute" in caplog.text


def test_a_waiting_recompute_is_taken_over_once_it_is_older_than_a_few_coalescing_periods(
    study, frozen_clock, settings, broker_configured, monkeypatch
):
    """Issue 9 §3: the worker died with the task; the key must not block the sweep for 15 min."""
    settings.RECOMPUTE_COALESCE_SECONDS = 2
    sent = []
    task = celery_app.tasks[recompute.RECOMPUTE_TASK]
    monkeypatch.setattr(task, "apply_async", lambda args, **kw: sent.append(args))
    Study.objects.filter(pk=study.pk).update(data_version=3)
    lost_after = recompute.lost_after_seconds()
    assert lost_after == 10  # 5 coalescing periods of 2 s

    frozen_clock(T0)
    assert recompute.enqueue(study.pk) is True  # a save; then the worker is SIGKILLed
    assert recompute.pending_since(study.pk) == T0.timestamp()

    frozen_clock(T0 + dt.timedelta(seconds=lost_after - 1))
    assert sweep_stale_studies() == {"enqueued": []}  # still a live wait: coalesced

    frozen_clock(T0 + dt.timedelta(seconds=lost_after))
    assert sweep_stale_studies() == {"enqueued": [study.pk]}  # lost: taken over
    assert recompute.pending_since(study.pk) == (T0 + dt.timedelta(seconds=lost_after)).timestamp()
    assert sent == [(study.pk,), (study.pk,)]
    assert sweep_stale_studies() == {"enqueued": []}  # the new wait coalesces again


def test_a_pending_key_without_a_time_counts_as_lost(study, seen_versions):
    cache.set(recompute.pending_key(study.pk), 1)  # the format before keys carried a time
    assert recompute.enqueue(study.pk) is True
    assert seen_versions == [0]


def test_a_hook_error_is_kept_to_one_short_line(study, extra_hooks):
    def verbose_hook(study, data_version):
        raise RuntimeError("x" * 5000 + "\nTraceback (most recent call last): ...")

    extra_hooks("verbose", verbose_hook)
    (error,) = recompute.run(study.pk).errors
    assert error["hook"] == "verbose"
    assert error["error"].startswith("RuntimeError: xxx") and len(error["error"]) == 300
    assert "Traceback" not in error["error"]


def _results_of(run, *hooks: str) -> dict:
    """The results of the hooks a test registered (the apps' own hooks, e.g. the escalation
    state, run beside them in every recompute)."""
    return {name: run.results[name] for name in hooks if name in run.results}
