"""Studies, permissions, the versioned settings document, the study API and the demo seed."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from tests.factories import StudyFactory
from trialsite.studies import permissions, services, study_settings
from trialsite.studies.models import Membership, Study, StudySettingsVersion
from trialsite.studies.roles import Action

pytestmark = pytest.mark.django_db


def test_permissions_follow_role_and_site(study, site_a, site_b, coordinator_a, monitor):
    assert permissions.can(coordinator_a, Action.ENTER_DATA, study=study, site=site_a)
    assert not permissions.can(coordinator_a, Action.ENTER_DATA, study=study, site=site_b)
    assert not permissions.can(coordinator_a, Action.SIGN, study=study, site=site_a)
    assert permissions.can(monitor, Action.VERIFY_SOURCE, study=study, site=site_b)
    assert not permissions.can(monitor, Action.ENTER_DATA, study=study, site=site_a)


def test_querysets_are_scoped_to_the_users_sites(study, site_a, site_b, coordinator_a, monitor):
    sites = study.sites.all()
    scoped = permissions.scope_by_site(
        sites, coordinator_a, Action.VIEW_CLINICAL, study=study, site_field="pk"
    )
    assert list(scoped) == [site_a]
    everywhere = permissions.scope_by_site(
        sites, monitor, Action.VIEW_CLINICAL, study=study, site_field="pk"
    )
    assert set(everywhere) == {site_a, site_b}


def test_a_user_of_one_study_has_no_rights_in_another(coordinator_a):
    other = StudyFactory()
    assert not permissions.can(coordinator_a, Action.VIEW_CLINICAL, study=other)
    assert list(permissions.studies_for(coordinator_a)) != [other]


def test_an_inactive_membership_grants_nothing(study, site_a, coordinator_a):
    Membership.objects.filter(user=coordinator_a).delete()
    coordinator_a.__dict__.pop("_trialsite_memberships", None)
    assert not permissions.can(coordinator_a, Action.VIEW_CLINICAL, study=study)


def test_a_new_study_has_every_registered_setting_at_its_default(study):
    document = study.settings
    assert set(document) == set(study_settings.sections())
    assert document["dose_levels"][0]["level"] == 1
    assert [v["code"] for v in document["visit_schedule"][:4]] == ["SCR", "APH", "LD", "D0"]
    assert study.settings_version == 1
    assert StudySettingsVersion.objects.get(study=study).version == 1


def test_a_settings_change_is_validated_versioned_and_keeps_who_when_why(study, study_admin):
    document = dict(study.settings)
    document["dose_levels"] = document["dose_levels"][:3]

    updated = services.update_study_settings(
        study,
        actor=study_admin,
        document=document,
        expected_version=1,
        reason="Protocol amendment 2: DL4 removed",
    )

    assert updated.settings_version == 2
    assert len(updated.settings["dose_levels"]) == 3
    v2 = StudySettingsVersion.objects.get(study=study, version=2)
    assert (v2.changed_by, v2.reason) == (study_admin, "Protocol amendment 2: DL4 removed")
    v1 = StudySettingsVersion.objects.get(study=study, version=1)
    changes = study_settings.diff_documents(v1.document, v2.document)
    assert list(changes) == ["dose_levels"]


@pytest.mark.parametrize(
    ("document_change", "section"),
    [
        ({"no_such_section": {}}, "no_such_section"),
        ({"dose_levels": [{"level": 1, "label": "DL1", "dose_cells_per_kg": -1}]}, "dose_levels"),
        ({"visit_schedule": []}, "visit_schedule"),
    ],
    ids=["unknown-section", "negative-dose", "empty-schedule"],
)
def test_an_invalid_settings_document_is_refused_by_section(
    study, study_admin, document_change, section
):
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study,
            actor=study_admin,
            document={**study.settings, **document_change},
            expected_version=1,
            reason="test",
        )
    assert section in excinfo.value.message_dict
    assert Study.objects.get(pk=study.pk).settings_version == 1


def test_a_settings_change_needs_a_reason_and_the_current_version(study, study_admin):
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study, actor=study_admin, document=study.settings, expected_version=1, reason=" "
        )
    assert excinfo.value.error_dict["reason"][0].code == "reason_required"
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study, actor=study_admin, document=study.settings, expected_version=7, reason="x"
        )
    assert "reload to see their change" in excinfo.value.messages[0]


def test_only_the_study_admin_may_edit_settings_on_the_page(
    client, study, study_admin, data_manager, monitor, coordinator_a
):
    for user in (monitor, coordinator_a):
        client.force_login(user)
        assert client.get(reverse("study-settings")).status_code == 403
    client.force_login(data_manager)
    page = client.get(reverse("study-settings"))
    assert page.status_code == 200 and page.context["can_edit"] is False
    assert client.post(reverse("study-settings"), {}).status_code == 403
    client.force_login(study_admin)
    response = client.post(
        reverse("study-settings"),
        {
            "raw-section": "__document__",
            "raw-document": "{not json",
            "raw-version": "1",
            "raw-reason": "typo",
        },
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()


def test_the_api_lists_only_the_callers_studies(client, study, coordinator_a):
    StudyFactory()
    client.force_login(coordinator_a)
    body = client.get("/api/v1/studies/").json()
    assert [row["nct_id"] for row in body["results"]] == [study.nct_id]
    me = client.get("/api/v1/me/").json()
    assert me["roles"] == {study.protocol_number: ["coordinator"]}


def test_the_openapi_schema_is_served(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/studies/" in response.content


def test_seed_demo_is_idempotent_and_its_logins_work(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    study = Study.objects.get(nct_id="NCT06880354")
    assert study.sites.get().name == "Institute of Hematology & Blood Diseases Hospital"
    roles = set(study.memberships.values_list("user__username", "role"))
    assert roles == {
        ("coordinator", "coordinator"),
        ("investigator", "investigator"),
        ("monitor", "monitor"),
        ("datamanager", "data_manager"),
        ("sponsor", "sponsor"),
        ("admin", "admin"),
    }
    assert Study.objects.count() == 1
    investigator = get_user_model().objects.get(username="investigator")
    assert investigator.check_password("trialsite-demo")
    assert "coordinator" in out and "trialsite-demo" in out


def test_rules_settings_are_in_the_document_and_validated(study, study_admin):
    assert study.settings["efficacy"]["cri_rule"] == "one_lineage_recovered"
    assert study.settings["enrollment"]["cg_weight"] == "actual"
    bad = {**study.settings, "efficacy": {**study.settings["efficacy"], "cri_rule": "loose"}}
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study, actor=study_admin, document=bad, expected_version=1, reason="try"
        )
    message = excinfo.value.message_dict["efficacy.cri_rule"][0]
    assert "cri_rule must be one of 'one_lineage_recovered', 'inclusive'" in message
    typo = {**study.settings, "efficacy": {"cri_rul": "inclusive"}}
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study, actor=study_admin, document=typo, expected_version=1, reason="try"
        )
    assert "cri_rul is not a setting" in excinfo.value.message_dict["efficacy.cri_rul"][0]


def test_the_atd_phase_cannot_cover_more_levels_than_exist(study, study_admin):
    document = {**study.settings, "dosing": {**study.settings["dosing"], "atd_levels": 9}}
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            study, actor=study_admin, document=document, expected_version=1, reason="typo"
        )
    message = excinfo.value.message_dict["dosing.atd_levels"][0]
    assert "atd_levels must be an integer from 0 to num_levels (4)" in message


def test_the_openapi_schema_has_no_warnings_and_validates(tmp_path):
    call_command(
        "spectacular", "--file", str(tmp_path / "schema.yml"), "--fail-on-warn", "--validate"
    )
    schema = (tmp_path / "schema.yml").read_text()
    assert "/api/v1/subjects/{id}/eligibility/" in schema


def test_dlt_criteria_are_stored_validated_and_refuse_unknown_keys(study, study_admin):
    from safety.rules import DLTCriteria

    assert DLTCriteria.from_dict(study.settings["dlt_criteria"]).icans_dlt_grade == 3
    criteria = {**study.settings["dlt_criteria"], "icans_dlt_grade": 4}
    updated = services.update_study_settings(
        study,
        actor=study_admin,
        document={**study.settings, "dlt_criteria": criteria},
        expected_version=1,
        reason="Protocol v3: grade 3 ICANS resolving in 72 h is not a DLT",
    )
    assert updated.settings["dlt_criteria"]["icans_dlt_grade"] == 4
    typo = {**criteria, "icans_grade_dlt": 4}
    with pytest.raises(ValidationError) as excinfo:
        services.update_study_settings(
            updated,
            actor=study_admin,
            document={**updated.settings, "dlt_criteria": typo},
            expected_version=2,
            reason="typo",
        )
    assert "icans_grade_dlt" in excinfo.value.message_dict["dlt_criteria"][0]
