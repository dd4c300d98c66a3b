"""The access matrix of docs/roles.md, checked cell by cell against every URL of the app.

The documentation is the test's input, so the role table users read and the behaviour cannot
drift apart (issue: integrity §2). Every persona meets one world: a subject screened at site A
with a consent, every screening CRF, a steroid course, a prior regimen and an open manual query.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from efficacy import sample_import
from enrollment import services
from enrollment.models import Consent, MedicationHistory, ScreeningLabs
from enrollment.off_study import save_off_study
from safety import lab_import
from safety.models import CTCAETerm, LabAEProposal
from safety.services import save_adverse_event, save_lab_panel
from tests.dosing_data import confirmed_subject, prepare_treatment
from tests.efficacy.efficacy_data import efficacy_records
from tests.enrollment_data import screen_eligible_subject
from tests.safety.crs_data import add_crs, add_icans
from tests.safety.dlt_data import dlt_candidate
from tests.safety.sae_data import serious_event
from tests.safety.transfusion_data import transfuse
from trialsite import clock
from trialsite.records import notifications, queries
from trialsite.studies.models import Membership

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
PERSONAS = [
    "coordinator",
    "investigator",
    "monitor",
    "data manager",
    "sponsor",
    "administrator",
    "other site's coordinator",
]
FIXTURES = {
    "coordinator": "coordinator_a",
    "investigator": "investigator_a",
    "monitor": "monitor",
    "data manager": "data_manager",
    "sponsor": "sponsor",
    "administrator": "study_admin",
    "other site's coordinator": "coordinator_b",
}
SAME_FOR_EVERYONE = {"login", "logout", "password_change", "password_change_done", "healthz"}


def matrix() -> list[dict]:
    """The rows of the table under "The access matrix" in docs/roles.md."""
    text = DOC.read_text(encoding="utf-8").split("## The access matrix", 1)[1]
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(PERSONAS) or cells[0] in ("page", "---"):
            continue
        rows.append(
            {"page": cells[0], "method": cells[1], **dict(zip(PERSONAS, cells[2:], strict=True))}
        )
    return rows


def url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(namespace + pattern.name)

    walk(get_resolver("trialsite.urls").url_patterns)
    return names


def test_every_url_of_the_application_is_in_the_matrix():
    documented = {re.sub(r"\[.*\]$", "", row["page"]) for row in matrix()}
    assert url_names() - SAME_FOR_EVERYONE == documented


@pytest.fixture
def world(study, site_a, site_b, coordinator_a, investigator_a, monitor):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    medications = MedicationHistory.objects.get(subject=subject)
    services.save_screening_crf(
        subject,
        MedicationHistory,
        actor=coordinator_a,
        values={"steroids_before_apheresis": True},
        expected_version=medications.version,
        reason="steroids found in the notes",
    )
    course = services.save_steroid_course(
        subject,
        actor=coordinator_a,
        values={
            "drug": "prednisone",
            "daily_dose_mg": 5,
            "start_date": timezone.localdate() - dt.timedelta(days=3),
            "ongoing": True,
        },
    )
    regimen = services.save_prior_regimen(
        subject,
        actor=coordinator_a,
        values={
            "regimen": "Venetoclax + azacitidine",
            "start_date": timezone.localdate() - dt.timedelta(days=90),
            "end_date": timezone.localdate() - dt.timedelta(days=40),
            "best_response": "CRi",
        },
    )
    adverse_event = save_adverse_event(
        subject,
        actor=coordinator_a,
        values={
            "term": CTCAETerm.objects.get(term="Fever"),
            "onset_date": timezone.localdate() - dt.timedelta(days=1),
            "grade": 1,
        },
    )
    labs = ScreeningLabs.objects.get(subject=subject)
    query = queries.raise_query(labs, actor=monitor, field="creatinine", text="Source value?")
    (notice,) = notifications.notify(study, [investigator_a], message="Look at this", url="/")
    # Dosing: one confirmed subject waiting for assignment, one assigned with apheresis, a
    # released lot and lymphodepletion, waiting for the infusion (so every dosing page opens
    # for entry to the site's staff).
    unassigned = confirmed_subject(site_a, coordinator_a, investigator_a, initials="AB")
    treated = confirmed_subject(site_a, coordinator_a, investigator_a, initials="CD")
    prepare_treatment(treated, coordinator_a, day0=clock.today() + dt.timedelta(days=20))
    candidate = dlt_candidate(subject, coordinator_a)
    lab_panel = save_lab_panel(
        subject,
        actor=coordinator_a,
        values={"collected_at": timezone.now() - dt.timedelta(hours=1)},
        results=[{"test_code": "ANC", "value": "0.4"}],
    )
    lab_import.set_progress("matrix-token", state="done", done=1, total=1, user_id=coordinator_a.pk)
    sample_import.set_progress(
        "matrix-samples", state="done", done=1, total=1, user_id=coordinator_a.pk
    )
    services.anchor_schedule(
        subject, timezone.localdate() - dt.timedelta(days=2), actor=coordinator_a
    )
    subject.refresh_from_db()
    crs = add_crs(subject, coordinator_a, 1, "38.6")
    icans = add_icans(subject, coordinator_a, 1, (3, 2, 1, 0, 0))
    sae = serious_event(subject, coordinator_a).sae_report
    left = confirmed_subject(site_a, coordinator_a, investigator_a, initials="EF")
    save_off_study(
        left,
        actor=coordinator_a,
        values={"off_study_date": clock.today(), "off_study_reason": "investigator_decision"},
    )
    transfusion = transfuse(subject, coordinator_a, 1, "platelets")
    efficacy = efficacy_records(subject, coordinator_a)
    return {
        "transfusion": transfusion,
        **efficacy,
        "unassigned": unassigned,
        "treated": treated,
        "lab_panel": lab_panel,
        "lab_proposal": LabAEProposal.objects.get(subject=subject),
        "notice": notice,
        "membership": Membership.objects.get(user=coordinator_a),
        "study": study,
        "subject": subject,
        "consent": Consent.objects.get(subject=subject),
        "course": course,
        "regimen": regimen,
        "labs": labs,
        "query": query,
        "candidate": candidate,
        "adverse_event": adverse_event,
        "crs": crs,
        "icans": icans,
        "sae": sae,
        "off_study": left,
    }


DESIGN_VALUES = {"p_dlt_1": "0.05", "p_dlt_2": "0.1", "p_dlt_3": "0.25", "p_dlt_4": "0.4"}


def design_run(world: dict) -> str:
    """A finished simulation run of the study's design (dosing.design), made once per world."""
    from dosing import design

    if "design_run" not in world:
        sd = design.study_design(world["study"])
        inputs = design.Inputs(
            p_dlt=(0.05, 0.1, 0.25, 0.4), p_grade2=(0,) * 4, method="simulation", n_trials=100
        )
        world["design_run"] = design.create_run(sd, actor=world["membership"].user, inputs=inputs)
        design.run(world["design_run"])
    return world["design_run"]


def url_of(page: str, world: dict) -> str:
    if page == "design:exact-csv":
        return f"{reverse(page)}?{urlencode(DESIGN_VALUES)}"
    if page.startswith("design:run"):
        return reverse(page, args=[design_run(world)])
    subject = world["subject"]
    labs = world["labs"]
    content_type = ContentType.objects.get_for_model(ScreeningLabs).pk
    name, _, param = page.partition("[")
    param = param.rstrip("]")
    args = {
        "enrollment:subject": [subject.pk],
        "enrollment:edit-subject": [subject.pk],
        "enrollment:consent": [subject.pk],
        "enrollment:consent-edit": [subject.pk, world["consent"].pk],
        "enrollment:crf": [subject.pk, param],
        "enrollment:steroid-new": [subject.pk],
        "enrollment:steroid-edit": [subject.pk, world["course"].pk],
        "enrollment:regimen-new": [subject.pk],
        "enrollment:regimen-edit": [subject.pk, world["regimen"].pk],
        "enrollment:eligibility": [subject.pk],
        "enrollment:confirm": [subject.pk],
        "enrollment:screen-failure": [subject.pk],
        "enrollment:reverse-screen-failure": [subject.pk],
        "enrollment:reverse-withdrawal": [subject.pk],
        "enrollment:rescreen": [subject.pk],
        "records:query": [world["query"].pk],
        "records:query-action": [world["query"].pk, param],
        "records:raise-query": [content_type, labs.pk],
        "records:history": [content_type, labs.pk],
        "records:notification": [world["notice"].pk],
        "study-member": [world["membership"].pk],
        "records:notification-dismiss": [world["notice"].pk],
        "api:study-detail": [world["study"].pk],
        "api:subject-list": [world["study"].pk],
        "api:subject-eligibility": [subject.pk],
        "api:subject-screening-crf": [subject.pk, "labs"],
        "dosing:assign": [world["unassigned"].pk],
        "dosing:apheresis": [world["treated"].pk],
        "dosing:release": [world["treated"].pk],
        "dosing:lymphodepletion": [world["treated"].pk],
        "dosing:infusion": [world["treated"].pk],
        "dosing:end-assignment": [world["treated"].pk],
        "api:dosing-list": [world["study"].pk, param],
        "api:escalation": [world["study"].pk],
        "api:efficacy-endpoints": [world["study"].pk],
        "api:escalation-what-if": [world["study"].pk],
        "efficacy-dashboard:csv": [param],
        "api:subject-dosing-crf": [world["treated"].pk, param],
        "api:subject-assignment": [world["treated"].pk],
        "api:subject-assignment-end": [world["treated"].pk],
        "safety:dlt-evaluation": [subject.pk],
        "safety:dlt-adjudicate": [subject.pk, world["candidate"].pk],
        "api:dlt-evaluation-list": [world["study"].pk],
        "api:subject-dlt-evaluation": [subject.pk],
        "api:subject-dlt-adjudications": [subject.pk],
        "api:subject-lab-panels": [subject.pk],
        "safety:lab-panels": [subject.pk],
        "safety:lab-panel-new": [subject.pk],
        "safety:lab-panel-edit": [subject.pk, world["lab_panel"].pk],
        "safety:lab-proposals": [subject.pk],
        "safety:lab-grade-preview": [subject.pk],
        "safety:lab-proposal-action": [subject.pk, world["lab_proposal"].pk, param],
        "safety:lab-import-status": ["matrix-token"],
        "safety:ae-log": [subject.pk],
        "safety:ae-new": [subject.pk],
        "safety:ae-edit": [subject.pk, world["adverse_event"].pk],
        "api:subject-adverse-events": [subject.pk],
        "api:subject-adverse-event": [subject.pk, world["adverse_event"].pk],
        "safety:crs-list": [subject.pk],
        "safety:crs-new": [subject.pk],
        "safety:crs-edit": [subject.pk, world["crs"].pk],
        "safety:crs-grade": [subject.pk],
        "safety:icans-list": [subject.pk],
        "safety:icans-new": [subject.pk],
        "safety:icans-edit": [subject.pk, world["icans"].pk],
        "safety:icans-grade": [subject.pk],
        "api:subject-crs-list": [subject.pk],
        "api:subject-crs-detail": [subject.pk, world["crs"].pk],
        "api:subject-crs-episodes": [subject.pk],
        "api:subject-icans-list": [subject.pk],
        "api:subject-icans-detail": [subject.pk, world["icans"].pk],
        "api:subject-icans-episodes": [subject.pk],
        "safety:sae-report": [world["sae"].pk],
        "safety:sae-print": [world["sae"].pk],
        "safety:sae-details": [world["sae"].pk],
        "safety:sae-submission": [world["sae"].clocks.first().pk],
        "api:sae-report-detail": [world["sae"].pk],
        "api:sae-report-list": [world["study"].pk],
        "api:sae-clock-submission": [world["sae"].clocks.first().pk],
        "enrollment:off-study": [world["off_study"].pk],
        "api:subject-off-study": [world["off_study"].pk],
        "safety:transfusion-list": [subject.pk],
        "safety:transfusion-new": [subject.pk],
        "safety:transfusion-edit": [subject.pk, world["transfusion"].pk],
        "safety:subject-timeline": [subject.pk],
        "safety:subject-timeline-csv": [subject.pk, param],
        "api:subject-transfusions": [subject.pk],
        "api:subject-transfusion": [subject.pk, world["transfusion"].pk],
        "efficacy:responses": [subject.pk],
        "efficacy:response-new": [subject.pk],
        "efficacy:response-edit": [subject.pk, world["response"].pk],
        "efficacy:response-confirm": [subject.pk, world["response"].pk],
        "efficacy:response-live": [subject.pk],
        "efficacy:follow-ups": [subject.pk],
        "efficacy:follow-up-new": [subject.pk],
        "efficacy:follow-up-edit": [subject.pk, world["follow_up"].pk],
        "efficacy:disease-event-new": [subject.pk],
        "efficacy:disease-event-edit": [subject.pk, world["disease_event"].pk],
        "api:subject-efficacy-responses-list": [subject.pk],
        "api:subject-efficacy-responses-detail": [subject.pk, world["response"].pk],
        "api:subject-efficacy-follow-up-list": [subject.pk],
        "api:subject-efficacy-follow-up-detail": [subject.pk, world["follow_up"].pk],
        "api:subject-efficacy-disease-events-list": [subject.pk],
        "api:subject-efficacy-disease-events-detail": [subject.pk, world["disease_event"].pk],
        "api:efficacy-responses-list": [world["study"].pk],
        "api:efficacy-follow-up-list": [world["study"].pk],
        "api:efficacy-disease-events-list": [world["study"].pk],
        "efficacy:kinetics": [subject.pk],
        "efficacy:kinetics-csv": [subject.pk],
        "efficacy:anti-car": [subject.pk],
        "efficacy:rcl": [subject.pk],
        "efficacy:sample-import-status": ["matrix-samples"],
        "api:subject-efficacy-kinetics": [subject.pk],
        "api:subject-efficacy-anti-car": [subject.pk],
        "api:subject-efficacy-rcl": [subject.pk],
    }.get(name, [])
    return reverse(name, args=args)


def request(client, method: str, url: str):
    return client.post(url, {"study": ""}) if method == "POST" else client.get(url)


def check(response, expected: str, where: str) -> None:
    status = response.status_code
    if expected == "ok":
        assert status in (200, 302), where
        if status == 302:
            assert "/accounts/login/" not in response["Location"], where
    elif expected in ("write", "read"):
        assert status == 200, where
        assert response.context["readonly"] is (expected == "read"), where
    else:
        assert status == int(expected), where


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_gets_what_the_matrix_says(client, request_fixture, persona, world):
    user = request_fixture(FIXTURES[persona])
    client.force_login(user)
    for row in matrix():
        if row["page"] == "switch-study":
            url = reverse("switch-study")
            response = client.post(url, {"study": world["study"].pk})
        else:
            url = url_of(row["page"], world)
            response = request(client, row["method"], url)
        check(response, row[persona], f"{persona}: {row['method']} {url} ({row['page']})")


def test_an_outsider_gets_404_and_an_anonymous_visitor_the_login(client, world, outsider):
    client.force_login(outsider)
    for row in matrix():
        url = url_of(row["page"], world)
        response = request(client, row["method"], url)
        page = row["page"]
        if page in ("home", "api:schema", "api:me", "api:study-list"):
            assert response.status_code == 200, page
        else:
            assert response.status_code == 404, (page, response.status_code)
    client.logout()
    for row in matrix():
        url = url_of(row["page"], world)
        response = request(client, row["method"], url)
        if row["page"].startswith("api:"):
            assert response.status_code == 401, row["page"]
            assert response["WWW-Authenticate"].startswith("Basic"), row["page"]
        else:
            assert response.status_code == 302, row["page"]
            assert response["Location"].startswith("/accounts/login/"), row["page"]


@pytest.fixture
def request_fixture(request):
    return request.getfixturevalue
