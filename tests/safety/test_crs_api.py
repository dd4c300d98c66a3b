"""CRS/ICANS API: writes through the services (codes, versions), reads with fixed queries."""

from __future__ import annotations

import datetime as dt

import pytest

from safety.models import AdverseEvent, CRSAssessment
from tests.safety.crs_data import add_crs, add_icans, infused_subject

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def _day(subject, n):
    return (subject.day0 + dt.timedelta(days=n)).isoformat()


def _grade3(subject, n=2, **changes):
    return {
        "assessment_date": _day(subject, n),
        "max_temperature_c": "38.9",
        "hypotension": True,
        "vasopressors": ["norepinephrine"],
        "norepinephrine_ug_kg_min": "0.08",
        "oxygen_device": "room_air",
        **changes,
    }


def test_a_coordinator_adds_a_day_and_gets_its_grade(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/crs/"
    response = client.post(url, _grade3(subject), content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["grade"], body["sentence"]) == (3, "Grade 3: hypotension needing one vasopressor")
    assert body["study_day"] == 2
    episodes = client.get(f"/api/v1/subjects/{subject.pk}/crs-episodes/").json()["results"]
    assert [(e["max_grade"], e["duration_days"]) for e in episodes] == [(3, 1)]
    event = AdverseEvent.objects.get(subject=subject)
    assert episodes[0]["adverse_event"] == event.pk


def test_bad_input_is_400_with_field_codes_and_nothing_saved(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/crs/"
    response = client.post(
        url, _grade3(subject, norepinephrine_ug_kg_min=None), content_type="application/json"
    )
    assert response.status_code == 400
    assert "dose_required" in response.json()["codes"]
    assert "norepinephrine_ug_kg_min" in response.json()["errors"]
    assert not CRSAssessment.objects.exists()
    add_crs(subject, coordinator_a, 2, "38.5")
    response = client.post(url, _grade3(subject), content_type="application/json")
    assert response.status_code == 400 and "one_per_day" in response.json()["codes"]
    icans = client.post(
        f"/api/v1/subjects/{subject.pk}/icans/",
        {
            "assessment_date": _day(subject, 1),
            "ice_orientation": 9,
            "ice_naming": 3,
            "ice_commands": 1,
            "ice_writing": 1,
            "ice_attention": 1,
        },
        content_type="application/json",
    )
    assert icans.status_code == 400 and "out_of_range" in icans.json()["codes"]


def test_a_change_needs_the_version_read(client, subject, coordinator_a):
    saved = add_crs(subject, coordinator_a, 1, "38.5")
    client.force_login(coordinator_a)
    url = f"/api/v1/subjects/{subject.pk}/crs/{saved.pk}/"
    change = {"oxygen_device": "simple_face_mask", "reason": "mask on the chart"}
    assert client.put(url, change, content_type="application/json").status_code == 428
    stale = {**change, "version": saved.version + 1}
    assert client.put(url, stale, content_type="application/json").status_code == 409
    ok = client.put(url, {**change, "version": saved.version}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["grade"] == 3


def test_readers_read_and_may_not_write_sponsors_and_other_sites_may_not_read(
    client, subject, coordinator_a, monitor, sponsor, coordinator_b
):
    add_crs(subject, coordinator_a, 1, "38.5")
    url = f"/api/v1/subjects/{subject.pk}/crs/"
    client.force_login(monitor)
    assert client.get(url).json()["results"][0]["grade"] == 1
    response = client.post(url, _grade3(subject), content_type="application/json")
    assert response.status_code == 403
    client.force_login(sponsor)
    assert client.get(url).status_code == 403
    client.force_login(coordinator_b)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("kind", ["crs", "icans"])
def test_the_lists_run_a_fixed_number_of_queries(
    client, subject, coordinator_a, django_assert_num_queries, kind
):
    client.force_login(coordinator_a)
    add = add_crs if kind == "crs" else add_icans
    args = ("38.5",) if kind == "crs" else ((3, 2, 1, 0, 0),)
    add(subject, coordinator_a, 1, *args)
    counts = {}
    for url in (
        f"/api/v1/subjects/{subject.pk}/{kind}/",
        f"/api/v1/subjects/{subject.pk}/{kind}-episodes/",
    ):
        client.get(url)
        # session, user, subject with site and study, memberships, the rows (episodes: and
        # their AEs), the session save (savepoint, update, release)
        with django_assert_num_queries(9 if "episodes" in url else 8) as one:
            client.get(url)
        counts[url] = len(one.captured_queries)
    for day in range(2, 6):
        add(subject, coordinator_a, day, *args)
    for url, count in counts.items():
        with django_assert_num_queries(count):
            client.get(url)
