"""CSV import of lab results: preview with row errors, commit, idempotence, audit, progress."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from safety import lab_import
from safety.models import LabPanel, LabResult
from tests.safety.lab_data import at_day, infused_subject
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db

HEADER = "subject,accession_number,collected_at,specimen,lab_name,test,value,unit,lln,uln\n"


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def when(subject, day):
    return at_day(subject, day).strftime("%Y-%m-%d %H:%M")


def csv_for(subject, *rows):
    lines = [HEADER]
    for accession, day, test, value, unit in rows:
        lines.append(
            f"{subject.screening_number},{accession},{when(subject, day)},blood,Central,"
            f"{test},{value},{unit},,\n"
        )
    return "".join(lines).encode()


def test_the_preview_shows_row_errors_and_writes_nothing(subject, study, coordinator_a):
    content = (
        csv_for(
            subject,
            ("A1", 1, "ANC", "0.4", "10^9/L"),
            ("A1", 1, "PLT", "45", "g/L"),
            ("A1", 1, "XYZ", "1", "U/L"),
            ("A1", 1, "HGB", "eight", "g/dL"),
        )
        + b"NOPE-1,A2,2025-01-01 08:00,blood,,ANC,1,10^9/L,,\n"
        + (f"{subject.screening_number},A3,31-Foo-2025,blood,,ANC,1,10^9/L,,\n".encode())
    )
    plan = lab_import.preview(content, filename="labs.csv", study=study, user=coordinator_a)
    by_line = {r.line: r for r in plan.rows}
    assert by_line[2].action == "create" and not by_line[2].errors
    assert "accepted units" in by_line[3].errors["unit"]
    assert "Unknown test" in by_line[4].errors["test"]
    assert "number" in by_line[5].errors["value"]
    assert "Unknown subject" in by_line[6].errors["subject"]
    assert "collected_at" in by_line[7].errors
    assert plan.summary == {"create": 1, "update": 0, "unchanged": 0, "error": 5}
    assert not LabPanel.objects.exists()
    with pytest.raises(ValueError):
        lab_import.commit(plan, user=coordinator_a)


def test_a_subject_of_another_site_is_unknown_to_the_importer(subject, study, coordinator_b):
    content = csv_for(subject, ("A1", 1, "ANC", "0.4", "10^9/L"))
    plan = lab_import.preview(content, filename="labs.csv", study=study, user=coordinator_b)
    assert "subject" in plan.rows[0].errors


def test_missing_columns_are_a_file_error(study, coordinator_a):
    plan = lab_import.preview(b"subject,test\nX,ANC\n", filename="x.csv", study=study,
                              user=coordinator_a)  # fmt: skip
    assert plan.file_errors and "accession_number" in plan.file_errors[0]


def test_commit_is_idempotent_and_a_changed_value_is_an_audited_update(
    subject, study, coordinator_a
):
    rows = [("A1", 1, "ANC", "0.4", "10^9/L"), ("A1", 1, "PLT", "45", "10^9/L"),
            ("B7", 3, "ANC", "0.9", "10^9/L")]  # fmt: skip
    content = csv_for(subject, *rows)
    plan = lab_import.preview(content, filename="day1.csv", study=study, user=coordinator_a)
    assert lab_import.commit(plan, user=coordinator_a)["create"] == 3
    assert LabPanel.objects.count() == 2 and LabResult.objects.count() == 3
    anc = LabResult.objects.get(panel__accession_number="A1", test_code="ANC")
    assert anc.grade == 4
    audit_rows = AuditEvent.objects.count()
    # The same file again: every row unchanged, nothing written.
    again = lab_import.preview(content, filename="day1.csv", study=study, user=coordinator_a)
    assert again.summary["unchanged"] == 3
    lab_import.commit(again, user=coordinator_a)
    assert AuditEvent.objects.count() == audit_rows
    # A corrected file: one update, audited with the file's name as the reason.
    rows[0] = ("A1", 1, "ANC", "0.6", "10^9/L")
    fixed = lab_import.preview(csv_for(subject, *rows), filename="day1-v2.csv", study=study,
                               user=coordinator_a)  # fmt: skip
    assert fixed.summary == {"create": 0, "update": 1, "unchanged": 2, "error": 0}
    lab_import.commit(fixed, user=coordinator_a)
    anc.refresh_from_db()
    assert anc.grade == 3
    change = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(LabResult),
        object_id=str(anc.pk),
        action="update",
    ).get()
    assert change.reason == "import day1-v2.csv" and change.changes["value"][1] == "0.6"


def test_the_page_previews_then_commits_with_progress(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:lab-import")
    assert client.get(url).status_code == 200
    upload = csv_for(subject, ("A1", 1, "ANC", "0.4", "10^9/L"))
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(url, {"file": SimpleUploadedFile("labs.csv", upload)})
    assert response.status_code == 200 and not LabPanel.objects.exists()
    token = response.context["token"]
    response = client.post(url, {"token": token})
    assert response.status_code == 200
    assert LabResult.objects.get().grade == 4  # eager task in tests
    status = client.get(reverse("safety:lab-import-status", args=[token])).json()
    assert status["state"] == "done" and status["done"] == status["total"] == 1


def test_the_page_shows_row_errors_and_offers_no_confirmation(client, subject, coordinator_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(coordinator_a)
    upload = csv_for(subject, ("A1", 1, "ANC", "0.4", "mg"))
    response = client.post(
        reverse("safety:lab-import"), {"file": SimpleUploadedFile("labs.csv", upload)}
    )
    body = response.content.decode()
    assert "accepted units" in body and "confirm-import" not in body
