"""Audit anchors: each study's audit head sealed with an HMAC key the database never holds.

A hash chain proves that no row was changed *unless the whole tail was rewritten*: someone with
database access can change a row and recompute every later hash, or remove the last rows of a
chain. An anchor records, at one moment, the study's last audit row, its hash, the number of
rows up to it and the head (sequence and hash) of every chain that grew since the previous
anchor, under HMAC-SHA256 with ``AUDIT_ANCHOR_KEY`` from the environment. Each anchor is also
written to the log, a copy outside the database. ``audit.verify_trail`` then reports every chain
that no longer reaches its anchored row with the anchored hash (issue 9 §1).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trialsite import clock
from trialsite.records.audit_rules import anchor_mac, anchor_message, chain_key, mac_matches
from trialsite.records.models import AuditAnchor, AuditEvent
from trialsite.studies.models import Study

logger = logging.getLogger("trialsite.audit.anchor")


def _message(anchor: AuditAnchor) -> str:
    return anchor_message(
        study_id=anchor.study_id,
        last_event_id=anchor.last_event_id,
        last_hash=anchor.last_hash,
        event_count=anchor.event_count,
        heads=anchor.heads,
        created_at=anchor.created_at.astimezone(dt.UTC).isoformat(),
        prev_mac=anchor.prev_mac,
    )


def anchor_time(anchor: AuditAnchor) -> str:
    """The anchor's time as shown in findings (the site's zone, to the second)."""
    return timezone.localtime(anchor.created_at).strftime("%Y-%m-%d %H:%M:%S %Z")


def write_anchor(study: Study, *, key: str | None = None) -> AuditAnchor | None:
    """Anchor the study's audit head now; None when nothing was audited since its last anchor.

    The study row is locked so two anchor runs (beat and ``manage.py audit_anchor``) never
    both extend the same previous anchor.
    """
    key = key or settings.AUDIT_ANCHOR_KEY
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).values_list("pk", flat=True).get()
        previous = AuditAnchor.objects.filter(study=study).order_by("-id").first()
        since = previous.last_event_id if previous else 0
        heads: dict[str, list] = {}
        last: tuple[int, str] | None = None
        rows = (
            AuditEvent.objects.filter(study=study, id__gt=since)
            .order_by("id")
            .values_list("id", "content_type_id", "object_id", "sequence", "hash", "object_repr")
        )
        for event_id, content_type_id, object_id, sequence, hash_, object_repr in rows.iterator(
            chunk_size=2000
        ):
            heads[chain_key(content_type_id, object_id)] = [sequence, hash_, object_repr]
            last = (event_id, hash_)
        if last is None:
            return None
        anchor = AuditAnchor(
            study=study,
            last_event_id=last[0],
            last_hash=last[1],
            event_count=AuditEvent.objects.filter(study=study, id__lte=last[0]).count(),
            heads=heads,
            created_at=clock.now(),
            prev_mac=previous.mac if previous else "",
        )
        anchor.mac = anchor_mac(key, _message(anchor))
        anchor.save(force_insert=True)
    logger.info(
        "audit anchor: study %s last audit row #%s hash %s, %s rows, %s chains, at %s, mac %s",
        study.protocol_number,
        anchor.last_event_id,
        anchor.last_hash,
        anchor.event_count,
        len(heads),
        anchor.created_at.astimezone(dt.UTC).isoformat(),
        anchor.mac,
    )
    return anchor


def anchor_all_studies(*, key: str | None = None) -> list[AuditAnchor]:
    """Anchor every study's audit head (the periodic task and ``manage.py audit_anchor``)."""
    written = []
    for study in Study.objects.order_by("pk"):
        anchor = write_anchor(study, key=key)
        if anchor is not None:
            written.append(anchor)
    return written


@dataclass(frozen=True)
class AnchoredHead:
    """Where one record's chain stood at its last anchor."""

    sequence: int
    hash: str
    object_repr: str
    anchored_at: str


@dataclass(frozen=True)
class AnchoredStudy:
    """A study's head at its last verified anchor."""

    protocol_number: str
    last_event_id: int
    last_hash: str
    event_count: int
    anchored_at: str


@dataclass(frozen=True)
class BadAnchor:
    """An anchor that is itself not trustworthy (its MAC fails, or anchors before it are gone)."""

    anchor_id: int
    description: str
    problem: str


@dataclass
class AnchoredState:
    chains: dict[tuple[int, str], AnchoredHead]
    studies: dict[int, AnchoredStudy]
    bad: list[BadAnchor]


def anchored_state(anchors: Iterable[AuditAnchor], *, key: str | None = None) -> AnchoredState:
    """Fold the anchors (oldest first per study) into each chain's and study's last anchored head.

    An anchor whose MAC does not verify is reported and ignored; a broken ``prev_mac`` link
    means anchors were removed between two that remain.
    """
    key = key or settings.AUDIT_ANCHOR_KEY
    state = AnchoredState({}, {}, [])
    previous_mac: dict[int, str] = {}
    for anchor in anchors:
        when = anchor_time(anchor)
        description = f"{anchor.study.protocol_number} anchor of {when}"
        if not mac_matches(key, _message(anchor), anchor.mac):
            state.bad.append(
                BadAnchor(
                    anchor.pk,
                    description,
                    "the anchor does not verify with AUDIT_ANCHOR_KEY (altered or forged, or "
                    "the key changed)",
                )
            )
            continue
        if anchor.prev_mac != previous_mac.get(anchor.study_id, ""):
            state.bad.append(
                BadAnchor(anchor.pk, description, "anchors written before it were removed")
            )
        previous_mac[anchor.study_id] = anchor.mac
        for text_key, (sequence, hash_, object_repr) in anchor.heads.items():
            content_type_id, object_id = text_key.split(":", 1)
            state.chains[(int(content_type_id), object_id)] = AnchoredHead(
                sequence, hash_, object_repr, when
            )
        state.studies[anchor.study_id] = AnchoredStudy(
            anchor.study.protocol_number,
            anchor.last_event_id,
            anchor.last_hash,
            anchor.event_count,
            when,
        )
    return state
