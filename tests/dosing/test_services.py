"""Dosing services: assignment, apheresis, release, lymphodepletion and the infusion (Day 0).

Every refusal is asserted by its field and code; nothing is saved on a refusal. The clock is
moved day by day through the treatment (``tests/dosing_data.py``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from dosing import rules, services
from dosing.models import (
    Apheresis,
    CohortAssignment,
    DoseLevel,
    Infusion,
    Lymphodepletion,
    ProductRelease,
)
from enrollment.models import FormExpectation, Subject, SubjectStatus, Visit
from tests.dosing_data import (
    DAYS_TO_INFUSION,
    apheresis_values,
    assign,
    at,
    confirmed_subject,
    infuse,
    lymphodepletion_values,
    prepare_treatment,
    release_values,
    treated_subject,
)
from tests.enrollment_data import screen_eligible_subject
from trialsite import clock
from trialsite.records.exceptions import StaleVersion, VersionRequired
from trialsite.records.models import DataQuery
from trialsite.studies import services as study_services

pytestmark = pytest.mark.django_db


def codes(excinfo) -> dict[str, list[str]]:
    """{field: [codes]} of a service's ValidationError ('__all__' for one without a field)."""
    exc = excinfo.value
    if hasattr(exc, "error_dict"):
        return {f: [e.code for e in errs] for f, errs in exc.error_dict.items()}
    return {"__all__": [e.code for e in exc.error_list]}


def day0_of(subject_date=None) -> dt.date:
    return clock.today() + dt.timedelta(days=DAYS_TO_INFUSION)


# --- Dose levels ----------------------------------------------------------------------------


def test_it_builds_the_dose_levels_from_the_settings_on_first_use(study):
    levels = services.dose_levels(study)
    assert [(lv.level, lv.label, lv.dose_cells_per_kg) for lv in levels] == [
        (1, "DL1", 0.5e6),
        (2, "DL2", 1.0e6),
        (3, "DL3", 2.0e6),
        (4, "DL4", 4.0e6),
    ]


def test_a_settings_change_updates_the_levels_and_adds_dl_minus_1(
    study, study_admin, django_capture_on_commit_callbacks
):
    services.dose_levels(study)
    document = {
        **study.settings,
        "dose_levels": [
            {"level": 1, "label": "DL1", "dose_cells_per_kg": 0.5e6},
            {"level": 2, "label": "DL2", "dose_cells_per_kg": 1.5e6},
        ],
        "dosing": {**study.settings["dosing"], "atd_levels": 1, "dose_level_minus1": True},
    }
    with django_capture_on_commit_callbacks(execute=True):
        study_services.update_study_settings(
            study,
            actor=study_admin,
            document=document,
            expected_version=study.settings_version,
            reason="Protocol amendment 2",
        )
    active = DoseLevel.objects.filter(study=study, is_active=True).order_by("level")
    assert [(lv.label, lv.dose_cells_per_kg) for lv in active] == [
        ("DL-1", 0.25e6),
        ("DL1", 0.5e6),
        ("DL2", 1.5e6),
    ]
    assert set(
        DoseLevel.objects.filter(study=study, is_active=False).values_list("label", flat=True)
    ) == {"DL3", "DL4"}


def test_the_dosing_crf_settings_are_checked_by_the_rule_function():
    assert rules.validate_dosing_crf_settings({})["bsa_formula"] == "mosteller"
    with pytest.raises(rules.SettingsError) as excinfo:
        rules.validate_dosing_crf_settings({"dose_tolerance_pct": 30, "dose_max_deviation_pct": 20})
    assert "dose_max_deviation_pct" in excinfo.value.errors
    with pytest.raises(rules.SettingsError):
        rules.validate_dosing_crf_settings({"bsa_formula": "haycock"})


# --- Assignment -----------------------------------------------------------------------------


def test_an_eligible_confirmed_subject_is_assigned_and_enrolled(
    site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assignment = assign(subject, coordinator_a, 1)
    subject.refresh_from_db()
    assert subject.enrollment_status == SubjectStatus.ENROLLED
    assert assignment.dose_level.label == "DL1" and assignment.phase == "ATD"
    assert assignment.assigned_by == coordinator_a and assignment.is_active


def test_an_unconfirmed_subject_cannot_be_assigned(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        assign(subject, coordinator_a, 1)
    assert codes(excinfo) == {"__all__": ["not_confirmed"]}
    assert not CohortAssignment.objects.exists()


def test_a_second_assignment_and_an_unknown_level_are_refused(
    study, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assign(subject, coordinator_a, 1)
    with pytest.raises(ValidationError) as excinfo:
        assign(subject, coordinator_a, 2)
    assert codes(excinfo) == {"dose_level": ["already_assigned"]}
    other = confirmed_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.assign_subject(
            other, actor=coordinator_a, dose_level=999999, phase="ATD", cohort_number=1
        )
    assert codes(excinfo) == {"dose_level": ["no_such_level"]}
    assert CohortAssignment.objects.count() == 1


# --- Apheresis, release, lymphodepletion ----------------------------------------------------


def test_apheresis_before_confirmation_or_before_consent_is_refused(
    site_a, coordinator_a, investigator_a
):
    unconfirmed = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.save_apheresis(
            unconfirmed, actor=coordinator_a, values=apheresis_values(clock.today())
        )
    assert codes(excinfo) == {"__all__": ["not_confirmed"]}
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.save_apheresis(
            subject,
            actor=coordinator_a,
            values=apheresis_values(subject.screening_date - dt.timedelta(days=1)),
        )
    assert codes(excinfo) == {"apheresis_date": ["before_consent"]}
    with pytest.raises(ValidationError) as excinfo:
        services.save_apheresis(
            subject,
            actor=coordinator_a,
            values=apheresis_values(clock.today() - dt.timedelta(days=1)),
        )
    assert codes(excinfo) == {"apheresis_date": ["before_confirmation"]}
    assert not Apheresis.objects.exists()


def test_apheresis_values_are_checked_on_their_fields(site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    values = {**apheresis_values(clock.today()), "volume_processed_l": Decimal("90")}
    with pytest.raises(ValidationError) as excinfo:
        services.save_apheresis(subject, actor=coordinator_a, values=values)
    assert codes(excinfo) == {"volume_processed_l": ["APH-VOL-RANGE"]}
    values["volume_processed_l"] = Decimal("12")
    values["product_shipped_date"] = clock.today() - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        services.save_apheresis(subject, actor=coordinator_a, values=values)
    assert codes(excinfo) == {"product_shipped_date": ["order"]}


def test_a_change_needs_the_version_that_was_read(site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    saved = services.save_apheresis(
        subject, actor=coordinator_a, values=apheresis_values(clock.today())
    )
    change = {"centre": "Beijing apheresis unit"}
    with pytest.raises(VersionRequired):
        services.save_apheresis(subject, actor=coordinator_a, values=change, record=saved)
    with pytest.raises(StaleVersion):
        services.save_apheresis(subject, actor=coordinator_a, values=change)
    with pytest.raises(StaleVersion):
        services.save_apheresis(
            subject,
            actor=coordinator_a,
            values=change,
            record=saved,
            expected_version=0,
            reason="x",
        )
    with pytest.raises(ValidationError) as excinfo:
        services.save_apheresis(
            subject, actor=coordinator_a, values=change, record=saved, expected_version=1
        )
    assert codes(excinfo) == {"reason": ["reason_required"]}
    updated = services.save_apheresis(
        subject,
        actor=coordinator_a,
        values=change,
        record=saved,
        expected_version=1,
        reason="Collected at the Beijing unit",
    )
    assert updated.version == 2 and updated.centre == "Beijing apheresis unit"


def test_a_release_needs_the_apheresis_and_a_failed_release_names_its_test(
    site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.save_product_release(
            subject, actor=coordinator_a, values=release_values(clock.today())
        )
    assert codes(excinfo) == {"__all__": ["no_apheresis"]}
    services.save_apheresis(subject, actor=coordinator_a, values=apheresis_values(clock.today()))
    with pytest.raises(ValidationError) as excinfo:
        services.save_product_release(
            subject,
            actor=coordinator_a,
            values=release_values(clock.today(), release_result="fail"),
        )
    assert codes(excinfo) == {"failed_test": ["failed_test_required"]}
    with pytest.raises(ValidationError) as excinfo:
        services.save_product_release(
            subject,
            actor=coordinator_a,
            values=release_values(clock.today(), failed_test="sterility"),
        )
    assert codes(excinfo) == {"failed_test": ["failed_test_on_pass"]}
    with pytest.raises(ValidationError) as excinfo:
        services.save_product_release(
            subject,
            actor=coordinator_a,
            values=release_values(clock.today(), viability_pct=Decimal("120")),
        )
    assert "viability_pct" in codes(excinfo)
    assert not ProductRelease.objects.exists()


def test_lymphodepletion_needs_an_assignment_and_shows_the_bsa(
    study, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = day0_of()
    with clock.freeze(day0 - dt.timedelta(days=5)):
        with pytest.raises(ValidationError) as excinfo:
            services.save_lymphodepletion(
                subject, actor=coordinator_a, values=lymphodepletion_values(day0)
            )
        assert codes(excinfo) == {"__all__": ["not_assigned"]}
        assign(subject, coordinator_a, 1)
        record = services.save_lymphodepletion(
            subject, actor=coordinator_a, values=lymphodepletion_values(day0)
        )
    # Mosteller: sqrt(175 × 70 / 3600) = 1.8447 m²
    assert services.bsa_of(record) == pytest.approx(1.8447, abs=1e-4)
    assert rules.lymphodepletion_dose_mg(30, services.bsa_of(record)) == pytest.approx(55.34, 0.01)
    study.settings = {**study.settings, "dosing_crf": {"bsa_formula": "du_bois"}}
    study.save()
    record.refresh_from_db()
    assert services.bsa_of(record) == pytest.approx(rules.bsa_du_bois(175, 70))


def test_lymphodepletion_off_day_minus_5_opens_a_query_and_after_the_infusion_is_refused(
    site_a, coordinator_a, investigator_a
):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    record = Lymphodepletion.objects.get(subject=subject)
    with clock.freeze(day0 + dt.timedelta(days=1)), pytest.raises(ValidationError) as excinfo:
        services.save_lymphodepletion(
            subject,
            actor=coordinator_a,
            values={"start_date": day0 - dt.timedelta(days=4)},
            record=record,
            expected_version=record.version,
            reason="typo",
        )
    assert codes(excinfo) == {"start_date": ["after_infusion"]}
    other = confirmed_subject(site_a, coordinator_a, investigator_a)
    later = day0_of()
    with clock.freeze(later - dt.timedelta(days=4)):
        assign(other, coordinator_a, 1, cohort=2)
        late = services.save_lymphodepletion(
            other,
            actor=coordinator_a,
            values=lymphodepletion_values(later, start_date=later - dt.timedelta(days=4)),
        )
    query = DataQuery.objects.get(object_id=str(late.pk), rule_ref="LD-DAY-5")
    assert query.field == "start_date"
    with clock.freeze(later - dt.timedelta(days=4)), pytest.raises(ValidationError) as excinfo:
        services.save_lymphodepletion(
            other,
            actor=coordinator_a,
            values={"start_date": later},
            record=late,
            expected_version=late.version,
            reason="wrong",
        )
    assert "start_date" in codes(excinfo)


# --- Infusion -------------------------------------------------------------------------------


def test_the_infusion_sets_day_0_builds_the_schedule_and_treats_the_subject(
    study, site_a, coordinator_a, investigator_a
):
    version_before = type(study).objects.get(pk=study.pk).data_version
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    assert subject.day0 == day0
    assert subject.enrollment_status == SubjectStatus.TREATED
    visits = {v.code: v for v in Visit.objects.filter(subject=subject)}
    assert visits["D0"].target_date == day0 and visits["D0"].actual_date == day0
    assert visits["D28"].target_date == day0 + dt.timedelta(days=28)
    assert visits["LD"].target_date == day0 - dt.timedelta(days=4)
    infusion = Infusion.objects.get(subject=subject)
    assert infusion.visit == visits["D0"] and infusion.study_day == 0
    assert infusion.planned_dose_cells_per_kg == 0.5e6
    check = infusion.dose_check()
    assert check.dose_cells_per_kg == pytest.approx(0.5e6) and check.verdict == rules.DOSE_OK
    entered = set(
        FormExpectation.objects.filter(
            subject=subject, status=FormExpectation.Status.ENTERED
        ).values_list("visit__code", "form_code")
    )
    assert {("APH", "apheresis"), ("APH", "release"), ("LD", "lymphodepletion")} <= entered
    assert ("D0", "infusion") in entered
    assert Apheresis.objects.get(subject=subject).visit == visits["APH"]
    assert type(study).objects.get(pk=study.pk).data_version > version_before


def test_a_second_infusion_is_refused(site_a, coordinator_a, investigator_a):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=day0)
    assert codes(excinfo) == {"infusion_start": ["already_infused"]}
    assert Infusion.objects.filter(subject=subject).count() == 1


def test_an_infusion_before_consent_or_confirmation_is_refused(
    site_a, coordinator_a, investigator_a
):
    unconfirmed = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        infuse(unconfirmed, coordinator_a, day0=clock.today())
    assert codes(excinfo) == {"__all__": ["not_confirmed"]}
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = day0_of()
    prepare_treatment(subject, coordinator_a, day0=day0)
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=subject.screening_date - dt.timedelta(days=1))
    assert codes(excinfo) == {"infusion_start": ["before_consent"]}
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=clock.today() - dt.timedelta(days=1))
    assert codes(excinfo) == {"infusion_start": ["before_confirmation"]}
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=day0 - dt.timedelta(days=6))
    assert codes(excinfo) == {"infusion_start": ["before_lymphodepletion"]}
    assert not Infusion.objects.exists()
    assert Subject.objects.get(pk=subject.pk).day0 is None


def test_an_infusion_without_assignment_or_released_lot_is_refused(
    site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = day0_of()
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=day0)
    assert codes(excinfo) == {"__all__": ["not_assigned"]}
    with clock.freeze(day0 - dt.timedelta(days=10)):
        assign(subject, coordinator_a, 1)
        with pytest.raises(ValidationError) as excinfo:
            infuse(subject, coordinator_a, day0=day0)
        assert codes(excinfo) == {"__all__": ["no_release"]}
        services.save_apheresis(
            subject, actor=coordinator_a, values=apheresis_values(clock.today())
        )
        services.save_product_release(
            subject,
            actor=coordinator_a,
            values=release_values(clock.today(), release_result="fail", failed_test="sterility"),
        )
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=day0)
    assert codes(excinfo) == {"__all__": ["release_failed"]}
    assert not Infusion.objects.exists()


def test_a_dose_without_weight_is_refused_on_the_weight(site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = day0_of()
    prepare_treatment(subject, coordinator_a, day0=day0)
    with pytest.raises(ValidationError) as excinfo:
        infuse(subject, coordinator_a, day0=day0, weight_kg=None)
    assert codes(excinfo) == {"weight_kg": ["weight_required"]}
    assert not Infusion.objects.exists()


@pytest.mark.parametrize(
    ("total_1e6", "outcome"),
    [
        ("38.50", "ok"),  # +10.0 %: exactly at the tolerance
        ("38.57", "query"),  # +10.2 %
        ("42.00", "query"),  # +20.0 %: exactly at the maximum
        ("42.07", "refused"),  # +20.2 %
        ("27.93", "refused"),  # −20.2 %
    ],
)
def test_the_dose_deviation_is_queried_beyond_the_tolerance_and_refused_beyond_the_maximum(
    site_a, coordinator_a, investigator_a, total_1e6, outcome
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    day0 = day0_of()
    prepare_treatment(subject, coordinator_a, day0=day0)
    changes = {"total_car_t_cells_1e6": Decimal(total_1e6)}
    if outcome == "refused":
        with pytest.raises(ValidationError) as excinfo:
            infuse(subject, coordinator_a, day0=day0, **changes)
        assert codes(excinfo) == {"total_car_t_cells_1e6": ["INF-DOSE-MAX"]}
        assert not Infusion.objects.exists()
        assert Subject.objects.get(pk=subject.pk).day0 is None
        return
    infusion = infuse(subject, coordinator_a, day0=day0, **changes)
    queried = DataQuery.objects.filter(object_id=str(infusion.pk), rule_ref="INF-DOSE-TOL")
    assert queried.exists() is (outcome == "query")


def test_the_sentinel_interval_holds_the_second_subject_of_a_cohort(
    study, site_a, coordinator_a, investigator_a
):
    study.settings = {**study.settings, "dosing": {**study.settings["dosing"], "sentinel_days": 7}}
    study.save()
    first, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    second = confirmed_subject(site_a, coordinator_a, investigator_a)
    prepare_treatment(second, coordinator_a, day0=day0 + dt.timedelta(days=6))
    with pytest.raises(ValidationError) as excinfo:
        infuse(second, coordinator_a, day0=day0 + dt.timedelta(days=6))
    assert codes(excinfo) == {"infusion_start": ["sentinel"]}
    assert str(day0 + dt.timedelta(days=7)) in str(excinfo.value)
    infusion = infuse(second, coordinator_a, day0=day0 + dt.timedelta(days=7))
    assert infusion.pk is not None


def test_correcting_the_infusion_date_moves_day_0(site_a, coordinator_a, investigator_a):
    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    infusion = Infusion.objects.get(subject=subject)
    with clock.freeze(day0 + dt.timedelta(days=2)):
        services.record_infusion(
            subject,
            actor=coordinator_a,
            values={"infusion_start": at(day0 + dt.timedelta(days=1), 9)},
            record=infusion,
            expected_version=infusion.version,
            reason="Infused after midnight; source is the nursing chart",
        )
    subject.refresh_from_db()
    assert subject.day0 == day0 + dt.timedelta(days=1)
    assert Visit.objects.get(subject=subject, code="D28").target_date == day0 + dt.timedelta(29)


def test_the_infusion_opens_the_subjects_dlt_window(site_a, coordinator_a, investigator_a):
    from safety.models import DLTEvaluation

    subject, day0 = treated_subject(site_a, coordinator_a, investigator_a)
    evaluation = DLTEvaluation.objects.get(subject=subject)
    assert (evaluation.window_start, evaluation.dlt_status) == (day0, "open")
    assert (evaluation.window_end_day, evaluation.as_of_day) == (28, 0)
