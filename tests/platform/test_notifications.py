"""Notices clear: opened, dismissed, or resolved by the service that resolves them (issue 10 §8).

Before: "Needs your attention" listed every unread notice for ever, nothing marked it read,
confirming eligibility again left the reopening notice in place, an all-pass checklist waiting
for the investigator raised no notice, and no notice was ever emailed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from enrollment import selectors, services
from enrollment.models import EligibilityAssessment, ScreeningLabs, ScreeningVitals
from tests.enrollment_data import screen_eligible_subject
from trialsite.records import notifications

pytestmark = pytest.mark.django_db


def assessment_of(subject):
    return EligibilityAssessment.objects.get(subject=subject)


def confirm(subject, investigator, password):
    services.confirm_eligibility(
        subject,
        actor=investigator,
        password=password,
        expected_version=assessment_of(subject).version,
    )


def reweigh(subject, coordinator):
    vitals = ScreeningVitals.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=coordinator,
        values={"weight_kg": vitals.weight_kg + Decimal("1.0")},
        expected_version=vitals.version,
        reason="Re-weighed on the day",
    )


def messages(user, study):
    return [note.message for note in notifications.pending(user, study)]


def test_an_all_pass_checklist_notifies_the_investigator_until_confirmed(
    study, site_a, coordinator_a, investigator_a, password
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    assert [m for m in messages(investigator_a, study) if "awaits your confirmation" in m]
    assert selectors.awaiting_confirmation(investigator_a, study) == [assessment_of(subject)]

    confirm(subject, investigator_a, password)

    assert messages(investigator_a, study) == []
    assert selectors.awaiting_confirmation(investigator_a, study) == []


def test_the_reopening_notice_clears_when_the_investigator_confirms_again(
    study, site_a, coordinator_a, investigator_a, password, django_capture_on_commit_callbacks
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    confirm(subject, investigator_a, password)
    with django_capture_on_commit_callbacks(execute=True):
        reweigh(subject, coordinator_a)
    (reopened,) = messages(investigator_a, study)
    assert "confirm it again" in reopened
    # The notice that matters is emailed to the investigator, with the link to the checklist.
    (email,) = mail.outbox
    assert email.to == [investigator_a.email]
    assert "confirm it again" in email.subject
    assert reverse("enrollment:eligibility", args=[subject.pk]) in email.body

    subject.refresh_from_db()
    confirm(subject, investigator_a, password)

    assert messages(investigator_a, study) == []


def test_a_checklist_that_stops_passing_clears_its_notice(
    study, site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    labs = ScreeningLabs.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningLabs,
        actor=coordinator_a,
        values={"creatinine": Decimal("2.0")},
        expected_version=labs.version,
        reason="Repeat creatinine",
    )
    assert messages(investigator_a, study) == []
    assert selectors.awaiting_confirmation(investigator_a, study) == []


def test_no_email_is_sent_when_the_write_rolls_back(study, site_a, investigator_a):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify(study, [investigator_a], message="SAE clock", email=True)
        raise RuntimeError
    assert mail.outbox == []


def test_opening_a_notice_marks_it_read_and_goes_to_its_record(
    client, study, site_a, investigator_a
):
    (note,) = notifications.notify(study, [investigator_a], message="Look", url="/queries/")
    client.force_login(investigator_a)
    assert "Look" in client.get(reverse("home")).content.decode()

    response = client.get(reverse("records:notification", args=[note.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/queries/"
    assert "Look" not in client.get(reverse("home")).content.decode()


def test_a_notice_can_be_dismissed_only_by_its_recipient(
    client, study, site_a, investigator_a, coordinator_a
):
    (note,) = notifications.notify(study, [investigator_a], message="Look")
    client.force_login(coordinator_a)
    assert client.post(reverse("records:notification-dismiss", args=[note.pk])).status_code == 404
    assert client.get(reverse("records:notification", args=[note.pk])).status_code == 404

    client.force_login(investigator_a)
    response = client.post(reverse("records:notification-dismiss", args=[note.pk]))

    assert response.status_code == 302
    assert messages(investigator_a, study) == []


def test_a_notice_never_sends_the_user_off_site(client, study, site_a, investigator_a):
    (note,) = notifications.notify(study, [investigator_a], message="x", url="https://evil.test/")
    client.force_login(investigator_a)
    assert client.get(reverse("records:notification", args=[note.pk]))["Location"] == "/"


def test_the_signature_list_shows_only_the_investigators_sites(
    study, site_a, site_b, coordinator_a, investigator_a, coordinator_b, django_assert_num_queries
):
    from tests.conftest import _member

    screen_eligible_subject(site_a, coordinator_a, investigator_a)
    investigator_b = _member("investigator", site_b, username="inv_b")
    assert selectors.awaiting_confirmation(investigator_b, study) == []
    assert selectors.awaiting_confirmation(coordinator_a, study) == []
    investigator_a.__dict__.pop("_trialsite_memberships", None)
    with django_assert_num_queries(2):  # the memberships, then the checklists
        rows = selectors.awaiting_confirmation(investigator_a, study)
        assert [str(r.subject.site.code) for r in rows] == ["TJ"]


def test_the_home_page_lists_what_waits_for_the_investigators_signature(
    client, study, site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    client.force_login(investigator_a)
    page = client.get(reverse("home")).content.decode()
    assert "Waiting for your signature" in page
    assert reverse("enrollment:eligibility", args=[subject.pk]) in page
    client.force_login(coordinator_a)
    assert "Waiting for your signature" not in client.get(reverse("home")).content.decode()
