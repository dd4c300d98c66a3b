"""Lab results graded on save: every lab golden case of CASES.md §F through the service (DB ->
stored grade), the baseline rules, unit handling, H/L flags and the baseline query."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from safety.models import LabResult
from safety.services import LabRowsInvalid, save_lab_panel
from tests.safety.lab_data import at_day, infused_subject, panel
from trialsite.records.models import AuditEvent, DataQuery
from trialsite.studies.services import update_study_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def stored(subject, test, day=None):
    rows = LabResult.objects.filter(subject=subject, test_code=test).select_related("panel")
    rows = list(rows.order_by("panel__collected_at"))
    return rows if day is None else rows[day]


def grades_for(subject, actor, test, values, *, lln=None, uln=None, unit=None, first_day=1):
    grades = []
    for offset, value in enumerate(values):
        row = {"test_code": test, "value": value, "lln": lln, "uln": uln}
        if unit:
            row["unit"] = unit
        saved = panel(subject, actor, first_day + offset, row)
        grades.append(LabResult.objects.get(panel=saved).grade)
    return grades


# CASES.md §F: Neutrophil count decreased, LLN 1.8 (NEU-01 … NEU-08).
def test_neutrophil_golden_cases(subject, coordinator_a):
    values = ["1.9", "1.6", "1.49", "1.0", "0.99", "0.5", "0.49"]
    assert grades_for(subject, coordinator_a, "ANC", values, lln="1.8", uln="7.5") == [
        0, 1, 2, 2, 3, 3, 4,
    ]  # fmt: skip


def test_platelet_golden_cases(subject, coordinator_a):
    values = ["130", "100", "75", "50", "49", "25", "24"]
    assert grades_for(subject, coordinator_a, "PLT", values, lln="125", uln="400") == [
        0, 1, 1, 2, 3, 3, 4,
    ]  # fmt: skip


def test_anaemia_golden_cases(subject, coordinator_a):
    values = ["12.5", "11.0", "10.0", "9.9", "8.0", "7.9"]
    assert grades_for(subject, coordinator_a, "HGB", values, lln="12.0", uln="16.0") == [
        0, 1, 1, 2, 2, 3,
    ]  # fmt: skip


def _with_baseline(subject, actor, test, baseline, values, uln):
    """A pre-treatment value on Day -10 (the baseline), then the values from Day 1."""
    panel(subject, actor, -10, {"test_code": test, "value": baseline, "uln": uln})
    return grades_for(subject, actor, test, values, uln=uln)


def test_alt_golden_cases_with_a_normal_baseline(subject, coordinator_a):
    values = ["40", "120", "121", "200", "201", "800", "801"]
    assert _with_baseline(subject, coordinator_a, "ALT", "30", values, "40") == [
        0, 1, 2, 2, 3, 3, 4,
    ]  # fmt: skip
    assert stored(subject, "ALT", 1).baseline_value == Decimal("30")


def test_alt_golden_cases_with_an_abnormal_baseline(subject, coordinator_a):
    # ALT-08: 100 < 1.5 x baseline 80 -> 0; ALT-09: = 1.5 x baseline -> 1.
    assert _with_baseline(subject, coordinator_a, "ALT", "80", ["100", "120"], "40") == [0, 1]


def test_bilirubin_golden_cases(subject, coordinator_a, site_a, investigator_a):
    values = ["1.8", "1.81", "3.6", "3.61", "12.01"]
    assert _with_baseline(subject, coordinator_a, "TBIL", "0.8", values, "1.2") == [1, 2, 2, 3, 4]
    other = infused_subject(site_a, coordinator_a, investigator_a, initials="ABC")
    # BIL-06/07: abnormal baseline 2.0: 1.9 -> 0 (not above baseline), 2.5 -> 1.
    assert _with_baseline(other, coordinator_a, "TBIL", "2.0", ["1.9", "2.5"], "1.2") == [0, 1]


@pytest.mark.parametrize(
    ("case", "baseline", "value", "grade"),
    [("CRE-01", "0.9", "1.2", 1), ("CRE-03", "0.6", "1.0", 2), ("CRE-04", "1.0", "3.4", 3),
     ("CRE-05", "1.0", "6.7", 4)],
)  # fmt: skip
def test_creatinine_golden_cases(subject, coordinator_a, case, baseline, value, grade):
    assert _with_baseline(subject, coordinator_a, "CREAT", baseline, [value], "1.1") == [grade]


def test_creatinine_only_above_uln_setting(subject, coordinator_a, study, data_manager):
    document = {**study.settings, "safety": {**study.settings.get("safety", {})}}
    document["safety"]["creatinine_baseline_rule"] = "only_above_uln"
    update_study_settings(
        study, actor=data_manager, document=document, expected_version=study.settings_version,
        reason="protocol amendment 2",
    )  # fmt: skip
    # CRE-03 under only_above_uln -> 0, and the result says which settings version graded it.
    assert _with_baseline(subject, coordinator_a, "CREAT", "0.6", ["1.0"], "1.1") == [0]
    study.refresh_from_db()
    assert stored(subject, "CREAT", 1).settings_version == study.settings_version


def test_a_pre_treatment_value_needs_no_baseline_and_opens_no_query(subject, coordinator_a):
    panel(subject, coordinator_a, -10, ("ALT", "130"))
    result = stored(subject, "ALT", 0)
    assert (result.pre_treatment, result.grade, result.grade_flags) == (True, 2, [])
    assert not DataQuery.objects.filter(
        content_type=ContentType.objects.get_for_model(LabResult), object_id=str(result.pk)
    ).exists()


def test_a_missing_baseline_opens_a_query_closed_when_the_baseline_is_entered(
    subject, coordinator_a
):
    panel(subject, coordinator_a, 3, ("ALT", "130"))
    result = stored(subject, "ALT", 0)
    assert result.grade == 2  # 3.25 x ULN, graded as a normal baseline (RULES.md §3.5)
    assert result.grade_flags == ["baseline_not_recorded"]
    query = DataQuery.objects.get(
        content_type=ContentType.objects.get_for_model(LabResult),
        object_id=str(result.pk),
        rule_ref="LB-BASELINE",
    )
    assert query.field == "baseline_value" and query.is_open
    # The site enters the screening value: baseline 80 is abnormal, 130 is 1.5-3 x 80 -> grade 1.
    panel(subject, coordinator_a, -12, ("ALT", "80"))
    result.refresh_from_db()
    assert (result.grade, result.baseline_value, result.grade_flags) == (1, Decimal("80"), [])
    query.refresh_from_db()
    assert not query.is_open


def test_a_marked_baseline_wins_over_the_last_pre_treatment_value(subject, coordinator_a):
    panel(subject, coordinator_a, -14, {"test_code": "ALT", "value": "80", "is_baseline": True})
    panel(subject, coordinator_a, -8, ("ALT", "30"))
    panel(subject, coordinator_a, 2, ("ALT", "100"))
    assert stored(subject, "ALT", 2).baseline_value == Decimal("80")


def test_the_baseline_cutoff_is_a_study_setting(subject, coordinator_a, study, data_manager):
    document = {**study.settings, "safety_labs": {"lab_baseline_cutoff_day": 0}}
    update_study_settings(
        study, actor=data_manager, document=document, expected_version=study.settings_version,
        reason="baseline = before infusion",
    )  # fmt: skip
    panel(subject, coordinator_a, -2, ("ALT", "80"))  # during lymphodepletion, before Day 0
    panel(subject, coordinator_a, 2, ("ALT", "100"))
    assert stored(subject, "ALT", 1).baseline_value == Decimal("80")


def test_units_are_converted_for_the_cutoffs_and_the_baseline(subject, coordinator_a):
    # 950 /uL = 0.95 x10^9/L -> grade 3 (the default LLN 1.8 x10^9/L becomes 1800 /uL).
    panel(subject, coordinator_a, 1, ("ANC", "950", "/uL"))
    result = stored(subject, "ANC", 0)
    assert (result.grade, result.lln, result.unit) == (3, Decimal("1800.0000"), "/uL")
    # Creatinine baseline in mg/dL, value in umol/L: 0.6 mg/dL = 53.04 umol/L; 88.4 > 1.5 x that.
    panel(subject, coordinator_a, -10, ("CREAT", "0.6", "mg/dL"))
    panel(subject, coordinator_a, 2, ("CREAT", "88.4", "umol/L"))
    creat = stored(subject, "CREAT", 1)
    assert creat.baseline_value == Decimal("53.0400") and creat.grade == 2


def test_a_unit_that_cannot_be_converted_is_refused_with_the_accepted_units(subject, coordinator_a):
    with pytest.raises(LabRowsInvalid) as excinfo:
        panel(subject, coordinator_a, 1, ("ANC", "1.2"), ("PLT", "40", "g/L"))
    (error,) = excinfo.value.rows[1]["unit"]
    assert error.code == "LB-UNIT"
    assert "10^9/L" in error.message and "cells/mm3" in error.message
    assert not LabResult.objects.filter(subject=subject).exists()  # nothing saved


def test_bad_values_are_field_errors_and_nothing_is_saved(subject, coordinator_a):
    with pytest.raises(LabRowsInvalid) as excinfo:
        panel(subject, coordinator_a, 1, ("ANC", "abc"), ("PLT", "-3"), ("XYZ", "1"))
    rows = excinfo.value.rows
    assert rows[0]["value"][0].code == "invalid"
    assert rows[1]["value"][0].code == "negative"
    assert rows[2]["test_code"][0].code == "unknown"
    assert "results[0].value" in excinfo.value.message_dict
    assert not LabResult.objects.exists()


@pytest.mark.parametrize(
    ("test", "value", "flag", "grade"),
    [("CRP", "80", "H", None), ("FERRITIN", "20", "L", None), ("NA", "140", "N", None),
     ("HGB", "17", "H", 0)],
)  # fmt: skip
def test_h_l_flags_against_the_normal_range(subject, coordinator_a, test, value, flag, grade):
    panel(subject, coordinator_a, 1, (test, value))
    result = stored(subject, test, 0)
    assert (result.flag, result.grade) == (flag, grade)
    assert result.ctcae_term == ("Anemia" if test == "HGB" else "")


def test_a_lab_entry_overrides_the_default_range(subject, coordinator_a):
    panel(subject, coordinator_a, 1, ("CRP", "8", "mg/L", "0", "10"))
    assert stored(subject, "CRP", 0).flag == "N"


def test_a_corrected_value_is_an_audited_update_and_regraded(subject, coordinator_a):
    saved = panel(subject, coordinator_a, 1, ("ANC", "0.4"))
    result = stored(subject, "ANC", 0)
    assert result.grade == 4
    save_lab_panel(
        subject,
        actor=coordinator_a,
        values={},
        results=[{"test_code": "ANC", "value": "1.4", "version": result.version}],
        record=saved,
        expected_version=saved.version,
        reason="transcription error",
    )
    result.refresh_from_db()
    assert result.grade == 2
    event = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(LabResult),
        object_id=str(result.pk),
        action="update",
    ).get()
    assert event.changes["value"][1] == "1.4"
    assert event.reason == "transcription error"


def test_an_accession_number_is_unique_per_study(subject, coordinator_a):
    panel(subject, coordinator_a, 1, ("ANC", "1"), accession="A-1")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        save_lab_panel(
            subject,
            actor=coordinator_a,
            values={"collected_at": at_day(subject, 2), "accession_number": "A-1"},
            results=[{"test_code": "ANC", "value": "1"}],
        )


def test_setting_day0_later_regrades_with_regrade_labs(site_a, coordinator_a, investigator_a):
    import datetime as dt

    from django.utils import timezone

    from enrollment.services import anchor_schedule
    from safety.services import regrade_labs
    from tests.enrollment_data import register_and_consent

    subject = register_and_consent(
        site_a, coordinator_a, investigator_a,
        screening_date=timezone.localdate() - dt.timedelta(days=30),
        planned_apheresis_date=timezone.localdate() - dt.timedelta(days=25),
    )  # fmt: skip
    collected = timezone.now() - dt.timedelta(days=2)
    save_lab_panel(
        subject, actor=coordinator_a, values={"collected_at": collected},
        results=[{"test_code": "ALT", "value": "130"}],
    )  # fmt: skip
    result = LabResult.objects.get(subject=subject)
    assert result.pre_treatment and result.grade_flags == []  # not infused yet
    anchor_schedule(subject, timezone.localdate() - dt.timedelta(days=5), actor=coordinator_a)
    assert regrade_labs(subject, actor=coordinator_a) == 1
    result.refresh_from_db()
    assert not result.pre_treatment and result.grade_flags == ["baseline_not_recorded"]
