"""Pages through the real stack: login, role-aware home, scoping, the base CRF view, health."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.testapp.models import VitalSigns
from trialsite.records import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_worker():
    """A fresh worker heartbeat, as a running worker writes it (``trialsite.heartbeat``)."""
    from trialsite import heartbeat

    heartbeat.beat()
    yield
    from django.core.cache import cache

    cache.delete(heartbeat.KEY)


def test_it_requires_login_everywhere_but_login_and_health(client, live_worker):
    assert client.get("/").status_code == 302
    assert client.get("/").url.startswith(reverse("login"))
    assert client.get(reverse("study-settings")).status_code == 302
    assert client.get("/api/v1/studies/").status_code in (401, 403)
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("healthz")).status_code == 200


def test_healthz_reports_each_dependency_as_json(client, live_worker):
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert "broker" in body


def test_it_logs_in_and_shows_the_role_on_the_home_page(client, investigator_a, password, study):
    response = client.post(
        reverse("login"), {"username": "inv_a", "password": password}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert study.short_title in page
    assert "Investigator" in page
    assert "adjudicate DLTs" in page


def test_home_shows_the_sponsor_no_team_names(client, sponsor, coordinator_a):
    client.force_login(sponsor)
    page = client.get("/").content.decode()
    assert "Sponsor" in page
    assert "coord_a" not in page and "Study team" not in page


def test_a_user_without_membership_sees_no_study(client, outsider, study):
    client.force_login(outsider)
    page = client.get("/").content.decode()
    assert "No study access" in page
    assert study.short_title not in page
    assert client.get("/api/v1/studies/").json()["results"] == []


def test_navigation_follows_the_role(client, study_admin, coordinator_a, data_manager):
    client.force_login(study_admin)
    assert reverse("audit-trail") not in client.get("/").content.decode()
    assert client.get(reverse("audit-trail")).status_code == 403
    client.force_login(coordinator_a)  # their site's history
    assert reverse("audit-trail") in client.get("/").content.decode()
    client.force_login(data_manager)
    assert reverse("audit-trail") in client.get("/").content.decode()
    assert client.get(reverse("audit-trail")).status_code == 200


def test_repeated_failed_logins_lock_the_account(client, coordinator_a, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "coord_a", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "coord_a", "password": password})
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()


def test_sessions_expire_after_30_idle_minutes(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


# --- The base CRF view ---------------------------------------------------------------------------


def vitals(study, site, actor, **values):
    return services.create_record(
        VitalSigns,
        actor=actor,
        study=study,
        values={"site": site, "subject_label": "TJ-S-0003", "weight_kg": Decimal("80.0"), **values},
    )


def test_a_coordinator_enters_a_crf_and_it_is_audited(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    url = reverse("vitals-new", args=[site_a.pk])
    response = client.post(url, {"subject_label": "TJ-S-0009", "weight_kg": "65.5"})
    record = VitalSigns.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("vitals-edit", args=[record.pk])
    assert record.weight_kg == Decimal("65.5")
    assert selectors.audit_trail(record).get().actor == coordinator_a


def test_bad_input_gets_a_field_error_and_keeps_the_entered_values(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("vitals-new", args=[site_a.pk]),
        {"subject_label": "TJ-S-0010", "weight_kg": "0", "note": "scale checked"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "Weight must be above 0 kg." in form.errors["weight_kg"]
    page = response.content.decode()
    assert 'value="scale checked"' in page and 'value="TJ-S-0010"' in page
    assert not VitalSigns.objects.exists()


def test_a_stale_form_says_who_changed_the_record_and_keeps_the_values(
    client, coordinator_a, investigator_a, study, site_a
):
    record = vitals(study, site_a, coordinator_a)
    services.update_record(
        record, actor=investigator_a, values={"note": "investigator"}, expected_version=1
    )
    client.force_login(coordinator_a)
    response = client.post(
        reverse("vitals-edit", args=[record.pk]),
        {"subject_label": "TJ-S-0003", "weight_kg": "81.0", "note": "mine", "version": "1"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This record was changed by inv_a at" in page
    assert "reload to see their change" in page
    assert 'value="mine"' in page
    assert VitalSigns.objects.get(pk=record.pk).note == "investigator"


def test_a_submitted_record_asks_for_a_reason_on_the_form(client, coordinator_a, study, site_a):
    record = vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)
    client.force_login(coordinator_a)
    url = reverse("vitals-edit", args=[record.pk])
    data = {"subject_label": "TJ-S-0003", "weight_kg": "82.0", "version": str(record.version)}

    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "reason" in refused.context["form"].errors

    accepted = client.post(url, {**data, "reason": "Source re-checked"})
    assert accepted.status_code == 302
    assert selectors.audit_trail(record).last().reason == "Source re-checked"


def test_a_coordinator_of_another_site_cannot_open_the_crf(
    client, coordinator_a, coordinator_b, study, site_a
):
    record = vitals(study, site_a, coordinator_a)
    client.force_login(coordinator_b)
    assert client.get(reverse("vitals-edit", args=[record.pk])).status_code == 403


def test_an_outsider_gets_404_not_a_hint_the_study_exists(
    client, coordinator_a, outsider, study, site_a
):
    record = vitals(study, site_a, coordinator_a)
    client.force_login(outsider)
    assert client.get(reverse("vitals-edit", args=[record.pk])).status_code == 404


def test_signing_asks_for_the_password_and_shows_the_meaning(
    client, coordinator_a, investigator_a, password, study, site_a
):
    record = vitals(study, site_a, coordinator_a)
    record = services.submit_record(record, actor=coordinator_a, expected_version=1)
    client.force_login(investigator_a)
    url = reverse("vitals-sign", args=[record.pk])
    assert "I confirm these vital signs" in client.get(url).content.decode()

    wrong = client.post(url, {"password": "nope", "version": record.version})
    assert wrong.status_code == 400
    assert "password is not correct" in wrong.content.decode()

    signed = client.post(url, {"password": password, "version": record.version})
    assert signed.status_code == 302
    record.refresh_from_db()
    assert selectors.signature_state(record).valid


def test_a_coordinator_cannot_sign(client, coordinator_a, password, study, site_a):
    record = vitals(study, site_a, coordinator_a)
    client.force_login(coordinator_a)
    response = client.post(
        reverse("vitals-sign", args=[record.pk]), {"password": password, "version": 1}
    )
    assert response.status_code == 403


def test_the_audit_trail_page_lists_changes_in_a_fixed_number_of_queries(
    client, data_manager, coordinator_a, study, site_a, django_assert_num_queries
):
    client.force_login(data_manager)
    for rows in (1, 3):
        vitals(study, site_a, coordinator_a)
        if rows == 3:
            vitals(study, site_a, coordinator_a)
        # session, user, current study, memberships, the filter's subjects and users, event
        # count, switcher studies, events, and the session save (savepoint, update, release):
        # the same for any number of rows
        with django_assert_num_queries(12):
            response = client.get(reverse("audit-trail"))
        assert response.status_code == 200
        assert response.content.decode().count("Vital signs TJ-S-0003") == rows


def test_healthz_reports_an_unreachable_broker_in_one_line(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "ok"
    assert "\n" not in body["broker"] and body["broker"] != "ok"


def test_a_user_changes_their_password(client, coordinator_a, password):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "a-much-longer-passphrase-2026",
            "new_password2": "a-much-longer-passphrase-2026",
        },
    )
    assert response.status_code == 302
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password("a-much-longer-passphrase-2026")


def test_weak_passwords_are_refused(client, coordinator_a, password):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["new_password2"])
    assert "too short" in errors and "entirely numeric" in errors
