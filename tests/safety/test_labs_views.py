"""Lab pages and API: entry per collection with grades after save, read-only for readers,
proposals confirmed from the page, the selector's and the list's query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from safety.models import AdverseEvent, LabAEProposal, LabPanel, LabResult
from safety.selectors import blood_counts
from tests.safety.lab_data import infused_subject, panel

pytestmark = pytest.mark.django_db


@pytest.fixture
def subject(site_a, coordinator_a, investigator_a):
    return infused_subject(site_a, coordinator_a, investigator_a)


def entry(subject, day, **rows):
    moment = subject.day0
    data = {
        "collected_on": (moment + dt.timedelta(days=day)).isoformat(),
        "collected_time": "07:30",
        "specimen": "blood",
        "accession_number": "",
        "lab_name": "Central",
    }
    for code, (value, unit) in rows.items():
        data[f"r-{code}-value"] = value
        data[f"r-{code}-unit"] = unit
    return data


def test_a_coordinator_enters_a_collection_and_sees_the_grades(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:lab-panel-new", args=[subject.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False
    data = entry(subject, 3, ANC=("0.45", "10^9/L"), PLT=("60", "10^9/L"), CRP=("88", "mg/L"))
    # Units of the other tests default to their catalogue unit (the form posts every row).
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "grade 4" in body and "grade 2" in body and 'data-testid="flag">H<' in body
    assert LabResult.objects.filter(subject=subject).count() == 3
    assert LabAEProposal.objects.filter(subject=subject).count() == 2


def test_a_bad_unit_and_value_come_back_on_their_row(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:lab-panel-new", args=[subject.pk])
    data = entry(subject, 3, ANC=("0.45", "10^9/L"), PLT=("lots", "10^9/L"))
    data["r-HGB-value"], data["r-HGB-unit"] = "9", "mg/dL"
    response = client.post(url, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter the value as a number" in body
    assert "mg/dL cannot be converted for Haemoglobin; accepted units: g/dL, g/L, mmol/L" in body
    assert not LabPanel.objects.exists()


def test_a_monitor_reads_the_collection_read_only(client, subject, coordinator_a, monitor):
    saved = panel(subject, coordinator_a, 2, ("ANC", "0.8"))
    client.force_login(monitor)
    response = client.get(reverse("safety:lab-panel-edit", args=[subject.pk, saved.pk]))
    assert response.status_code == 200 and response.context["readonly"] is True
    assert "grade 3" in response.content.decode()
    assert (
        client.post(reverse("safety:lab-panel-edit", args=[subject.pk, saved.pk])).status_code
        == 403
    )


def test_the_subject_page_counts_pending_proposals_and_the_page_confirms_one(
    client, subject, coordinator_a
):
    panel(subject, coordinator_a, 2, ("ANC", "0.8"))
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "1 proposed AE to review" in page
    proposal = LabAEProposal.objects.get()
    url = reverse("safety:lab-proposal-action", args=[subject.pk, proposal.pk, "confirm"])
    client.post(url, {"version": proposal.version})
    assert AdverseEvent.objects.get(subject=subject).grade == 3
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "proposed AE" not in page


def test_dismissing_from_the_page_without_a_reason_is_refused(client, subject, coordinator_a):
    panel(subject, coordinator_a, 2, ("ANC", "0.8"))
    client.force_login(coordinator_a)
    proposal = LabAEProposal.objects.get()
    url = reverse("safety:lab-proposal-action", args=[subject.pk, proposal.pk, "dismiss"])
    response = client.post(url, {"version": proposal.version, "reason": ""}, follow=True)
    assert "Give the reason" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.decision == "pending"


def _subjects(site_a, coordinator_a, investigator_a, n):
    made = []
    for i in range(n):
        subject = infused_subject(site_a, coordinator_a, investigator_a, initials=f"A{chr(65 + i)}")
        for day, anc, plt in ((1, "1.0", "90"), (7, "0.2", "15"), (19, "1.5", "60")):
            panel(subject, coordinator_a, day, ("ANC", anc), ("PLT", plt), ("HGB", "9"))
        made.append(subject)
    return made


@pytest.mark.parametrize("n", [1, 3])
def test_blood_counts_for_count_recovery_in_one_query(
    site_a, coordinator_a, investigator_a, django_assert_num_queries, n
):
    subjects = _subjects(site_a, coordinator_a, investigator_a, n)
    with django_assert_num_queries(2):  # the ANC/platelet/Hgb results, then the transfusions
        counts = blood_counts(subjects)
    assert len(counts) == n
    days = [c.study_day for c in counts[subjects[0].pk]]
    assert days == [1, 7, 19]
    day7 = counts[subjects[0].pk][1]
    assert (day7.anc_10e9_l, day7.platelets_10e9_l, day7.hemoglobin_g_dl) == (
        Decimal("0.2"), 15, 9,
    )  # fmt: skip


def test_counts_in_other_units_are_converted(site_a, coordinator_a, investigator_a):
    subject = infused_subject(site_a, coordinator_a, investigator_a)
    panel(subject, coordinator_a, 5, ("ANC", "450", "/uL"), ("HGB", "85", "g/L"))
    (count,) = blood_counts([subject])[subject.pk]
    assert (count.anc_10e9_l, count.hemoglobin_g_dl) == (
        Decimal("0.45"), Decimal("8.5"),
    )  # fmt: skip


@pytest.mark.parametrize("n", [1, 3])
def test_the_collections_page_and_api_run_fixed_queries(
    client, site_a, coordinator_a, investigator_a, django_assert_num_queries, n
):
    subject = infused_subject(site_a, coordinator_a, investigator_a)
    for day in range(1, n + 1):
        panel(subject, coordinator_a, day, ("ANC", "0.8"), ("PLT", "40"), ("CRP", "20"))
    client.force_login(coordinator_a)
    url = reverse("safety:lab-panels", args=[subject.pk])
    client.get(url)
    # the same at 1 and n collections: session, user, study, memberships, subject, entry
    # permission and blocking checks, the panels (with subject), their results (one prefetch),
    # the pending-proposal count, the study switcher, the session save
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(url)
    assert response.content.decode().count('data-testid="lab-panel"') == n
    api = reverse("api:subject-lab-panels", args=[subject.pk])
    # session, user, subject (with study and site), memberships, count, panels (with subject),
    # their results (one prefetch), savepoint, session save, release
    with django_assert_num_queries(API_QUERIES):
        body = client.get(api).json()
    assert len(body["results"]) == n and body["results"][0]["results"][0]["grade"] is not None


PAGE_QUERIES = 12
API_QUERIES = 10


def test_the_api_gives_sponsors_no_dates_and_no_accession(client, subject, coordinator_a, sponsor):
    panel(subject, coordinator_a, 2, ("ANC", "0.8"), accession="LIS-99")
    client.force_login(sponsor)
    body = client.get(reverse("api:subject-lab-panels", args=[subject.pk])).json()
    (item,) = body["results"]
    assert "collected_at" not in item and "accession_number" not in item
    assert item["study_day"] == 2 and item["results"][0]["grade"] == 3
    assert isinstance(item["collected_days_from_consent"], int)


def test_the_api_creates_a_collection_through_the_service(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("api:subject-lab-panels", args=[subject.pk])
    moment = f"{subject.day0.isoformat()}T08:00:00Z"
    bad = client.post(
        url,
        {"collected_at": moment, "results": [{"test_code": "ANC", "value": "1", "unit": "kg"}]},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "LB-UNIT" in bad.json()["codes"]
    good = client.post(
        url,
        {"collected_at": moment, "results": [{"test_code": "PLT", "value": "30"}]},
        content_type="application/json",
    )
    assert good.status_code == 201 and good.json()["results"][0]["grade"] == 3


def test_the_grade_is_shown_as_typed_by_the_same_service(client, subject, coordinator_a, monitor):
    panel(subject, coordinator_a, -10, ("ALT", "30"))
    client.force_login(coordinator_a)
    url = reverse("safety:lab-grade-preview", args=[subject.pk])
    data = {**entry(subject, 3), "test_code": "ALT", "value": "201", "unit": "U/L"}
    body = client.post(url, data).json()
    assert (body["grade"], body["flag"], body["baseline"]) == (3, "H", "30.0000")
    assert not LabResult.objects.filter(test_code="ALT", value=201).exists()  # nothing written
    wrong = client.post(url, {**data, "unit": "mg"}).json()
    assert "accepted units" in wrong["errors"]["unit"][0]
    client.force_login(monitor)
    assert client.post(url, data).status_code == 403
