"""``store_snapshot``: a snapshot made from older data never shadows one made from newer data."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tests.factories import StudyFactory
from tests.testapp.models import VitalSigns, VitalsSummary
from tests.testapp.recompute_hooks import summarize_vitals, vitals_by_site
from trialsite.records import recompute, services
from trialsite.records.models import RecomputeRun

pytestmark = pytest.mark.django_db(transaction=True)

T0 = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 0, 0))


def store(study, data_version, forms, site_code="TJ"):
    return recompute.store_snapshot(
        VitalsSummary,
        key={"study": study, "site_code": site_code},
        data_version=data_version,
        values={"forms": forms, "total_weight_kg": Decimal(forms * 70)},
    )


def stored(study, site_code="TJ"):
    row = VitalsSummary.objects.get(study=study, site_code=site_code)
    return row.data_version, row.forms


def test_the_first_store_inserts_and_stamps_when_it_was_computed(study, frozen_clock):
    frozen_clock(T0)
    assert store(study, 3, forms=3) is True
    row = VitalsSummary.objects.get()
    assert (row.data_version, row.forms, row.total_weight_kg) == (3, 3, Decimal("210.0"))
    assert row.computed_at == T0


def test_a_newer_run_replaces_the_snapshot_and_an_older_one_never_does(study):
    assert store(study, 5, forms=5) is True
    assert store(study, 3, forms=3) is False  # the slow run that read older data finishes last
    assert stored(study) == (5, 5)
    assert store(study, 5, forms=99) is False  # the same data twice: the first answer stands
    assert store(study, 6, forms=6) is True
    assert stored(study) == (6, 6)


def test_each_key_and_study_has_its_own_snapshot(study):
    other = StudyFactory()
    assert store(study, 5, forms=5, site_code="TJ") is True
    assert store(study, 2, forms=2, site_code="BJ") is True
    assert store(other, 1, forms=1, site_code="TJ") is True
    assert stored(study, "TJ") == (5, 5)
    assert stored(study, "BJ") == (2, 2)
    assert stored(other, "TJ") == (1, 1)


def test_a_key_that_is_not_a_unique_constraint_is_refused(study):
    with pytest.raises(ValueError, match="no unique constraint"):
        recompute.store_snapshot(
            VitalsSummary, key={"study": study}, data_version=1, values={"forms": 1}
        )


def test_two_runs_out_of_order_leave_the_newer_snapshot(study, site_a, coordinator_a):
    """Run 1 reads data v1 but is slow; run 2 reads v2 and stores first; run 1 must not win."""
    services.create_record(
        VitalSigns,
        actor=coordinator_a,
        study=study,
        values={"site": site_a, "subject_label": "TJ-S-0001", "weight_kg": Decimal("70")},
    )
    study.refresh_from_db()
    newer = study.data_version
    summarize_vitals(study, newer)
    summarize_vitals(study, newer - 1)  # the slow run from older data finishes last
    row = VitalsSummary.objects.get(study=study)
    assert row.data_version == newer
    assert {"forms": row.forms, "total_weight_kg": row.total_weight_kg} == vitals_by_site(study)[
        "TJ"
    ]
    assert not RecomputeRun.objects.filter(data_version__gt=newer).exists()


@pytest.mark.parametrize(("first", "second"), [(5, 3), (3, 5)], ids=["newer-first", "older-first"])
def test_the_first_insert_race_is_won_by_the_newer_data_on_postgresql(study, first, second):
    """Two runs insert the first snapshot at once: the newer data version wins either way.

    The first run's insert is held uncommitted while the second run's insert is issued; PostgreSQL
    makes the second wait on the unique index, then apply its conditional update.
    """
    if connection.vendor != "postgresql":
        pytest.skip("A first-insert race needs concurrent writers (PostgreSQL); SQLite serializes.")
    inserted, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_run():
        try:
            with transaction.atomic():
                outcome["first"] = store(study, first, forms=first)
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    def second_run():
        try:
            outcome["second"] = store(study, second, forms=second)
        finally:
            connections.close_all()

    one = threading.Thread(target=first_run)
    one.start()
    assert inserted.wait(10)
    two = threading.Thread(target=second_run)
    two.start()
    time.sleep(0.5)
    assert two.is_alive(), "the second insert should wait for the first run's uncommitted row"
    release.set()
    one.join(10)
    two.join(10)

    newest = max(first, second)
    assert stored(study) == (newest, newest)
    assert outcome == {"first": True, "second": second > first}
