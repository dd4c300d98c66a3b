"""Data queries: raise, answer, close, re-open; and the automatic ones of soft edit checks.

Every function runs in one transaction and appends to the query's thread; nothing here deletes.
Permission is the caller's check (monitors and data managers raise and close, site staff answer:
``Action.RAISE_QUERY`` / ``Action.ENTER_DATA``). Automatic queries are opened and closed only by
``sync_automatic_queries``, which the records services call after every save.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from trialsite import clock
from trialsite.records.exceptions import field_error
from trialsite.records.models import DataQuery, QueryMessage

TEXT_REQUIRED = _("Write the question (or the answer).")
NOT_A_FIELD = _("This form has no such question.")
ALREADY_CLOSED = _("This query is already closed.")
NOT_CLOSED = _("Only a closed or answered query can be re-opened.")
AUTO_CLOSED_TEXT = _("The data was corrected (record version %(version)s).")
AUTO_REOPENED_TEXT = _("The problem is back (record version %(version)s): %(message)s")

Status = DataQuery.Status


def _author(actor) -> str:
    if actor is None:
        return str(_("trialsite (edit check)"))
    return actor.get_full_name() or actor.get_username()


def _field_label(record, name: str) -> str:
    try:
        return str(capfirst(type(record)._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:  # a many-field check may name the whole form ("__all__")
        return str(_("Whole form"))


def _describe(record) -> dict:
    """What a query stores about its record, so lists need no query per row."""
    subject = getattr(record, "subject", None) if hasattr(record, "subject_id") else None
    if getattr(record, "is_subject", False):  # the subject's own registration record
        subject = record
    url = record.get_absolute_url() if hasattr(record, "get_absolute_url") else ""
    return {
        "study_id": record.study_id,
        "site_id": record.site_id_for_permissions,
        "content_type": ContentType.objects.get_for_model(type(record)),
        "object_id": str(record.pk),
        "object_repr": str(record)[:200],
        "record_url": url[:200],
        "subject_pk": subject.pk if subject is not None else None,
        "subject_label": str(subject)[:40] if subject is not None else "",
        "subject_url": subject.get_absolute_url()[:200]
        if subject is not None and hasattr(subject, "get_absolute_url")
        else "",
        "form_label": str(capfirst(type(record)._meta.verbose_name))[:120],
    }


def _message(query: DataQuery, kind: str, text: str, actor, now) -> QueryMessage:
    return QueryMessage.objects.create(
        query=query,
        kind=kind,
        text=text,
        author=actor,
        author_name=_author(actor),
        created_at=now,
    )


def queries_of(record) -> list[DataQuery]:
    """Every query of a record, newest first (one query)."""
    return list(
        DataQuery.objects.filter(
            content_type=ContentType.objects.get_for_model(type(record)), object_id=str(record.pk)
        )
    )


def sync_automatic_queries(record, failures: Iterable, *, actor) -> None:
    """Make the record's automatic queries match its soft edit-check failures.

    A new failure opens a query (or re-opens the closed one of the same rule and field); a
    query whose failure is gone is closed with a note of the corrected version. Called inside the
    saving transaction, under the record's lock, so two saves cannot open the same query twice.
    """
    now = clock.now()
    wanted = {(f.ref, f.field or "__all__"): f for f in failures}
    existing = {
        (q.rule_ref, q.field): q
        for q in queries_of(record)
        if q.origin == DataQuery.Origin.AUTOMATIC
    }
    for key, failure in wanted.items():
        query = existing.get(key)
        if query is None:
            query = DataQuery.objects.create(
                **_describe(record),
                field=key[1],
                field_label=_field_label(record, key[1]),
                rule_ref=failure.ref,
                origin=DataQuery.Origin.AUTOMATIC,
                status=Status.OPEN,
                text=failure.message,
                record_version=record.version,
                opened_at=now,
                opened_by=None,
                updated_at=now,
            )
            _message(query, QueryMessage.Kind.OPENED, failure.message, None, now)
        elif query.status == Status.CLOSED:
            query.status = Status.OPEN
            query.text = failure.message
            query.record_version = record.version
            query.closed_at = None
            query.updated_at = now
            query.save(
                update_fields=["status", "text", "record_version", "closed_at", "updated_at"]
            )
            text = AUTO_REOPENED_TEXT % {"version": record.version, "message": failure.message}
            _message(query, QueryMessage.Kind.AUTO_REOPENED, str(text), None, now)
    for key, query in existing.items():
        if key not in wanted and query.status != Status.CLOSED:
            query.status = Status.CLOSED
            query.closed_at = now
            query.updated_at = now
            query.save(update_fields=["status", "closed_at", "updated_at"])
            text = AUTO_CLOSED_TEXT % {"version": record.version}
            _message(query, QueryMessage.Kind.AUTO_CLOSED, str(text), actor, now)


def raise_query(record, *, actor, field: str, text: str) -> DataQuery:
    """A monitor's or data manager's manual query on one field of a record."""
    text = (text or "").strip()
    if not text:
        raise field_error("text", TEXT_REQUIRED, "required")
    names = {f.name for f in type(record).content_fields()}
    if field not in names:
        raise field_error("field", NOT_A_FIELD, "invalid_field")
    now = clock.now()
    with transaction.atomic():
        query = DataQuery.objects.create(
            **_describe(record),
            field=field,
            field_label=_field_label(record, field),
            rule_ref="",
            origin=DataQuery.Origin.MANUAL,
            status=Status.OPEN,
            text=text,
            record_version=record.version,
            opened_at=now,
            opened_by=actor,
            updated_at=now,
        )
        _message(query, QueryMessage.Kind.OPENED, text, actor, now)
    return query


def _transition(query: DataQuery, *, actor, kind: str, status: str, text: str) -> DataQuery:
    now = clock.now()
    with transaction.atomic():
        # Row lock: an answer and a close arriving together are applied one after the other.
        current = DataQuery.objects.select_for_update().get(pk=query.pk)
        if kind in (QueryMessage.Kind.ANSWERED, QueryMessage.Kind.CLOSED) and (
            current.status == Status.CLOSED
        ):
            raise field_error("text", ALREADY_CLOSED, "query_closed")
        if kind == QueryMessage.Kind.REOPENED and current.status == Status.OPEN:
            raise field_error("text", NOT_CLOSED, "query_open")
        current.status = status
        current.updated_at = now
        current.closed_at = now if status == Status.CLOSED else None
        current.save(update_fields=["status", "updated_at", "closed_at"])
        _message(current, kind, text, actor, now)
    return current


def answer_query(query: DataQuery, *, actor, text: str) -> DataQuery:
    """Site staff answer (e.g. "value confirmed against source"); the raiser then closes it."""
    text = (text or "").strip()
    if not text:
        raise field_error("text", TEXT_REQUIRED, "required")
    return _transition(
        query, actor=actor, kind=QueryMessage.Kind.ANSWERED, status=Status.ANSWERED, text=text
    )


def close_query(query: DataQuery, *, actor, text: str = "") -> DataQuery:
    return _transition(
        query,
        actor=actor,
        kind=QueryMessage.Kind.CLOSED,
        status=Status.CLOSED,
        text=(text or "").strip(),
    )


def reopen_query(query: DataQuery, *, actor, text: str) -> DataQuery:
    text = (text or "").strip()
    if not text:
        raise field_error("text", TEXT_REQUIRED, "required")
    return _transition(
        query, actor=actor, kind=QueryMessage.Kind.REOPENED, status=Status.OPEN, text=text
    )
