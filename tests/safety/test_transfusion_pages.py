"""The transfusion log, CRF and API: entry by the site's staff, read-only for readers, the
sponsor's API view by study day, versions and field errors; the demo's transfusions."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from safety.models import Transfusion
from safety.selectors_transfusions import transfusions_of
from tests.safety.crs_data import infused_subject
from tests.safety.transfusion_data import transfuse

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a, days_ago=14)


def _date(subject, day):
    return (subject.day0 + dt.timedelta(days=day)).strftime("%d-%b-%Y")


def test_the_coordinator_adds_a_transfusion_and_sees_it_in_the_log(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = f"/safety/subjects/{subject.pk}/transfusions/new/"
    assert client.get(url).status_code == 200
    saved = client.post(
        url,
        {"transfusion_date": _date(subject, 5), "product": "platelets", "units": "2",
         "reason": "platelets 9"},
    )  # fmt: skip
    assert saved.status_code == 302, saved.context["form"].errors
    row = Transfusion.objects.get(subject=subject)
    assert (row.product, row.units, row.study_day) == ("platelets", 2, 5)
    log = client.get(f"/safety/subjects/{subject.pk}/transfusions/").content.decode()
    assert "Platelets" in log and 'data-testid="add-transfusion"' in log


def test_bad_units_are_shown_beside_the_field_and_nothing_is_saved(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(
        f"/safety/subjects/{subject.pk}/transfusions/new/",
        {"transfusion_date": _date(subject, 5), "product": "platelets", "units": "45"},
    )
    assert response.status_code == 400  # the form again, with the error beside the field
    assert "units" in response.context["form"].errors
    assert not Transfusion.objects.exists()


def test_a_monitor_reads_a_transfusion_read_only(client, subject, coordinator_a, monitor):
    given = transfuse(subject, coordinator_a, 3, "red_cells")
    client.force_login(monitor)
    page = client.get(f"/safety/subjects/{subject.pk}/transfusions/{given.pk}/")
    assert page.status_code == 200 and page.context["readonly"] is True
    log = client.get(f"/safety/subjects/{subject.pk}/transfusions/").content.decode()
    assert 'data-testid="add-transfusion"' not in log


@pytest.mark.parametrize("n", [1, 4])
def test_the_log_reads_in_one_query(subject, coordinator_a, django_assert_num_queries, n):
    for day in range(n):
        transfuse(subject, coordinator_a, day, "platelets")
    with django_assert_num_queries(1):
        rows = transfusions_of(subject)
        assert [r.study_day for r in rows] == list(range(n - 1, -1, -1))


def test_the_api_adds_and_corrects_with_the_version(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    base = f"/api/v1/subjects/{subject.pk}/transfusions/"
    body = {"transfusion_date": str(subject.day0 + dt.timedelta(days=4)), "product": "platelets",
            "units": 1, "reason": "platelets 12"}  # fmt: skip
    created = client.post(base, body, content_type="application/json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["study_day"], data["product"]) == (4, "platelets")
    url = f"{base}{data['id']}/"
    missing = client.patch(url, {"units": 2, "change_reason": "typo"}, "application/json")
    assert missing.status_code == 428
    stale = client.patch(
        url, {"units": 2, "version": data["version"] + 3, "change_reason": "typo"},
        "application/json",
    )  # fmt: skip
    assert stale.status_code == 409
    bad = client.patch(
        url, {"units": 0, "version": data["version"], "change_reason": "typo"}, "application/json"
    )
    assert bad.status_code == 400 and "units" in bad.json()["errors"]
    ok = client.patch(
        url, {"units": 2, "version": data["version"], "change_reason": "typo"}, "application/json"
    )
    assert ok.status_code == 200 and ok.json()["units"] == 2


def test_the_sponsor_reads_study_days_and_cannot_write(client, subject, coordinator_a, sponsor):
    transfuse(subject, coordinator_a, 6, "platelets")
    client.force_login(sponsor)
    base = f"/api/v1/subjects/{subject.pk}/transfusions/"
    (row,) = client.get(base).json()
    assert row["transfusion_day"] == 6 and "transfusion_date" not in row
    refused = client.post(base, {"product": "plasma", "units": 1}, "application/json")
    assert refused.status_code == 403


def test_the_demo_gives_the_cytopenic_subject_transfusions():
    call_command("seed_demo", stdout=StringIO())
    rows = list(Transfusion.objects.order_by("transfusion_date", "pk"))
    assert [r.product for r in rows] == ["platelets", "red_cells", "platelets"]
    assert [r.study_day for r in rows] == [7, 7, 10]
    call_command("seed_demo", stdout=StringIO())
    assert Transfusion.objects.count() == 3
