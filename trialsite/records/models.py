"""The Part 11 core (docs/architecture.md §6): the clinical-record base, audit trail, signatures.

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
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialsite.records import edit_checks
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

    # Text with a NUL character cannot be stored by PostgreSQL and is never clinical content.
    edit_checks = (edit_checks.hard("TXT-NUL", "", lambda record: record.nul_characters()),)

    class Meta:
        abstract = True

    def nul_characters(self) -> dict:
        """{field: message} for every text field holding a NUL character."""
        return {
            f.name: str(_("This text contains a character that cannot be stored (NUL)."))
            for f in self.content_fields()
            if isinstance(getattr(self, f.attname, None), str)
            and "\x00" in getattr(self, f.attname)
        }

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

    def full_clean(self, exclude=None, validate_unique=True, validate_constraints=True):
        """Django's ``full_clean``, safe when ``clean()`` meets a value its field refused.

        Django runs ``clean()`` even after a field failed, so a cross-field check can meet a
        NaN dose or a 30-digit number (``InvalidOperation`` on ``dose <= 0``). When a field
        already failed, such an error in ``clean()`` means "this value is not a number": the
        field error is the answer and the cross-field checks are left for the corrected value.
        With every field valid, an error in ``clean()`` is a bug and propagates.
        """
        errors: dict = {}
        exclude = set(exclude or ())
        try:
            self.clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        try:
            self.clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        except (ArithmeticError, TypeError, ValueError):
            if not errors:
                raise
        exclude |= {name for name in errors if name != NON_FIELD_ERRORS}
        if validate_unique:
            try:
                self.validate_unique(exclude=exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if validate_constraints:
            try:
                self.validate_constraints(exclude=exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


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
    # Where the record belongs and whether a person or the system wrote it, for the audit page's
    # site scope and filters. Hashed when set (rows written before these columns keep their hash).
    site = models.ForeignKey(
        "studies.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject_pk = models.PositiveIntegerField(null=True, blank=True)
    derived = models.BooleanField(default=False)
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
            models.Index(fields=["study", "site", "occurred_at"], name="audit_study_site_time"),
            models.Index(fields=["study", "subject_pk"], name="audit_study_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr}: {self.get_action_display()} by {self.actor_username}"

    def payload(self) -> str:
        """The canonical text the hash covers.

        The site, subject and derived flag are covered when set; rows written before those
        columns existed have none of them, so their payload (and hash) is unchanged.
        """
        extra = {
            key: value
            for key, value in (
                ("site", self.site_id),
                ("subject", self.subject_pk),
                ("derived", self.derived or None),
            )
            if value is not None
        }
        return json.dumps(
            {
                **extra,
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
    """A message to one user about a record that needs their attention (the home page).

    It leaves "Needs your attention" when the recipient opens it (``read_at``), dismisses it
    (``dismissed_at``) or when the thing it points at is resolved (``resolved_at``): it carries
    its target record and the condition that resolves it (``resolved_when``, e.g. "eligibility
    confirmed"), and the service that brings that condition about clears it
    (``trialsite.records.notifications.resolve``).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trialsite_notifications"
    )
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(max_length=200, blank=True)
    target_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True)
    resolved_when = models.CharField(_("resolved when"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["target_type", "target_id"], name="notification_target"),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_pending(self) -> bool:
        """Still needs attention: not opened, not dismissed, not resolved."""
        return self.read_at is None and self.dismissed_at is None and self.resolved_at is None


class DataQuery(models.Model):
    """A question about one field of one record, and its thread (open → answered → closed).

    *Automatic* queries come from soft edit checks (``trialsite.records.edit_checks``): there is
    at most one per record × field × rule reference, re-opened when the problem returns and closed
    by the service when the data is corrected, so re-running the checks never duplicates one.
    *Manual* queries are raised by monitors and data managers on any field. Coordinators answer
    them or correct the data through the CRF (a correction after submission needs a reason, like
    every change). The thread (``QueryMessage``) is only ever appended to.
    """

    class Origin(models.TextChoices):
        AUTOMATIC = "automatic", _("Automatic (edit check)")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="data_queries")
    site = models.ForeignKey(
        "studies.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    record_url = models.CharField(max_length=200, blank=True)
    subject_pk = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    subject_label = models.CharField(_("subject"), max_length=40, blank=True)
    subject_url = models.CharField(max_length=200, blank=True)
    form_label = models.CharField(_("form"), max_length=120)
    field = models.CharField(_("field"), max_length=64)
    field_label = models.CharField(_("question"), max_length=200)
    rule_ref = models.CharField(_("rule reference"), max_length=40, blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    text = models.TextField(_("query"))
    record_version = models.PositiveIntegerField(_("record version when raised"))
    opened_at = models.DateTimeField(_("opened"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("last activity"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("data query")
        verbose_name_plural = _("data queries")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field", "rule_ref"],
                condition=models.Q(origin="automatic"),
                name="one_automatic_query_per_rule",
            )
        ]
        indexes = [
            models.Index(fields=["study", "status"], name="query_study_status"),
            models.Index(fields=["content_type", "object_id"], name="query_record"),
        ]

    def __str__(self) -> str:
        return f"{self.object_repr} · {self.field_label}: {self.text[:60]}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class QueryMessage(models.Model):
    """One entry of a query's thread: who said what, when, and what it did to the status."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Re-opened")
        AUTO_CLOSED = "auto_closed", _("Closed automatically (data corrected)")
        AUTO_REOPENED = "auto_reopened", _("Re-opened automatically (problem returned)")

    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    text = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author_name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author_name}"


class AuditAnchor(models.Model):
    """A study's audit head at one moment, sealed with an HMAC whose key the database never holds.

    Written by the periodic ``anchor_audit_heads`` task and ``manage.py audit_anchor`` (and to the
    log). ``heads`` holds ``{"<content type id>:<pk>": [sequence, hash, object_repr]}`` for each
    chain that grew since the study's previous anchor; ``prev_mac`` links the anchors of a study.
    ``manage.py audit_verify`` reports every chain that no longer reaches its anchored row with the
    anchored hash: a consistently re-hashed chain or a removed range. Rows are only ever inserted.
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="audit_anchors")
    last_event_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    event_count = models.PositiveBigIntegerField()
    heads = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    prev_mac = models.CharField(max_length=64, blank=True)
    mac = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["study", "id"]
        indexes = [models.Index(fields=["study", "-id"], name="audit_anchor_latest")]

    def __str__(self) -> str:
        return f"study {self.study_id}: audit head #{self.last_event_id} at {self.created_at}"
