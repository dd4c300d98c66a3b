"""A settings change reaches the stored eligibility, which says its settings version (issue 10
item 4); every rules module declares a type and a range for each setting (item 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

import dosing.rules
import efficacy.rules
import enrollment.rules
import safety.rules
from enrollment.models import AntigenExpression, EligibilityAssessment, SubjectStatus
from rulekit.settings import SettingsError, undeclared
from tests.enrollment_data import screen_eligible_subject
from trialsite.studies import services


@pytest.mark.parametrize("module", [enrollment.rules, safety.rules, efficacy.rules, dosing.rules])
def test_every_number_setting_has_a_range_and_the_defaults_pass(module):
    assert (
        undeclared(module.SETTINGS_DEFAULTS, module.SETTINGS_CHOICES, module.SETTINGS_RANGES) == []
    )
    assert module.validate_settings({}) == module.SETTINGS_DEFAULTS


def test_the_eligibility_rule_refuses_the_threshold_the_settings_page_refuses():
    with pytest.raises(SettingsError) as excinfo:
        enrollment.rules.evaluate_eligibility({}, antigen_positive_threshold_pct=150)
    assert "from 0 to 100" in excinfo.value.errors["antigen_positive_threshold_pct"]


@pytest.mark.django_db
def test_a_threshold_change_recomputes_the_stored_checklist_and_names_the_version(
    client, site_a, coordinator_a, investigator_a, study_admin, django_capture_on_commit_callbacks
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={
            AntigenExpression: {
                "cll1_positive_blasts_pct": Decimal("25"),
                "cd38_positive_blasts_pct": Decimal("10"),
            }
        },
    )
    before = EligibilityAssessment.objects.get(subject=subject)
    assert (before.criteria["IN3"], before.settings_version) == ("pass", 1)
    study = subject.study
    document = {
        **study.settings,
        "enrollment": {**study.settings["enrollment"], "antigen_positive_threshold_pct": 30},
    }

    with django_capture_on_commit_callbacks(execute=True):
        services.update_study_settings(
            study, actor=study_admin, document=document, expected_version=1, reason="Amendment 4"
        )

    after = EligibilityAssessment.objects.get(subject=subject)
    assert after.criteria["IN3"] == "fail" and after.eligible is False
    assert after.settings_version == 2
    assert after.settings_used["antigen_positive_threshold_pct"] == 30
    client.force_login(investigator_a)
    page = client.get(reverse("enrollment:eligibility", args=[subject.pk])).content.decode()
    assert "with settings version 2" in page


@pytest.mark.django_db
def test_a_change_of_other_settings_or_of_an_enrolled_subject_leaves_eligibility_alone(
    site_a, coordinator_a, investigator_a, study_admin, django_capture_on_commit_callbacks
):
    screening = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    decided = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    decided.__class__.objects.filter(pk=decided.pk).update(
        enrollment_status=SubjectStatus.SCREEN_FAILURE
    )
    study = screening.study
    safety_only = {**study.settings, "safety": {**study.settings["safety"], "dlt_window_days": 21}}
    with django_capture_on_commit_callbacks(execute=True):
        study = services.update_study_settings(
            study, actor=study_admin, document=safety_only, expected_version=1, reason="x"
        )
    assert EligibilityAssessment.objects.get(subject=screening).settings_version == 1
    stricter = {
        **study.settings,
        "enrollment": {**study.settings["enrollment"], "bp_min_readings": 3},
    }
    with django_capture_on_commit_callbacks(execute=True):
        services.update_study_settings(
            study, actor=study_admin, document=stricter, expected_version=2, reason="y"
        )
    assert EligibilityAssessment.objects.get(subject=screening).settings_version == 3
    assert EligibilityAssessment.objects.get(subject=decided).settings_version == 1
