"""The CRF platform as the screening CRFs use it: versions, plausibility, visits, queries, reading.

Each test is the behaviour a site user meets on the form, the API or the subject page.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enrollment import selectors, services
from enrollment.models import FormExpectation, ScreeningLabs, ScreeningVitals
from enrollment.plausibility import site_today
from tests.enrollment_data import register_and_consent, screen_eligible_subject
from trialsite.records.exceptions import StaleVersion
from trialsite.records.models import AuditEvent, DataQuery

pytestmark = pytest.mark.django_db


def labs(subject, **values):
    base = {"lab_date": subject.screening_date, "creatinine": Decimal("0.9")}
    return {**base, **values}


def crf_api(subject, crf="labs"):
    return f"/api/v1/subjects/{subject.pk}/screening/{crf}/"


# --- Plausibility (hard edit checks) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("creatinine", Decimal("9999"), "not a possible value"),
        ("platelets_10e9_l", Decimal("99999"), "not a possible value"),
        ("alt_uln_u_l", Decimal("0"), "not a possible value"),
        ("total_bilirubin_uln", Decimal("0"), "not a possible value"),
    ],
)
def test_an_impossible_lab_value_is_refused_on_its_field(
    site_a, coordinator_a, investigator_a, field, value, message
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.save_screening_crf(
            subject, ScreeningLabs, actor=coordinator_a, values=labs(subject, **{field: value})
        )
    assert message in excinfo.value.message_dict[field][0]
    assert not ScreeningLabs.objects.exists()


def test_creatinine_limits_follow_the_unit_chosen(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    saved = services.save_screening_crf(
        subject,
        ScreeningLabs,
        actor=coordinator_a,
        values=labs(subject, creatinine=Decimal("80"), creatinine_unit="umol/L"),
    )
    assert saved.creatinine == Decimal("80")
    with pytest.raises(ValidationError) as excinfo:
        services.save_screening_crf(
            subject,
            ScreeningLabs,
            actor=coordinator_a,
            values={"creatinine_unit": "mg/dL"},
            expected_version=saved.version,
            reason="unit",
        )
    assert "plausible: 0.1–25 mg/dL" in excinfo.value.message_dict["creatinine"][0]


def test_a_date_in_the_future_at_the_site_is_refused_today_is_accepted(
    site_a, coordinator_a, investigator_a, frozen_clock
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    # 23:30 UTC is already tomorrow in Tianjin (UTC+8): the site's date decides.
    frozen_clock(timezone.make_aware(dt.datetime(2026, 12, 1, 23, 30), dt.UTC))
    today_at_site = site_today(site_a)
    assert today_at_site == dt.date(2026, 12, 2)
    with pytest.raises(ValidationError) as excinfo:
        services.save_screening_crf(
            subject,
            ScreeningLabs,
            actor=coordinator_a,
            values=labs(subject, lab_date=today_at_site + dt.timedelta(days=1)),
        )
    assert "is in the future" in excinfo.value.message_dict["lab_date"][0]
    saved = services.save_screening_crf(
        subject, ScreeningLabs, actor=coordinator_a, values=labs(subject, lab_date=today_at_site)
    )
    assert saved.lab_date == today_at_site


def test_a_date_before_birth_and_the_year_one_are_refused(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as excinfo:
        services.update_subject(
            subject,
            actor=coordinator_a,
            values={"screening_date": dt.date(1960, 1, 1)},
            expected_version=subject.version,
            reason="typo",
        )
    assert "before the subject's birth" in excinfo.value.message_dict["screening_date"][0]
    from enrollment.models import Consent

    consent = Consent.objects.get(subject=subject)
    with pytest.raises(ValidationError) as excinfo:
        services.update_consent(
            consent,
            actor=coordinator_a,
            values={"signed_at": timezone.make_aware(dt.datetime(1, 1, 2, 9, 0))},
            expected_version=consent.version,
            reason="typo",
        )
    assert "before 1900" in excinfo.value.message_dict["signed_at"][0]


def test_the_api_answers_a_future_date_with_a_field_error_not_a_500(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    response = client.put(
        crf_api(subject),
        data=json.dumps({"lab_date": "9999-12-31", "creatinine": "0.9"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "lab_date" in response.json()["errors"]


# --- Versions on every write path ---------------------------------------------------------------


def test_the_api_refuses_a_change_without_a_version_with_428(
    client, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    body = {"lab_date": subject.screening_date.isoformat(), "creatinine": "0.9"}
    first = client.put(crf_api(subject), data=json.dumps(body), content_type="application/json")
    assert first.status_code == 201 and first.json()["version"] == 1
    again = client.put(
        crf_api(subject),
        data=json.dumps({**body, "creatinine": "1.1"}),
        content_type="application/json",
    )
    assert again.status_code == 409  # a second first-save: someone entered it already
    missing = client.put(
        crf_api(subject),
        data=json.dumps({"creatinine": "1.1", "reason": "r", "version": None}),
        content_type="application/json",
    )
    assert missing.status_code in (409, 428)
    stale = client.put(
        crf_api(subject),
        data=json.dumps({"creatinine": "1.1", "reason": "r", "version": 7}),
        content_type="application/json",
    )
    assert stale.status_code == 409 and stale.json()["current_version"] == 1
    assert stale["Content-Type"] == "application/problem+json"
    assert ScreeningLabs.objects.get().creatinine == Decimal("0.9")
    ok = client.put(
        crf_api(subject),
        data=json.dumps({"creatinine": "1.1", "reason": "source", "version": 1}),
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2


def test_a_second_first_save_is_a_conflict_not_an_overwrite(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    services.save_screening_crf(subject, ScreeningLabs, actor=coordinator_a, values=labs(subject))
    with pytest.raises(StaleVersion) as excinfo:
        services.save_screening_crf(
            subject,
            ScreeningLabs,
            actor=investigator_a,
            values=labs(subject, creatinine=Decimal("1.4")),
        )
    assert "already entered" in excinfo.value.message
    assert ScreeningLabs.objects.get().creatinine == Decimal("0.9")


@pytest.mark.parametrize(
    ("url_name", "args"),
    [
        ("enrollment:crf", ["labs"]),
        ("enrollment:edit-subject", []),
        ("enrollment:consent-edit", ["consent"]),
        ("enrollment:steroid-edit", ["course"]),
    ],
)
def test_every_form_refuses_an_edit_without_the_version_it_read(
    client, site_a, coordinator_a, investigator_a, url_name, args
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    if args == ["consent"]:
        args = [subject_consent_pk(subject)]
    if args == ["course"]:
        args = [add_steroid_course(subject, coordinator_a).pk]
    client.force_login(coordinator_a)
    url = reverse(url_name, args=[subject.pk, *args])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "version"}
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    data["reason"] = "checking"
    events = AuditEvent.objects.count()
    response = client.post(url, data)
    assert response.status_code == 400
    assert "version" in response.context["form"].errors
    assert AuditEvent.objects.count() == events


def add_steroid_course(subject, coordinator):
    from enrollment.models import MedicationHistory

    medications = MedicationHistory.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        MedicationHistory,
        actor=coordinator,
        values={"steroids_before_apheresis": True},
        expected_version=medications.version,
        reason="found in the notes",
    )
    return services.save_steroid_course(
        subject,
        actor=coordinator,
        values={
            "drug": "prednisone",
            "daily_dose_mg": Decimal("5"),
            "start_date": subject.screening_date,
            "ongoing": True,
        },
    )


def subject_consent_pk(subject) -> int:
    from enrollment.models import Consent

    return Consent.objects.get(subject=subject).pk


# --- Visits, study days, expectations, the window check ----------------------------------------


def test_registration_builds_the_screening_visit_and_its_expected_forms(
    site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a, sex="M")
    expected = dict(
        FormExpectation.objects.filter(subject=subject).values_list("form_code", "status")
    )
    assert expected["labs"] == "required" and expected["pregnancy"] == "not_required"
    assert len(expected) == 10
    services.save_screening_crf(subject, ScreeningLabs, actor=coordinator_a, values=labs(subject))
    assert FormExpectation.objects.get(subject=subject, form_code="labs").status == "entered"


def test_missing_forms_are_required_forms_not_entered_once_the_window_closed(
    site_a, coordinator_a, investigator_a, django_assert_num_queries
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    window_end = subject.screening_date + dt.timedelta(days=28)
    assert not list(selectors.missing_forms(subject=subject, today=window_end))
    with django_assert_num_queries(1):
        missing = list(
            selectors.missing_forms(study=subject.study, today=window_end + dt.timedelta(days=1))
        )
    assert {e.form_code for e in missing} == {
        "vitals",
        "aml_history",
        "antigens",
        "labs",
        "cardiac",
        "virology",
        "medications",
        "conditions",
        "attestation",
    }


def test_a_date_outside_the_visit_window_opens_a_query_that_closes_when_corrected(
    site_a, coordinator_a, investigator_a
):
    screening_date = timezone.localdate() - dt.timedelta(days=40)
    subject = register_and_consent(
        site_a, coordinator_a, investigator_a, screening_date=screening_date
    )
    late = screening_date + dt.timedelta(days=29)  # one day past the 28-day window
    saved = services.save_screening_crf(
        subject, ScreeningLabs, actor=coordinator_a, values=labs(subject, lab_date=late)
    )
    query = DataQuery.objects.get(rule_ref="VIS-WINDOW")
    assert query.field == "lab_date" and query.status == "open"
    assert "Screening: the window is" in query.text and late.isoformat() in query.text
    on_the_limit = screening_date + dt.timedelta(days=28)
    services.save_screening_crf(
        subject,
        ScreeningLabs,
        actor=coordinator_a,
        values={"lab_date": on_the_limit},
        record=saved,
        expected_version=saved.version,
        reason="Sample date corrected from the lab report",
    )
    query.refresh_from_db()
    assert query.status == "closed"


def test_study_days_count_from_day_0_and_are_negative_before_it(
    site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    record = ScreeningLabs.objects.get(subject=subject)
    assert record.study_day is None  # no infusion yet
    day0 = subject.screening_date + dt.timedelta(days=9)
    services.anchor_schedule(subject, day0, actor=investigator_a)
    record = ScreeningLabs.objects.select_related("subject").get(subject=subject)
    assert record.study_day == -9
    assert record.visit.code == "SCR"


# --- Reading ----------------------------------------------------------------------------------


def test_monitors_and_data_managers_read_every_screening_crf(
    client, site_a, coordinator_a, investigator_a, monitor, data_manager
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    for reader in (monitor, data_manager):
        client.force_login(reader)
        for crf in ("vitals", "labs", "attestation", "medications"):
            page = client.get(reverse("enrollment:crf", args=[subject.pk, crf]))
            assert page.status_code == 200, (reader, crf)
            assert page.context["readonly"] is True
            html = page.content.decode()
            assert "History of this record" in html and "version 1" in html
        assert "Raise a data query" in html


def test_before_consent_the_crf_is_read_only_with_the_reason(client, site_a, coordinator_a):
    subject = services.register_subject(
        actor=coordinator_a,
        site=site_a,
        initials="AB",
        sex="M",
        birth_date=dt.date(1970, 1, 1),
        screening_date=timezone.localdate(),
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("enrollment:crf", args=[subject.pk, "vitals"]))
    assert page.status_code == 200 and page.context["readonly"] is True
    assert "informed consent before entering screening data" in page.content.decode()
    assert not ScreeningVitals.objects.exists()


def test_an_outsider_and_another_sites_coordinator_cannot_read(
    client, site_a, coordinator_a, investigator_a, coordinator_b, outsider
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    url = reverse("enrollment:crf", args=[subject.pk, "labs"])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(coordinator_b)
    assert client.get(url).status_code == 403
    assert client.get(f"/api/v1/subjects/{subject.pk}/eligibility/").status_code == 404


def test_the_form_shows_open_queries_beside_their_field(
    client, site_a, coordinator_a, investigator_a, monitor
):
    from trialsite.records import queries

    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    record = ScreeningLabs.objects.get(subject=subject)
    queries.raise_query(record, actor=monitor, field="creatinine", text="Source says 0.8?")
    client.force_login(coordinator_a)
    html = client.get(reverse("enrollment:crf", args=[subject.pk, "labs"])).content.decode()
    assert 'data-field="creatinine"' in html and "Source says 0.8?" in html
    page = client.get(reverse("enrollment:subject", args=[subject.pk])).content.decode()
    assert "1 open query" in page


def test_query_text_that_looks_like_template_code_is_shown_not_run(
    client, site_a, coordinator_a, investigator_a, monitor
):
    from trialsite.records import queries

    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    record = ScreeningLabs.objects.get(subject=subject)
    text = "{{ request.user.username }} {% now 'Y' %}"
    queries.raise_query(record, actor=monitor, field="creatinine", text=text)
    client.force_login(coordinator_a)
    html = client.get(reverse("enrollment:crf", args=[subject.pk, "labs"])).content.decode()
    assert "&#123;&#123; request.user.username &#125;&#125;" in html
    assert "coord_a &#123;" not in html and "coord_a {" not in html
