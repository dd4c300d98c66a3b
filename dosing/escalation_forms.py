"""The safety-review decision form: accept the recommendation or override it, then sign.

Parsing only; what is allowed is ``dosing.decisions.record_decision`` (and the decision's edit
checks), whose field errors ``add_service_errors`` puts back on the fields.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dosing.models import DecisionAction


class DecisionForm(forms.Form):
    state_data_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    accepted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[
            ("yes", _("Accept the recommendation")),
            ("no", _("Override it (give the rationale)")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        initial="yes",
    )
    action = forms.ChoiceField(
        label=_("Override: decision"), choices=DecisionAction.choices, required=False
    )
    dose_level = forms.IntegerField(
        label=_("Override: dose level (number; 0 = DL-1)"), required=False, min_value=0
    )
    open_slots = forms.IntegerField(
        label=_("Override: slots to open"), required=False, min_value=1, max_value=6
    )
    rationale = forms.CharField(
        label=_("Rationale"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {
            "password": data["password"],
            "accepted": data["accepted"],
            "state_data_version": data["state_data_version"],
            "rationale": data["rationale"],
        }
        if not data["accepted"]:
            values |= {
                "action": data["action"] or None,
                "dose_level": data["dose_level"],
                "open_slots": data["open_slots"],
            }
        return values

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)

    def error_summary(self) -> list[tuple[str, str, str]]:
        if not self.is_bound or not self.errors:
            return []
        rows = [("", "", str(message)) for message in self.non_field_errors()]
        for name in self.fields:
            for message in self.errors.get(name, []):
                bound = self[name]
                anchor = bound.auto_id
                if isinstance(bound.field.widget, forms.RadioSelect):
                    anchor = f"{anchor}_0"
                rows.append((anchor, str(bound.label), str(message)))
        return rows


class WhatIfForm(forms.Form):
    """One select per pending subject (``outcome-<n>``, n = the subject's position): the
    hypothesis, or "as now" (still pending). Parsing only: ``dosing.what_if`` runs the engine."""

    def __init__(self, data=None, *, pending=()):
        super().__init__(data)
        from dosing.what_if import HYPOTHESES

        choices = [("", _("still pending (as now)"))] + [
            (key, label) for key, label in HYPOTHESES.items()
        ]
        self.pending = {f"outcome-{p.number}": p for p in pending}
        for name, subject in self.pending.items():
            self.fields[name] = forms.ChoiceField(
                label=subject.label, choices=choices, required=False
            )

    def outcomes(self) -> dict[str, str]:
        """{subject label: hypothesis} for the subjects given one."""
        return {
            self.pending[name].label: value
            for name, value in self.cleaned_data.items()
            if value and name in self.pending
        }
