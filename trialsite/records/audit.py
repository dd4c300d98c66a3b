"""Writing and verifying the hash-chained audit trail (docs/architecture.md §6).

The chain is per record: row n stores the hash of row n−1 of the same record. Editing, deleting
or inserting a row anywhere in a chain breaks a link that ``verify_chains`` reports.
``verify_trail`` (``manage.py audit_verify``) adds what a chain alone cannot show: a removed
tail or a missing creation event (the chain against the record's ``version``,
``audit_rules.tail_problem``) and a consistently re-hashed chain or a removed range (the chain
against its last HMAC anchor, ``trialsite.records.anchors``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models

from trialsite.records.anchors import AnchoredState, anchored_state
from trialsite.records.audit_rules import tail_problem
from trialsite.records.models import AuditAnchor, AuditEvent, ClinicalRecord

GENESIS_HASH = "0" * 64


def field_changes(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, list]:
    """``{field: [old, new]}`` for every field whose JSON value differs."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def audit_subject_pk(record: models.Model) -> int | None:
    """The subject a record belongs to (a subject-level record's subject, or the subject itself).

    A model says it *is* the subject with ``audit_is_subject = True`` (records never import
    the apps).
    """
    if getattr(record, "audit_is_subject", False):
        return record.pk
    return getattr(record, "subject_id", None)


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
    derived: bool = False,
) -> AuditEvent:
    """Append one event to the record's chain. The caller holds the record's row lock.

    ``derived``: a result the system computed from other records (the eligibility
    assessment), shown apart from the clinical changes on the audit page.
    """
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
        site_id=getattr(record, "site_id_for_permissions", None),
        subject_pk=audit_subject_pk(record),
        derived=derived,
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
    check = _TrailCheck(AnchoredState({}, {}, []), list(ContentType.objects.all()))
    for event in rows.iterator(chunk_size=2000):
        check.see(event)
    yield from check.findings


@dataclass
class _Chain:
    """What the pass over one record's chain saw."""

    content_type_id: int
    object_id: str
    object_repr: str
    length: int = 0
    last_sequence: int = 0
    last_version: int | None = None
    last_action: str = ""
    last_hash: str = GENESIS_HASH
    broken: bool = False


def _clinical_models() -> list[type[ClinicalRecord]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, ClinicalRecord) and not model._meta.proxy
    ]


class _TrailCheck:
    """One pass over the audit rows (ordered by chain and sequence) collecting findings."""

    def __init__(self, state: AnchoredState, types: list[ContentType]):
        self.state = state
        self.labels = {ct.pk: f"{ct.app_label}.{ct.model}" for ct in types}
        self.types = {f"{ct.app_label}.{ct.model}": ct for ct in types}
        self.findings: list[BrokenChain] = [
            BrokenChain("records.auditanchor", str(bad.anchor_id), bad.description, bad.problem)
            for bad in state.bad
        ]
        self.chains: dict[tuple[int, str], _Chain] = {}
        self.study_counts = dict.fromkeys(state.studies, 0)

    def report(self, content_type_id: int, object_id: str, object_repr: str, problem: str):
        label = self.labels.get(content_type_id, str(content_type_id))
        self.findings.append(BrokenChain(label, object_id, object_repr, problem))

    def see(self, event: AuditEvent) -> None:
        key = (event.content_type_id, event.object_id)
        chain = self.chains.get(key)
        if chain is None:
            chain = self.chains[key] = _Chain(*key, event.object_repr)
        self._link(chain, event)
        chain.length += 1
        chain.last_sequence, chain.last_version = event.sequence, event.record_version
        chain.last_action, chain.last_hash = event.action, event.hash
        head = self.state.chains.get(key)
        if head is not None and event.sequence == head.sequence and event.hash != head.hash:
            self.report(
                *key,
                event.object_repr,
                f"audit row {event.sequence} no longer matches the anchor of {head.anchored_at} "
                "(the chain was rewritten and re-hashed)",
            )
        study_head = self.state.studies.get(event.study_id)
        if study_head is not None and event.id <= study_head.last_event_id:
            self.study_counts[event.study_id] += 1
            if event.id == study_head.last_event_id and event.hash != study_head.last_hash:
                self.report(
                    *key,
                    event.object_repr,
                    f"audit row {event.sequence} is the head of study "
                    f"{study_head.protocol_number} anchored at {study_head.anchored_at}, "
                    "but its hash changed",
                )

    def _link(self, chain: _Chain, event: AuditEvent) -> None:
        if chain.broken:
            return
        expected = chain.last_sequence + 1
        problem = None
        if event.sequence != expected and expected == 1:
            problem = f"its creation event (audit row 1) is missing (found {event.sequence})"
        elif event.sequence != expected:
            problem = f"audit row {expected} is missing (found {event.sequence})"
        elif event.prev_hash != chain.last_hash:
            problem = f"audit row {event.sequence} does not link to the row before it"
        elif hashlib.sha256(event.payload().encode()).hexdigest() != event.hash:
            problem = f"audit row {event.sequence} was altered after it was written"
        if problem:
            chain.broken = True
            self.report(event.content_type_id, event.object_id, event.object_repr, problem)

    def check_anchored_chains(self) -> None:
        """Anchored rows that are gone: a removed range at the end, or a whole chain."""
        for key, head in self.state.chains.items():
            chain = self.chains.get(key)
            if chain is None:
                self.report(
                    *key,
                    head.object_repr,
                    f"its whole audit trail is gone (rows 1–{head.sequence} were anchored at "
                    f"{head.anchored_at})",
                )
            elif chain.last_sequence < head.sequence:
                self.report(
                    *key,
                    chain.object_repr,
                    f"audit rows {chain.last_sequence + 1}–{head.sequence} are gone (anchored "
                    f"at {head.anchored_at})",
                )

    def check_records(self, study_id: int | None) -> None:
        """Each clinical record against its chain (a removed tail, a missing creation event)."""
        by_type: dict[int, dict[str, _Chain]] = {}
        for (content_type_id, object_id), chain in self.chains.items():
            by_type.setdefault(content_type_id, {})[object_id] = chain
        for model in _clinical_models():
            content_type = self.types.get(model._meta.label_lower)
            if content_type is None:  # no content type yet, so no audit rows either
                content_type = ContentType.objects.get_for_model(model)
            rows = model._default_manager.all()
            if study_id is not None:
                rows = rows.filter(study_id=study_id)
            versions = {str(pk): version for pk, version in rows.values_list("pk", "version")}
            for object_id in versions.keys() - by_type.get(content_type.pk, {}).keys():
                record = model._default_manager.get(pk=object_id)
                self.report(
                    content_type.pk,
                    object_id,
                    str(record)[:200],
                    "the record has no audit trail: its creation event (audit row 1) is missing",
                )
            for object_id, chain in by_type.get(content_type.pk, {}).items():
                if chain.broken:
                    continue
                problem = tail_problem(
                    chain_length=chain.length,
                    last_sequence=chain.last_sequence,
                    last_version=chain.last_version,
                    last_action=chain.last_action,
                    record_version=versions.get(object_id),
                )
                if problem:
                    self.report(content_type.pk, object_id, chain.object_repr, problem)

    def check_study_counts(self) -> None:
        """Fewer rows up to a study's anchored head than when it was anchored: rows removed."""
        for study_id, head in self.state.studies.items():
            found = self.study_counts[study_id]
            if found < head.event_count:
                self.findings.append(
                    BrokenChain(
                        "studies.study",
                        str(study_id),
                        head.protocol_number,
                        f"{head.event_count - found} of the {head.event_count} audit rows "
                        f"anchored at {head.anchored_at} are gone",
                    )
                )


def verify_trail(study_id: int | None = None, *, key: str | None = None) -> list[BrokenChain]:
    """Every finding about the audit trail (of one study, or all): an empty list means clean.

    In one pass over the audit rows: each chain's hash links (as ``verify_chains``); each chain
    against its last anchor (the anchored row is still there with the anchored hash); each
    study against its last anchor (no fewer rows up to the anchored row, whose hash is
    unchanged). Then each clinical record against its chain (``audit_rules.tail_problem``; a
    record without a creation event). Anchors whose MAC fails are findings themselves. The
    number of queries does not grow with the number of rows or records (one per CRF model).
    """
    events = AuditEvent.objects.all()
    anchors = AuditAnchor.objects.select_related("study").order_by("study_id", "id")
    if study_id is not None:
        events = events.filter(study_id=study_id)
        anchors = anchors.filter(study_id=study_id)
    check = _TrailCheck(anchored_state(anchors, key=key), list(ContentType.objects.all()))
    for event in events.order_by("content_type_id", "object_id", "sequence").iterator(
        chunk_size=2000
    ):
        check.see(event)
    check.check_anchored_chains()
    check.check_records(study_id)
    check.check_study_counts()
    return check.findings
