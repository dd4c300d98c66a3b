"""Derived AEs (a CRS episode, a confirmed lab result) follow their source: the fields the source
determines are read-only on the form and refused by the service and the API
(``AE-DERIVED-FIELD``); the investigator's fields stay open and survive a re-derivation."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from safety.models import AdverseEvent, AESource
from safety.services import save_adverse_event, save_crs_assessment, save_derived_adverse_event
from tests.safety.ae_pages import shipped
from tests.safety.crs_data import add_crs, infused_subject

pytestmark = pytest.mark.django_db

INVESTIGATOR_FIELDS = {
    "relationship_car_t": "definite",
    "relationship_lymphodepletion": "unlikely",
    "expectedness": "expected",
    "serious": True,
    "seriousness_criteria": ["hospitalisation"],
    "action_taken": "not_applicable",
    "outcome": "recovering",
}


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


@pytest.fixture
def crs_days(subject, coordinator_a):
    """CRS grade 1 on Day 1 then grade 2 (low-flow oxygen) on Day 2, tocilizumab on Day 2."""
    first = add_crs(subject, coordinator_a, 1, "38.5")
    second = add_crs(
        subject,
        coordinator_a,
        2,
        "38.9",
        oxygen_device="nasal_cannula",
        oxygen_flow_l_min=Decimal("2"),
        tocilizumab_given=True,
        tocilizumab_dose_mg=Decimal("560"),
    )
    return first, second


def _crs_ae(subject) -> AdverseEvent:
    return AdverseEvent.objects.get(subject=subject, source=AESource.CRS_EPISODE)


def _day(subject, n: int) -> dt.date:
    return subject.day0 + dt.timedelta(days=n)


def _codes(excinfo) -> dict[str, list[str]]:
    return {f: [e.code for e in errors] for f, errors in excinfo.value.error_dict.items()}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grade", 3),
        ("onset_date", "day0"),
        ("ongoing", False),
        ("term", "Fever"),
        ("grade_date", "day0"),
        ("treatments", []),  # tocilizumab is recorded on the daily form
    ],
)
def test_the_service_refuses_a_derived_field_of_a_crs_ae(
    subject, crs_days, coordinator_a, field, value
):
    event = _crs_ae(subject)
    named = {"day0": subject.day0, "Fever": shipped("Fever")}
    given = named.get(value, value) if isinstance(value, str) else value
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject,
            actor=coordinator_a,
            values={field: given, "relationship_car_t": "probable"},
            record=event,
            expected_version=event.version,
            reason="hand edit",
        )
    assert _codes(excinfo) == {field: ["AE-DERIVED-FIELD"]}
    message = str(excinfo.value.error_dict[field][0].message)
    assert "CRS episode of" in message and "daily assessments" in message
    after = _crs_ae(subject)
    assert (after.version, after.relationship_car_t, after.grade) == (event.version, "", 2)


def test_the_investigators_fields_save_and_survive_a_re_derivation(
    subject, crs_days, coordinator_a
):
    first, _second = crs_days
    event = _crs_ae(subject)
    assert event.treatments == ["tocilizumab"]
    saved = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={
            **INVESTIGATOR_FIELDS,
            "treatments": ["anakinra", "tocilizumab"],
            "grade": event.grade,  # unchanged derived values are accepted (a full form post)
            "onset_date": event.onset_date,
        },
        record=event,
        expected_version=event.version,
        reason="investigator's assessment",
    )
    assert (saved.relationship_car_t, saved.expectedness, saved.serious) == (
        "definite",
        "expected",
        True,
    )
    assert sorted(saved.treatments) == ["anakinra", "tocilizumab"]
    # A correction of Day 1 (it was grade 2: low-flow oxygen) re-derives the AE's onset grade.
    save_crs_assessment(
        subject,
        actor=coordinator_a,
        values={"oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("1")},
        record=first,
        expected_version=first.version,
        reason="oxygen was given on Day 1",
    )
    event = _crs_ae(subject)
    assert list(event.grade_steps.values_list("grade", "from_date")) == [(2, _day(subject, 1))]
    assert (event.grade, event.worst_grade) == (2, 2)
    assert (event.relationship_car_t, event.outcome, event.serious) == (
        "definite",
        "recovering",
        True,
    )
    assert sorted(event.treatments) == ["anakinra", "tocilizumab"]
    # The episode resolves: the outcome "recovering" contradicts it and becomes "recovered".
    add_crs(subject, coordinator_a, 3, "37.0", episode_resolved=True)
    event = _crs_ae(subject)
    assert (event.ongoing, event.resolution_date, event.outcome) == (
        False,
        _day(subject, 3),
        "recovered",
    )
    assert event.relationship_car_t == "definite"


def test_a_lab_ae_locks_its_grade_and_onset_but_not_its_resolution(subject, coordinator_a):
    neutropenia = shipped("Neutrophil count decreased")
    event = save_derived_adverse_event(
        subject,
        actor=coordinator_a,
        source=AESource.LAB,
        source_key="lab-proposal-test",
        values={"term": neutropenia, "onset_date": _day(subject, 5), "grade": 4, "ongoing": True},
        reason="lab proposal confirmed",
    )
    with pytest.raises(ValidationError) as excinfo:
        save_adverse_event(
            subject, actor=coordinator_a, values={"grade": 3, "onset_date": _day(subject, 6)},
            record=event, expected_version=event.version, reason="hand edit",
        )  # fmt: skip
    assert _codes(excinfo) == {"grade": ["AE-DERIVED-FIELD"], "onset_date": ["AE-DERIVED-FIELD"]}
    assert "lab result" in str(excinfo.value.error_dict["grade"][0].message)
    resolved = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={
            "ongoing": False,
            "resolution_date": _day(subject, 12),
            "outcome": "recovered",
            "relationship_car_t": "probable",
        },
        record=event,
        expected_version=event.version,
        reason="counts recovered",
    )
    assert (resolved.ongoing, resolved.resolution_date, resolved.grade) == (
        False,
        _day(subject, 12),
        4,
    )


def test_an_entered_ae_stays_fully_editable(subject, coordinator_a):
    event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={"term": shipped("Fever"), "onset_date": _day(subject, 1), "grade": 1},
    )
    changed = save_adverse_event(
        subject, actor=coordinator_a, values={"grade": 2, "grade_date": _day(subject, 2)},
        record=event, expected_version=event.version, reason="worse",
    )  # fmt: skip
    assert changed.worst_grade == 2


def test_the_api_refuses_a_derived_field_and_saves_nothing(
    client, subject, crs_days, coordinator_a
):
    event = _crs_ae(subject)
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/adverse-events/{event.pk}/"
    body = {"grade": 4, "relationship_car_t": "definite", "version": event.version, "reason": "x"}
    response = client.patch(url, body, content_type="application/json")
    assert response.status_code == 400, response.json()
    data = response.json()
    assert list(data["errors"]) == ["grade"]
    assert "AE-DERIVED-FIELD" in str(data)
    after = _crs_ae(subject)
    assert (after.version, after.grade, after.relationship_car_t) == (event.version, 2, "")
    ok = client.patch(
        url,
        {"relationship_car_t": "definite", "version": event.version, "reason": "assessed"},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["relationship_car_t"] == "definite"


def test_the_form_shows_the_derived_fields_read_only_with_the_source(
    client, subject, crs_days, coordinator_a
):
    event = _crs_ae(subject)
    client.force_login(coordinator_a)
    url = reverse("safety:ae-edit", args=[subject.pk, event.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False
    form = page.context["form"]
    disabled = {name for name, field in form.fields.items() if field.disabled}
    assert disabled == {
        "term",
        "verbatim_term",
        "onset_date",
        "ongoing",
        "resolution_date",
        "grade",
        "grade_date",
    }
    html = page.content.decode()
    assert f"Derived from the CRS episode of {_day(subject, 1):%d-%b-%Y}" in html
    assert "Correct the daily assessments to change this." in html
    assert reverse("safety:crs-list", args=[subject.pk]) in html
    grade_select = re.search(r'<select name="grade"[^>]*>', html).group(0)
    assert "disabled" in grade_select
    assert 'value="tocilizumab"' in html
    tocilizumab = html.split('value="tocilizumab"')[1][:80]
    assert "disabled" in tocilizumab  # recorded on the daily form
    assert client.get(reverse("safety:crs-list", args=[subject.pk])).status_code == 200


def test_the_form_saves_the_investigators_fields_and_ignores_a_posted_grade(
    client, subject, crs_days, coordinator_a
):
    event = _crs_ae(subject)
    client.force_login(coordinator_a)
    url = reverse("safety:ae-edit", args=[subject.pk, event.pk])
    response = client.post(
        url,
        {
            "grade": "4",  # a disabled field: the browser never posts it, a forged post is ignored
            "relationship_car_t": "probable",
            "relationship_lymphodepletion": "unlikely",
            "expectedness": "expected",
            "action_taken": "not_applicable",
            "treatments": ["anakinra"],
            "treatment_other": "",
            "outcome": "not_recovered",
            "death_date": "",
            "version": str(event.version),
            "reason": "investigator's assessment",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    after = _crs_ae(subject)
    assert (after.grade, after.relationship_car_t) == (2, "probable")
    assert sorted(after.treatments) == ["anakinra", "tocilizumab"]


def test_a_reader_sees_where_a_derived_ae_comes_from(client, subject, crs_days, monitor):
    event = _crs_ae(subject)
    client.force_login(monitor)
    page = client.get(reverse("safety:ae-edit", args=[subject.pk, event.pk]))
    assert page.status_code == 200 and page.context["readonly"] is True
    assert "Derived from the CRS episode of" in page.content.decode()
