"""The off-study record (end of study participation): dates refused before consent or in the
future, the subject's status and pages say "off study since <date>", no new data after it,
corrections on the version read, the page and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enrollment import selectors, services
from enrollment.models import OffStudy, Subject
from enrollment.off_study import save_off_study
from safety.services import save_adverse_event
from tests.enrollment_data import register_and_consent
from tests.safety.ae_pages import shipped
from trialsite.records.exceptions import StaleVersion
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return register_and_consent(site_a, coordinator_a, investigator_a)


def _fresh(subject) -> Subject:
    return Subject.objects.get(pk=subject.pk)


def _consent_date(subject) -> dt.date:
    return timezone.localtime(selectors.active_consent(subject).signed_at).date()


def _values(subject, **changes) -> dict:
    return {
        "off_study_date": _consent_date(subject) + dt.timedelta(days=2),
        "off_study_reason": "investigator_decision",
        **changes,
    }


def _codes(excinfo) -> dict[str, list[str]]:
    return {f: [e.code for e in errors] for f, errors in excinfo.value.error_dict.items()}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"off_study_date": "before_consent"}, "off_study_date", "OFF-BEFORE-ICF"),
        ({"off_study_date": "tomorrow"}, "off_study_date", "PL-DATE"),
        ({"off_study_reason": "other"}, "reason_specify", "required_if"),
        ({"reason_specify": "moved abroad"}, "reason_specify", "inconsistent"),
        ({"off_study_reason": "bored"}, "off_study_reason", "invalid_choice"),
    ],
)
def test_bad_values_are_refused_on_their_field_and_nothing_changes(
    subject, coordinator_a, changes, field, code
):
    dates = {
        "before_consent": _consent_date(subject) - dt.timedelta(days=1),
        "tomorrow": timezone.localdate() + dt.timedelta(days=1),
    }
    changes = {k: dates.get(v, v) for k, v in changes.items()}
    with pytest.raises(ValidationError) as excinfo:
        save_off_study(subject, actor=coordinator_a, values=_values(subject, **changes))
    assert code in _codes(excinfo)[field]
    assert not OffStudy.objects.filter(subject=subject).exists()
    assert _fresh(subject).enrollment_status == subject.enrollment_status
    assert services.data_entry_blocked(_fresh(subject)) == ""


def test_going_off_study_sets_the_status_and_blocks_new_data(subject, coordinator_a):
    record = save_off_study(
        subject,
        actor=coordinator_a,
        values=_values(subject, off_study_reason="other", reason_specify="moved abroad"),
    )
    subject = _fresh(subject)
    assert subject.enrollment_status == "off_study"
    assert record.reason_shown == "Other: moved abroad"
    blocked = services.data_entry_blocked(subject)
    assert blocked.startswith(f"Off study since {record.off_study_date.isoformat()} (Other:")
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject,
            actor=coordinator_a,
            values={"term": shipped("Fever"), "onset_date": record.off_study_date, "grade": 1},
        )
    assert "Off study since" in str(excinfo.value)
    assert AuditEvent.objects.filter(object_id=str(record.pk)).exists()


def test_a_correction_needs_the_version_read_and_a_reason(subject, coordinator_a):
    record = save_off_study(subject, actor=coordinator_a, values=_values(subject))
    with pytest.raises(StaleVersion):  # a second first entry
        save_off_study(subject, actor=coordinator_a, values=_values(subject))
    with pytest.raises(ValidationError):
        save_off_study(
            subject, actor=coordinator_a, values={"off_study_reason": "death"}, record=record,
            expected_version=record.version, reason="",
        )  # fmt: skip
    corrected = save_off_study(
        subject,
        actor=coordinator_a,
        values={"off_study_date": _consent_date(subject) + dt.timedelta(days=1)},
        record=record,
        expected_version=record.version,
        reason="date from the source notes",
    )
    assert corrected.version == record.version + 1
    assert OffStudy.objects.filter(subject=subject).count() == 1


def test_a_withdrawn_subject_keeps_the_withdrawal_status(subject, coordinator_a):
    values = _values(subject, off_study_reason="withdrew_consent")
    consent = selectors.active_consent(subject)
    services.update_consent(
        consent,
        actor=coordinator_a,
        values={"withdrawn_at": timezone.now(), "withdrawal_reason": "Patient's decision"},
        expected_version=consent.version,
        reason="Consent withdrawn",
    )
    save_off_study(subject, actor=coordinator_a, values=values)  # the page stays open for it
    assert _fresh(subject).enrollment_status == "withdrawn"


def test_the_page_records_it_and_the_subject_page_says_since_when(
    client, subject, coordinator_a, monitor
):
    client.force_login(coordinator_a)
    detail = reverse("enrollment:subject", args=[subject.pk])
    assert reverse("enrollment:off-study", args=[subject.pk]) in client.get(detail).content.decode()
    url = reverse("enrollment:off-study", args=[subject.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False
    day = _consent_date(subject) + dt.timedelta(days=2)
    bad = client.post(
        url, {"off_study_date": (day + dt.timedelta(days=400)).isoformat(),
              "off_study_reason": "death"},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "in the future" in bad.content.decode()
    response = client.post(
        url, {"off_study_date": day.isoformat(), "off_study_reason": "lost_to_follow_up"}
    )
    assert response.status_code == 302, response.context["form"].errors
    html = client.get(detail).content.decode()
    assert f"off study since {day.isoformat()}" in html
    assert "Lost to follow-up" in html
    blocked = client.get(reverse("safety:ae-new", args=[subject.pk]))
    assert f"Off study since {day.isoformat()}" in blocked.content.decode()
    again = client.get(url)  # the record itself stays open for corrections
    assert again.status_code == 200 and again.context["readonly"] is False
    client.force_login(monitor)
    read = client.get(url)
    assert read.status_code == 200 and read.context["readonly"] is True


def test_the_api_records_reads_and_refuses_bad_dates(client, subject, coordinator_a, sponsor):
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/off-study/"
    assert client.get(url).status_code == 404
    before = (_consent_date(subject) - dt.timedelta(days=3)).isoformat()
    bad = client.put(
        url, {"off_study_date": before, "off_study_reason": "death"},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "off_study_date" in bad.json()["errors"] and "OFF-BEFORE-ICF" in str(bad.json())
    assert not OffStudy.objects.filter(subject=subject).exists()
    day = (_consent_date(subject) + dt.timedelta(days=1)).isoformat()
    created = client.put(
        url, {"off_study_date": day, "off_study_reason": "completed_follow_up"},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    assert client.get(url).json()["off_study_date"] == day
    missing = client.put(url, {"off_study_reason": "death"}, content_type="application/json")
    assert missing.status_code == 409
    client.force_login(sponsor)
    seen = client.get(url).json()
    assert "off_study_date" not in seen and seen["off_study_reason"] == "completed_follow_up"
