"""Ending a cohort assignment before the infusion: the service, the freed slot, page and API."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from dosing import assignments, escalation, services
from dosing.models import CohortAssignment
from enrollment.models import Subject, SubjectStatus
from tests.dosing_data import assign, confirmed_subject, level, sign_decision, treated_subject
from trialsite.records.exceptions import StaleVersion, VersionRequired
from trialsite.records.models import AuditEvent
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db
WITHDREW = "The subject withdrew before the infusion"


def codes(excinfo) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in excinfo.value.error_dict.items()}


def data_version(study) -> int:
    return Study.objects.get(pk=study.pk).data_version


def test_ending_keeps_the_assignment_with_its_reason_audited_and_bumps_the_data_version(
    study, site_a, coordinator_a, investigator_a
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assignment = assign(subject, coordinator_a, 1)
    assert Subject.objects.get(pk=subject.pk).enrollment_status == SubjectStatus.ENROLLED
    before = data_version(study)
    ended = assignments.end_assignment(
        assignment, actor=coordinator_a, reason=WITHDREW, expected_version=assignment.version
    )
    assert (ended.is_active, ended.ended_reason, ended.version) == (False, WITHDREW, 2)
    assert CohortAssignment.objects.filter(pk=assignment.pk).exists()  # never deleted
    event = (
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(CohortAssignment),
            object_id=str(assignment.pk),
        )
        .order_by("-pk")
        .first()
    )
    assert event.reason == WITHDREW and event.changes["is_active"] == [True, False]
    assert data_version(study) > before
    # The subject is eligible again (the confirmation still holds) ...
    assert Subject.objects.get(pk=subject.pk).enrollment_status == SubjectStatus.ELIGIBLE
    # ... and gone from the escalation engine's inputs.
    assert escalation.escalation_inputs(study) == []
    with pytest.raises(ValidationError) as again:
        assignments.end_assignment(
            ended, actor=coordinator_a, reason="twice", expected_version=ended.version
        )
    assert codes(again) == {"reason": ["already_ended"]}


def test_a_reason_and_the_version_read_are_required(study, site_a, coordinator_a, investigator_a):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assignment = assign(subject, coordinator_a, 1)
    with pytest.raises(ValidationError) as no_reason:
        assignments.end_assignment(
            assignment, actor=coordinator_a, reason="  ", expected_version=assignment.version
        )
    assert codes(no_reason) == {"reason": ["reason_required"]}
    with pytest.raises(ValidationError) as too_long:
        assignments.end_assignment(
            assignment, actor=coordinator_a, reason="x" * 201, expected_version=1
        )
    assert codes(too_long) == {"reason": ["reason_too_long"]}
    with pytest.raises(VersionRequired):
        assignments.end_assignment(
            assignment, actor=coordinator_a, reason=WITHDREW, expected_version=None
        )
    with pytest.raises(StaleVersion):
        assignments.end_assignment(
            assignment, actor=coordinator_a, reason=WITHDREW, expected_version=7
        )
    assert CohortAssignment.objects.get(pk=assignment.pk).is_active


def test_the_ended_assignment_frees_its_slot_and_a_change_of_level_goes_through_the_gate(
    study, site_a, coordinator_a, investigator_a
):
    first = confirmed_subject(site_a, coordinator_a, investigator_a, initials="AA")
    second = confirmed_subject(site_a, coordinator_a, investigator_a, initials="BB")
    sign_decision(study, investigator_a, 1, slots=1)
    taken = services.assign_subject(first, actor=coordinator_a, dose_level=level(study, 1))
    with pytest.raises(ValidationError) as full:
        services.assign_subject(second, actor=coordinator_a, dose_level=level(study, 1))
    assert codes(full) == {"dose_level": ["slots_full"]}
    assignments.end_assignment(
        taken,
        actor=coordinator_a,
        reason="The product failed release: sterility",
        expected_version=taken.version,
    )
    assert services.open_slots(study)[1] == 1
    moved = services.assign_subject(second, actor=coordinator_a, dose_level=level(study, 1))
    assert moved.is_active and moved.decision_id == taken.decision_id
    # The first subject's new level needs a slot the gate opens: none at DL2 yet.
    with pytest.raises(ValidationError) as closed:
        services.assign_subject(first, actor=coordinator_a, dose_level=level(study, 2))
    assert codes(closed) == {"dose_level": ["level_closed"]}
    sign_decision(study, investigator_a, 2, slots=1)
    again = services.assign_subject(first, actor=coordinator_a, dose_level=level(study, 2))
    assert again.dose_level.level == 2
    assert CohortAssignment.objects.filter(subject=first).count() == 2


def test_an_infused_subjects_assignment_is_never_ended(
    study, site_a, coordinator_a, investigator_a
):
    subject, _day0 = treated_subject(site_a, coordinator_a, investigator_a)
    assignment = CohortAssignment.objects.get(subject=subject)
    before = data_version(study)
    with pytest.raises(ValidationError) as refused:
        assignments.end_assignment(
            assignment, actor=coordinator_a, reason="mistake", expected_version=assignment.version
        )
    assert codes(refused) == {"reason": ["already_infused"]}
    assert CohortAssignment.objects.get(pk=assignment.pk).is_active
    assert data_version(study) == before


def test_the_page_ends_it_and_readers_see_the_reason(
    client, study, site_a, coordinator_a, investigator_a, monitor
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assignment = assign(subject, coordinator_a, 1)
    url = reverse("dosing:end-assignment", args=[subject.pk])
    client.force_login(coordinator_a)
    section = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert url in section and 'data-testid="end-assignment-link"' in section
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False
    other = client.post(url, {"version": assignment.version, "why": "other", "details": ""})
    assert other.status_code == 400 and other.context["form"].errors["details"]
    stale = client.post(url, {"version": assignment.version + 3, "why": WITHDREW})
    assert stale.status_code == 400 and stale.context["form"].non_field_errors()
    done = client.post(
        url, {"version": assignment.version, "why": WITHDREW, "details": "moved abroad"}
    )
    assert done.status_code == 302
    ended = CohortAssignment.objects.get(pk=assignment.pk)
    assert (ended.is_active, ended.ended_reason) == (False, f"{WITHDREW}: moved abroad")
    section = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert 'data-testid="ended-assignments"' in section and "moved abroad" in section
    client.force_login(monitor)
    read = client.get(url)
    assert read.status_code == 200 and read.context["readonly"] is True
    assert "moved abroad" in read.content.decode()
    assert client.post(url, {"version": 2, "why": WITHDREW}).status_code == 403


def test_the_page_is_read_only_after_the_infusion(
    client, study, site_a, coordinator_a, investigator_a
):
    subject, _day0 = treated_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    section = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert 'data-testid="end-assignment-link"' not in section
    page = client.get(reverse("dosing:end-assignment", args=[subject.pk]))
    assert page.status_code == 200 and page.context["readonly"] is True
    assert "cannot be ended" in page.content.decode()


def test_the_api_needs_the_version_read_and_a_reason(
    client, study, site_a, coordinator_a, investigator_a, monitor
):
    subject = confirmed_subject(site_a, coordinator_a, investigator_a)
    assignment = assign(subject, coordinator_a, 1)
    url = f"/api/v1/subjects/{subject.pk}/assignment/end/"
    client.force_login(monitor)
    assert client.post(url, {"reason": WITHDREW, "version": 1}).status_code == 403
    client.force_login(coordinator_a)
    assert client.get(url).json() == []
    missing = client.post(url, {"reason": WITHDREW}, content_type="application/json")
    assert missing.status_code == 428 and missing.json()["current_version"] == assignment.version
    stale = client.post(url, {"reason": WITHDREW, "version": 9}, content_type="application/json")
    assert stale.status_code == 409
    no_reason = client.post(url, {"version": 1}, content_type="application/json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    done = client.post(
        url, {"reason": WITHDREW, "version": assignment.version}, content_type="application/json"
    )
    assert done.status_code == 200
    assert (done.json()["is_active"], done.json()["ended_reason"]) == (False, WITHDREW)
    assert [a["id"] for a in client.get(url).json()] == [assignment.pk]
    nothing = client.post(url, {"reason": WITHDREW, "version": 2}, content_type="application/json")
    assert nothing.status_code == 404
