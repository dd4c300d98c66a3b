"""The off-study record (end of study participation): the date the subject left and why.

Until it exists the "off study" status has no date, so nothing could be placed on a study day
(the DLT evaluation's "left the study on Day n", the follow-up that stops). One record per
subject, a versioned and audited CRF like any other (docs/architecture.md §6); a correction
needs the version read and a reason. The reasons follow the CDISC SDTM disposition terms
(DSDECOD: COMPLETED, WITHDRAWAL BY SUBJECT, LOST TO FOLLOW-UP, DEATH, PHYSICIAN DECISION,
STUDY TERMINATED BY SPONSOR, OTHER), so the export maps one to one.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from enrollment.models.core import SubjectRecord
from trialsite.records.edit_checks import hard


class OffStudyReason(models.TextChoices):
    COMPLETED_FOLLOW_UP = "completed_follow_up", _("Completed follow-up")
    WITHDREW_CONSENT = "withdrew_consent", _("Withdrew consent")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    DEATH = "death", _("Death")
    INVESTIGATOR_DECISION = "investigator_decision", _("Investigator decision")
    SPONSOR_TERMINATED = "sponsor_terminated", _("Study terminated by the sponsor")
    OTHER = "other", _("Other")


NO_CONSENT = _("No informed consent is recorded: a subject who never consented is not on study.")


def _before_consent(record: OffStudy) -> str:
    """Participation starts at informed consent: the subject cannot leave before it."""
    from enrollment.plausibility import first_consent_date

    if record.off_study_date is None or record.subject_id is None:
        return ""
    first = first_consent_date(record.subject)
    if first is None:
        return str(
            _("No informed consent is recorded: a subject who never consented is not on study.")
        )
    if record.off_study_date >= first:
        return ""
    return _(
        "The off-study date (%(date)s) is before the informed consent (%(icf)s): the subject "
        "was not on study yet."
    ) % {"date": record.off_study_date.isoformat(), "icf": first.isoformat()}


class OffStudy(SubjectRecord):
    """End of study participation: from this date no new data is collected for the subject."""

    crf_code = "OFFSTUDY"
    crf_title = _("Off study (end of study participation)")
    assessment_date_field = "off_study_date"
    edit_checks = (hard("OFF-BEFORE-ICF", "off_study_date", _before_consent),)

    off_study_date = models.DateField(
        _("off-study date"),
        help_text=_("The last day of study participation (not before consent, not in the future)."),
    )
    off_study_reason = models.CharField(
        _("reason for going off study"), max_length=24, choices=OffStudyReason.choices
    )
    reason_specify = models.CharField(
        _("other reason (specify)"),
        max_length=300,
        blank=True,
        help_text=_("Required when the reason is 'Other'."),
    )
    comments = models.TextField(_("comments"), blank=True)

    class Meta:
        ordering = ["subject", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["subject"], name="one_off_study_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} off study since {self.off_study_date}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("enrollment:off-study", args=[self.subject_id])

    @property
    def reason_shown(self) -> str:
        if self.off_study_reason == OffStudyReason.OTHER and self.reason_specify:
            return f"{self.get_off_study_reason_display()}: {self.reason_specify}"
        return str(self.get_off_study_reason_display())

    def clean(self):
        from django.core.exceptions import ValidationError

        if (
            self.off_study_reason == OffStudyReason.OTHER
            and not (self.reason_specify or "").strip()
        ):
            raise ValidationError(
                {
                    "reason_specify": ValidationError(
                        _("Specify the other reason."), code="required_if"
                    )
                }
            )
        if self.off_study_reason != OffStudyReason.OTHER and (self.reason_specify or "").strip():
            raise ValidationError(
                {
                    "reason_specify": ValidationError(
                        _("Only for the reason 'Other': clear it or choose 'Other'."),
                        code="inconsistent",
                    )
                }
            )
