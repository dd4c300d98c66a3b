"""Forms for the structured settings sections (issue 10, last gaps item 1).

Before: dose levels, DLT criteria, the visit schedule and the approved ICF versions could only
be edited in the raw JSON document. Now each list is a table of rows (add, remove) and the DLT
criteria labelled fields in groups; each message of the section's own validator lands on the
row and field it is about, and the service stays the only writer (versioned, reason required).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from trialsite.studies.models import Study

pytestmark = pytest.mark.django_db
URL = "study-settings"
REASON = "Protocol amendment 4"


def _reloaded(study) -> Study:
    return Study.objects.get(pk=study.pk)


def table_post(study, section: str, rows: list[dict], *, reason: str = REASON) -> dict:
    """What the browser posts for a table: the rows as edited, then the empty row."""
    stored = len(study.settings[section])
    prefix = f"{section}-rows"
    data = {
        f"{section}-section": section,
        f"{section}-version": study.settings_version,
        f"{section}-reason": reason,
        f"{prefix}-TOTAL_FORMS": max(len(rows), stored + 1),
        f"{prefix}-INITIAL_FORMS": stored,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            if name == "DELETE":
                if value:
                    data[f"{prefix}-{index}-DELETE"] = "on"
            elif name != "level":
                data[f"{prefix}-{index}-{name}"] = "" if value is None else value
    return data


def object_post(study, section: str, *, reason: str = REASON, **changes) -> dict:
    data = {
        f"{section}-section": section,
        f"{section}-version": study.settings_version,
        f"{section}-reason": reason,
    }
    for name, value in {**study.settings[section], **changes}.items():
        key = f"{section}-{name}"
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, dict):
            data[key] = "\n".join(f"{k}: {v}" for k, v in value.items())
        elif name == "electrolyte_terms":
            data[key] = "\n".join(value)
        elif isinstance(value, list):
            data[key] = value
        else:
            data[key] = "" if value is None else value
    return data


def section_form(response, name):
    return {s.name: f for s, f, _v, _o in response.context["sections"]}[name]


def test_each_structured_section_has_its_form_with_labels_rules_and_defaults(
    client, study, study_admin
):
    client.force_login(study_admin)
    page = client.get(reverse(URL))
    html = page.content.decode()
    for name in ("dose_levels", "visit_schedule", "approved_icf_versions"):
        assert f'data-testid="settings-table-{name}"' in html
        assert f'name="{name}-rows-TOTAL_FORMS"' in html
        assert f'data-testid="settings-default-{name}"' in html
    assert 'name="dose_levels-rows-1-dose_cells_per_kg"' in html
    assert 'name="dose_levels-rows-4-dose_cells_per_kg"' in html  # the empty row to add one
    assert 'name="dose_levels-rows-0-DELETE"' in html
    assert "validate_dose_levels" in html  # the help cites the rule
    dlt = section_form(page, "dlt_criteria")
    field = dlt.fields["crs_dlt_grade"]
    assert field.label == "CRS: DLT at grade" and "Default: 4." in field.help_text
    assert "Default: Fever: 3; Febrile neutropenia: 3." in dlt.fields["exempt_terms"].help_text
    assert [label for label, _fields in dlt.groups][:2] == ["Relatedness", "CRS (ASTCT 2019)"]
    assert 'data-testid="settings-object-dlt_criteria"' in html
    assert "A structured section: edit it in the raw document below." not in html
    assert "Advanced: the raw settings document (JSON)" in html


def test_dose_levels_are_edited_added_and_removed_as_rows(client, study, study_admin):
    client.force_login(study_admin)
    rows = [dict(level) for level in study.settings["dose_levels"]]
    rows[1]["dose_cells_per_kg"] = 1.5e6  # DL2 changed
    rows[3]["DELETE"] = True  # DL4 removed
    rows.append({"label": "DL3b", "dose_cells_per_kg": 3.0e6})  # a level added
    response = client.post(reverse(URL), table_post(study, "dose_levels", rows))
    assert response.status_code == 302, (
        response.context and section_form(response, "dose_levels").rows.errors
    )
    stored = _reloaded(study)
    assert stored.settings["dose_levels"] == [
        {"level": 1, "label": "DL1", "dose_cells_per_kg": 0.5e6},
        {"level": 2, "label": "DL2", "dose_cells_per_kg": 1.5e6},
        {"level": 3, "label": "DL3", "dose_cells_per_kg": 2.0e6},
        {"level": 4, "label": "DL3b", "dose_cells_per_kg": 3.0e6},
    ]
    assert stored.settings_version == study.settings_version + 1
    assert stored.settings_versions.get(version=stored.settings_version).reason == REASON


def test_a_dose_not_above_the_level_below_is_refused_on_its_row_and_field(
    client, study, study_admin
):
    client.force_login(study_admin)
    rows = [dict(level) for level in study.settings["dose_levels"]]
    rows[2]["dose_cells_per_kg"] = rows[1]["dose_cells_per_kg"]  # DL3 = DL2
    response = client.post(reverse(URL), table_post(study, "dose_levels", rows))
    assert response.status_code == 400
    table = section_form(response, "dose_levels").rows
    assert table.forms[2].errors["dose_cells_per_kg"] == [
        "DL3: dose_cells_per_kg must be a number above the level below"
    ]
    assert not table.forms[0].errors and not table.forms[1].errors
    assert 'data-testid="cell-error"' in response.content.decode()
    assert _reloaded(study).settings == study.settings


def test_a_visit_code_given_twice_is_refused_on_that_row(client, study, study_admin):
    client.force_login(study_admin)
    rows = [dict(visit) for visit in study.settings["visit_schedule"]]
    rows[5]["code"] = rows[4]["code"]
    response = client.post(reverse(URL), table_post(study, "visit_schedule", rows))
    assert response.status_code == 400
    table = section_form(response, "visit_schedule").rows
    [message] = table.forms[5].errors["code"]
    assert "code must be unique text" in message
    assert _reloaded(study).settings == study.settings


def test_an_icf_version_is_added_with_its_approval_date(client, study, study_admin):
    client.force_login(study_admin)
    rows = [dict(item) for item in study.settings["approved_icf_versions"]]
    rows.append({"version": "v3.0 2026-06-01", "approved_on": "2026-06-01"})
    response = client.post(reverse(URL), table_post(study, "approved_icf_versions", rows))
    assert response.status_code == 302
    stored = _reloaded(study).settings["approved_icf_versions"]
    assert stored[-1] == {"version": "v3.0 2026-06-01", "approved_on": "2026-06-01"}

    rows[-1]["version"] = rows[0]["version"]  # listed twice
    response = client.post(
        reverse(URL), table_post(_reloaded(study), "approved_icf_versions", rows)
    )
    assert response.status_code == 400
    table = section_form(response, "approved_icf_versions").rows
    assert any("is listed twice" in m for m in table.forms[2].errors["version"])


def test_a_table_needs_the_reason_and_keeps_at_least_one_row(client, study, study_admin):
    client.force_login(study_admin)
    rows = [dict(level) for level in study.settings["dose_levels"]]
    response = client.post(reverse(URL), table_post(study, "dose_levels", rows, reason=""))
    assert response.status_code == 400
    assert section_form(response, "dose_levels").errors["reason"]
    gone = [{**level, "DELETE": True} for level in rows]
    response = client.post(reverse(URL), table_post(study, "dose_levels", gone))
    assert response.status_code == 400
    assert "dose_levels must be a non-empty list" in " ".join(
        section_form(response, "dose_levels").non_field_errors()
    )
    assert _reloaded(study).settings == study.settings


def test_dlt_criteria_are_saved_from_labelled_fields(client, study, study_admin):
    client.force_login(study_admin)
    post = object_post(
        study,
        "dlt_criteria",
        exempt_terms={"Fever": 3, "Febrile neutropenia": 3, "Hypophosphatemia": 3},
        recovery_hemoglobin_g_dl=8,
        related_categories=["probable", "definite"],
        grade4_nonheme_always_dlt=False,
    )
    response = client.post(reverse(URL), post)
    assert response.status_code == 302, section_form(response, "dlt_criteria").errors
    stored = _reloaded(study).settings["dlt_criteria"]
    assert stored["exempt_terms"]["Hypophosphatemia"] == 3
    assert stored["recovery_hemoglobin_g_dl"] == 8
    assert stored["related_categories"] == ["probable", "definite"]
    assert stored["grade4_nonheme_always_dlt"] is False
    assert stored["icans_unresolved_dlt_grade"] is None  # left empty: no such rule


def test_a_dlt_criterion_the_rule_refuses_is_refused_beside_its_field(client, study, study_admin):
    client.force_login(study_admin)
    post = object_post(study, "dlt_criteria", crs_dlt_grade=4, crs_unresolved_dlt_grade=4)
    response = client.post(reverse(URL), post)
    assert response.status_code == 400
    form = section_form(response, "dlt_criteria")
    assert form.errors["crs_unresolved_dlt_grade"] == [
        "crs_unresolved_dlt_grade must be below crs_dlt_grade (4); got 4"
    ]
    bad_line = object_post(study, "dlt_criteria")
    bad_line["dlt_criteria-exempt_terms"] = "Fever three"
    response = client.post(reverse(URL), bad_line)
    assert response.status_code == 400
    assert (
        section_form(response, "dlt_criteria")
        .errors["exempt_terms"][0]
        .startswith("Write one “term: grade” per line")
    )
    assert _reloaded(study).settings == study.settings


def test_the_data_manager_reads_the_structured_sections_without_inputs(client, study, data_manager):
    client.force_login(data_manager)
    response = client.get(reverse(URL))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="settings-values-dose_levels"' in html
    assert "DL4" in html and "Day 0 (CAR-T infusion)" in html
    assert 'name="dose_levels-rows-TOTAL_FORMS"' not in html
    assert 'name="dlt_criteria-crs_dlt_grade"' not in html
    assert "CRS: DLT at grade" in html
    assert client.post(reverse(URL), table_post(study, "dose_levels", [])).status_code == 403


def as_the_browser_posts(table_form) -> dict:
    """Every input of a rendered table as a browser submits it untouched (selects: the shown
    option, which is the first when none is chosen; unticked boxes: nothing)."""
    from django import forms

    data = {}
    for name, value in table_form.rows.management_form.initial.items():
        data[f"{table_form.rows.prefix}-{name}"] = value
    for bound in [*table_form.form, *(b for row in table_form.rows for b in row)]:
        value = bound.value()
        if isinstance(bound.field.widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None and isinstance(bound.field, forms.ChoiceField):
            value = bound.field.choices[0][0]
        data[bound.html_name] = "" if value is None else bound.field.widget.format_value(value)
    return data


@pytest.mark.parametrize("section", ["dose_levels", "visit_schedule", "approved_icf_versions"])
def test_an_untouched_table_saved_as_the_browser_posts_it_keeps_the_rows(
    client, study, study_admin, section
):
    """The empty row must post as empty (a preselected choice made it a row with errors)."""
    client.force_login(study_admin)
    page = client.get(reverse(URL))
    data = as_the_browser_posts(section_form(page, section))
    data[f"{section}-reason"] = "Re-saved unchanged"
    response = client.post(reverse(URL), data)
    assert response.status_code == 302, section_form(response, section).rows.errors
    stored = _reloaded(study)
    assert stored.settings == study.settings
    assert stored.settings_version == study.settings_version  # nothing changed: no new version


def test_a_problem_across_sections_and_a_stale_table_are_said_on_the_table(
    client, study, study_admin
):
    from trialsite.studies import services

    services.update_study_settings(
        study,
        actor=study_admin,
        document={**study.settings, "dosing": {**study.settings["dosing"], "atd_levels": 2}},
        expected_version=study.settings_version,
        reason="Two ATD levels",
    )
    study = _reloaded(study)
    client.force_login(study_admin)
    rows = [dict(level) for level in study.settings["dose_levels"]]
    few = [rows[0], *({**r, "DELETE": True} for r in rows[1:])]  # fewer levels than ATD uses
    response = client.post(reverse(URL), table_post(study, "dose_levels", few))
    assert response.status_code == 400
    errors = " ".join(section_form(response, "dose_levels").non_field_errors())
    assert "dosing.atd_levels" in errors
    post = table_post(study, "dose_levels", rows)
    post["dose_levels-version"] = study.settings_version - 1
    response = client.post(reverse(URL), post)
    assert response.status_code == 400
    assert (
        "reload to see their change" in section_form(response, "dose_levels").non_field_errors()[0]
    )
    assert _reloaded(study).settings == study.settings
