"""The pure consent and screen-failure rules (enrollment.consent_rules)."""

from __future__ import annotations

import datetime as dt

import pytest

from enrollment import consent_rules as r

APPROVED = [{"version": "v2.2", "approved_on": "2025-09-01"}]


def test_the_approved_icf_versions_setting_refuses_duplicates_and_bad_dates():
    assert r.validate_approved_icf_versions(r.DEFAULT_APPROVED_ICF_VERSIONS)
    with pytest.raises(ValueError, match="listed twice"):
        r.validate_approved_icf_versions(APPROVED * 2)
    with pytest.raises(ValueError, match="approved_on must be a date"):
        r.validate_approved_icf_versions([{"version": "v3", "approved_on": "soon"}])
    with pytest.raises(ValueError, match="non-empty"):
        r.validate_approved_icf_versions([])


def test_a_version_is_signed_only_once_approved():
    assert r.icf_version_problem("v2.2", dt.date(2025, 9, 1), APPROVED) == ""
    assert "approved on 2025-09-01" in r.icf_version_problem("v2.2", dt.date(2025, 8, 31), APPROVED)
    assert "not an approved" in r.icf_version_problem("v9", dt.date(2025, 9, 2), APPROVED)


def test_a_representative_is_named_only_on_a_representative_consent():
    assert r.representative_problems("subject", "", "") == {}
    assert set(r.representative_problems("lar", "", "")) == {
        "representative_name",
        "representative_relationship",
    }
    assert set(r.representative_problems("subject", "Wang Li", "")) == {"signed_by"}


def test_screening_before_the_first_consent_is_flagged_the_same_day_is_not():
    day = dt.date(2026, 3, 10)
    assert r.screening_before_consent(day - dt.timedelta(days=1), day)
    assert not r.screening_before_consent(day, day)
    assert not r.screening_before_consent(day, None)


def test_failed_criteria_needs_a_failing_criterion_other_needs_a_text():
    assert "category" in r.screen_failure_problems("failed_criteria", "", failed_criteria=[])
    assert r.screen_failure_problems("failed_criteria", "", failed_criteria=["IN7.3"]) == {}
    assert r.screen_failure_problems("withdrew_consent", "", failed_criteria=[]) == {}
    assert "text" in r.screen_failure_problems("other", " ", failed_criteria=[])
    assert "category" in r.screen_failure_problems("bored", "", failed_criteria=[])
