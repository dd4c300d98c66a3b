"""The off-study service: record or correct the end of a subject's study participation.

The CRF service shape of docs/architecture.md §10 (``save_screening_crf``): the subject is
locked first, the one record is read under the lock, an edit needs the version read and a
reason, every write is audited. On the first save the subject's status becomes *off study*
(a withdrawn subject stays *consent withdrawn*: the off-study record then dates the end of a
participation the withdrawal already stopped), and from then ``data_entry_blocked`` refuses
new data with "Off study since <date>". The registered status hooks (the DLT evaluation,
``enrollment.status_hooks``) run in the same transaction, so a subject who leaves inside the
DLT window is "not evaluable" at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from enrollment import status_hooks
from enrollment.models import OffStudy, OffStudyReason, Subject, SubjectStatus
from enrollment.services import ALREADY_ENTERED, NOTHING_TO_UPDATE
from trialsite.records import services as records
from trialsite.records.exceptions import StaleVersion, field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD

SCREEN_FAILURE_NOT_ON_STUDY = _(
    "A screen failure never started study participation: its screen-failure record closes it."
)


def off_study_record(subject: Subject) -> OffStudy | None:
    return OffStudy.objects.filter(subject=subject).select_related("updated_by").first()


def save_off_study(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: OffStudy | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> OffStudy:
    """Record (``record=None``, no version) or correct the subject's off-study record.

    Refused with field errors: a date before the first informed consent (``OFF-BEFORE-ICF``) or
    in the future at the site (``PL-DATE``), "other" without its text, a screen failure.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        if subject.enrollment_status == SubjectStatus.SCREEN_FAILURE:
            raise ValidationError(SCREEN_FAILURE_NOT_ON_STUDY, code="screen_failure")
        existing = OffStudy.objects.filter(subject=subject).first()
        if existing is None:
            if record is not None or expected_version is not None:
                raise field_error("version", NOTHING_TO_UPDATE, "no_record")
            saved = records.create_record(
                OffStudy,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject},
                reason=reason,
            )
            if subject.enrollment_status != SubjectStatus.WITHDRAWN:
                records.update_record(
                    subject,
                    actor=actor,
                    values={"enrollment_status": SubjectStatus.OFF_STUDY},
                    expected_version=UNREAD,  # follows the off-study record, under the lock
                    reason=f"Off study since {saved.off_study_date}: {saved.reason_shown}",
                )
        elif record is None and expected_version is None:
            when = records._when(existing.updated_at)
            raise StaleVersion(
                user=str(existing.updated_by),
                when=when,
                current_version=existing.version,
                message=ALREADY_ENTERED
                % {"form": OffStudy.crf_title, "who": existing.updated_by, "when": when},
            )
        else:
            saved = records.update_record(
                existing,
                actor=actor,
                values=values,
                expected_version=expected_version,
                reason=reason,
            )
        status_hooks.participation_changed(
            subject, actor=actor, reason=f"Off study since {saved.off_study_date}"
        )
    return saved


__all__ = ["OffStudyReason", "off_study_record", "save_off_study"]
