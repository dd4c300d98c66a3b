"""Hypothesis strategies for values a user can get to a CRF service (issue 8 §4).

A form or the API hands the service a value of the field's type — a ``Decimal``, an ``int``, a
``date``, an aware ``datetime``, a ``bool`` or text — or ``None`` for an empty answer. These
strategies draw exactly those types over their whole range: dates from 0001-01-01 to 9999-12-31,
datetimes in time zones from UTC−12 to UTC+14, NaN and ±Infinity, numbers far beyond any
DecimalField's digits, unicode and very long text. ``snapshot`` and ``attempt`` check the outcome
every CRF service promises: it saves, or refuses with field errors and saves nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import models, transaction
from hypothesis import strategies as st

from trialsite.records.models import AuditEvent, DataQuery
from trialsite.studies.models import Study

ZONES = [
    dt.UTC,
    ZoneInfo("Asia/Shanghai"),
    dt.timezone(dt.timedelta(hours=-12)),
    dt.timezone(dt.timedelta(hours=14)),
]
# Strings a user types into a number or date box, and text no field expects.
TRICKY_TEXT = [
    "",
    " ",
    "NaN",
    "sNaN",
    "Infinity",
    "-inf",
    "1e999",
    "-0",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59",
    "0000-00-00",
    "２０２５",
    "\x00",
    "'; DROP TABLE x; --",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 中文",
]

texts = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=40),
    st.builds(lambda ch, n: ch * n, st.characters(codec="utf-8"), st.integers(200, 5000)),
)
huge_ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**15, 2**31, 2**63, -(2**63), 10**30]),
)
decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(places=3, min_value=-(10**15), max_value=10**15),
    st.sampled_from(
        [Decimal("0"), Decimal("-0"), Decimal("1E+30"), Decimal("1E-30"), Decimal("0.0001")]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    huge_ints,
)
dates = st.one_of(
    st.dates(),  # 0001-01-01 .. 9999-12-31
    st.sampled_from([dt.date.min, dt.date.max, dt.date(1899, 12, 31), dt.date(1900, 1, 1)]),
)
datetimes = st.one_of(
    st.datetimes(timezones=st.sampled_from(ZONES)),
    st.sampled_from(
        [
            dt.datetime.min.replace(tzinfo=ZONES[3]),
            dt.datetime.max.replace(tzinfo=ZONES[2]),
            dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC),
        ]
    ),
)


def missing_code_entries(field_names: list[str]) -> st.SearchStrategy:
    """``missing_codes`` as an API caller could send them: real or made-up fields, codes and
    reasons of any shape (a mapping, a list, a number, text)."""
    entry = st.one_of(
        st.fixed_dictionaries(
            {
                "code": st.one_of(
                    st.sampled_from(["not_done", "unknown", "not_applicable"]), texts, st.none()
                ),
                "reason": st.one_of(texts, st.none(), st.integers()),
            }
        ),
        texts,
        st.integers(),
        st.lists(texts, max_size=2),
    )
    keys = st.one_of(st.sampled_from(field_names or ["x"]), texts)
    return st.one_of(
        st.dictionaries(keys, entry, max_size=3), texts, st.lists(st.integers(), max_size=2)
    )


def values_for(field: models.Field) -> st.SearchStrategy:
    """Any value of the field's type (or None) that a form or the API could hand the service."""
    if isinstance(field, models.JSONField) and field.name == "missing_codes":
        codable = list(getattr(field.model, "codable_fields", ()))
        return st.one_of(st.none(), missing_code_entries(codable))
    if isinstance(field, models.DateTimeField):
        typed = datetimes
    elif isinstance(field, models.DateField):
        typed = dates
    elif isinstance(field, models.DecimalField):
        typed = decimals
    elif isinstance(field, models.IntegerField):
        typed = huge_ints
    elif isinstance(field, models.BooleanField):
        typed = st.booleans()
    elif field.choices:
        typed = st.one_of(st.sampled_from([value for value, _label in field.choices]), texts)
    else:
        typed = texts
    # An empty text box is "" (never None) in forms and the API; any other empty answer is None.
    text_box = isinstance(field, models.CharField) and not field.null
    return st.one_of(st.just("") if text_box else st.none(), typed)


def changes_for(fields: list[models.Field], *, most: int = 3) -> st.SearchStrategy:
    """One to ``most`` of the fields, each with an arbitrary value of its type.

    Few fields at a time, so the other (valid) values let the record reach the checks and the
    eligibility rules behind the first field error.
    """
    by_name = {f.name: f for f in fields}
    names = st.lists(st.sampled_from(sorted(by_name)), min_size=1, max_size=most, unique=True)
    return names.flatmap(
        lambda chosen: st.fixed_dictionaries({n: values_for(by_name[n]) for n in chosen})
    )


def snapshot(study: Study, model: type[models.Model]) -> tuple:
    """What a refused save must leave unchanged: the records, the audit trail, the data version."""
    return (
        model.objects.count(),
        AuditEvent.objects.count(),
        DataQuery.objects.count(),
        Study.objects.values_list("data_version", flat=True).get(pk=study.pk),
    )


def assert_field_errors(exc: ValidationError, allowed: set[str]) -> None:
    """The refusal names the fields it is about, each with a message the user can read."""
    assert hasattr(exc, "error_dict"), f"refusal without a field: {exc.messages}"
    assert set(exc.error_dict) <= allowed, f"errors on unknown fields: {exc.message_dict}"
    for field, messages in exc.message_dict.items():
        assert messages and all(str(m).strip() for m in messages), field


def assert_saved_or_refused(call, *, study: Study, model: type[models.Model], allowed: set[str]):
    """Run ``call``; it saves (returned) or raises ValidationError (returned) and saves nothing.

    Any other exception propagates and fails the test. Each attempt is rolled back afterwards,
    so the examples of one test never see each other's records.
    """
    with transaction.atomic():
        before = snapshot(study, model)
        try:
            outcome = call()
        except ValidationError as exc:
            assert_field_errors(exc, allowed)
            assert snapshot(study, model) == before, "a refused save left data behind"
            outcome = exc
        transaction.set_rollback(True)
    return outcome
