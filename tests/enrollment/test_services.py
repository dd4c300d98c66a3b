"""Enrollment services through the real database: registration, consent, CRFs, eligibility."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from enrollment import selectors, services
from enrollment.models import (
    EligibilityAssessment,
    MedicationHistory,
    ScreeningLabs,
    ScreeningVitals,
    SteroidCourse,
    Subject,
    SubjectStatus,
    Visit,
)
from tests.enrollment_data import register_and_consent, screen_eligible_subject
from trialsite.records.exceptions import SignatureRefused
from trialsite.records.models import AuditEvent, Notification, RecordStatus
from trialsite.records.selectors import audit_trail, signature_state

pytestmark = pytest.mark.django_db


def assessment_of(subject) -> EligibilityAssessment:
    return EligibilityAssessment.objects.get(subject=subject)


def test_registration_assigns_consecutive_screening_numbers_per_site(
    site_a, site_b, coordinator_a, coordinator_b
):
    today = timezone.localdate()
    first = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="abc",
        sex="F",
        birth_date=dt.date(1980, 1, 1),
        screening_date=today,
    )
    second = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="DEF",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=today,
    )
    other_site = services.register_subject(
        actor=coordinator_b,
        site=site_b,
        initials="GH",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=today,
    )
    assert [first.screening_number, second.screening_number] == ["TJ-S-0001", "TJ-S-0002"]
    assert other_site.screening_number == "BJ-S-0001"
    assert first.initials == "ABC"
    assert first.enrollment_status == SubjectStatus.SCREENING
    assert audit_trail(first).get().actor == coordinator_a


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("birth_date", dt.date(2999, 1, 1), "future_date"),
        ("initials", "w1", "invalid"),
        ("screening_date", dt.date(2999, 1, 1), "future_date"),
    ],
    ids=["birth-date-in-future", "bad-initials", "screening-in-future"],
)
def test_impossible_registration_values_get_a_field_error(
    site_a, coordinator_a, field, value, code
):
    values = {
        "initials": "WLX",
        "sex": "M",
        "birth_date": dt.date(1970, 1, 1),
        "screening_date": timezone.localdate(),
        field: value,
    }
    with pytest.raises(ValidationError) as excinfo:
        services.register_subject(actor=coordinator_a, site=site_a, **values)
    assert excinfo.value.error_dict[field][0].code == code
    assert not site_a.subjects.exists()


def test_no_screening_data_before_consent(site_a, coordinator_a):
    subject = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="AB",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=timezone.localdate(),
    )
    with pytest.raises(ValidationError) as excinfo:
        services.save_screening_crf(
            subject,
            ScreeningVitals,
            actor=coordinator_a,
            values={"assessment_date": timezone.localdate(), "weight_kg": Decimal("70")},
        )
    assert excinfo.value.code == "no_consent"
    assert not ScreeningVitals.objects.exists()


def test_a_crf_dated_before_consent_is_refused_on_its_date_field(
    site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.save_screening_crf(
            subject,
            ScreeningLabs,
            actor=coordinator_a,
            values={"lab_date": subject.screening_date - dt.timedelta(days=3)},
        )
    assert excinfo.value.error_dict["lab_date"][0].code == "before_consent"


def test_consent_dated_after_screening_data_is_refused(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version="v2.2 2025-09-01",
            signed_at=timezone.now(),
            obtained_by=investigator_a,
        )
    assert excinfo.value.error_dict["signed_at"][0].code == "consent_after_data"


def test_consent_must_be_obtained_by_site_staff(site_a, coordinator_a, monitor):
    subject = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="AB",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=timezone.localdate(),
    )
    with pytest.raises(ValidationError) as excinfo:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version="v2.1 2025-04-01",
            signed_at=timezone.now(),
            obtained_by=monitor,
        )
    assert excinfo.value.error_dict["obtained_by"][0].code == "not_site_staff"


def test_a_complete_screening_makes_every_criterion_pass(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    assessment = assessment_of(subject)
    assert assessment.failed == [] and assessment.missing == []
    assert assessment.eligible is True
    assert "Cockcroft" in assessment.details["IN7.3"]["message"]


def test_eligibility_is_recomputed_on_every_screening_save_and_names_the_value(
    site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={ScreeningLabs: {"creatinine": Decimal("2.0")}},
    )
    assessment = assessment_of(subject)
    assert assessment.eligible is False
    assert assessment.criteria["IN7.3"] == "fail"
    assert "43.3 mL/min" in assessment.details["IN7.3"]["message"]
    assert "> 45" in assessment.details["IN7.3"]["message"]

    labs = ScreeningLabs.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningLabs,
        actor=coordinator_a,
        values={"creatinine": Decimal("1.0")},
        expected_version=labs.version,
        reason="Transcription error: source says 1.0 mg/dL",
    )
    assert assessment_of(subject).eligible is True
    trail = audit_trail(assessment_of(subject)).last()
    assert trail.changes["eligible"] == [False, True]


def test_umol_per_litre_creatinine_is_accepted(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={ScreeningLabs: {"creatinine": Decimal("80"), "creatinine_unit": "umol/L"}},
    )
    assert assessment_of(subject).criteria["IN7.3"] == "pass"


def test_a_lab_without_its_uln_stays_missing_with_uln_needed(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(
        site_a, coordinator_a, investigator_a, overrides={ScreeningLabs: {"alt_uln_u_l": None}}
    )
    assessment = assessment_of(subject)
    assert assessment.criteria["IN7.1"] == "missing"
    assert "ULN" in assessment.details["IN7.1"]["message"]
    assert assessment.eligible is None


def test_blood_pressure_uses_the_mean_of_the_readings(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={
            ScreeningVitals: {
                "systolic_bp_1": 148,
                "diastolic_bp_1": 96,
                "systolic_bp_2": 154,
                "diastolic_bp_2": 98,
            }
        },
    )
    assert assessment_of(subject).criteria["EX10.6"] == "fail"


def test_steroid_courses_feed_the_seven_day_rule(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={MedicationHistory: {"steroids_before_apheresis": True}},
    )
    assert assessment_of(subject).criteria["EX2.1"] == "pass"  # yes, but no course listed yet
    apheresis = subject.planned_apheresis_date
    services.save_steroid_course(
        subject,
        actor=coordinator_a,
        values={
            "drug": "dexamethasone",
            "daily_dose_mg": Decimal("1.5"),
            "start_date": apheresis - dt.timedelta(days=7),
            "end_date": apheresis - dt.timedelta(days=1),
        },
    )
    assessment = assessment_of(subject)
    assert assessment.criteria["EX2.1"] == "fail"
    assert SteroidCourse.objects.filter(subject=subject).count() == 1


def test_the_investigator_confirms_eligibility_with_an_e_signature(
    site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    assessment = assessment_of(subject)
    with pytest.raises(SignatureRefused):
        services.confirm_eligibility(
            subject, actor=investigator_a, password="wrong", expected_version=assessment.version
        )

    confirmed = services.confirm_eligibility(
        subject, actor=investigator_a, password=password, expected_version=assessment.version
    )

    subject.refresh_from_db()
    state = signature_state(confirmed)
    assert state.valid and "I confirm this subject is eligible" in state.message
    assert subject.enrollment_status == SubjectStatus.ELIGIBLE
    assert subject.subject_number == "TJ-001"
    assert subject.enrollment_date == timezone.localdate()


def test_an_ineligible_subject_cannot_be_confirmed(site_a, coordinator_a, investigator_a, password):
    subject = screen_eligible_subject(
        site_a, coordinator_a, investigator_a, overrides={ScreeningVitals: {"ecog": 3}}
    )
    with pytest.raises(ValidationError) as excinfo:
        services.confirm_eligibility(
            subject, actor=investigator_a, password=password, expected_version=None
        )
    assert excinfo.value.code == "not_eligible"


def test_a_change_after_confirmation_reopens_eligibility_and_notifies_the_investigator(
    site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    services.confirm_eligibility(
        subject,
        actor=investigator_a,
        password=password,
        expected_version=assessment_of(subject).version,
    )
    vitals = ScreeningVitals.objects.get(subject=subject)

    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=coordinator_a,
        values={"weight_kg": Decimal("68.0")},
        expected_version=vitals.version,
        reason="Re-weighed on the day",
    )

    assessment = assessment_of(subject)
    subject.refresh_from_db()
    assert not signature_state(assessment).valid
    assert assessment.status == RecordStatus.SUBMITTED
    assert subject.enrollment_status == SubjectStatus.SCREENING
    note = Notification.objects.get(recipient=investigator_a, resolved_at__isnull=True)
    assert "confirm it again" in note.message


def test_a_screen_failure_records_the_failing_criteria(
    site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={ScreeningLabs: {"creatinine": Decimal("2.0")}},
    )
    services.record_screen_failure(
        subject,
        actor=investigator_a,
        category="failed_criteria",
        password=password,
        expected_version=subject.version,
    )
    failed = Subject.objects.get(pk=subject.pk)
    assert failed.enrollment_status == SubjectStatus.SCREEN_FAILURE
    codes = [r["code"] for r in failed.screen_failure_reasons]
    assert codes == ["IN7.3"]
    assert "mL/min" in failed.screen_failure_reasons[0]["message"]


def test_anchor_schedule_builds_the_visits_from_day_0(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    day0 = timezone.localdate() - dt.timedelta(days=2)
    visits = services.anchor_schedule(subject, day0, actor=investigator_a)
    by_code = {v.code: v for v in visits}
    assert by_code["D4"].target_date == day0 + dt.timedelta(days=4)
    assert by_code["D28"].window_start == day0 + dt.timedelta(days=25)
    assert by_code["Y15"].target_date == day0 + dt.timedelta(days=5479)
    assert by_code["D4"].state(day0) == "upcoming"
    assert by_code["D4"].state(day0 + dt.timedelta(days=3)) == "due"
    assert by_code["D4"].state(day0 + dt.timedelta(days=6)) == "overdue"
    # Anchoring again (a corrected infusion date) moves the visits, never duplicates them.
    services.anchor_schedule(
        subject, day0 + dt.timedelta(days=1), actor=investigator_a, reason="Corrected"
    )
    assert Visit.objects.filter(subject=subject, anchor="day0").count() == len(visits)
    # The lymphodepletion window runs Day −5 to −3 and screening keeps its own visit.
    assert by_code["LD"].window_start == day0 + dt.timedelta(days=-5)
    assert by_code["LD"].window_end == day0 + dt.timedelta(days=-3)
    assert Visit.objects.filter(subject=subject, code="SCR").count() == 1
    assert Visit.objects.get(subject=subject, code="D4").target_date == day0 + dt.timedelta(days=5)


def test_birth_year_only_decides_age_when_both_birthdays_agree(
    site_a, coordinator_a, investigator_a
):
    site_a.birth_year_only = True
    site_a.save()
    today = timezone.localdate()
    borderline = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="YO",
        sex="M",
        birth_year=today.year - 71,
        screening_date=today - dt.timedelta(days=10),
    )
    clear = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="YP",
        sex="M",
        birth_year=1975,
        screening_date=today - dt.timedelta(days=10),
    )
    for subject in (borderline, clear):
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version="v2.1 2025-04-01",
            signed_at=timezone.now() - dt.timedelta(days=10),
            obtained_by=investigator_a,
        )
    # Born in (year − 71): 70 or 71 at consent, so the full date decides → missing.
    assert assessment_of(borderline).criteria["IN1"] == "missing"
    # Born in 1975: 50 or 51 either way → the age criterion passes.
    assert assessment_of(clear).criteria["IN1"] == "pass"


def test_every_screening_save_writes_the_audit_trail(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    actions = set(AuditEvent.objects.filter(study=subject.study).values_list("action", flat=True))
    assert {"create"} <= actions
    assert AuditEvent.objects.filter(study=subject.study, action="create").count() >= 12


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"prior_dli": True}, "dli_last_date", "required_if"),
        (
            {"prior_dli": False, "dli_last_date": dt.date(2025, 1, 1)},
            "dli_last_date",
            "not_applicable",
        ),
        (
            {"last_antitumor_therapy_end_date": dt.date(2025, 1, 1)},
            "last_antitumor_therapy_half_life_days",
            "required_if",
        ),
    ],
    ids=["yes-needs-a-date", "no-has-no-date", "washout-needs-half-life"],
)
def test_conditional_questions_are_checked_by_field(
    site_a, coordinator_a, investigator_a, values, field, code
):
    from enrollment.models import AmlHistory

    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.save_screening_crf(subject, AmlHistory, actor=coordinator_a, values=values)
    assert excinfo.value.error_dict[field][0].code == code
    assert not AmlHistory.objects.exists()


def test_completeness_counts_only_the_questions_that_apply(site_a, coordinator_a, investigator_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    rows = {row.code: row for row in selectors.crf_completeness(subject)}
    assert all(row.complete for row in rows.values()), {
        code: (row.filled, row.total) for code, row in rows.items() if not row.complete
    }
    assert rows["pregnancy"].total == 0  # a man is not asked
    vitals = ScreeningVitals.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=coordinator_a,
        values={"ecog": None},
        expected_version=vitals.version,
        reason="ECOG to be re-assessed",
    )
    rows = {row.code: row for row in selectors.crf_completeness(subject)}
    # date, weight, two BP readings (4), temperature, pulse, SpO₂, ECOG: 10; ECOG now empty
    assert (rows["vitals"].filled, rows["vitals"].total) == (9, 10)
