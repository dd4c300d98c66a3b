"""The study audit trail as an inspector uses it (issue 10 §15).

Before: one 3,000 px table with the reason off-screen, every eligibility recompute dumped as raw
JSON (967 KiB for 50 rows), column names and usernames, no filter, no export, and only monitors
and data managers could read it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import StreamingHttpResponse
from django.urls import reverse

from enrollment import services
from enrollment.models import EligibilityAssessment, ScreeningLabs
from tests.conftest import _member
from tests.enrollment_data import screen_eligible_subject
from trialsite.records import audit_log
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db

CREATININE = str(ScreeningLabs._meta.get_field("creatinine").verbose_name)
HISTORY_QUERIES = 12  # session, user, memberships…, the record, its events with actors


@pytest.fixture
def screened(site_a, site_b, coordinator_a, coordinator_b, investigator_a):
    """A subject screened at each site; site A's creatinine corrected with a reason."""
    subject_a = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    investigator_b = _member("investigator", site_b, username="inv_b")
    subject_b = screen_eligible_subject(site_b, coordinator_b, investigator_b, initials="ZQ")
    labs = ScreeningLabs.objects.get(subject=subject_a)
    services.save_screening_crf(
        subject_a,
        ScreeningLabs,
        actor=coordinator_a,
        values={"creatinine": labs.creatinine + Decimal("0.1")},
        expected_version=labs.version,
        reason="Transcription error, see source",
    )
    return subject_a, subject_b, labs


def page(client, **params):
    response = client.get(reverse("audit-trail"), params)
    assert response.status_code == 200
    return response


def test_rows_show_field_labels_full_names_and_the_reason(client, monitor, coordinator_a, screened):
    client.force_login(monitor)
    html = page(client, action="update").content.decode()
    assert CREATININE in html
    assert "<code>creatinine</code>" not in html
    assert coordinator_a.get_full_name() in html
    assert "Transcription error, see source" in html
    # The reason is a column of its own, before the changes, in a table that fits the page.
    assert 'class="table table-sm align-top audit-table"' in html  # fixed layout (trialsite.css)


def test_recomputes_are_system_events_summarised_not_dumped(client, monitor, screened):
    client.force_login(monitor)
    clinical = page(client)
    assert all(
        not row.summary and row.event.content_type.model != "eligibilityassessment"
        for row in clinical.context["rows"]
    )
    system = page(client, kind="system")
    rows = system.context["rows"]
    assert rows and all(row.summary for row in rows)
    html = system.content.decode()
    assert '"threshold"' not in html and "'threshold'" not in html
    assert len(html) < 100_000  # was 967 KiB for 50 rows


def test_a_coordinator_reads_only_their_sites_history(
    client, coordinator_a, coordinator_b, screened
):
    subject_a, subject_b, _labs = screened
    client.force_login(coordinator_b)
    rows = page(client).context["rows"]
    assert rows and {row.event.subject_pk for row in rows} == {subject_b.pk}
    client.force_login(coordinator_a)
    export = client.get(reverse("audit-export"))
    lines = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert lines and str(subject_b) not in {line["record"].split(" ")[0] for line in lines}


def test_filters_by_subject_user_action_date_and_record(
    client, monitor, coordinator_a, coordinator_b, screened
):
    subject_a, subject_b, labs = screened
    client.force_login(monitor)
    by_subject = page(client, subject=subject_b.pk).context["rows"]
    assert by_subject and {r.event.subject_pk for r in by_subject} == {subject_b.pk}
    by_user = page(client, user=coordinator_b.pk).context["rows"]
    assert by_user and {r.event.actor_id for r in by_user} == {coordinator_b.pk}
    updates = page(client, action="update").context["rows"]
    assert [r.event.reason for r in updates] == ["Transcription error, see source"]
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    assert page(client, date_from=tomorrow.isoformat()).context["rows"] == []
    ct = ContentType.objects.get_for_model(ScreeningLabs).pk
    one = page(client, record=f"{ct}:{labs.pk}").context["rows"]
    assert [r.event.action for r in one] == ["update", "create"]


def test_each_row_links_to_the_records_history_and_back(client, monitor, screened):
    _a, _b, labs = screened
    client.force_login(monitor)
    ct = ContentType.objects.get_for_model(ScreeningLabs).pk
    history = reverse("records:history", args=[ct, labs.pk])
    assert history in page(client, record=f"{ct}:{labs.pk}").content.decode()
    back = client.get(history).content.decode()
    assert f"kind=clinical&amp;record={ct}:{labs.pk}" in back


def test_the_page_is_paginated(client, monitor, screened):
    client.force_login(monitor)
    total = AuditEvent.objects.exclude(audit_log.system_events()).count()
    response = page(client)
    assert len(response.context["rows"]) == min(total, 50)
    assert response.context["page"].paginator.count == total


def test_the_csv_streams_the_filtered_rows_with_values_in_full(client, monitor, screened):
    client.force_login(monitor)
    response = client.get(reverse("audit-export"), {"action": "update"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [line["field"] for line in lines] == [CREATININE]
    assert lines[0]["reason"] == "Transcription error, see source"
    system = client.get(reverse("audit-export"), {"kind": "system"})
    rows = list(csv.DictReader(io.StringIO(b"".join(system.streaming_content).decode())))
    assert rows and {row["event"] for row in rows} == {"system"}


def test_the_study_administrator_does_not_read_the_clinical_audit_trail(client, study_admin):
    client.force_login(study_admin)
    assert client.get(reverse("audit-trail")).status_code == 403
    assert client.get(reverse("audit-export")).status_code == 403


def test_the_filtered_page_takes_a_fixed_number_of_queries(
    client, monitor, screened, django_assert_num_queries
):
    client.force_login(monitor)
    subject_a, _b, _labs = screened
    audit_log.derived_content_types()  # content types are cached after their first use
    page(client)
    # session, user, current study, memberships, the filter's subjects and users, row count,
    # switcher studies, rows, and the session save (savepoint, update, release)
    for params in ({}, {"kind": "system", "subject": subject_a.pk, "action": "create"}):
        with django_assert_num_queries(12):
            page(client, **params)


def test_eligibility_rows_are_marked_derived(screened):
    subject_a, _b, _labs = screened
    assessment = EligibilityAssessment.objects.get(subject=subject_a)
    ct = ContentType.objects.get_for_model(EligibilityAssessment)
    events = AuditEvent.objects.filter(content_type=ct, object_id=str(assessment.pk))
    assert events and all(e.derived for e in events)


def test_a_records_history_names_people_by_full_name_with_the_username_beside(
    client, monitor, coordinator_a, screened, django_assert_num_queries
):
    """Issue 10: the per-record history showed ``coord_a``; an inspector reads who, by name."""
    _a, _b, labs = screened
    client.force_login(monitor)
    ct = ContentType.objects.get_for_model(ScreeningLabs).pk
    url = reverse("records:history", args=[ct, labs.pk])
    response = client.get(url)
    html = response.content.decode()
    full_name = coordinator_a.get_full_name()
    assert full_name
    assert f'title="{coordinator_a.username}">{full_name} <span class="small text-muted">' in html
    assert f"{coordinator_a.username}</span>" in html
    # The actors come with the events: the count does not grow with the rows (was one per row).
    with django_assert_num_queries(HISTORY_QUERIES):
        client.get(url)
