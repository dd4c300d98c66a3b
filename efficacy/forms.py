"""The efficacy CRF forms. They only parse: every clinical check is the service's
(``efficacy.services``), so the form, the API and the live endpoint refuse the same input with
the same codes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from efficacy.models import DiseaseEvent, FollowUp, ResponseAssessment
from efficacy.models.response import CATEGORY_CHOICES
from efficacy.services.response import INPUT_FIELDS
from trialsite.records.forms import CRFForm


class ResponseAssessmentForm(CRFForm):
    submit_label = _("Save response assessment")

    class Meta(CRFForm.Meta):
        model = ResponseAssessment
        fields = INPUT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("bm_blasts_pct", "bm_cellularity_pct", "pb_blasts_pct"):
            # 0-100 is the service's check (code "out_of_range"), the same for the API.
            self.fields[name].validators = []


class FollowUpForm(CRFForm):
    submit_label = _("Save follow-up contact")

    class Meta(CRFForm.Meta):
        model = FollowUp
        fields = [
            "contact_date",
            "survival_status",
            "last_known_alive_date",
            "disease_status",
            "notes",
        ]


class DiseaseEventForm(CRFForm):
    submit_label = _("Save disease event")

    class Meta(CRFForm.Meta):
        model = DiseaseEvent
        fields = [
            "event_type",
            "event_date",
            "death_cause",
            "hsct_donor_type",
            "therapy_name",
            "details",
        ]


class ConfirmResponseForm(forms.Form):
    """The investigator's confirmation or override, e-signed with the password."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("confirm", _("Confirm the computed category")), ("override", _("Override it"))],
        widget=forms.RadioSelect,
        initial="confirm",
    )
    override_category = forms.ChoiceField(
        label=_("Category of record (override)"),
        choices=[("", "—"), *CATEGORY_CHOICES],
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Required for an override; kept in the audit trail."),
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"), widget=forms.PasswordInput, strip=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "override" and not data.get("override_category"):
            self.add_error("override_category", _("Choose the category of record."))
        return data
