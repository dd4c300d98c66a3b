"""Recompute scheduling with eager tasks (the embedded default): coalescing and the sweep."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction

from tests.testapp.models import VitalSigns
from trialsite import clock
from trialsite.records import recompute, services
from trialsite.records.models import RecomputeRun
from trialsite.records.tasks import sweep_stale_studies
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db(transaction=True)


def save_vitals(study, site, actor, label):
    return services.create_record(
        VitalSigns,
        actor=actor,
        study=study,
        values={"site": site, "subject_label": label, "weight_kg": Decimal("70")},
    )


def test_a_save_runs_the_recompute_after_commit_with_the_new_data_version(
    study, site_a, coordinator_a, seen_versions
):
    save_vitals(study, site_a, coordinator_a, "A")
    study.refresh_from_db()
    assert seen_versions == [study.data_version]
    run = RecomputeRun.objects.get(study=study)
    assert run.results["test-hook"] == {"saw": study.data_version}
    assert set(run.results) == set(recompute._HOOKS)  # every registered hook ran once


def test_saves_in_one_transaction_run_one_recompute(study, site_a, coordinator_a, seen_versions):
    with transaction.atomic():
        for label in "ABCDE":
            save_vitals(study, site_a, coordinator_a, label)
    study.refresh_from_db()
    assert seen_versions == [study.data_version]


def test_a_rolled_back_save_schedules_nothing(study, site_a, coordinator_a, seen_versions):
    with pytest.raises(RuntimeError), transaction.atomic():
        save_vitals(study, site_a, coordinator_a, "A")
        raise RuntimeError("form error after the save")
    assert seen_versions == []
    assert not VitalSigns.objects.exists()


def test_a_waiting_recompute_absorbs_later_requests(study, seen_versions):
    cache.set(recompute.pending_key(study.pk), clock.now().timestamp())
    assert recompute.enqueue(study.pk) is False
    cache.delete(recompute.pending_key(study.pk))
    assert recompute.enqueue(study.pk) is True


def test_the_sweep_recomputes_studies_whose_snapshot_is_older_than_their_data(study, seen_versions):
    Study.objects.filter(pk=study.pk).update(data_version=5)
    result = sweep_stale_studies()
    assert result == {"enqueued": [study.pk]}
    assert seen_versions == [5]
    assert sweep_stale_studies() == {"enqueued": []}
