"""A burst of saves in one study runs one coalesced recompute, on a real worker."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import Client

from tests.testapp.models import VitalSigns
from trialsite.records import services
from trialsite.records.models import RecomputeRun

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_burst_of_saves_runs_one_recompute_that_sees_the_latest_data_version(
    real_tasks, study, site_a, coordinator_a, seen_versions
):
    for n in range(10):
        services.create_record(
            VitalSigns,
            actor=coordinator_a,
            study=study,
            values={"site": site_a, "subject_label": f"TJ-S-{n:04d}", "weight_kg": Decimal("70")},
        )
    study.refresh_from_db()

    assert wait_for(lambda: RecomputeRun.objects.filter(study=study).exists())
    time.sleep(3)  # longer than the coalescing window: a second run would have started by now

    runs = list(RecomputeRun.objects.filter(study=study))
    assert len(runs) == 1
    assert runs[0].data_version == study.data_version
    assert seen_versions == [study.data_version]


def test_a_save_during_a_run_is_not_lost(real_tasks, study, site_a, coordinator_a, seen_versions):
    def save(label):
        services.create_record(
            VitalSigns,
            actor=coordinator_a,
            study=study,
            values={"site": site_a, "subject_label": label, "weight_kg": Decimal("70")},
        )

    save("first")
    assert wait_for(lambda: RecomputeRun.objects.filter(study=study).count() == 1)
    save("second")
    study.refresh_from_db()
    assert wait_for(
        lambda: RecomputeRun.objects.filter(study=study, data_version=study.data_version).exists()
    )


def test_healthz_reports_the_real_database_cache_and_broker(real_tasks):
    body = Client().get("/healthz").json()
    assert body == {**body, "status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}
