"""The Part 11 core (DESIGN.md §6): the clinical-record base, audit trail, signatures, recomputes.

Every CRF model inherits ``ClinicalRecord``. Writes go through ``trialsite.records.services``
(never ``QuerySet.update()``/``bulk_update()``), which keep the audit trail, the optimistic
``version`` and the study's ``data_version`` in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialsite.studies.models import Study


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    VERIFIED = "verified", _("Source-verified")
    SIGNED = "signed", _("Signed")
    LOCKED = "locked", _("Locked")


# Bookkeeping columns that are not clinical content: not diffed, not signed.
BOOKKEEPING_FIELDS = frozenset(
    {"id", "study", "status", "version", "created_at", "created_by", "updated_at", "updated_by"}
)


def to_json_value(value: object) -> object:
    """A value in the exact JSON form the audit trail stores and hashes.

    Decimals and floats become strings so that a database round trip (PostgreSQL ``jsonb``
    normalises numbers) can never change a hashed value.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return str(value)


class ClinicalRecord(models.Model):
    """Abstract base of every CRF: study, status, optimistic version, who/when.

    Subclasses add their clinical fields (and, in ``enrollment.SubjectRecord``, the subject and
    visit). ``site_id_for_permissions`` tells the permission module which site owns the record.
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=12, choices=RecordStatus.choices, default=RecordStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def site_id_for_permissions(self) -> int | None:
        """The site that owns this record (None: study-level record)."""
        return getattr(self, "site_id", None)

    @classmethod
    def content_fields(cls) -> list[models.Field]:
        """The clinical fields: everything but the bookkeeping columns."""
        return [
            f
            for f in cls._meta.concrete_fields
            if f.name not in BOOKKEEPING_FIELDS and not f.primary_key
        ]

    def content_values(self) -> dict[str, object]:
        """Field name -> JSON value of every clinical field (foreign keys as their id)."""
        return {f.name: to_json_value(f.value_from_object(self)) for f in self.content_fields()}


class AuditEvent(models.Model):
    """One change to one record: who, what (field-level old/new), when, why.

    Rows are only ever inserted (a PostgreSQL trigger refuses UPDATE and DELETE). Each row's
    ``hash`` covers its content and the previous row's hash for the same record, so
    ``manage.py audit_verify`` finds any row altered or removed behind the application's back.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        STATUS = "status", _("Status changed")
        SIGN = "sign", _("Signed")

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="audit_events")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    changes = models.JSONField(default=dict)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    actor_username = models.CharField(max_length=150)
    occurred_at = models.DateTimeField()
    record_version = models.PositiveIntegerField(null=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "sequence"], name="audit_sequence_unique"
            )
        ]
        indexes = [
            models.Index(fields=["study", "occurred_at"], name="audit_study_time"),
            models.Index(fields=["content_type", "object_id", "sequence"], name="audit_record"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr}: {self.get_action_display()} by {self.actor_username}"

    def payload(self) -> str:
        """The canonical text the hash covers."""
        return json.dumps(
            {
                "content_type": self.content_type_id,
                "object_id": self.object_id,
                "sequence": self.sequence,
                "action": self.action,
                "changes": self.changes,
                "reason": self.reason,
                "actor": self.actor_id,
                "actor_username": self.actor_username,
                "occurred_at": self.occurred_at.astimezone(dt.UTC).isoformat(),
                "record_version": self.record_version,
                "prev_hash": self.prev_hash,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )


class Signature(models.Model):
    """An electronic signature (21 CFR 11.50/11.70): signer, time, meaning, bound to content.

    It is valid only while the record still has the signed ``record_version`` and content hash;
    any later change makes it visibly invalid (it is never deleted).
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="signatures")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    record_version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    meaning = models.CharField(max_length=300)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="signature_record")]

    def __str__(self) -> str:
        return f"{self.signer_name}: {self.meaning}"


class RecomputeRun(models.Model):
    """One run of a study's recomputations, stamped with the ``data_version`` it saw.

    ``results`` holds each hook's summary; ``errors`` lists the hooks that failed, as
    ``{"hook": name, "error": "ExceptionClass: message"}`` (the traceback is in the worker log).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="recompute_runs")
    data_version = models.PositiveBigIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    results = models.JSONField(default=dict)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["study", "-data_version"], name="recompute_study_version")]

    def __str__(self) -> str:
        return f"{self.study_id} @ data v{self.data_version}"


class Snapshot(models.Model):
    """Abstract base of a study-wide derived result (DESIGN.md §5 "A snapshot").

    Subclasses add their key fields (e.g. ``dose_level``) and values, and a unique constraint on
    ``study`` plus the key fields; ``records.recompute.store_snapshot`` writes them only when the
    data they came from is newer than what is stored.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    data_version = models.PositiveBigIntegerField(_("data version"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        abstract = True


class Notification(models.Model):
    """A message to one user about a record that needs their attention (shown on the home page)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trialsite_notifications"
    )
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.message
