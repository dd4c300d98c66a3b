"""No value a user can send makes a CRF service crash (issue 8 §4).

Hypothesis drives every screening CRF service (all of ``SCREENING_FORMS``), registration,
consent and the steroid course service with arbitrary values of each field's type — text
(unicode, very long), numbers (huge, negative, NaN, ±Infinity), dates 0001-01-01..9999-12-31,
datetimes in any zone, None. Each call saves, or raises a ``ValidationError`` with a message on
a named field and leaves the records, the audit trail and the study's data version as they
were. Anything else — a ``ValueError`` inside the rules, an ``OverflowError`` converting a date,
a database error on digits that do not fit — fails the test with the example that caused it.

Creates run on a subject with consent and no screening data; updates run on a subject with
every CRF entered, so the eligibility rules see the fuzzed value next to complete data.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment import services
from enrollment.demo import eligible_screening_values
from enrollment.forms import SCREENING_FORMS
from enrollment.models import Consent, PriorRegimen, ScreeningLabs, SteroidCourse, Subject
from tests.enrollment_data import register_and_consent, screen_eligible_subject
from tests.fuzz_values import assert_saved_or_refused, changes_for, dates, texts, values_for

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=30, deadline=None, database=None)
REASON = "Corrected after source data verification"


def answer_fields(model) -> list:
    return [f for f in model.content_fields() if f.name not in ("subject", "visit")]


def allowed_fields(model) -> set[str]:
    return {f.name for f in model._meta.concrete_fields} | {"version", "reason"}


@pytest.mark.parametrize("crf", sorted(SCREENING_FORMS))
def test_a_first_entry_of_any_values_saves_or_is_refused_field_by_field(
    crf, site_a, coordinator_a, investigator_a
):
    model, _form = SCREENING_FORMS[crf]
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    valid = eligible_screening_values(subject.screening_date)[model]

    @FUZZ
    @given(changes=changes_for(answer_fields(model)))
    def enter(changes):
        assert_saved_or_refused(
            lambda: services.save_screening_crf(
                subject, model, actor=investigator_a, values={**valid, **changes}
            ),
            study=subject.study,
            model=model,
            allowed=allowed_fields(model),
        )

    enter()


@pytest.mark.parametrize("crf", sorted(SCREENING_FORMS))
def test_a_change_to_any_values_saves_or_is_refused_field_by_field(
    crf, site_a, coordinator_a, investigator_a
):
    model, _form = SCREENING_FORMS[crf]
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    record = model.objects.get(subject=subject)

    @FUZZ
    @given(changes=changes_for(answer_fields(model)))
    def change(changes):
        assert_saved_or_refused(
            lambda: services.save_screening_crf(
                subject,
                model,
                actor=investigator_a,
                values=changes,
                record=record,
                expected_version=record.version,
                reason=REASON,
            ),
            study=subject.study,
            model=model,
            allowed=allowed_fields(model),
        )

    change()


REGISTRATION = ["initials", "sex", "birth_date", "birth_year", "screening_date"]


def test_registration_with_any_values_saves_or_is_refused_field_by_field(site_a, coordinator_a):
    fields = {f.name: f for f in Subject._meta.concrete_fields}

    @FUZZ
    @given(
        values=st.fixed_dictionaries(
            {name: values_for(fields[name]) for name in REGISTRATION},
            optional={"planned_apheresis_date": st.one_of(st.none(), dates)},
        )
    )
    def register(values):
        assert_saved_or_refused(
            lambda: services.register_subject(actor=coordinator_a, site=site_a, **values),
            study=site_a.study,
            model=Subject,
            allowed=allowed_fields(Subject),
        )

    register()


def test_a_registration_change_to_any_values_saves_or_is_refused(
    site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    fields = [f for f in Subject._meta.concrete_fields if f.name in services_subject_fields()]

    @FUZZ
    @given(changes=changes_for(fields))
    def change(changes):
        assert_saved_or_refused(
            lambda: services.update_subject(
                subject,
                actor=coordinator_a,
                values=changes,
                expected_version=subject.version,
                reason=REASON,
            ),
            study=subject.study,
            model=Subject,
            allowed=allowed_fields(Subject),
        )

    change()


def services_subject_fields() -> set[str]:
    return {*REGISTRATION, "planned_apheresis_date"}


def test_a_consent_with_any_values_saves_or_is_refused_field_by_field(
    site_a, coordinator_a, investigator_a, outsider
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    fields = {f.name: f for f in Consent._meta.concrete_fields}

    @FUZZ
    @given(
        icf_version=texts,
        signed_at=values_for(fields["signed_at"]),
        obtained_by=st.sampled_from([investigator_a, coordinator_a, outsider]),
    )
    def consent(icf_version, signed_at, obtained_by):
        assert_saved_or_refused(
            lambda: services.record_consent(
                subject,
                actor=coordinator_a,
                icf_version=icf_version,
                signed_at=signed_at,
                obtained_by=obtained_by,
            ),
            study=subject.study,
            model=Consent,
            allowed=allowed_fields(Consent),
        )

    consent()


def test_a_consent_change_or_withdrawal_with_any_values_saves_or_is_refused(
    site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    record = Consent.objects.get(subject=subject)
    fields = [
        f
        for f in Consent._meta.concrete_fields
        if f.name in ("icf_version", "signed_at", "withdrawn_at", "withdrawal_reason")
    ]

    @FUZZ
    @given(changes=changes_for(fields))
    def change(changes):
        assert_saved_or_refused(
            lambda: services.update_consent(
                record,
                actor=coordinator_a,
                values=changes,
                expected_version=record.version,
                reason=REASON,
            ),
            study=subject.study,
            model=Consent,
            allowed=allowed_fields(Consent),
        )

    change()


def test_a_steroid_course_with_any_values_saves_or_is_refused_field_by_field(
    site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    fields = {f.name: f for f in SteroidCourse._meta.concrete_fields}
    valid = {
        "drug": "prednisone",
        "daily_dose_mg": 10,
        "start_date": subject.screening_date,
        "end_date": subject.screening_date + dt.timedelta(days=2),
        "ongoing": False,
    }

    @FUZZ
    @given(changes=changes_for([fields[name] for name in valid]))
    def add(changes):
        if changes.get("ongoing", False) is None:
            changes["ongoing"] = False  # a checkbox is ticked or not
        assert_saved_or_refused(
            lambda: services.save_steroid_course(
                subject, actor=coordinator_a, values={**valid, **changes}
            ),
            study=subject.study,
            model=SteroidCourse,
            allowed=allowed_fields(SteroidCourse),
        )

    add()


# The crashes the issue reports, and the ones the tests above found, as fixed examples.
@pytest.mark.parametrize(
    ("model", "changes", "field"),
    [
        (ScreeningLabs, {"total_bilirubin_uln": Decimal("0")}, "total_bilirubin_uln"),
        (ScreeningLabs, {"alt_uln_u_l": Decimal("0")}, "alt_uln_u_l"),
        (ScreeningLabs, {"lab_date": dt.date.max}, "lab_date"),
        (ScreeningLabs, {"creatinine": Decimal("1E+30")}, "creatinine"),
        (SteroidCourse, {"daily_dose_mg": Decimal("NaN")}, "daily_dose_mg"),
        (SteroidCourse, {"daily_dose_mg": Decimal("Infinity")}, "daily_dose_mg"),
        (SteroidCourse, {"daily_dose_mg": Decimal("1E+30")}, "daily_dose_mg"),
    ],
    ids=["bili-uln-0", "alt-uln-0", "lab-9999-12-31", "creat-30-digits", "nan", "inf", "huge"],
)
def test_values_that_crashed_are_field_errors(
    model, changes, field, site_a, coordinator_a, investigator_a
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    day = subject.screening_date
    if model is SteroidCourse:
        valid = {"drug": "prednisone", "daily_dose_mg": 10, "start_date": day, "ongoing": True}
        save = services.save_steroid_course
    else:
        valid = eligible_screening_values(day)[model]
        save = functools.partial(services.save_screening_crf, model=model)
    with pytest.raises(ValidationError) as refused:
        save(subject, actor=coordinator_a, values={**valid, **changes})
    assert field in refused.value.message_dict
    assert not model.objects.exists()


def test_a_consent_in_year_one_is_a_field_error(site_a, coordinator_a, investigator_a):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    year_one = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))
    with pytest.raises(ValidationError) as refused:
        services.record_consent(
            subject,
            actor=coordinator_a,
            icf_version="v2.1 2025-04-01",
            signed_at=year_one,
            obtained_by=investigator_a,
        )
    assert "before 1900" in refused.value.message_dict["signed_at"][0]
    assert Consent.objects.filter(subject=subject).count() == 1


def test_a_prior_regimen_with_any_values_saves_or_is_refused_field_by_field(
    site_a, coordinator_a, investigator_a
):
    subject = screen_eligible_subject(site_a, coordinator_a, investigator_a)
    fields = {f.name: f for f in PriorRegimen._meta.concrete_fields}
    valid = {
        "regimen": "FLAG-IDA",
        "start_date": subject.screening_date - dt.timedelta(days=120),
        "end_date": subject.screening_date - dt.timedelta(days=110),
        "best_response": "CRi",
    }

    @FUZZ
    @given(changes=changes_for([fields[name] for name in valid]))
    def add(changes):
        assert_saved_or_refused(
            lambda: services.save_prior_regimen(
                subject, actor=coordinator_a, values={**valid, **changes}
            ),
            study=subject.study,
            model=PriorRegimen,
            allowed=allowed_fields(PriorRegimen),
        )

    add()
