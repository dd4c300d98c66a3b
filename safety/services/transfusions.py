"""Transfusion writes: the repeating transfusion CRF (docs/architecture.md §10, §12.6).

A red-cell or platelet transfusion changes what the count-recovery rule may read as recovery
(RULES.md §3.5: a count within 7 days after a transfusion does not count), so every save of one
refreshes the subject's DLT evaluation in the same transaction, as a blood count does.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject
from enrollment.services import require_data_entry
from safety.models import Transfusion
from safety.models.transfusions import COUNT_RECOVERY_PRODUCTS
from safety.services.dlt import refresh_dlt_evaluation
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.models import RecordStatus

WRONG_SUBJECT = _("This transfusion belongs to another subject.")


def save_transfusion(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: Transfusion | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Transfusion:
    """Add a transfusion (``record=None``) or correct one (with the version that was read).

    Under the subject lock (one writer per subject, as for the blood counts the DLT evaluation
    reads with it): validate and save through ``trialsite.records`` (audit, version, data
    version), then, when the product is red cells or platelets (before or after the change),
    recompute the DLT evaluation so a transfused count no longer shows recovery.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        if record is None:
            require_data_entry(subject)
            saved = records.create_record(
                Transfusion,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject},
                reason=reason,
            )
            products = {saved.product}
        else:
            existing = Transfusion.objects.get(pk=record.pk)
            if existing.subject_id != subject.pk:
                raise field_error("subject", WRONG_SUBJECT, "wrong_subject")
            before = existing.product
            saved = records.update_record(
                existing,
                actor=actor,
                values=values,
                expected_version=expected_version,
                reason=reason,
            )
            products = {before, saved.product}
        if subject.day0 is not None and products & COUNT_RECOVERY_PRODUCTS:
            refresh_dlt_evaluation(subject, actor=actor, reason=reason or "Transfusion recorded")
        return saved
