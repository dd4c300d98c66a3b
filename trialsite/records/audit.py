"""Writing and verifying the hash-chained audit trail (docs/architecture.md §6).

The chain is per record: row n stores the hash of row n−1 of the same record. Editing, deleting
or inserting a row anywhere in a chain breaks a link that ``verify_chains`` reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models

from trialsite.records.models import AuditEvent

GENESIS_HASH = "0" * 64


def field_changes(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, list]:
    """``{field: [old, new]}`` for every field whose JSON value differs."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def write_event(
    record: models.Model,
    *,
    study_id: int,
    action: str,
    changes: Mapping[str, list],
    reason: str,
    actor,
    occurred_at,
    record_version: int | None,
) -> AuditEvent:
    """Append one event to the record's chain. The caller holds the record's row lock."""
    content_type = ContentType.objects.get_for_model(type(record))
    object_id = str(record.pk)
    last = (
        AuditEvent.objects.filter(content_type=content_type, object_id=object_id)
        .order_by("-sequence")
        .only("sequence", "hash")
        .first()
    )
    event = AuditEvent(
        study_id=study_id,
        content_type=content_type,
        object_id=object_id,
        object_repr=str(record)[:200],
        sequence=(last.sequence + 1) if last else 1,
        action=action,
        changes=dict(changes),
        reason=reason,
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "system",
        occurred_at=occurred_at,
        record_version=record_version,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = hashlib.sha256(event.payload().encode()).hexdigest()
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class BrokenChain:
    content_type: str
    object_id: str
    object_repr: str
    problem: str

    def __str__(self) -> str:
        return f"{self.content_type} #{self.object_id} ({self.object_repr}): {self.problem}"


def verify_chains(queryset=None) -> Iterator[BrokenChain]:
    """Yield each record whose audit chain does not verify (first problem per record)."""
    rows = (queryset if queryset is not None else AuditEvent.objects.all()).order_by(
        "content_type_id", "object_id", "sequence"
    )
    labels = {ct.pk: f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.all()}
    current_key = None
    expected_seq, expected_prev, broken = 1, GENESIS_HASH, False
    for event in rows.iterator(chunk_size=2000):
        key = (event.content_type_id, event.object_id)
        if key != current_key:
            current_key, expected_seq, expected_prev, broken = key, 1, GENESIS_HASH, False
        if broken:
            continue
        problem = None
        if event.sequence != expected_seq:
            problem = f"audit row {expected_seq} is missing (found {event.sequence})"
        elif event.prev_hash != expected_prev:
            problem = f"audit row {event.sequence} does not link to the row before it"
        elif hashlib.sha256(event.payload().encode()).hexdigest() != event.hash:
            problem = f"audit row {event.sequence} was altered after it was written"
        if problem:
            broken = True
            yield BrokenChain(
                labels.get(event.content_type_id, str(event.content_type_id)),
                event.object_id,
                event.object_repr,
                problem,
            )
        expected_seq, expected_prev = event.sequence + 1, event.hash
