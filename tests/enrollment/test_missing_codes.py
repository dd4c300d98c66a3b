"""Missing-data codes: not done / unknown / not applicable with a reason (issue 10, item 13)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from enrollment import missing_data, selectors, services
from enrollment.demo import eligible_screening_values
from enrollment.models import EligibilityAssessment, ScreeningLabs
from tests.enrollment_data import screen_eligible_subject

pytestmark = pytest.mark.django_db

NOT_DONE = {"code": "not_done", "reason": "sample haemolysed"}


def _labs(subject):
    return ScreeningLabs.objects.get(subject=subject)


def _save_labs(subject, actor, **changes):
    labs = _labs(subject)
    values = {**eligible_screening_values(subject.screening_date)[ScreeningLabs], **changes}
    return services.save_screening_crf(
        subject,
        ScreeningLabs,
        actor=actor,
        values=values,
        record=labs,
        expected_version=labs.version,
        reason="Creatinine not done",
    )


def test_a_result_not_done_keeps_its_criterion_missing_and_says_why(
    coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    _save_labs(subject, coordinator_a, creatinine=None, missing_codes={"creatinine": NOT_DONE})
    assessment = EligibilityAssessment.objects.get(subject=subject)
    assert assessment.eligible is None
    assert assessment.missing_criteria  # the kidney criterion cannot pass on "not done"
    messages = " ".join(assessment.details[c]["message"] for c in assessment.missing)
    assert "not done (sample haemolysed)" in messages
    # Coded is answered for completeness; a blank result is not.
    labs = next(r for r in selectors.crf_completeness(subject) if r.model is ScreeningLabs)
    assert labs.complete


def test_a_code_needs_a_reason_and_no_value(coordinator_a, investigator_a, site_a):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    with pytest.raises(ValidationError) as no_reason:
        _save_labs(
            subject,
            coordinator_a,
            creatinine=None,
            missing_codes={"creatinine": {"code": "not_done", "reason": " "}},
        )
    assert "creatinine" in no_reason.value.error_dict
    with pytest.raises(ValidationError) as both:
        _save_labs(subject, coordinator_a, missing_codes={"creatinine": NOT_DONE})
    assert "not both" in str(both.value.error_dict["creatinine"])
    with pytest.raises(ValidationError) as wrong_field:
        _save_labs(subject, coordinator_a, missing_codes={"lab_date": NOT_DONE})
    assert "missing_codes" in wrong_field.value.error_dict
    assert _labs(subject).missing_codes == {}


def test_the_form_offers_a_code_beside_each_result_and_saves_it(
    client, coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    labs = _labs(subject)
    url = reverse("enrollment:crf", args=[subject.pk, "labs"])
    client.force_login(coordinator_a)
    page = client.get(url).content.decode()
    assert 'name="creatinine__code"' in page and 'name="creatinine__reason"' in page
    data = {
        name: ("" if value is None else str(value).lower() if isinstance(value, bool) else value)
        for name, value in eligible_screening_values(subject.screening_date)[ScreeningLabs].items()
    }
    data.update(
        {
            "lab_date": subject.screening_date.isoformat(),
            "creatinine": "",
            "creatinine__code": "not_done",
            "creatinine__reason": "",
            "version": labs.version,
            "reason": "not done",
        }
    )
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "creatinine__reason" in refused.context["form"].errors
    data["creatinine__reason"] = "sample haemolysed"
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context["form"].errors
    assert _labs(subject).missing_codes == {"creatinine": NOT_DONE}


def test_the_read_only_page_shows_the_code_not_a_blank(
    client, monitor, coordinator_a, investigator_a, site_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    _save_labs(subject, coordinator_a, creatinine=None, missing_codes={"creatinine": NOT_DONE})
    client.force_login(monitor)
    page = client.get(reverse("enrollment:crf", args=[subject.pk, "labs"])).content.decode()
    assert "Not done — sample haemolysed" in page


def test_missing_data_rules_explain_only_needed_coded_results():
    coded = {"creatinine": ("Serum creatinine", missing_data.Coded("unknown", "lab lost it"))}
    assert (
        missing_data.explain("Creatinine needed", ("creatinine",), coded)
        == "Creatinine needed; Serum creatinine: unknown (lab lost it)"
    )
    assert missing_data.explain("ALT needed", ("alt_u_l",), coded) == "ALT needed"
    assert missing_data.problems([], codable=(), values={}) != {}
