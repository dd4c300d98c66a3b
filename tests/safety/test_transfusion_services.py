"""Transfusions through the service into the stored DLT evaluation: a count within 7 days
after a transfusion of that product does not show recovery (RULES.md §3.5 "Count recovery by
Day X"; issue #11 Requirement 6 and the count-recovery rule's transfusion flags)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from safety.models import DLTEvaluation, Transfusion
from safety.selectors import blood_counts
from safety.services import save_transfusion
from tests.safety.dlt_data import add_event, infused_subject
from tests.safety.lab_data import panel
from tests.safety.transfusion_data import transfuse
from trialsite.records.exceptions import StaleVersion
from trialsite.records.models import AuditEvent
from trialsite.studies import services as study_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a, frozen_clock):
    subject = infused_subject(site_a, coordinator_a, investigator_a)
    frozen_clock(subject.day0 + dt.timedelta(days=29))  # the window has completed
    add_event(subject, coordinator_a, grade=1, onset_day=3)
    return subject


def _evaluation(subject) -> DLTEvaluation:
    return DLTEvaluation.objects.get(subject=subject)


def _recovered_counts_on_day_27(subject, actor):
    panel(subject, actor, 27, ("ANC", "1.2"), ("PLT", "60"), ("HGB", "9.5"))


def test_recovered_counts_without_a_transfusion_are_recovery(subject, coordinator_a):
    _recovered_counts_on_day_27(subject, coordinator_a)
    evaluation = _evaluation(subject)
    assert (evaluation.count_recovery, evaluation.dlt_status) == (
        "recovered",
        "evaluable_without_dlt",
    )


@pytest.mark.parametrize(
    ("transfused_on", "expected"),
    [
        (27, "not_recovered"),  # the same day (dates only: it may have been drawn after it)
        (20, "not_recovered"),  # 7 days before the count: the boundary day is inside
        (19, "recovered"),  # 8 days before: one day past the window, the count shows recovery
    ],
)
def test_a_platelet_transfusion_within_7_days_hides_the_platelet_recovery(
    subject, coordinator_a, transfused_on, expected
):
    _recovered_counts_on_day_27(subject, coordinator_a)
    transfuse(subject, coordinator_a, transfused_on, "platelets", units=2)
    evaluation = _evaluation(subject)
    assert evaluation.count_recovery == expected
    assert evaluation.dlt is (expected == "not_recovered")


def test_the_transfusion_entered_before_the_count_is_read_when_the_count_comes(
    subject, coordinator_a
):
    transfuse(subject, coordinator_a, 22, "platelets")
    _recovered_counts_on_day_27(subject, coordinator_a)
    (count,) = blood_counts([subject])[subject.pk]
    assert count.platelet_transfusion_within_7_days is True
    assert count.red_cell_transfusion_within_7_days is False
    assert _evaluation(subject).count_recovery == "not_recovered"


def test_plasma_does_not_hide_recovery(subject, coordinator_a):
    _recovered_counts_on_day_27(subject, coordinator_a)
    transfuse(subject, coordinator_a, 25, "plasma")
    assert _evaluation(subject).count_recovery == "recovered"


def _needs_haemoglobin(study, actor, limit=8):
    document = {**study.settings, "dlt_criteria": {**study.settings.get("dlt_criteria", {})}}
    document["dlt_criteria"]["recovery_hemoglobin_g_dl"] = limit
    study_services.update_study_settings(
        study,
        actor=actor,
        document=document,
        expected_version=study.settings_version,
        reason="protocol: recovery also needs Hb >= 8 g/dL",
    )
    study.refresh_from_db()


@pytest.mark.parametrize(("transfused_on", "expected"), [(20, "not_recovered"), (19, "recovered")])
def test_red_cells_within_7_days_hide_the_haemoglobin_recovery(
    subject, coordinator_a, data_manager, transfused_on, expected
):
    _needs_haemoglobin(subject.study, data_manager)
    transfuse(subject, coordinator_a, transfused_on, "red_cells", units=2)
    _recovered_counts_on_day_27(subject, coordinator_a)
    assert _evaluation(subject).count_recovery == expected


def test_correcting_the_date_out_of_the_window_restores_recovery(subject, coordinator_a):
    _recovered_counts_on_day_27(subject, coordinator_a)
    given = transfuse(subject, coordinator_a, 24, "platelets")
    assert _evaluation(subject).count_recovery == "not_recovered"
    save_transfusion(
        subject,
        actor=coordinator_a,
        record=given,
        values={"transfusion_date": subject.day0 + dt.timedelta(days=14)},
        expected_version=given.version,
        reason="date transcribed wrongly",
    )
    assert _evaluation(subject).count_recovery == "recovered"
    audit = AuditEvent.objects.filter(
        object_id=str(given.pk), content_type=ContentType.objects.get_for_model(Transfusion)
    )
    assert audit.count() == 2 and audit.filter(reason="date transcribed wrongly").exists()


def test_a_stale_version_is_refused_and_nothing_changes(subject, coordinator_a):
    given = transfuse(subject, coordinator_a, 24, "platelets")
    with pytest.raises(StaleVersion):
        save_transfusion(
            subject,
            actor=coordinator_a,
            record=given,
            values={"units": 3},
            expected_version=given.version - 1,
            reason="units",
        )
    assert Transfusion.objects.get(pk=given.pk).units == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [({"units": 0}, "units"), ({"units": 40}, "units"), ({"product": "whole_blood"}, "product")],
)
def test_bad_input_is_a_field_error_and_nothing_is_saved(subject, coordinator_a, values, field):
    with pytest.raises(ValidationError) as excinfo:
        transfuse(subject, coordinator_a, 10, **{"product": "platelets", **values})
    assert field in excinfo.value.error_dict
    assert not Transfusion.objects.filter(subject=subject).exists()
