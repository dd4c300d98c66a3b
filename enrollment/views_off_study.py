"""The off-study page: record or correct when and why the subject's participation ended.

A CRF page on the platform's shape (``SubjectCRFView``): readers get it read-only, a stale
version or a bad date comes back as a field error from ``enrollment.off_study.save_off_study``.
It stays open after withdrawal and after the off-study date itself (it is the record that
closes the subject), unlike every other CRF (``data_entry_blocked``).
"""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from enrollment.models import OffStudy, SubjectStatus
from enrollment.models.off_study import NO_CONSENT as NO_CONSENT_YET
from enrollment.off_study import SCREEN_FAILURE_NOT_ON_STUDY, off_study_record, save_off_study
from enrollment.plausibility import first_consent_date
from enrollment.views import SubjectCRFView
from trialsite.records.forms import CRFForm


class OffStudyForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = OffStudy
        fields = ["off_study_date", "off_study_reason", "reason_specify", "comments"]
        widgets = {"comments": forms.Textarea(attrs={"rows": 3})}

    submit_label = _("Save off-study record")


class OffStudyView(SubjectCRFView):
    form_class = OffStudyForm
    title = OffStudy.crf_title

    def get_record(self):
        return off_study_record(self.get_subject())

    def entry_blocked_reason(self, record):
        subject = self.get_subject()
        if subject.enrollment_status == SubjectStatus.SCREEN_FAILURE:
            return str(SCREEN_FAILURE_NOT_ON_STUDY)
        if record is None and first_consent_date(subject) is None:
            return str(NO_CONSENT_YET)
        return ""

    def save(self, form, record, *, study, site):
        return save_off_study(
            self.get_subject(),
            actor=self.request.user,
            values=form.clinical_values(),
            record=record,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )

    def get_success_url(self, record):
        return reverse("enrollment:subject", args=[self.get_subject().pk])
