"""Lab forms: the collection (date, time, specimen, accession, lab) and one row per test."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safety import lab_catalogue
from safety.models import LabPanel
from safety.services.labs import check_row
from trialsite.records.forms import CRFForm, DayMonthYearField

TIME_HINT = _("Enter the time as HH:MM (24-hour), e.g. 07:30.")


class LabPanelForm(CRFForm):
    collected_on = DayMonthYearField(label=_("Collection date"))
    collected_time = forms.TimeField(
        label=_("Collection time"),
        input_formats=["%H:%M"],
        widget=forms.TextInput(attrs={"placeholder": "HH:MM", "size": "6", "inputmode": "text"}),
        error_messages={"invalid": TIME_HINT},
    )

    class Meta(CRFForm.Meta):
        model = LabPanel
        fields = ["specimen", "accession_number", "lab_name"]

    field_order = ["collected_on", "collected_time", "specimen", "accession_number", "lab_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            local = timezone.localtime(self.instance.collected_at)
            self.fields["collected_on"].initial = local.date()
            self.fields["collected_time"].initial = local.time().replace(second=0, microsecond=0)
        self.order_fields(self.field_order)

    def clinical_values(self) -> dict:
        data = self.cleaned_data
        moment = dt.datetime.combine(data["collected_on"], data["collected_time"])
        return {
            "collected_at": timezone.make_aware(moment),
            "specimen": data["specimen"],
            "accession_number": data["accession_number"].strip(),
            "lab_name": data["lab_name"].strip(),
        }


class ResultRowForm(forms.Form):
    """One test of the collection; an empty value means 'not done in this collection'."""

    value = forms.CharField(
        label=_("Value"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": "8"}),
    )
    # A select of the test's units; a posted unit outside it reaches the lab service's check,
    # which refuses it with the accepted units (the same message as the API and the import).
    unit = forms.CharField(label=_("Unit"), required=False, widget=forms.Select)
    lln = forms.CharField(
        label=_("LLN"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": "6"}),
    )
    uln = forms.CharField(
        label=_("ULN"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": "6"}),
    )
    is_baseline = forms.BooleanField(label=_("Baseline"), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, test: lab_catalogue.LabTest, **kwargs):
        super().__init__(*args, prefix=f"r-{test.code}", **kwargs)
        self.test = test
        self.fields["unit"].widget.choices = [(u, u) for u in test.units]
        self.fields["unit"].initial = test.unit
        for name in ("lln", "uln"):
            default = getattr(test, name)
            if default is not None:
                self.fields[name].widget.attrs["placeholder"] = f"{default.normalize():f}"

    def clean(self):
        data = super().clean()
        row = self.row()
        if row is not None:
            _clean, problems = check_row(row)
            for name, errors in problems.items():
                self.add_error(name if name in self.fields else None, errors)
        return data

    def row(self) -> dict | None:
        """The row for the lab service, or None when no value was typed."""
        data = self.cleaned_data
        if not data.get("value", "").strip():
            return None
        return {
            "test_code": self.test.code,
            "value": data["value"],
            "unit": data.get("unit") or self.test.unit,
            "lln": data.get("lln") or None,
            "uln": data.get("uln") or None,
            "is_baseline": data.get("is_baseline", False),
            "version": data.get("version"),
        }


class DismissProposalForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(label=_("Reason for dismissal"), max_length=300, required=False)


class LabImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: subject, accession_number, collected_at (YYYY-MM-DD HH:MM), specimen, "
            "lab_name, test, value, unit, lln, uln."
        ),
    )
