"""Who is told when an SAE starts and when a clock becomes overdue: in-app and by email
(Django's locmem outbox), and the beat task notifying once."""

from __future__ import annotations

import datetime as dt

import pytest

from safety.models import ClockKind, SAEClock, SAEClockAlert, SAEReport
from safety.sae_tasks import check_sae_clocks
from safety.services import record_submission
from tests.enrollment_data import register_and_consent
from tests.safety.sae_data import moment, serious_event
from trialsite.records.models import Notification
from trialsite.studies import services as study_services

pytestmark = pytest.mark.django_db
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a, coordinator_b, sponsor, monitor):
    return register_and_consent(site_a, coordinator_a, investigator_a)


@pytest.fixture
def aware(subject, frozen_clock):
    at = moment(subject.screening_date + dt.timedelta(days=4))
    frozen_clock(at)
    return at


@pytest.fixture
def contacts(study, study_admin):
    section = {
        **study.settings["sae_reporting"],
        "pi_emails": ["pi.office@site-a.example"],
        "sponsor_safety_emails": ["drug.safety@sponsor.example"],
    }
    study_services.update_study_settings(
        study,
        actor=study_admin,
        document={**study.settings, "sae_reporting": section},
        reason="safety contacts",
        expected_version=study.settings_version,
    )


def _recipients(**filters) -> set[str]:
    return set(Notification.objects.filter(**filters).values_list("recipient__username", flat=True))


def _addresses(outbox) -> set[str]:
    return {address for mail in outbox for address in [*mail.to, *mail.bcc]}


def test_starting_an_sae_tells_the_site_investigators_and_the_sponsor_in_app_and_by_email(
    subject,
    coordinator_a,
    aware,
    contacts,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        event = serious_event(subject, coordinator_a)
    report = SAEReport.objects.get(event=event)
    assert _recipients(message__startswith="Serious adverse event") == {"inv_a", "sponsor"}
    site_note = Notification.objects.get(recipient__username="inv_a")
    assert site_note.url == f"/safety/sae/{report.pk}/"
    assert "within 24 hours" in site_note.message and str(subject) in site_note.message
    assert "WLX" not in site_note.message  # no initials: the same text goes to the sponsor
    sponsor_note = Notification.objects.get(recipient__username="sponsor")
    assert sponsor_note.url == f"/api/v1/sae-reports/{report.pk}/"
    assert _addresses(mailoutbox) == {
        "inv_a@example.invalid",
        "sponsor@example.invalid",
        "pi.office@site-a.example",
        "drug.safety@sponsor.example",
    }
    assert all("Febrile neutropenia" in mail.subject for mail in mailoutbox)


def test_a_rolled_back_save_sends_nothing(subject, coordinator_a, aware, mailoutbox):
    from django.db import transaction

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        serious_event(subject, coordinator_a)
        raise Abort
    assert not Notification.objects.exists()
    assert mailoutbox == []


def test_a_clock_overdue_by_one_minute_notifies_once_and_not_at_its_limit(
    subject,
    coordinator_a,
    aware,
    frozen_clock,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    event = serious_event(subject, coordinator_a)
    initial = SAEClock.objects.get(report__event=event, kind=ClockKind.INITIAL)
    frozen_clock(aware + dt.timedelta(hours=24))  # exactly at the limit: not overdue
    assert check_sae_clocks.apply().get() == {"notified": []}
    frozen_clock(aware + dt.timedelta(hours=24) + MINUTE)
    with django_capture_on_commit_callbacks(execute=True):
        assert check_sae_clocks.apply().get() == {"notified": [initial.pk]}
    assert _recipients(message__startswith="Overdue") == {"inv_a", "coord_a", "sponsor"}
    assert len([m for m in mailoutbox if "Overdue" in m.subject]) == 3
    frozen_clock(aware + dt.timedelta(hours=30))
    assert check_sae_clocks.apply().get() == {"notified": []}  # once
    assert Notification.objects.filter(message__startswith="Overdue").count() == 3
    assert SAEClockAlert.objects.get().clock_id == initial.pk


def test_recording_the_submission_clears_the_notices(
    subject, coordinator_a, investigator_a, aware, frozen_clock
):
    from trialsite.records import notifications

    event = serious_event(subject, coordinator_a)
    initial = SAEClock.objects.get(report__event=event, kind=ClockKind.INITIAL)
    late = aware + dt.timedelta(hours=25)
    frozen_clock(late)
    check_sae_clocks.apply()
    assert notifications.pending(investigator_a, subject.study).count() == 2  # started, overdue
    record_submission(
        initial,
        actor=coordinator_a,
        submitted_at=late,
        reference="SAE-7",
        expected_version=initial.version,
    )
    assert notifications.pending(investigator_a, subject.study).count() == 0


def test_a_submitted_clock_is_never_overdue(subject, coordinator_a, aware, frozen_clock):
    event = serious_event(subject, coordinator_a)
    initial = SAEClock.objects.get(report__event=event, kind=ClockKind.INITIAL)
    record_submission(
        initial,
        actor=coordinator_a,
        submitted_at=aware,
        reference="SAE-1",
        expected_version=initial.version,
    )
    frozen_clock(aware + dt.timedelta(days=2))
    assert check_sae_clocks.apply().get() == {"notified": []}


def test_a_mail_server_that_is_down_never_undoes_the_sae(
    subject, coordinator_a, aware, contacts, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.safety.test_sae_notifications.BrokenBackend"
    with django_capture_on_commit_callbacks(execute=True):
        event = serious_event(subject, coordinator_a)
    assert SAEReport.objects.filter(event=event).exists()
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 2


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")
