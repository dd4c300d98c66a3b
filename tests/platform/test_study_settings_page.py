"""The study-settings page (issue 10 items 2, 3): every error beside its field, never a 500;
each setting typed, ranged and checked by the rule that uses it; a form per section."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from trialsite.studies import services
from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db
URL = "study-settings"


def _section_post(study, section: str, **changes) -> dict:
    """What the per-section form posts: every current value, with ``changes``."""
    data = {f"{section}-section": section, f"{section}-version": study.settings_version}
    data[f"{section}-reason"] = "Protocol amendment 3"
    for name, value in {**study.settings[section], **changes}.items():
        coded = name in ("pr_requires_no_pb_blasts", "mrd_relapse_is_event", "censor_at_hsct")
        if isinstance(value, bool) and not coded:
            if value:
                data[f"{section}-{name}"] = "on"
        else:
            data[f"{section}-{name}"] = json.dumps(value) if isinstance(value, bool) else value
    return data


def _raw_post(study, document) -> dict:
    text = document if isinstance(document, str) else json.dumps(document)
    return {
        "raw-section": "__document__",
        "raw-version": study.settings_version,
        "raw-reason": "Protocol amendment 3",
        "raw-document": text,
    }


def _reloaded(study) -> Study:
    return Study.objects.get(pk=study.pk)


def test_a_wrong_type_in_the_raw_document_is_a_field_message_not_a_500(client, study, study_admin):
    client.force_login(study_admin)
    document = {
        **study.settings,
        "enrollment": {**study.settings["enrollment"], "antigen_positive_threshold_pct": "abc"},
    }
    response = client.post(reverse(URL), _raw_post(study, document))
    assert response.status_code == 400
    errors = response.context["form"].errors["document"]
    assert any("enrollment.antigen_positive_threshold_pct" in e for e in errors)
    assert any("a number from 0 to 100 % of blasts; got 'abc'" in e for e in errors)
    assert _reloaded(study).settings_version == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"no_such_section": {}}', "no_such_section: Unknown settings section."),
        ('{"enrollment": {"antigen_positive_threshold_pct": NaN}}', "NaN is not a finite number"),
        ('{"enrollment": {"antigen_positive_threshold_pct": 1e999}}', "1e999 is not a finite"),
        ('{"enrollment": {"bp_min_readings": Infinity}}', "Infinity is not a finite number"),
        ("[1, 2]", "The study settings must be a JSON object."),
    ],
    ids=["unknown-section", "nan", "1e999", "infinity", "not-an-object"],
)
def test_documents_that_gave_a_500_are_refused_on_the_document_field(
    client, study, study_admin, text, message
):
    client.force_login(study_admin)
    response = client.post(reverse(URL), _raw_post(study, text))
    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors["document"])
    assert _reloaded(study).settings_version == 1


@pytest.mark.parametrize(
    ("section", "setting", "value", "message"),
    [
        ("enrollment", "antigen_positive_threshold_pct", -5, "a number from 0 to 100"),
        ("enrollment", "antigen_positive_threshold_pct", 150, "a number from 0 to 100"),
        ("dosing", "atd_levels", -1, "a whole number from 0 to 10 dose levels"),
        ("dosing", "atd_levels", 5, "atd_levels must be an integer from 0 to num_levels (4)"),
        ("safety", "dlt_window_days", 0, "a whole number from 1 to 90 days"),
        ("efficacy", "mrd_threshold", 0.5, "a number from 1e-06 to 0.01"),
    ],
)
def test_an_absurd_value_in_a_section_form_is_refused_beside_its_field(
    client, study, study_admin, section, setting, value, message
):
    client.force_login(study_admin)
    response = client.post(reverse(URL), _section_post(study, section, **{setting: value}))
    assert response.status_code == 400
    form = {s.name: f for s, f, _v, _o in response.context["sections"]}[section]
    assert any(message in e for e in form.errors[setting]), form.errors
    assert _reloaded(study).settings == study.settings


def test_the_service_refuses_what_the_rule_would_refuse(study, study_admin):
    """Item 3 at the service: atd_levels -1 had been stored though the engine refuses it."""
    document = {**study.settings, "dosing": {**study.settings["dosing"], "atd_levels": -1}}
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study, actor=study_admin, document=document, expected_version=1, reason="x"
        )
    assert "atd_levels" in excinfo.value.message_dict["dosing.atd_levels"][0]


def test_a_section_form_saves_one_setting_as_a_new_version(client, study, study_admin):
    client.force_login(study_admin)
    post = _section_post(study, "enrollment", antigen_positive_threshold_pct=30)
    response = client.post(reverse(URL), post)
    assert response.status_code == 302
    stored = _reloaded(study)
    assert stored.settings_version == 2
    assert stored.settings["enrollment"]["antigen_positive_threshold_pct"] == 30
    assert stored.settings["dosing"] == study.settings["dosing"]
    assert stored.settings_versions.get(version=2).reason == "Protocol amendment 3"


def test_a_section_form_shows_labels_the_rule_its_default_and_range(client, study, study_admin):
    client.force_login(study_admin)
    page = client.get(reverse(URL))
    form = {s.name: f for s, f, _v, _o in page.context["sections"]}["enrollment"]
    field = form.fields["antigen_positive_threshold_pct"]
    assert field.label == "Antigen positive threshold pct"
    assert "IN3" in field.help_text and "Default: 20." in field.help_text
    assert "A number from 0 to 100 % of blasts." in field.help_text
    assert form.fields["age_rule"].choices == [
        ("completed_years", "completed_years"),
        ("exact_age", "exact_age"),
    ]
    html = page.content.decode()
    assert 'name="enrollment-antigen_positive_threshold_pct"' in html
    assert "Advanced: the raw settings document (JSON)" in html


def test_a_stale_section_form_says_who_changed_the_settings(client, study, study_admin):
    client.force_login(study_admin)
    post = _section_post(study, "enrollment", antigen_positive_threshold_pct=30)
    services.update_study_settings(
        study,
        actor=study_admin,
        document={**study.settings, "safety": {"dlt_window_days": 21}},
        expected_version=1,
        reason="other admin",
    )
    response = client.post(reverse(URL), post)
    assert response.status_code == 400
    form = {s.name: f for s, f, _v, _o in response.context["sections"]}["enrollment"]
    assert "reload to see their change" in form.non_field_errors()[0]


def test_the_data_manager_reads_the_settings_without_a_form(client, study, data_manager):
    client.force_login(data_manager)
    page = client.get(reverse(URL))
    html = page.content.decode()
    assert page.status_code == 200 and '<form method="post" action="#section' not in html
    assert "Antigen positive threshold pct" in html and 'data-testid="settings-document"' in html
