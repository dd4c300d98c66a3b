"""Enrollment forms: registration, consent and one form per screening CRF.

Screening forms are built from their models: every field that feeds an eligibility criterion says
so in its help text ("Feeds IN7.3"), yes/no questions offer "not answered" so that an empty answer
keeps the criterion missing instead of passing it silently.
"""

from __future__ import annotations

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from enrollment import rules
from enrollment.models import (
    SCREENING_CRFS,
    Consent,
    ScreeningCRF,
    SteroidCourse,
    Subject,
)
from trialsite.records.forms import CRFForm, DayMonthYearField

YES_NO = [("", _("Not answered")), ("true", _("Yes")), ("false", _("No"))]


class YesNoField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.pop("max_length", None)
        super().__init__(
            choices=YES_NO,
            coerce=lambda v: v == "true",
            empty_value=None,
            required=False,
            widget=forms.RadioSelect,
            **{k: v for k, v in kwargs.items() if k in ("label", "help_text", "initial")},
        )

    def prepare_value(self, value):
        if value is True:
            return "true"
        if value is False:
            return "false"
        return value


def criteria_help(name: str, help_text: str = "") -> str:
    """The field's help text with the criteria it feeds."""
    spec = rules.FACT_KEYS.get(name)
    if spec is None:
        return help_text
    feeds = _("Feeds %(codes)s.") % {"codes": ", ".join(spec.criteria)}
    return f"{help_text} {feeds}".strip()


def _formfield(field, **kwargs):
    if field.get_internal_type() == "BooleanField" and field.null:
        return YesNoField(label=capfirst(field.verbose_name), help_text=field.help_text)
    return field.formfield(**kwargs)


class ScreeningForm(CRFForm):
    """Base of the screening CRF forms (built by ``screening_form``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in ("version", "reason"):
                field.help_text = criteria_help(name, str(field.help_text or ""))


def screening_form(model: type[ScreeningCRF]) -> type[ScreeningForm]:
    fields = [f.name for f in model.content_fields() if f.name not in ("subject", "visit")]
    meta = type(
        "Meta",
        (CRFForm.Meta,),
        {"model": model, "fields": fields, "formfield_callback": _formfield},
    )
    return type(f"{model.__name__}Form", (ScreeningForm,), {"Meta": meta})


SCREENING_FORMS = {model.crf_code: (model, screening_form(model)) for model in SCREENING_CRFS}


class RegisterSubjectForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = Subject
        fields = [
            "site",
            "initials",
            "sex",
            "birth_date",
            "birth_year",
            "screening_date",
            "planned_apheresis_date",
        ]

    submit_label = _("Register subject")

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else self.fields["site"].queryset
        self.fields["site"].empty_label = None
        self.fields["planned_apheresis_date"].help_text = criteria_help("planned_apheresis_date")
        self.fields["birth_date"].help_text = criteria_help("birth_date")
        if self.instance.pk:
            del self.fields["site"]


class ConsentForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = Consent
        fields = ["icf_version", "signed_at", "obtained_by", "withdrawn_at", "withdrawal_reason"]
        widgets = {
            "signed_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "withdrawn_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }

    submit_label = _("Save consent")

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["obtained_by"].queryset = staff
        self.fields["obtained_by"].label_from_instance = lambda u: u.get_full_name() or u.username
        if not self.instance.pk:
            del self.fields["withdrawn_at"]
            del self.fields["withdrawal_reason"]


class SteroidCourseForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = SteroidCourse
        fields = ["drug", "daily_dose_mg", "start_date", "end_date", "ongoing"]

    submit_label = _("Save course")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["daily_dose_mg"].help_text = criteria_help("steroid_courses")


class ScreenFailureForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("Comment (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ScreeningLogFilter(forms.Form):
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label=_("All sites"))
    status = forms.ChoiceField(required=False)
    screened_from = DayMonthYearField(required=False, label=_("Screened from"))
    screened_to = DayMonthYearField(required=False, label=_("to"))
    q = forms.CharField(
        required=False,
        max_length=40,
        label=_("Search"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Screening no., subject ID or initials")}
        ),
    )
    sort = forms.CharField(required=False, max_length=30, widget=forms.HiddenInput)

    def __init__(self, *args, sites, **kwargs):
        from enrollment.models import SubjectStatus

        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["status"].choices = [("", _("Any status")), *SubjectStatus.choices]
        for name, field in self.fields.items():
            css = "form-select" if name in ("site", "status") else "form-control"
            field.widget.attrs["class"] = css

    def selection(self) -> dict:
        """The keyword arguments of ``selectors.screening_log`` (no filter when invalid)."""
        criteria = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "site_id": criteria["site"].pk if criteria.get("site") else None,
            "status": criteria.get("status") or None,
            "screened_from": criteria.get("screened_from"),
            "screened_to": criteria.get("screened_to"),
            "search": criteria.get("q") or "",
            "sort": criteria.get("sort") or None,
        }
