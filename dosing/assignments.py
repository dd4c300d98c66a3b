"""Ending a cohort assignment before the infusion (issue 12: "end or change an assignment").

Why: a subject assigned to a slot may never be infused there — they withdraw before the
infusion, the product fails release, the investigator decides otherwise. Their assignment is
*ended*, never deleted (``is_active`` false with the reason; the audit trail and the subject's
history keep it), which frees the slot: the gate (``dosing.services.assign_subject``) counts
only the active assignments of the latest signed decision, and the escalation engine reads only
active ones (``dosing.escalation.escalation_inputs``), so the data version the edit bumps makes
the worker recompute without them. Changing a subject's level is an end followed by a new
assignment through the same gate (which may need a new signed decision).

An infused subject's assignment is never ended: the level they were infused at is the dose they
received, and it counts in the escalation whatever happens next (RULES.md §4: a DLT is never
discarded; a subject who leaves the window early is *not evaluable*, recorded by safety).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from dosing.models import CohortAssignment, Infusion
from enrollment.models import Subject, SubjectStatus
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.services import UNREAD

REASON_REQUIRED = _("Give the reason the assignment ends (it is kept with the assignment).")
REASON_TOO_LONG = _("Keep the reason under %(max)s characters.")
ALREADY_ENDED = _("This assignment was already ended (%(reason)s).")
ALREADY_INFUSED = _(
    "%(subject)s was infused at %(level)s: the level of an infused subject is the dose they "
    "received and stays in the escalation; the assignment cannot be ended."
)
#: The reasons a site gives most often (the page offers them; any text is accepted).
COMMON_REASONS = (
    _("The subject withdrew before the infusion"),
    _("The product failed release"),
    _("Investigator decision"),
)
MAX_REASON = CohortAssignment._meta.get_field("ended_reason").max_length


def end_assignment(
    assignment: CohortAssignment, *, actor, reason: str, expected_version
) -> CohortAssignment:
    """End ``assignment`` (``is_active`` false, ``ended_reason``), audited, under the subject lock.

    Refused (field errors, nothing saved): without a reason or with one longer than the column
    (``reason`` / ``reason_required``, ``reason_too_long``), an assignment already ended
    (``already_ended``), a subject already infused (``already_infused``); a stale or missing
    ``expected_version`` raises ``StaleVersion`` / ``VersionRequired`` (409 / 428). An enrolled
    subject is eligible again (the confirmation still holds) and may be assigned anew through
    the gate. Bumps the study's data version: the escalation engine's inputs changed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", REASON_REQUIRED, "reason_required")
    if len(reason) > MAX_REASON:
        raise field_error("reason", REASON_TOO_LONG % {"max": MAX_REASON}, "reason_too_long")
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=assignment.subject_id)
        current = CohortAssignment.objects.select_related("dose_level").get(pk=assignment.pk)
        if not current.is_active:
            raise field_error(
                "reason", ALREADY_ENDED % {"reason": current.ended_reason}, "already_ended"
            )
        if Infusion.objects.filter(subject=subject).exists():
            raise field_error(
                "reason",
                ALREADY_INFUSED % {"subject": subject, "level": current.dose_level.label},
                "already_infused",
            )
        ended = records.update_record(
            current,
            actor=actor,
            values={"is_active": False, "ended_reason": reason},
            expected_version=expected_version,
            reason=reason,
        )
        if subject.enrollment_status == SubjectStatus.ENROLLED:
            records.update_record(
                subject,
                actor=actor,
                values={"enrollment_status": SubjectStatus.ELIGIBLE},
                expected_version=UNREAD,  # system transition under the subject lock
                reason=f"Assignment to {current.dose_level.label} ended: {reason}",
            )
    return ended


def ended_assignments(subject: Subject):
    """The subject's ended assignments, newest first, with their level and who ended them."""
    return (
        CohortAssignment.objects.filter(subject=subject, is_active=False)
        .select_related("dose_level", "updated_by", "assigned_by")
        .order_by("-updated_at", "-pk")
    )
