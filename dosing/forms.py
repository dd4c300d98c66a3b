"""Dosing CRF forms: thin ModelForms on the records core's ``CRFForm`` (docs/architecture.md §11).

Every clinical check is the service's (the same for the API); the forms only parse.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from dosing.models import (
    Apheresis,
    CohortAssignment,
    DoseLevel,
    Infusion,
    Lymphodepletion,
    ProductRelease,
)
from enrollment.forms import YesNoField
from trialsite.records.forms import CRFForm

DATETIME_WIDGET = {"type": "datetime-local"}


class AssignmentForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = CohortAssignment
        fields = ["dose_level", "phase", "cohort_number"]

    submit_label = _("Assign")

    def __init__(self, *args, levels=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["dose_level"]
        field.queryset = levels if levels is not None else DoseLevel.objects.none()
        field.label_from_instance = lambda level: str(level)
        self.fields["cohort_number"].initial = 1


class ApheresisForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = Apheresis
        fields = [
            "apheresis_date",
            "centre",
            "volume_processed_l",
            "wbc_collected_10e9",
            "cd3_collected_10e9",
            "product_shipped_date",
        ]

    submit_label = _("Save apheresis")


class ProductReleaseForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = ProductRelease
        fields = [
            "lot_number",
            "release_date",
            "viability_pct",
            "car_positive_pct",
            "total_viable_car_t_cells_1e6",
            "release_result",
            "failed_test",
            "failed_test_detail",
        ]

    submit_label = _("Save release")


class LymphodepletionForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = Lymphodepletion
        fields = [
            "planned_infusion_date",
            "start_date",
            "regimen",
            "height_cm",
            "weight_kg",
            "fludarabine_mg_m2_day_minus5",
            "fludarabine_mg_m2_day_minus4",
            "fludarabine_mg_m2_day_minus3",
            "cyclophosphamide_mg_m2_day_minus5",
            "cyclophosphamide_mg_m2_day_minus4",
            "cyclophosphamide_mg_m2_day_minus3",
        ]

    submit_label = _("Save lymphodepletion")


class InfusionForm(CRFForm):
    premedication_given = YesNoField(label=_("premedication given"))
    infusion_reaction = YesNoField(label=_("infusion reaction"))

    class Meta(CRFForm.Meta):
        model = Infusion
        fields = [
            "infusion_start",
            "weight_kg",
            "total_car_t_cells_1e6",
            "number_of_bags",
            "premedication_given",
            "premedication",
            "infusion_reaction",
            "infusion_reaction_details",
        ]
        widgets = {
            "infusion_start": forms.DateTimeInput(attrs=DATETIME_WIDGET, format="%Y-%m-%dT%H:%M"),
        }

    submit_label = _("Save infusion")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["weight_kg"].help_text = _(
            "The weight the dose was calculated for; required with the cell count."
        )


class EndAssignmentForm(forms.Form):
    """End the subject's assignment: a common reason or "other", with details (parsing only;
    ``dosing.assignments.end_assignment`` decides)."""

    OTHER = "other"

    version = forms.IntegerField(widget=forms.HiddenInput)
    why = forms.ChoiceField(label=_("Why the assignment ends"))
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"maxlength": 150}),
        help_text=_("Required for another reason; e.g. the failed release test."),
    )

    def __init__(self, *args, **kwargs):
        from dosing.assignments import COMMON_REASONS

        super().__init__(*args, **kwargs)
        self.fields["why"].choices = [(str(r), r) for r in COMMON_REASONS] + [
            (self.OTHER, _("Another reason (give it in the details)"))
        ]

    def clean(self):
        data = super().clean()
        if data.get("why") == self.OTHER and not (data.get("details") or "").strip():
            self.add_error("details", forms.ValidationError(_("Give the reason."), "required"))
        return data

    def reason(self) -> str:
        why, details = self.cleaned_data["why"], (self.cleaned_data["details"] or "").strip()
        if why == self.OTHER:
            return details
        return f"{why}: {details}" if details else why
