"""Access on every path (issue: integrity §2): one decision for HTML and API; sponsors see no dates.

Sponsors read de-identified data: days relative to informed consent instead of calendar dates,
and the age at consent only. Staff of another site and the study administrator do not read
subjects at all; the Django admin shows clinical data only through a study role.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model

from tests.enrollment_data import screen_eligible_subject

pytestmark = pytest.mark.django_db

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_the_sponsors_subject_list_carries_days_from_consent_not_dates(
    client, study, site_a, coordinator_a, investigator_a, sponsor
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    client.force_login(sponsor)
    row = client.get(f"/api/v1/studies/{study.pk}/subjects/").json()["results"][0]
    assert not ISO_DATE.search(json.dumps(row)), row
    assert row["age_at_consent"] == 51 or row["age_at_consent"] == 50
    assert row["screening_days_from_consent"] == 0  # screened on the day of consent
    assert row["day0_days_from_consent"] is None
    assert row["screening_number"] == subject.screening_number
    assert {"initials", "birth_date", "screening_date", "day0"}.isdisjoint(row)


def test_the_sponsors_eligibility_details_have_no_calendar_date(
    client, site_a, coordinator_a, investigator_a, sponsor
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    identified = client.get(f"/api/v1/subjects/{subject.pk}/eligibility/").json()
    assert ISO_DATE.search(json.dumps(identified["details"]))
    client.force_login(sponsor)
    body = client.get(f"/api/v1/subjects/{subject.pk}/eligibility/").json()
    assert body["criteria"] == identified["criteria"]
    assert not ISO_DATE.search(json.dumps(body["details"]))
    assert "consent day 0" in body["details"]["IN1"]["message"]


def test_another_sites_coordinator_and_the_study_admin_do_not_read_eligibility(
    client, site_a, coordinator_a, investigator_a, coordinator_b, study_admin, outsider
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    url = f"/api/v1/subjects/{subject.pk}/eligibility/"
    for user in (coordinator_b, study_admin, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.logout()
    assert client.get(url).status_code in (401, 403)


def test_a_superuser_without_a_study_role_sees_no_clinical_data_in_the_admin(
    client, site_a, coordinator_a, investigator_a, data_manager
):
    screen_eligible_subject(site_a, coordinator_a, investigator_a)
    root = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw-x-123")
    client.force_login(root)
    assert client.get("/admin/enrollment/subject/").status_code == 403
    index = client.get("/admin/").content.decode()
    assert "Subjects" not in index and "Audit events" not in index
    data_manager.is_staff = True
    data_manager.save()
    client.force_login(data_manager)
    listing = client.get("/admin/enrollment/subject/")
    assert listing.status_code == 200 and "TJ-S-0001" in listing.content.decode()


def test_no_demo_login_is_a_django_superuser(db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    users = get_user_model().objects.filter(
        username__in=["coordinator", "investigator", "monitor", "datamanager", "sponsor", "admin"]
    )
    assert users.count() == 6
    assert not users.filter(is_superuser=True).exists()
    assert list(users.filter(is_staff=True).values_list("username", flat=True)) == ["datamanager"]
