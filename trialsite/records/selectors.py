"""Reads of the records core: signatures, a record's audit trail, the recompute status.

Pages, the API and services ask here rather than querying ``Signature`` or ``AuditEvent``
themselves, so "is this record still signed?" has one answer everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialsite.records import recompute
from trialsite.records.models import AuditEvent, ClinicalRecord, RecomputeRun, Signature


def content_hash(record: ClinicalRecord) -> str:
    """SHA-256 of the record's identity, version and clinical content (what a signature binds)."""
    payload = json.dumps(
        {
            "model": record._meta.label_lower,
            "pk": str(record.pk),
            "version": record.version,
            "content": record.content_values(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class SignatureState:
    signature: Signature | None
    valid: bool
    message: str


def signature_state(record: ClinicalRecord) -> SignatureState:
    """The record's newest signature and whether it still covers the record as it is now."""
    signature = (
        Signature.objects.filter(
            content_type=ContentType.objects.get_for_model(type(record)), object_id=str(record.pk)
        )
        .select_related("signer")
        .first()
    )
    if signature is None:
        return SignatureState(None, False, str(_("Not signed.")))
    if signature.record_version == record.version and signature.content_hash == content_hash(
        record
    ):
        return SignatureState(
            signature,
            True,
            str(_("Signed by %(who)s at %(when)s: “%(meaning)s”"))
            % {
                "who": signature.signer_name,
                "when": _when(signature.signed_at),
                "meaning": signature.meaning,
            },
        )
    return SignatureState(
        signature,
        False,
        str(
            _(
                "The signature of %(who)s at %(when)s is no longer valid: "
                "the record changed after it."
            )
        )
        % {"who": signature.signer_name, "when": _when(signature.signed_at)},
    )


def audit_trail(record: models.Model):
    """The record's audit events, oldest first, with their actors (one query)."""
    return (
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(type(record)), object_id=str(record.pk)
        )
        .select_related("actor")
        .order_by("sequence")
    )


@dataclass(frozen=True)
class RecomputeStatus:
    """What a study administrator needs to see about the study's recomputations."""

    data_version: int
    runs: list[RecomputeRun]
    waiting_since: dt.datetime | None

    @property
    def latest(self) -> RecomputeRun | None:
        return self.runs[0] if self.runs else None

    @property
    def up_to_date(self) -> bool:
        return self.latest is not None and self.latest.data_version >= self.data_version

    @property
    def failing_hooks(self) -> list[dict]:
        """The hooks that failed in the latest run (their snapshots are stale until fixed)."""
        return list(self.latest.errors) if self.latest else []


def recompute_status(study, *, limit: int = 20) -> RecomputeStatus:
    """The study's newest runs, newest first (one query), and whether a recompute is waiting."""
    runs = list(
        RecomputeRun.objects.filter(study=study)
        .only("data_version", "started_at", "finished_at", "results", "errors")
        .order_by("-id")[:limit]
    )
    since = recompute.pending_since(study.pk)
    return RecomputeStatus(
        data_version=study.data_version,
        runs=runs,
        waiting_since=dt.datetime.fromtimestamp(since, tz=dt.UTC) if since else None,
    )
