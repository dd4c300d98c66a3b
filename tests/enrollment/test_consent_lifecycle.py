"""Consent, withdrawal, screen failure and rescreening (issue 10 items 1, 5, 6, 7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enrollment import selectors, services
from enrollment.models import (
    Consent,
    EligibilityAssessment,
    ScreenFailure,
    ScreeningLabs,
    Subject,
    SubjectStatus,
)
from tests.enrollment_data import register_and_consent, screen_eligible_subject
from trialsite.records import queries
from trialsite.records.models import AuditEvent, DataQuery

pytestmark = pytest.mark.django_db

V21, V22 = "v2.1 2025-04-01", "v2.2 2025-09-01"


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def fresh(subject: Subject) -> Subject:
    return Subject.objects.get(pk=subject.pk)


# --- Item 1: every combination of dates a user can type is a field error ----------------------


def test_correcting_a_consent_to_before_birth_on_the_consent_page_is_a_field_error(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    consent = Consent.objects.get(subject=subject)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:consent-edit", args=[subject.pk, consent.pk]),
        {
            "icf_version": V21,
            "signed_at": "1975-03-01T09:00",
            "obtained_by": investigator_a.pk,
            "signed_by": "subject",
            "version": consent.version,
            "reason": "typo",
        },
    )
    assert response.status_code == 400
    assert "before the subject's birth" in response.context["form"].errors["signed_at"][0]
    assert Consent.objects.get(pk=consent.pk).version == consent.version


def test_a_birth_date_corrected_to_after_consent_is_a_field_error(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    consent_day = timezone.localtime(Consent.objects.get(subject=subject).signed_at).date()
    later = consent_day + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        services.update_subject(
            subject,
            actor=coordinator_a,
            values={"birth_date": later, "birth_year": later.year},
            expected_version=subject.version,
            reason="typo",
        )
    assert refused.value.error_dict["birth_date"][0].code == "birth_after_consent"
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:edit-subject", args=[subject.pk]),
        {
            "initials": "WLX",
            "sex": "M",
            "birth_date": later.isoformat(),
            "screening_date": subject.screening_date.isoformat(),
            "planned_apheresis_date": subject.planned_apheresis_date.isoformat(),
            "version": subject.version,
            "reason": "typo",
        },
    )
    assert response.status_code == 400
    assert "born after signing" in response.context["form"].errors["birth_date"][0]


def test_a_birth_year_equal_to_the_consent_year_saves_without_a_crash(
    site_a, coordinator_a, investigator_a
):
    # Before: the age rule got 31 December of the birth year, after the consent → ValueError.
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    consent_year = timezone.localtime(Consent.objects.get(subject=subject).signed_at).year
    services.update_subject(
        subject,
        actor=coordinator_a,
        values={"birth_date": None, "birth_year": consent_year},
        expected_version=subject.version,
        reason="only the year is known",
    )
    assessment = EligibilityAssessment.objects.get(subject=subject)
    assert assessment.criteria["IN1"] == "fail"  # under 18 whatever the birthday


# --- Item 7: screening before consent is a soft check with a query ---------------------------


def _screening_query(subject):
    return DataQuery.objects.filter(
        subject_pk=subject.pk, rule_ref="SCR-BEFORE-ICF", field="screening_date"
    ).first()


def test_a_screening_date_before_consent_opens_a_query_that_closes_when_corrected(
    site_a, coordinator_a, investigator_a
):
    today = timezone.localdate()
    subject = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="AB",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=today - dt.timedelta(days=10),
    )
    consent = services.record_consent(
        subject,
        actor=coordinator_a,
        icf_version=V21,
        signed_at=at(today - dt.timedelta(days=5)),
        obtained_by=investigator_a,
    )
    query = _screening_query(subject)
    assert query is not None and query.status == DataQuery.Status.OPEN
    assert "before the first informed consent" in query.text
    assert fresh(subject).screening_date == today - dt.timedelta(days=10)  # saved, not refused
    services.update_consent(
        consent,
        actor=coordinator_a,
        values={"signed_at": at(today - dt.timedelta(days=10))},
        expected_version=consent.version,
        reason="date copied from the ICF",
    )
    assert _screening_query(subject).status == DataQuery.Status.CLOSED


def test_moving_the_screening_date_before_consent_opens_the_query(
    site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    assert _screening_query(subject) is None
    services.update_subject(
        subject,
        actor=coordinator_a,
        values={"screening_date": subject.screening_date - dt.timedelta(days=2)},
        expected_version=subject.version,
        reason="typo",
    )
    assert _screening_query(subject).status == DataQuery.Status.OPEN


# --- Item 5: withdrawal, consent history, approved versions, LAR and witness ------------------


def withdraw(subject, actor, reason="Patient no longer wishes to take part"):
    consent = selectors.active_consent(subject)
    return services.update_consent(
        consent,
        actor=actor,
        values={"withdrawn_at": timezone.now(), "withdrawal_reason": reason},
        expected_version=consent.version,
        reason="Consent withdrawn",
    )


def test_withdrawal_sets_the_status_shows_who_and_why_and_stops_new_data(
    client, site_a, coordinator_a, investigator_a, monitor
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    withdraw(subject, coordinator_a)
    subject = fresh(subject)
    assert subject.enrollment_status == SubjectStatus.WITHDRAWN

    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "Consent withdrawn" in page and "Patient no longer wishes to take part" in page
    assert coordinator_a.username in page or coordinator_a.get_full_name() in page
    assert "No consent recorded" not in page and "Record consent" not in page

    crf = client.get(reverse("enrollment:crf", args=[subject.pk, "labs"]))
    assert crf.status_code == 200 and crf.context["readonly"] is True
    assert "no new data is entered" in crf.content.decode()
    with pytest.raises(ValidationError) as refused:
        services.save_screening_crf(
            subject,
            ScreeningLabs,
            actor=coordinator_a,
            values={"creatinine": Decimal("1.0")},
            expected_version=ScreeningLabs.objects.get(subject=subject).version,
            reason="late result",
        )
    assert refused.value.code == "withdrawn"
    with pytest.raises(ValidationError) as refused:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version=V22,
            signed_at=timezone.now(),
            obtained_by=investigator_a,
        )
    assert refused.value.error_dict["icf_version"][0].code == "withdrawn"
    # Existing data stays on record and can still be queried.
    labs = ScreeningLabs.objects.get(subject=subject)
    assert queries.raise_query(labs, actor=monitor, field="creatinine", text="Source?")


def test_withdrawal_after_enrollment_keeps_the_subject_id_and_the_data(
    site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    services.confirm_eligibility(
        subject,
        actor=investigator_a,
        password=password,
        expected_version=EligibilityAssessment.objects.get(subject=subject).version,
    )
    withdraw(subject, investigator_a)
    subject = fresh(subject)
    assert subject.enrollment_status == SubjectStatus.WITHDRAWN
    assert subject.subject_number == "TJ-001"
    assert ScreeningLabs.objects.filter(subject=subject).exists()
    assert AuditEvent.objects.filter(
        object_id=str(subject.pk), reason__startswith="Consent withdrawn"
    ).exists()


def test_a_withdrawal_cannot_be_silently_undone(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    consent = withdraw(subject, coordinator_a)
    with pytest.raises(ValidationError) as refused:
        services.update_consent(
            consent,
            actor=coordinator_a,
            values={"withdrawn_at": None, "withdrawal_reason": ""},
            expected_version=consent.version,
            reason="undo",
        )
    assert refused.value.error_dict["withdrawn_at"][0].code == "withdrawal_final"


def test_re_consent_to_a_new_version_keeps_the_history(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    services.record_consent(
        subject,
        actor=coordinator_a,
        icf_version=V22,
        signed_at=timezone.now(),
        obtained_by=investigator_a,
        signed_by="lar",
        representative_name="Wang Li",
        representative_relationship="daughter",
        witness_name="Zhao Min",
    )
    assert Consent.objects.filter(subject=subject).count() == 2
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert f"ICF {V22} signed" in page
    assert V21 in page and "Wang Li (daughter)" in page and "Zhao Min" in page


def test_only_an_approved_icf_version_signed_after_its_approval_is_accepted(
    client, site_a, coordinator_a, investigator_a
):
    subject = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="AB",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=timezone.localdate(),
    )
    with pytest.raises(ValidationError) as refused:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version="v9 draft",
            signed_at=timezone.now(),
            obtained_by=investigator_a,
        )
    assert "not an approved ICF version" in refused.value.message_dict["icf_version"][0]
    with pytest.raises(ValidationError) as refused:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version=V22,
            signed_at=at(dt.date(2025, 8, 1)),
            obtained_by=investigator_a,
        )
    assert "approved on 2025-09-01" in refused.value.message_dict["signed_at"][0]
    client.force_login(coordinator_a)
    form = client.get(reverse("enrollment:consent", args=[subject.pk])).context["form"]
    assert [v for v, _label in form.fields["icf_version"].choices if v] == [V21, V22]
    assert form.initial["icf_version"] == V22


def test_a_representative_consent_needs_the_representatives_name(
    site_a, coordinator_a, investigator_a
):
    subject = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="AB",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=timezone.localdate(),
    )
    with pytest.raises(ValidationError) as refused:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version=V22,
            signed_at=timezone.now(),
            obtained_by=investigator_a,
            signed_by="lar",
        )
    assert set(refused.value.message_dict) >= {"representative_name", "representative_relationship"}
    assert not Consent.objects.filter(subject=subject).exists()


# --- Item 6: screen failure, reversal, rescreening --------------------------------------------


def fail(subject, actor, password, category="failed_criteria", text=""):
    return services.record_screen_failure(
        subject,
        actor=actor,
        category=category,
        text=text,
        password=password,
        expected_version=fresh(subject).version,
    )


def test_a_patient_who_declines_is_a_screen_failure_with_criteria_still_missing(
    site_a, coordinator_a, investigator_a, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    assert EligibilityAssessment.objects.get(subject=subject).eligible is None
    with pytest.raises(ValidationError) as refused:
        fail(subject, investigator_a, password, category="failed_criteria")
    assert "category" in refused.value.message_dict
    failure = fail(subject, investigator_a, password, "withdrew_consent", "Declined apheresis")
    assert failure.status == "signed" and failure.category == "withdrew_consent"
    assert fresh(subject).enrollment_status == SubjectStatus.SCREEN_FAILURE


def test_a_screen_failure_needs_the_password_and_other_needs_a_text(
    site_a, coordinator_a, investigator_a, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as refused:
        fail(subject, investigator_a, "wrong-password", "died")
    assert "password" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        fail(subject, investigator_a, password, "other", "  ")
    assert "text" in refused.value.message_dict
    assert not ScreenFailure.objects.exists()
    assert fresh(subject).enrollment_status == SubjectStatus.SCREENING


def test_a_mistaken_screen_failure_is_reversed_with_a_reason(
    site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={ScreeningLabs: {"creatinine": Decimal("2.0")}},
    )
    failure = fail(subject, investigator_a, password)
    assert [r["code"] for r in failure.failed_criteria] == ["IN7.3"]
    with pytest.raises(ValidationError) as refused:
        services.reverse_screen_failure(
            subject, actor=investigator_a, reason=" ", expected_version=fresh(subject).version
        )
    assert "reason" in refused.value.message_dict
    services.reverse_screen_failure(
        subject,
        actor=investigator_a,
        reason="Creatinine was from another patient",
        expected_version=fresh(subject).version,
    )
    subject = fresh(subject)
    assert subject.enrollment_status == SubjectStatus.SCREENING
    failure.refresh_from_db()
    assert failure.reversed_by == investigator_a
    assert failure.reversal_reason == "Creatinine was from another patient"
    assert AuditEvent.objects.filter(
        object_id=str(failure.pk), reason__contains="Creatinine was from another patient"
    ).exists()


def test_rescreening_gives_a_new_number_linked_to_the_previous_one(
    client, site_a, coordinator_a, investigator_a, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    fail(subject, investigator_a, password, "investigator_decision", "Infection, treat first")
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:rescreen", args=[subject.pk]), {"version": fresh(subject).version}
    )
    new = Subject.objects.get(previous_screening=subject)
    assert response.status_code == 302 and response.url == reverse(
        "enrollment:subject", args=[new.pk]
    )
    assert new.screening_number == "TJ-S-0002" and new.initials == subject.initials
    assert new.enrollment_status == SubjectStatus.SCREENING
    new_page = client.get(response.url).content.decode()
    assert "Rescreening of" in new_page and subject.screening_number in new_page
    old_page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "Rescreened as" in old_page and new.screening_number in old_page
    with pytest.raises(ValidationError) as refused:
        services.rescreen_subject(
            subject, actor=coordinator_a, expected_version=fresh(subject).version
        )
    assert refused.value.code == "rescreened"
    with pytest.raises(ValidationError) as refused:
        services.reverse_screen_failure(
            subject, actor=investigator_a, reason="x", expected_version=fresh(subject).version
        )
    assert refused.value.code == "rescreened"


def test_the_screen_failure_page_gives_field_errors_and_records_with_signature(
    client, site_a, coordinator_a, investigator_a, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    url = reverse("enrollment:screen-failure", args=[subject.pk])
    client.force_login(investigator_a)
    assert client.get(url).status_code == 200
    bad = client.post(
        url, {"category": "other", "text": "", "password": password, "version": subject.version}
    )
    assert bad.status_code == 400 and "text" in bad.context["form"].errors
    good = client.post(
        url,
        {
            "category": "withdrew_consent",
            "text": "Declined",
            "password": password,
            "version": subject.version,
        },
    )
    assert good.status_code == 302
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "Declined or withdrew consent" in page and "Reverse the screen failure" in page
    reverse_url = reverse("enrollment:reverse-screen-failure", args=[subject.pk])
    done = client.post(
        reverse_url, {"reason": "Patient changed mind", "version": fresh(subject).version}
    )
    assert done.status_code == 302
    assert fresh(subject).enrollment_status == SubjectStatus.SCREENING


def test_the_consent_correction_page_shows_the_recorded_signature_time_not_now(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    consent = Consent.objects.get(subject=subject)
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:consent-edit", args=[subject.pk, consent.pk]))
    shown = timezone.localtime(consent.signed_at).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{shown}"' in page.content.decode()
