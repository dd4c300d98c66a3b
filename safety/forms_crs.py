"""The daily CRS and ICANS CRF forms. Choices are the rules' vocabularies (models assert it);
every clinical check is the service's (``safety.services.crs_grading``), so the form, the API and
the live-grade endpoint refuse the same input with the same codes.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from safety.models.crs_icans import (
    ICE_ITEMS,
    VASOPRESSOR_DOSES,
    CRSAssessment,
    ICANSAssessment,
    Vasopressor,
)
from trialsite.records.forms import CRFForm


class CRSAssessmentForm(CRFForm):
    submit_label = _("Save CRS assessment")

    vasopressors = forms.MultipleChoiceField(
        label=_("Vasopressors given"),
        choices=Vasopressor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick each vasopressor given and give its highest dose of the day below."),
    )

    class Meta(CRFForm.Meta):
        model = CRSAssessment
        fields = [
            "assessment_date",
            "max_temperature_c",
            "hypotension",
            "lowest_sbp_mmhg",
            "fluid_bolus",
            "vasopressors",
            *[field for field, _unit, _low, _high in VASOPRESSOR_DOSES.values()],
            "oxygen_device",
            "oxygen_flow_l_min",
            "fio2_percent",
            "antipyretic_given",
            "tocilizumab_given",
            "tocilizumab_dose_mg",
            "corticosteroid_given",
            "corticosteroid_drug",
            "corticosteroid_dose_mg",
            "episode_resolved",
        ]


class ICANSAssessmentForm(CRFForm):
    submit_label = _("Save ICANS assessment")

    class Meta(CRFForm.Meta):
        model = ICANSAssessment
        fields = [
            "assessment_date",
            "ice_not_assessable",
            *ICE_ITEMS,
            "consciousness",
            "seizure",
            "motor",
            "raised_icp",
            "corticosteroid_given",
            "corticosteroid_drug",
            "corticosteroid_dose_mg",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ICE_ITEMS:
            # The range is the service's check (code "out_of_range"), the same for the API.
            self.fields[name].validators = []
            self.fields[name].min_value = None
            self.fields[name].widget.attrs.pop("min", None)
