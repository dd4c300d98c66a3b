"""The study's audit trail as an inspector reads it: filtered, labelled, summarised, exported.

``audit_events`` narrows a study's audit rows to what the user may read (monitors and data
managers: every site; coordinators and investigators: their sites' records, docs/roles.md) and
to the filters; ``present`` turns rows into what the page and the CSV show: field labels
instead of column names, the actor's full name, and for system events (derived results such as
the eligibility assessment's recompute) a one-line summary instead of the stored JSON. The
stored rows are never changed: the summary is a way of reading them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trialsite.records.models import AuditEvent
from trialsite.studies import permissions
from trialsite.studies.roles import Action

CLINICAL = "clinical"
SYSTEM = "system"
VALUE_LIMIT = 120  # characters of one value shown on the page (the CSV has them all)


@dataclass(frozen=True)
class AuditFilter:
    """What the inspector asked for; every part optional."""

    kind: str = CLINICAL
    subject_pk: int | None = None
    content_type_id: int | None = None
    object_id: str = ""
    actor_id: int | None = None
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def derived_content_types() -> list[int]:
    """Content types of records the system computes (models with ``audit_derived = True``).

    Their rows written before the ``derived`` column existed are system events too.
    """
    models = [m for m in apps.get_models() if getattr(m, "audit_derived", False)]
    return [ct.pk for ct in ContentType.objects.get_for_models(*models).values()]


def system_events() -> Q:
    """Rows the system wrote: derived results, and writes without a person."""
    return Q(derived=True) | Q(content_type_id__in=derived_content_types()) | Q(actor__isnull=True)


def audit_events(study, user, wanted: AuditFilter) -> QuerySet[AuditEvent]:
    """The study's audit rows the user may read, filtered, newest first (one query to read)."""
    rows = permissions.scope_by_site(
        AuditEvent.objects.filter(study=study), user, Action.VIEW_AUDIT, study=study
    )
    system = system_events()
    rows = rows.filter(system) if wanted.kind == SYSTEM else rows.exclude(system)
    if wanted.subject_pk is not None:
        rows = rows.filter(subject_pk=wanted.subject_pk)
    if wanted.content_type_id is not None:
        rows = rows.filter(content_type_id=wanted.content_type_id)
        if wanted.object_id:
            rows = rows.filter(object_id=wanted.object_id)
    if wanted.actor_id is not None:
        rows = rows.filter(actor_id=wanted.actor_id)
    if wanted.action:
        rows = rows.filter(action=wanted.action)
    if wanted.date_from:
        rows = rows.filter(occurred_at__date__gte=wanted.date_from)
    if wanted.date_to:
        rows = rows.filter(occurred_at__date__lte=wanted.date_to)
    return rows.select_related("actor", "content_type").order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


@dataclass
class AuditRow:
    """One audit row as people read it."""

    event: AuditEvent
    who: str
    form: str
    changes: list[Change] = field(default_factory=list)
    summary: str = ""
    history_url: str = ""


def _model(event: AuditEvent):
    content_type = event.content_type
    try:
        return apps.get_model(content_type.app_label, content_type.model)
    except LookupError:  # a model that no longer exists: its rows stay readable
        return None


def field_label(model, name: str) -> str:
    """The field's verbose name ("Creatinine (mg/dL)"), or its name if the model lost it."""
    if model is None:
        return name
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # e.g. "signature", which is not a column
        return name.replace("_", " ")


def show(value: object, limit: int | None = VALUE_LIMIT) -> str:
    """A stored value as text ("—" for none), shortened for the page."""
    if value is None or value == "":
        return "—"
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    text = str(value)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def summarise(event: AuditEvent, model) -> str:
    """One line for a system event: which derived fields changed, not their JSON."""
    names = list(event.changes)
    scalar = [
        f"{field_label(model, name)}: {show(old)} → {show(new)}"
        for name, (old, new) in event.changes.items()
        if not isinstance(old, dict | list) and not isinstance(new, dict | list)
    ]
    structured = [
        field_label(model, name)
        for name, (old, new) in event.changes.items()
        if isinstance(old, dict | list) or isinstance(new, dict | list)
    ]
    parts = scalar[:4]
    if structured:
        parts.append(str(_("recomputed: %(fields)s")) % {"fields": ", ".join(structured)})
    if not names:
        return str(event.get_action_display())
    return "; ".join(parts)


def present(events: Iterable[AuditEvent], *, limit: int | None = VALUE_LIMIT) -> Iterator[AuditRow]:
    """Each event with its labels, the actor's full name and a link to the record's history."""
    for event in events:
        model = _model(event)
        actor = event.actor
        who = (actor.get_full_name() or actor.get_username()) if actor else str(_("system"))
        row = AuditRow(
            event=event,
            who=who,
            form=str(model._meta.verbose_name) if model else event.content_type.model,
            history_url=reverse("records:history", args=[event.content_type_id, event.object_id]),
        )
        if event.derived or getattr(model, "audit_derived", False):
            row.summary = summarise(event, model)
        row.changes = [
            Change(field_label(model, name), show(pair[0], limit), show(pair[1], limit))
            for name, pair in event.changes.items()
        ]
        yield row
