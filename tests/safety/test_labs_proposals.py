"""Proposed AEs from graded lab abnormalities: when they are proposed, confirm, dismiss."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from safety.models import AdverseEvent, AESource, CTCAETerm, LabAEProposal, LabResult
from safety.services import confirm_lab_proposal, dismiss_lab_proposal, save_lab_panel
from tests.safety.lab_data import infused_subject, panel
from trialsite.records.exceptions import VersionRequired
from trialsite.records.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def proposals(subject):
    return list(
        LabAEProposal.objects.filter(subject=subject)
        .order_by("result__panel__collected_at")
        .values_list("ctcae_term", "grade", "previous_grade", "decision")
    )


def test_a_new_abnormality_and_a_higher_grade_are_proposed_not_a_same_or_lower_one(
    subject, coordinator_a
):
    for day, anc in ((1, "1.6"), (2, "1.2"), (3, "1.1"), (4, "0.4"), (5, "0.8"), (9, "2.0"),
                     (12, "1.4")):  # fmt: skip
        panel(subject, coordinator_a, day, ("ANC", anc))
    assert proposals(subject) == [
        ("Neutrophil count decreased", 1, None, "pending"),
        ("Neutrophil count decreased", 2, 1, "pending"),
        ("Neutrophil count decreased", 4, 2, "pending"),
        ("Neutrophil count decreased", 2, 0, "pending"),  # after recovery: a new abnormality
    ]


def test_h_l_only_tests_and_values_before_consent_propose_nothing(subject, coordinator_a):
    panel(subject, coordinator_a, 1, ("CRP", "150"), ("FERRITIN", "9000"))
    panel(subject, coordinator_a, -25, ("ANC", "0.4"))  # 45 days ago; consent 40 days ago
    assert LabResult.objects.get(test_code="ANC").grade == 4
    assert proposals(subject) == []


def test_a_corrected_value_withdraws_its_pending_proposal(subject, coordinator_a):
    saved = panel(subject, coordinator_a, 1, ("PLT", "20"))
    result = LabResult.objects.get(panel=saved)
    save_lab_panel(
        subject,
        actor=coordinator_a,
        values={},
        results=[{"test_code": "PLT", "value": "200", "version": result.version}],
        record=saved,
        expected_version=saved.version,
        reason="wrong sample",
    )
    assert proposals(subject) == [("Platelet count decreased", 4, None, "withdrawn")]


def test_confirming_records_an_ae_with_the_ctcae_term_and_grade(subject, coordinator_a):
    shipped = CTCAETerm.objects.get(term="Neutrophil count decreased")  # the shipped term list
    panel(subject, coordinator_a, 2, ("ANC", "0.8"))
    proposal = LabAEProposal.objects.get(subject=subject)
    event = confirm_lab_proposal(proposal, actor=coordinator_a, expected_version=proposal.version)
    assert (event.source, event.grade, event.term) == (AESource.LAB, 3, shipped)
    assert event.term.dlt_category == "hematologic" and event.term.meddra_code == 10029366
    assert event.onset_date == subject.day0 + dt.timedelta(days=2)
    proposal.refresh_from_db()
    assert (proposal.decision, proposal.decided_by, proposal.adverse_event) == (
        "confirmed", coordinator_a, event,
    )  # fmt: skip
    assert AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(LabAEProposal),
        object_id=str(proposal.pk),
        action="update",
    ).exists()
    # A later, higher grade of the same term updates the ongoing AE's grade history.
    panel(subject, coordinator_a, 4, ("ANC", "0.3"))
    later = LabAEProposal.objects.filter(subject=subject, decision="pending").get()
    same = confirm_lab_proposal(later, actor=coordinator_a, expected_version=later.version)
    assert same.pk == event.pk and same.grade == 4 and same.worst_grade == 4
    assert AdverseEvent.objects.filter(subject=subject).count() == 1
    assert list(same.grade_steps.values_list("grade", flat=True)) == [3, 4]


def test_a_decision_needs_the_version_read_and_is_taken_once(subject, coordinator_a):
    panel(subject, coordinator_a, 2, ("ANC", "0.8"))
    proposal = LabAEProposal.objects.get(subject=subject)
    with pytest.raises(VersionRequired):
        confirm_lab_proposal(proposal, actor=coordinator_a, expected_version=None)
    dismiss_lab_proposal(
        proposal, actor=coordinator_a, expected_version=proposal.version,
        reason="expected cytopenia after lymphodepletion, reported on the AE log",
    )  # fmt: skip
    proposal.refresh_from_db()
    assert proposal.decision == "dismissed" and "expected cytopenia" in proposal.dismiss_reason
    with pytest.raises(ValidationError) as excinfo:
        confirm_lab_proposal(proposal, actor=coordinator_a, expected_version=proposal.version)
    assert excinfo.value.error_dict["decision"][0].code == "already_decided"
    assert not AdverseEvent.objects.exists()


def test_dismissing_needs_a_reason(subject, coordinator_a):
    panel(subject, coordinator_a, 2, ("PLT", "40"))
    proposal = LabAEProposal.objects.get(subject=subject)
    with pytest.raises(ValidationError) as excinfo:
        dismiss_lab_proposal(
            proposal, actor=coordinator_a, expected_version=proposal.version, reason="  "
        )
    assert excinfo.value.error_dict["dismiss_reason"][0].code == "required"
