"""A positive RCL test or a monoclonal insertion site: a data query and the investigator told."""

from __future__ import annotations

import pytest
from django.core import mail

from efficacy import sample_import
from efficacy.models import RCLTest
from tests.efficacy.sample_data import RCL_HEADER, day, infused_subject
from trialsite.records.models import DataQuery, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def _import(subject, study, user, *rows, filename="rcl.csv"):
    content = RCL_HEADER + "".join(
        f"{subject.screening_number},{sid},{day(subject, d).isoformat()},{tp},vsvg_qpcr,{res},"
        f"{site},{pct}\n"
        for sid, d, tp, res, site, pct in rows
    )
    plan = sample_import.preview(
        content.encode(), kind="rcl", filename=filename, study=study, user=user
    )
    assert plan.error_count == 0, [r.errors for r in plan.rows]
    return sample_import.commit(plan, user=user, study=study)


def test_negative_tests_notify_nobody(subject, study, coordinator_a):
    _import(subject, study, coordinator_a, ("R-1", 90, "M3", "negative", "", ""))
    assert not Notification.objects.exists() and not DataQuery.objects.exists()


def test_a_positive_test_opens_a_query_and_notifies_the_investigator(
    subject, study, coordinator_a, investigator_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _import(subject, study, coordinator_a, ("R-1", 90, "M3", "positive", "", ""))
    record = RCLTest.objects.get()
    query = DataQuery.objects.get()
    assert (query.rule_ref, query.field, query.status) == ("RCL-POSITIVE", "result", "open")
    note = Notification.objects.get()
    assert note.recipient == investigator_a
    assert "Positive RCL test R-1" in note.message and str(subject) in note.message
    assert note.url.endswith(f"/efficacy/subjects/{subject.pk}/rcl/")
    assert note.target_id == str(record.pk)
    assert any("Positive RCL" in m.subject or "Positive RCL" in m.body for m in mail.outbox)
    # The same file again: no second notice.
    _import(subject, study, coordinator_a, ("R-1", 90, "M3", "positive", "", ""))
    assert Notification.objects.count() == 1


def test_a_result_corrected_to_positive_notifies_then(subject, study, coordinator_a,
                                                     investigator_a):  # fmt: skip
    _import(subject, study, coordinator_a, ("R-1", 90, "M3", "negative", "", ""))
    assert not Notification.objects.exists()
    _import(subject, study, coordinator_a, ("R-1", 90, "M3", "positive", "", ""), filename="v2.csv")
    assert Notification.objects.get().recipient == investigator_a


def test_a_monoclonal_insertion_site_is_flagged_too(subject, study, coordinator_a,
                                                   investigator_a):  # fmt: skip
    _import(subject, study, coordinator_a,
            ("R-2", 180, "M6", "negative", "monoclonal", "62.5"))  # fmt: skip
    assert DataQuery.objects.get().rule_ref == "RCL-MONOCLONAL"
    note = Notification.objects.get()
    assert "Monoclonal insertion site" in note.message and "62.50" in note.message
