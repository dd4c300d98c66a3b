"""Every write of a clinical record goes through here (architecture.md §5, §6, §10 "A service").

One ``transaction.atomic`` per call: lock the row, compare versions, ``full_clean()``, save, write
the audit row, run edit checks, bump the study's ``data_version``; the recompute is scheduled
on commit. App services (``enrollment.services`` …) build on these functions and add their own
workflow; views, the API, imports and management commands all call services.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trialsite import clock
from trialsite.records import audit, edit_checks, queries, recompute, selectors
from trialsite.records.exceptions import (
    BAD_PASSWORD,
    RecordLocked,
    SignatureRefused,
    StaleVersion,
    VersionRequired,
    field_error,
)
from trialsite.records.models import AuditEvent, ClinicalRecord, RecordStatus, Signature
from trialsite.studies.models import Study

REASON_REQUIRED = _("Give a reason for this change: the record has been submitted.")
NOTHING_CHANGED = "nothing_changed"


class _Unread:
    """The type of :data:`UNREAD`."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD = _Unread()
"""``expected_version=UNREAD``: this write did not start from a version a person read.

Only code that legitimately writes without a read says so: derived records recomputed in the
saving transaction (the eligibility assessment), system transitions of a record the service has
just locked (the subject's status after a signed confirmation), imports. A user's write — every
form and every API call — carries the version it was based on; ``None`` is refused
(``VersionRequired``), so a forgotten version can never overwrite silently.
"""

ExpectedVersion = int | _Unread | None


def bump_data_version(study_id: int) -> int:
    """Advance the study's data version in the current transaction and schedule a recompute.

    The UPDATE takes the study row's lock until commit, so data versions are strictly ordered.
    """
    Study.objects.filter(pk=study_id).update(data_version=F("data_version") + 1)
    version = Study.objects.filter(pk=study_id).values_list("data_version", flat=True).get()
    recompute.schedule(study_id)
    return version


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _lock(record: ClinicalRecord) -> ClinicalRecord:
    # Row lock: concurrent writers of the same record queue here and then see the new version.
    return type(record)._default_manager.select_for_update().get(pk=record.pk)


def _check_version(current: ClinicalRecord, expected_version: ExpectedVersion) -> None:
    if expected_version is UNREAD:
        return
    if expected_version is None:
        raise VersionRequired(current_version=current.version)
    if current.version != expected_version:
        raise StaleVersion(
            user=str(current.updated_by),
            when=_when(current.updated_at),
            current_version=current.version,
        )


def _needs_reason(current: ClinicalRecord, reason: str) -> None:
    if current.status != RecordStatus.DRAFT and not reason.strip():
        raise field_error("reason", REASON_REQUIRED, "reason_required")


def create_record(
    model: type[ClinicalRecord],
    *,
    actor,
    study: Study,
    values: Mapping[str, object],
    reason: str = "",
    status: str = RecordStatus.DRAFT,
    derived: bool = False,
) -> ClinicalRecord:
    """Create a record from field values; audit row with every value as new.

    ``derived=True`` is for records computed from other records in the same transaction (an
    eligibility assessment): they are audited like any record but do not bump the data version
    a second time, so they can be stamped with the version of the data they were derived from.
    """
    now = clock.now()
    with transaction.atomic():
        record = model(
            study=study,
            status=status,
            version=1,
            created_at=now,
            created_by=actor,
            updated_at=now,
            updated_by=actor,
            **values,
        )
        # The bookkeeping foreign keys come from the service itself, not from user input.
        record.full_clean(exclude=["study", "created_by", "updated_by"])
        edit_checks.refuse_hard_failures(record)
        record.save(force_insert=True)
        after = record.content_values()
        audit.write_event(
            record,
            study_id=study.pk,
            action=AuditEvent.Action.CREATE,
            changes={name: [None, value] for name, value in after.items() if value is not None},
            reason=reason.strip(),
            actor=actor,
            occurred_at=now,
            record_version=1,
            derived=derived,
        )
        queries.sync_automatic_queries(record, edit_checks.soft_failures(record), actor=actor)
        if not derived:
            bump_data_version(study.pk)
    return record


def update_record(
    record: ClinicalRecord,
    *,
    actor,
    values: Mapping[str, object],
    expected_version: ExpectedVersion,
    reason: str = "",
    derived: bool = False,
) -> ClinicalRecord:
    """Change field values of a record (``derived``: see ``create_record``).

    Refused when the record is locked (``RecordLocked``) or changed since ``expected_version``
    (``StaleVersion``); a reason is required once the record is submitted. A change to a
    verified or signed record returns it to *submitted*: the verification and signature no
    longer cover its content. An update that changes nothing writes nothing.
    """
    now = clock.now()
    with transaction.atomic():
        current = _lock(record)
        if current.status == RecordStatus.LOCKED:
            raise RecordLocked()
        _check_version(current, expected_version)
        before = current.content_values()
        for name, value in values.items():
            setattr(current, name, value)
        # Validate what changed (and every cross-field rule in clean()); unchanged fields were
        # validated when they were saved, and re-checking their foreign keys costs a query each.
        unchanged = [f.name for f in type(current)._meta.concrete_fields if f.name not in values]
        current.full_clean(exclude=unchanged)
        edit_checks.refuse_hard_failures(current)
        changes = audit.field_changes(before, current.content_values())
        if not changes:
            return current
        _needs_reason(current, reason)
        if current.status in (RecordStatus.VERIFIED, RecordStatus.SIGNED):
            changes["status"] = [current.status, RecordStatus.SUBMITTED]
            current.status = RecordStatus.SUBMITTED
        current.version += 1
        current.updated_at = now
        current.updated_by = actor
        current.save()
        audit.write_event(
            current,
            study_id=current.study_id,
            action=AuditEvent.Action.UPDATE,
            changes=changes,
            reason=reason.strip(),
            actor=actor,
            occurred_at=now,
            record_version=current.version,
            derived=derived,
        )
        queries.sync_automatic_queries(current, edit_checks.soft_failures(current), actor=actor)
        if not derived:
            bump_data_version(current.study_id)
    return current


def delete_record(
    record: ClinicalRecord, *, actor, expected_version: ExpectedVersion, reason: str
) -> None:
    """Delete a record; its audit trail (with every last value) stays. A reason is required."""
    if not reason.strip():
        raise field_error("reason", _("Give a reason for deleting this record."), "reason_required")
    now = clock.now()
    with transaction.atomic():
        current = _lock(record)
        if current.status == RecordStatus.LOCKED:
            raise RecordLocked()
        _check_version(current, expected_version)
        audit.write_event(
            current,
            study_id=current.study_id,
            action=AuditEvent.Action.DELETE,
            changes={k: [v, None] for k, v in current.content_values().items() if v is not None},
            reason=reason.strip(),
            actor=actor,
            occurred_at=now,
            record_version=current.version,
        )
        study_id = current.study_id
        current.delete()
        bump_data_version(study_id)


_TRANSITIONS = {
    RecordStatus.DRAFT: {RecordStatus.SUBMITTED},
    RecordStatus.SUBMITTED: {RecordStatus.VERIFIED, RecordStatus.LOCKED},
    RecordStatus.VERIFIED: {RecordStatus.SUBMITTED, RecordStatus.LOCKED},
    RecordStatus.SIGNED: {RecordStatus.LOCKED, RecordStatus.SUBMITTED},
    RecordStatus.LOCKED: {RecordStatus.SUBMITTED},
}


def change_status(
    record: ClinicalRecord,
    *,
    actor,
    status: str,
    expected_version: ExpectedVersion,
    reason: str = "",
) -> ClinicalRecord:
    """Move a record along draft → submitted → verified → signed → locked (and unlock).

    Signing goes through ``sign_record``. Permission to verify or lock is the caller's check.
    """
    now = clock.now()
    with transaction.atomic():
        current = _lock(record)
        _check_version(current, expected_version)
        if status not in _TRANSITIONS.get(current.status, set()):
            raise field_error(
                "status",
                _("A %(old)s record cannot become %(new)s.")
                % {"old": current.get_status_display(), "new": status},
                "bad_transition",
            )
        if current.status == RecordStatus.LOCKED and not reason.strip():
            raise field_error("reason", _("Give a reason for unlocking."), "reason_required")
        old = current.status
        current.status = status
        current.version += 1
        current.updated_at = now
        current.updated_by = actor
        current.save(update_fields=["status", "version", "updated_at", "updated_by"])
        audit.write_event(
            current,
            study_id=current.study_id,
            action=AuditEvent.Action.STATUS,
            changes={"status": [old, status]},
            reason=reason.strip(),
            actor=actor,
            occurred_at=now,
            record_version=current.version,
        )
    return current


def submit_record(
    record: ClinicalRecord, *, actor, expected_version: ExpectedVersion
) -> ClinicalRecord:
    return change_status(
        record, actor=actor, status=RecordStatus.SUBMITTED, expected_version=expected_version
    )


# --- Electronic signatures (docs/architecture.md §6; Django auth/tokens.py) ------------------

content_hash = selectors.content_hash


def sign_record(
    record: ClinicalRecord,
    *,
    actor,
    password: str,
    meaning: str,
    expected_version: ExpectedVersion,
) -> Signature:
    """Sign a submitted or verified record after the signer re-enters their password.

    The signature stores the meaning shown to the signer and binds to the record's version and
    a hash of its content; any later change makes it invalid (``signature_state``).
    """
    if not password or not actor.check_password(password):
        raise SignatureRefused(str(BAD_PASSWORD))
    now = clock.now()
    with transaction.atomic():
        current = _lock(record)
        if current.status == RecordStatus.LOCKED:
            raise RecordLocked()
        _check_version(current, expected_version)
        if current.status not in (RecordStatus.SUBMITTED, RecordStatus.VERIFIED):
            raise SignatureRefused(
                str(_("Only a submitted or verified record can be signed; this one is %s."))
                % current.get_status_display()
            )
        old = current.status
        current.status = RecordStatus.SIGNED
        current.version += 1
        current.updated_at = now
        current.updated_by = actor
        current.save(update_fields=["status", "version", "updated_at", "updated_by"])
        signature = Signature.objects.create(
            study_id=current.study_id,
            content_type=ContentType.objects.get_for_model(type(current)),
            object_id=str(current.pk),
            record_version=current.version,
            content_hash=content_hash(current),
            meaning=meaning,
            signer=actor,
            signer_name=actor.get_full_name() or actor.get_username(),
            signed_at=now,
        )
        audit.write_event(
            current,
            study_id=current.study_id,
            action=AuditEvent.Action.SIGN,
            changes={"status": [old, RecordStatus.SIGNED], "signature": [None, meaning]},
            reason=meaning,
            actor=actor,
            occurred_at=now,
            record_version=current.version,
        )
    return signature


def notify(study: Study, recipients, *, message: str, url: str = "", **options) -> int:
    """Leave a notice for each recipient (``trialsite.records.notifications.notify``)."""
    from trialsite.records import notifications

    return len(notifications.notify(study, recipients, message=message, url=url, **options))
