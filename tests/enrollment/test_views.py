"""Enrollment pages: screening log, registration, consent, CRFs, eligibility checklist."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import EligibilityAssessment, ScreeningLabs, Subject, SubjectStatus
from tests.enrollment_data import register_and_consent, screen_eligible_subject

pytestmark = pytest.mark.django_db


def test_a_coordinator_registers_a_subject_and_gets_the_next_screening_number(
    client, coordinator_a, site_a
):
    client.force_login(coordinator_a)
    today = timezone.localdate()
    response = client.post(
        reverse("enrollment:register"),
        {
            "site": site_a.pk,
            "initials": "zhw",
            "sex": "F",
            "birth_date": "1968-07-02",
            "screening_date": today.isoformat(),
        },
    )
    subject = Subject.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("enrollment:subject", args=[subject.pk])
    assert subject.screening_number == "TJ-S-0001"
    page = client.get(response.url).content.decode()
    assert "No consent recorded" in page


def test_registration_with_a_future_birth_date_keeps_the_values_and_saves_nothing(
    client, coordinator_a, site_a
):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:register"),
        {
            "site": site_a.pk,
            "initials": "ZHW",
            "sex": "F",
            "birth_date": "2999-01-01",
            "screening_date": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.context["form"].errors["birth_date"][0]
    assert 'value="ZHW"' in response.content.decode()
    assert not Subject.objects.exists()


def test_a_coordinator_can_only_register_at_their_own_site(client, coordinator_a, site_a, site_b):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:register"),
        {
            "site": site_b.pk,
            "initials": "AB",
            "sex": "M",
            "birth_date": "1970-01-01",
            "screening_date": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 400
    assert "site" in response.context["form"].errors
    assert not Subject.objects.exists()


def test_impossible_lvef_is_a_field_error_and_nothing_is_saved(
    client, coordinator_a, investigator_a, site_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:crf", args=[subject.pk, "cardiac"]),
        {"assessment_date": subject.screening_date.isoformat(), "lvef_pct": "140"},
    )
    assert response.status_code == 400
    assert "lvef_pct" in response.context["form"].errors
    assert 'value="140"' in response.content.decode()


def test_weight_zero_is_refused_on_the_form(client, coordinator_a, investigator_a, site_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("enrollment:crf", args=[subject.pk, "vitals"]),
        {
            "assessment_date": subject.screening_date.isoformat(),
            "weight_kg": "0",
            "systolic_bp_1": "120",
            "diastolic_bp_1": "80",
            "systolic_bp_2": "122",
            "diastolic_bp_2": "78",
        },
    )
    assert response.status_code == 400
    assert "weight_kg" in response.context["form"].errors


def test_each_crf_field_says_which_criterion_it_feeds(
    client, coordinator_a, investigator_a, site_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:crf", args=[subject.pk, "labs"])).content.decode()
    assert "Feeds IN7.3." in page
    assert "Feeds IN7.1." in page
    assert "µmol/L" in page


def test_a_coordinator_reads_but_cannot_answer_the_investigator_attestations(
    client, coordinator_a, investigator_a, site_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    url = reverse("enrollment:crf", args=[subject.pk, "attestation"])
    client.force_login(coordinator_a)
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["readonly"] is True
    assert 'name="estimated_survival_at_least_3_months"' not in page.content.decode()
    assert client.post(url, {"estimated_survival_at_least_3_months": "true"}).status_code == 403
    client.force_login(investigator_a)
    page = client.get(url)
    assert page.status_code == 200 and page.context["readonly"] is False


def test_the_checklist_shows_the_failing_value_and_the_threshold(
    client, coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={ScreeningLabs: {"creatinine": "2.0"}},
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:eligibility", args=[subject.pk])).content.decode()
    assert "Not eligible" in page
    assert "43.3 mL/min" in page and "needs &gt; 45" in page
    assert "Confirm eligibility" not in page  # coordinators cannot sign


def test_the_investigator_confirms_an_eligible_subject(
    client, coordinator_a, investigator_a, site_a, password
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    assessment = EligibilityAssessment.objects.get(subject=subject)
    client.force_login(investigator_a)
    checklist = client.get(reverse("enrollment:eligibility", args=[subject.pk])).content.decode()
    assert "Confirm eligibility (e-signature)" in checklist
    form = client.get(reverse("enrollment:confirm", args=[subject.pk])).content.decode()
    assert "I confirm this subject is eligible for the study." in form

    response = client.post(
        reverse("enrollment:confirm", args=[subject.pk]),
        {"password": password, "version": assessment.version},
    )
    assert response.status_code == 302
    subject.refresh_from_db()
    assert subject.enrollment_status == SubjectStatus.ELIGIBLE
    assert subject.subject_number == "TJ-001"


def test_the_investigator_records_a_screen_failure(
    client, coordinator_a, investigator_a, site_a, password
):
    subject = screen_eligible_subject(
        site_a, coordinator_a, investigator_a, overrides={ScreeningLabs: {"creatinine": "2.0"}}
    )
    client.force_login(investigator_a)
    url = reverse("enrollment:screen-failure", args=[subject.pk])
    values = {"category": "failed_criteria", "text": "", "password": password}
    # Without the version the investigator saw, nothing changes.
    assert client.post(url, values).status_code == 400
    subject.refresh_from_db()
    assert subject.enrollment_status == SubjectStatus.SCREENING
    response = client.post(url, {**values, "version": subject.version})
    assert response.status_code == 302
    subject.refresh_from_db()
    assert subject.enrollment_status == SubjectStatus.SCREEN_FAILURE
    log = client.get(reverse("enrollment:screening-log")).content.decode()
    assert "Screen failure" in log and "IN7.3" in log


def test_another_sites_coordinator_sees_neither_the_subject_nor_it_in_the_log(
    client, coordinator_a, coordinator_b, investigator_a, site_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_b)
    assert client.get(reverse("enrollment:subject", args=[subject.pk])).status_code == 403
    assert (
        subject.screening_number
        not in client.get(reverse("enrollment:screening-log")).content.decode()
    )


def test_the_sponsor_has_no_access_to_identified_screening_data(client, sponsor, site_a):
    client.force_login(sponsor)
    assert client.get(reverse("enrollment:screening-log")).status_code == 403


def test_the_screening_log_filters_by_status_and_date(
    client, coordinator_a, investigator_a, site_a
):
    today = timezone.localdate()
    old = register_and_consent(
        site_a,
        coordinator_a,
        investigator_a,
        screening_date=today - dt.timedelta(days=40),
        initials="OLD",
    )
    new = register_and_consent(site_a, coordinator_a, investigator_a, initials="NEW")
    client.force_login(coordinator_a)
    url = reverse("enrollment:screening-log")
    recent = client.get(url, {"screened_from": (today - dt.timedelta(days=20)).isoformat()})
    assert new.screening_number in recent.content.decode()
    assert old.screening_number not in recent.content.decode()
    none = client.get(url, {"status": "eligible"}).content.decode()
    assert "No subjects match." in none


def test_the_screening_log_runs_a_fixed_number_of_queries(
    client, coordinator_a, investigator_a, site_a, django_assert_num_queries
):
    client.force_login(coordinator_a)
    url = reverse("enrollment:screening-log")
    for n in (1, 4):
        while Subject.objects.count() < n:
            register_and_consent(site_a, coordinator_a, investigator_a)
        # session, user, current study, memberships, filter sites, subject count, subjects
        # page (with sites), their assessments, their open query counts, the summary's counts
        # and failure reasons, switcher studies, session save (3)
        with django_assert_num_queries(15):
            response = client.get(url)
        assert response.content.decode().count('href="/subjects/') >= n


def test_the_subject_page_shows_crf_completeness_and_consent(
    client, coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "ICF v2.1 2025-04-01 signed" in page
    assert "every criterion passes" in page
    assert "not started" not in page


def test_the_investigator_sees_a_reopened_eligibility_on_the_home_page(
    client, coordinator_a, investigator_a, site_a, password
):
    from decimal import Decimal

    from enrollment import services
    from enrollment.models import ScreeningVitals

    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    services.confirm_eligibility(
        subject,
        actor=investigator_a,
        password=password,
        expected_version=EligibilityAssessment.objects.get(subject=subject).version,
    )
    vitals = ScreeningVitals.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        ScreeningVitals,
        actor=coordinator_a,
        values={"weight_kg": Decimal("66")},
        expected_version=vitals.version,
        reason="Re-weighed",
    )
    client.force_login(investigator_a)
    page = client.get("/").content.decode()
    assert "changed after it was confirmed" in page
    assert reverse("enrollment:eligibility", args=[subject.pk]) in page


def test_steroid_courses_show_their_prednisone_equivalent(
    client, coordinator_a, investigator_a, site_a
):
    from decimal import Decimal

    from enrollment import services
    from enrollment.models import MedicationHistory

    subject = screen_eligible_subject(
        site_a,
        coordinator_a,
        investigator_a,
        overrides={MedicationHistory: {"steroids_before_apheresis": True}},
    )
    services.save_steroid_course(
        subject,
        actor=coordinator_a,
        values={
            "drug": "dexamethasone",
            "daily_dose_mg": Decimal("1.5"),
            "start_date": subject.screening_date,
            "end_date": subject.screening_date,
        },
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:crf", args=[subject.pk, "medications"])).content.decode()
    assert "Dexamethasone 1.50 mg/day" in page
    assert "≈ 10.0 mg prednisone/day" in page


def test_the_admin_shows_subjects_to_the_data_manager_read_only_and_not_to_a_bare_superuser(
    client, coordinator_a, investigator_a, data_manager, site_a
):
    from django.contrib.auth import get_user_model

    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    root = get_user_model().objects.create_superuser("root", "r@example.invalid", "pw-x-123")
    client.force_login(root)  # no study role: no clinical data (docs/roles.md)
    listing = client.get("/admin/enrollment/subject/")
    assert subject.screening_number not in listing.content.decode()
    data_manager.is_staff = True
    data_manager.save()
    client.force_login(data_manager)
    assert subject.screening_number in client.get("/admin/enrollment/subject/").content.decode()
    change = client.post(f"/admin/enrollment/subject/{subject.pk}/change/", {"initials": "ZZ"})
    assert change.status_code in (302, 403)
    subject.refresh_from_db()
    assert subject.initials == "WLX"
