"""Reversing a withdrawal of consent recorded by mistake (issue 10, last gaps item 3).

Before: a mistaken withdrawal could not be undone in the application ("ask the data manager"),
so a subject withdrawn by a slip of the coordinator stayed closed to data. Now the investigator
reverses it with a reason and an e-signature; the status is derived again from the records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enrollment import selectors, services
from enrollment.models import (
    Consent,
    EligibilityAssessment,
    ScreenFailureCategory,
    ScreeningLabs,
    Subject,
    SubjectStatus,
)
from tests.enrollment_data import register_and_consent, screen_eligible_subject
from trialsite.records.models import AuditEvent, Signature

pytestmark = pytest.mark.django_db

MISTAKE = "Recorded on the wrong subject (TJ-S-0002 withdrew, not this one)"


def fresh(subject: Subject) -> Subject:
    return Subject.objects.get(pk=subject.pk)


def withdraw(subject, actor, reason="Patient no longer wishes to take part") -> Consent:
    consent = selectors.active_consent(subject)
    return services.update_consent(
        consent,
        actor=actor,
        values={"withdrawn_at": timezone.now(), "withdrawal_reason": reason},
        expected_version=consent.version,
        reason="Consent withdrawn",
    )


def reverse_it(subject, actor, password, reason=MISTAKE, version=None):
    return services.reverse_withdrawal(
        subject,
        actor=actor,
        reason=reason,
        password=password,
        expected_version=fresh(subject).version if version is None else version,
    )


def test_the_investigator_reverses_a_withdrawal_and_data_entry_reopens(
    site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    withdraw(subject, coordinator_a)
    assert fresh(subject).enrollment_status == SubjectStatus.WITHDRAWN

    consent = reverse_it(subject, investigator_a, password)

    subject = fresh(subject)
    assert subject.enrollment_status == SubjectStatus.SCREENING
    assert services.data_entry_blocked(subject) == ""
    assert selectors.active_consent(subject) == consent
    assert consent.withdrawn_at is None and consent.withdrawal_reason == ""
    assert consent.reversed_withdrawal_reason == "Patient no longer wishes to take part"
    assert consent.reversed_withdrawal_at is not None
    assert consent.withdrawal_reversed_by == investigator_a
    assert consent.withdrawal_reversal_reason == MISTAKE
    # The e-signature names its meaning and covers the consent as reversed.
    signature = Signature.objects.get(
        content_type=ContentType.objects.get_for_model(Consent), object_id=str(consent.pk)
    )
    assert signature.signer == investigator_a
    assert signature.meaning == str(services.WITHDRAWAL_REVERSAL_MEANING)
    assert signature.record_version == consent.version
    # Audited: the consent's change (old → new) and the subject's status, with the reason.
    change = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Consent),
        object_id=str(consent.pk),
        action="update",
    ).last()
    assert change.reason == f"Withdrawal of consent reversed: {MISTAKE}"
    assert change.changes["withdrawn_at"][1] is None
    status = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Subject), object_id=str(subject.pk)
    ).last()
    assert status.changes["enrollment_status"] == [SubjectStatus.WITHDRAWN, SubjectStatus.SCREENING]
    # New data is accepted again, and the eligibility checklist has its consent back.
    labs = ScreeningLabs.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningLabs,
        actor=coordinator_a,
        values={"creatinine": labs.creatinine + Decimal("0.1")},
        expected_version=labs.version,
        reason="Result of the repeat sample",
    )
    assert EligibilityAssessment.objects.get(subject=subject).eligible is True


def test_a_screen_failure_withdrawn_by_mistake_is_a_screen_failure_again(
    site_a, coordinator_a, investigator_a, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    services.record_screen_failure(
        subject,
        actor=investigator_a,
        category=ScreenFailureCategory.INVESTIGATOR_DECISION,
        text="Uncontrolled infection; not fit for apheresis",
        password=password,
        expected_version=fresh(subject).version,
    )
    withdraw(subject, coordinator_a)
    reverse_it(subject, investigator_a, password)
    assert fresh(subject).enrollment_status == SubjectStatus.SCREEN_FAILURE


def test_a_treated_subject_is_treated_again(site_a, coordinator_a, investigator_a, password):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    services.anchor_schedule(
        subject, timezone.localdate() - dt.timedelta(days=3), actor=coordinator_a
    )
    withdraw(subject, coordinator_a)
    reverse_it(subject, investigator_a, password)
    assert fresh(subject).enrollment_status == SubjectStatus.TREATED


def test_a_confirmed_subject_returns_to_screening_for_a_new_confirmation(
    site_a, coordinator_a, investigator_a, password
):
    """The withdrawal voided the confirmation (the consent criterion failed): sign again."""
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    services.confirm_eligibility(
        subject,
        actor=investigator_a,
        password=password,
        expected_version=EligibilityAssessment.objects.get(subject=subject).version,
    )
    withdraw(subject, coordinator_a)
    reverse_it(subject, investigator_a, password)
    subject = fresh(subject)
    assert subject.enrollment_status == SubjectStatus.SCREENING
    assert subject.subject_number == "TJ-001"
    assessment = EligibilityAssessment.objects.get(subject=subject)
    assert assessment.eligible is True
    services.confirm_eligibility(
        subject, actor=investigator_a, password=password, expected_version=assessment.version
    )
    assert fresh(subject).enrollment_status == SubjectStatus.ELIGIBLE


def test_refusals_are_coded_and_change_nothing(site_a, coordinator_a, investigator_a, password):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as refused:
        reverse_it(subject, investigator_a, password)
    assert refused.value.code == "not_withdrawn"

    withdraw(subject, coordinator_a)
    version = fresh(subject).version
    for kwargs, field, code in (
        ({"reason": "  "}, "reason", "required"),
        ({"password": "wrong"}, "password", "bad_password"),
    ):
        args = {"password": password, **kwargs}
        with pytest.raises(ValidationError) as refused:
            reverse_it(subject, investigator_a, args.pop("password"), **args)
        assert refused.value.error_dict[field][0].code == code
    from trialsite.records.exceptions import StaleVersion

    with pytest.raises(StaleVersion):
        reverse_it(subject, investigator_a, password, version=version - 1)
    assert fresh(subject).version == version
    assert fresh(subject).enrollment_status == SubjectStatus.WITHDRAWN


def test_readers_see_the_withdrawal_read_only_and_may_not_reverse_it(
    client, site_a, coordinator_a, investigator_a, monitor, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    withdraw(subject, coordinator_a)
    url = reverse("enrollment:reverse-withdrawal", args=[subject.pk])
    for reader in (coordinator_a, monitor):
        client.force_login(reader)
        page = client.get(url)
        assert page.status_code == 200 and page.context["readonly"] is True
        assert page.context["form"] is None
        assert "Patient no longer wishes to take part" in page.content.decode()
        subject_page = client.get(reverse("enrollment:subject", args=[subject.pk])).content
        assert (
            b"Withdrawal record" in subject_page and b"Reverse the withdrawal" not in subject_page
        )
        posted = client.post(
            url, {"version": fresh(subject).version, "reason": "x", "password": password}
        )
        assert posted.status_code == 403
    assert fresh(subject).enrollment_status == SubjectStatus.WITHDRAWN


def test_the_investigator_signs_the_reversal_on_the_page(
    client, site_a, coordinator_a, investigator_a, password
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    withdraw(subject, coordinator_a)
    client.force_login(investigator_a)
    assert (
        b"Reverse the withdrawal"
        in client.get(reverse("enrollment:subject", args=[subject.pk])).content
    )
    url = reverse("enrollment:reverse-withdrawal", args=[subject.pk])
    bad = client.post(url, {"version": fresh(subject).version, "reason": MISTAKE, "password": "no"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["password"]
    done = client.post(
        url, {"version": fresh(subject).version, "reason": MISTAKE, "password": password}
    )
    assert done.status_code == 302
    history = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "Patient no longer wishes to take part" in history and MISTAKE in history
    assert fresh(subject).enrollment_status == SubjectStatus.SCREENING
