"""The investigator's DLT adjudication form: verdict, rationale, e-signature (password again)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _


class DLTAdjudicationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    is_dlt = forms.TypedChoiceField(
        label=_("Is this event a dose-limiting toxicity?"),
        choices=[("yes", _("Yes: a DLT")), ("no", _("No: not a DLT"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    rationale = forms.CharField(
        label=_("Rationale"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the event does or does not meet the study's DLT criteria."),
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    @property
    def helper(self) -> FormHelper:
        helper = FormHelper()
        helper.layout = Layout(*self.fields, Submit("save", _("Sign the adjudication")))
        return helper
