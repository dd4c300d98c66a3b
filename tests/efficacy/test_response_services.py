"""Response assessments through the service: golden cases A and B (CASES.md) entered as data
in the database and the *stored* category and MRD status asserted, bad input refused with field
errors and nothing saved, the investigator's confirmation and override (issue #13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from efficacy.models import ResponseAssessment
from efficacy.services import (
    classify,
    confirm_response,
    save_disease_event,
    save_response_assessment,
)
from tests.efficacy.efficacy_data import infused_on, marrow, set_screening_blasts
from trialsite.records.exceptions import StaleVersion, VersionRequired
from trialsite.records.models import AuditEvent, RecordStatus, Signature

pytestmark = pytest.mark.django_db

DAY0 = dt.date(2025, 6, 1)
M1 = DAY0 + dt.timedelta(days=28)


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_on(site_a, coordinator_a, investigator_a, DAY0)


def _codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


def _save(subject, actor, **values):
    base = marrow(M1, baseline_bm_blasts_entered=Decimal(60))
    return save_response_assessment(subject, actor=actor, values={**base, **values})


ELN_CASES = [
    ("ELN-01", {"bm_blasts_pct": "2", "anc_10e9_l": "1.5", "platelets_10e9_l": "150"}, "CR"),
    ("ELN-02", {"bm_blasts_pct": "2", "anc_10e9_l": "1.0", "platelets_10e9_l": "100"}, "CR"),
    ("ELN-03", {"bm_blasts_pct": "2", "anc_10e9_l": "0.8", "platelets_10e9_l": "60"}, "CRh"),
    ("ELN-04", {"bm_blasts_pct": "2", "anc_10e9_l": "0.5", "platelets_10e9_l": "50"}, "CRh"),
    ("ELN-05", {"bm_blasts_pct": "2", "anc_10e9_l": "1.2", "platelets_10e9_l": "40"}, "CRi"),
    ("ELN-06", {"bm_blasts_pct": "2", "anc_10e9_l": "0.4", "platelets_10e9_l": "120"}, "CRi"),
    (
        "ELN-08",
        {
            "bm_blasts_pct": "2",
            "anc_10e9_l": "0.3",
            "platelets_10e9_l": "30",
            "bm_cells_counted": 120,
            "bm_cellularity_pct": "5",
        },
        "NE",
    ),
    ("ELN-09", {"bm_blasts_pct": "4.9", "anc_10e9_l": "1.5", "platelets_10e9_l": "150"}, "CR"),
    ("ELN-12", {"bm_blasts_pct": "20", "anc_10e9_l": "1.5", "platelets_10e9_l": "110"}, "PR"),
    (
        "ELN-13",
        {
            "bm_blasts_pct": "22",
            "anc_10e9_l": "1.5",
            "platelets_10e9_l": "110",
            "baseline_bm_blasts_entered": "40",
        },
        "NR",
    ),
    (
        "ELN-15",
        {
            "bm_blasts_pct": "26",
            "anc_10e9_l": "1.5",
            "platelets_10e9_l": "150",
            "baseline_bm_blasts_entered": "80",
        },
        "NR",
    ),
    (
        "ELN-16",
        {
            "bm_blasts_pct": "2",
            "anc_10e9_l": "1.5",
            "platelets_10e9_l": "150",
            "pb_blasts": "yes",
            "pb_blasts_pct": "3",
        },
        "NR",
    ),
    (
        "ELN-17",
        {
            "bm_blasts_pct": "2",
            "anc_10e9_l": "1.5",
            "platelets_10e9_l": "150",
            "extramedullary_disease": "yes",
        },
        "NR",
    ),
    (
        "ELN-19",
        {
            "bm_blasts_pct": None,
            "anc_10e9_l": "1.5",
            "platelets_10e9_l": "150",
            "bm_adequacy": "not_done",
        },
        "NE",
    ),
]


def _decimals(values: dict) -> dict:
    numeric = {"bm_blasts_pct", "anc_10e9_l", "platelets_10e9_l", "bm_cellularity_pct"}
    numeric |= {"pb_blasts_pct", "baseline_bm_blasts_entered"}
    return {k: Decimal(v) if k in numeric and v is not None else v for k, v in values.items()}


@pytest.mark.parametrize("case, values, expected", ELN_CASES, ids=[c[0] for c in ELN_CASES])
def test_eln_golden_cases_are_stored(subject, coordinator_a, case, values, expected):
    saved = _save(subject, coordinator_a, **_decimals(values))
    saved.refresh_from_db()
    assert saved.computed_category == expected
    assert saved.category_of_record == expected
    assert saved.computed_reason.startswith(expected if expected != "NR" else "No response")


MRD_CASES = [
    ("MRD-01", {"anc_10e9_l": "1.5", "platelets_10e9_l": "150"}, 8, 100_000, "CR", "negative"),
    ("MRD-03", {"anc_10e9_l": "1.2", "platelets_10e9_l": "40"}, 0, 250_000, "CRi", "negative"),
    ("MRD-05", {"anc_10e9_l": "0.8", "platelets_10e9_l": "60"}, 15, 500_000, "CRh", "negative"),
    (
        "MRD-06",
        {"anc_10e9_l": "0.3", "platelets_10e9_l": "30"},
        0,
        200_000,
        "MLFS",
        "not_applicable",
    ),
    ("MRD-08", {"anc_10e9_l": "1.5", "platelets_10e9_l": "150"}, 9, 60_000, "CR", "positive"),
    (
        "MRD-09",
        {"anc_10e9_l": "1.5", "platelets_10e9_l": "150"},
        5,
        60_000,
        "CR",
        "not_evaluable",
    ),
]


@pytest.mark.parametrize(
    "case, counts, events, cells, category, mrd", MRD_CASES, ids=[c[0] for c in MRD_CASES]
)
def test_mrd_golden_cases_are_stored(
    subject, coordinator_a, case, counts, events, cells, category, mrd
):
    saved = _save(
        subject,
        coordinator_a,
        **_decimals(counts),
        flow_leukemic_events=events,
        flow_cells_acquired=cells,
    )
    saved.refresh_from_db()
    assert (saved.computed_category, saved.mrd_status) == (category, mrd)


def test_the_sentence_names_the_deciding_values(subject, coordinator_a):
    saved = _save(
        subject, coordinator_a, anc_10e9_l=Decimal("0.4"), platelets_10e9_l=Decimal("120")
    )
    assert saved.computed_category == "CRi"
    assert "ANC 0.4 < 1 ×10⁹/L" in saved.computed_reason
    assert "platelets 120 ≥ 100" in saved.computed_reason


def test_screening_marrow_is_the_baseline(subject, coordinator_a):
    """ELN-13's 22 % is a PR against a screening marrow of 60 % (the typed 40 % is ignored)."""
    set_screening_blasts(subject, coordinator_a, 60)
    saved = _save(
        subject,
        coordinator_a,
        bm_blasts_pct=Decimal(22),
        platelets_10e9_l=Decimal(110),
        baseline_bm_blasts_entered=Decimal(40),
    )
    assert saved.computed_category == "PR"
    assert (saved.baseline_bm_blasts_pct, saved.baseline_source) == (Decimal(60), "screening")


def test_study_settings_reach_the_rule(subject, coordinator_a, study):
    """cri_rule=inclusive: blasts < 5 % with neither lineage recovered is CRi, not MLFS."""
    counts = {"anc_10e9_l": Decimal("0.3"), "platelets_10e9_l": Decimal("30")}
    assert classify(subject, marrow(M1, **counts)).category == "MLFS"
    study.settings = {**study.settings, "efficacy": {"cri_rule": "inclusive"}}
    study.save(update_fields=["settings"])
    subject.refresh_from_db()
    saved = save_response_assessment(subject, actor=coordinator_a, values=marrow(M1, **counts))
    assert saved.computed_category == "CRi"
    assert saved.rule_settings["cri_rule"] == "inclusive"


# --- Bad input: field errors, nothing saved ---------------------------------------------------


@pytest.mark.parametrize(
    "values, field, code",
    [
        ({"bm_blasts_pct": Decimal("100.5")}, "bm_blasts_pct", "out_of_range"),
        ({"bm_cellularity_pct": Decimal("-1")}, "bm_cellularity_pct", "out_of_range"),
        (
            {"flow_leukemic_events": 500, "flow_cells_acquired": 100},
            "flow_cells_acquired",
            "below_events",
        ),
        ({"assessment_date": DAY0 - dt.timedelta(days=1)}, "assessment_date", "before_day0"),
    ],
)
def test_bad_input_is_refused(subject, coordinator_a, values, field, code):
    with pytest.raises(ValidationError) as excinfo:
        _save(subject, coordinator_a, **values)
    assert code in _codes(excinfo, field)
    assert not ResponseAssessment.objects.exists()


def test_no_day0_is_refused(site_a, coordinator_a, investigator_a):
    from tests.enrollment_data import register_and_consent

    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        _save(subject, coordinator_a)
    assert "no_day0" in _codes(excinfo, "assessment_date")
    assert not ResponseAssessment.objects.exists()


def test_one_assessment_per_scheduled_visit(subject, coordinator_a):
    _save(subject, coordinator_a)
    with pytest.raises(ValidationError) as excinfo:
        _save(subject, coordinator_a, assessment_date=M1 + dt.timedelta(days=1))
    assert "one_per_visit" in _codes(excinfo, "timepoint")
    _save(subject, coordinator_a, timepoint="UNS", assessment_date=M1 + dt.timedelta(days=2))
    _save(subject, coordinator_a, timepoint="UNS", assessment_date=M1 + dt.timedelta(days=3))
    assert ResponseAssessment.objects.count() == 3


def test_assessment_after_death_is_refused(subject, coordinator_a):
    save_disease_event(
        subject,
        actor=coordinator_a,
        values={"event_type": "death", "event_date": M1 - dt.timedelta(days=1), "death_cause": "x"},
    )
    with pytest.raises(ValidationError) as excinfo:
        _save(subject, coordinator_a)
    assert "after_death" in _codes(excinfo, "assessment_date")


def test_correction_needs_the_version_it_read(subject, coordinator_a):
    saved = _save(subject, coordinator_a)
    with pytest.raises(VersionRequired):
        save_response_assessment(
            subject, actor=coordinator_a, values={"anc_10e9_l": Decimal("0.6")}, record=saved,
            reason="typo",
        )  # fmt: skip
    with pytest.raises(StaleVersion):
        save_response_assessment(
            subject, actor=coordinator_a, values={"anc_10e9_l": Decimal("0.6")}, record=saved,
            expected_version=saved.version + 1, reason="typo",
        )  # fmt: skip
    fixed = save_response_assessment(
        subject, actor=coordinator_a, values={"anc_10e9_l": Decimal("0.6")}, record=saved,
        expected_version=saved.version, reason="ANC typo",
    )  # fmt: skip
    assert fixed.computed_category == "CRh" and fixed.version == saved.version + 1


# --- Confirmation and override ----------------------------------------------------------------


def test_investigator_confirms_with_the_password(subject, coordinator_a, investigator_a, password):
    saved = _save(subject, coordinator_a)
    with pytest.raises(ValidationError) as excinfo:
        confirm_response(
            saved, actor=investigator_a, password="wrong", expected_version=saved.version
        )
    assert "bad_password" in _codes(excinfo, "password")
    confirmed = confirm_response(
        saved, actor=investigator_a, password=password, expected_version=saved.version
    )
    assert (confirmed.decision, confirmed.category_of_record) == ("confirmed", "CR")
    assert confirmed.status == RecordStatus.SIGNED
    assert Signature.objects.get(object_id=str(saved.pk)).signer == investigator_a


def test_coordinator_cannot_confirm(subject, coordinator_a, password):
    saved = _save(subject, coordinator_a)
    with pytest.raises(ValidationError) as excinfo:
        confirm_response(saved, actor=coordinator_a, password=password, expected_version=1)
    assert excinfo.value.code == "not_investigator"


def test_override_needs_a_reason_and_keeps_both(subject, coordinator_a, investigator_a, password):
    saved = _save(subject, coordinator_a, anc_10e9_l=Decimal("0.4"), platelets_10e9_l=Decimal(120))
    with pytest.raises(ValidationError) as excinfo:
        confirm_response(
            saved, actor=investigator_a, password=password, expected_version=saved.version,
            override_category="CR", reason=" ",
        )  # fmt: skip
    assert "reason_required" in _codes(excinfo, "reason")
    saved.refresh_from_db()
    assert saved.decision == "" and saved.version == 1
    overridden = confirm_response(
        saved, actor=investigator_a, password=password, expected_version=saved.version,
        override_category="CR", reason="ANC 1.1 on the same-day repeat count",
    )  # fmt: skip
    assert overridden.computed_category == "CRi"
    assert overridden.category_of_record == "CR" and overridden.overridden
    event = AuditEvent.objects.filter(object_id=str(saved.pk), action="update").latest("pk")
    assert "ANC 1.1" in event.reason
    assert event.changes["decided_category"] == [None, "CR"] or (
        event.changes["decided_category"][1] == "CR"
    )


def test_a_new_computed_category_clears_the_decision(
    subject, coordinator_a, investigator_a, password
):
    saved = _save(subject, coordinator_a)
    confirmed = confirm_response(
        saved, actor=investigator_a, password=password, expected_version=saved.version
    )
    changed = save_response_assessment(
        subject, actor=coordinator_a, values={"anc_10e9_l": Decimal("0.6")}, record=confirmed,
        expected_version=confirmed.version, reason="ANC corrected",
    )  # fmt: skip
    assert changed.computed_category == "CRh"
    assert changed.decision == "" and changed.category_of_record == "CRh"
