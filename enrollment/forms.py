"""Enrollment forms: registration, consent and one form per screening CRF.

Screening forms are built from their models: every field that feeds an eligibility criterion says
so in its help text ("Feeds IN7.3"), yes/no questions offer "not answered" so that an empty answer
keeps the criterion missing instead of passing it silently.
"""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout, Submit
from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from enrollment import missing_data, rules
from enrollment.models import (
    SCREENING_CRFS,
    Consent,
    PriorRegimen,
    ScreenFailureCategory,
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


MISSING_CODE_CHOICES = [
    ("", _("—")),
    (missing_data.NOT_DONE, _("Not done")),
    (missing_data.UNKNOWN, _("Unknown")),
    (missing_data.NOT_APPLICABLE, _("Not applicable")),
]
CODE_SUFFIX, REASON_SUFFIX = "__code", "__reason"


class ScreeningForm(CRFForm):
    """Base of the screening CRF forms (built by ``screening_form``).

    Beside each result the model lists in ``codable_fields`` the form offers "no value:
    not done / unknown / not applicable" and a reason (``<field>__code``, ``<field>__reason``);
    they are saved as the record's ``missing_codes``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name not in ("version", "reason"):
                field.help_text = criteria_help(name, str(field.help_text or ""))
        self._add_missing_code_fields()

    def _add_missing_code_fields(self) -> None:
        codable = [n for n in self._meta.model.codable_fields if n in self.fields]
        if not codable:
            return
        stored = missing_data.parse(getattr(self.instance, "missing_codes", None))
        fields = {}
        for name, field in self.fields.items():
            fields[name] = field
            if name not in codable:
                continue
            current = stored.get(name)
            fields[name + CODE_SUFFIX] = forms.ChoiceField(
                label=_("No value for “%(field)s”?") % {"field": field.label},
                choices=MISSING_CODE_CHOICES,
                required=False,
                initial=current.code if current else "",
            )
            fields[name + REASON_SUFFIX] = forms.CharField(
                label=_("Reason no value can be given"),
                required=False,
                max_length=missing_data.REASON_MAX,
                initial=current.reason if current else "",
            )
        self.fields = fields

    def clean(self):
        cleaned = super().clean()
        for name in self._meta.model.codable_fields:
            if name + CODE_SUFFIX not in self.fields:
                continue
            code = cleaned.get(name + CODE_SUFFIX) or ""
            reason = (cleaned.get(name + REASON_SUFFIX) or "").strip()
            if reason and not code:
                self.add_error(name + CODE_SUFFIX, _("Choose why there is no value."))
            elif code and not reason:
                self.add_error(name + REASON_SUFFIX, _("Give the reason."))
        return cleaned

    def model_field_names(self) -> list[str]:
        return [
            name
            for name in self.clinical_field_names()
            if not name.endswith((CODE_SUFFIX, REASON_SUFFIX))
        ]

    def readonly_field_names(self) -> list[str]:
        return self.model_field_names()

    def _field_layout(self, name: str) -> list:
        items = super()._field_layout(name)
        if name + CODE_SUFFIX in self.fields:
            items.append(
                Div(
                    Div(Field(name + CODE_SUFFIX), css_class="col-md-4"),
                    Div(Field(name + REASON_SUFFIX), css_class="col-md-8"),
                    css_class="row g-2 missing-code small",
                )
            )
        return items

    def clinical_values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.model_field_names()}
        if self._meta.model.codable_fields:
            values["missing_codes"] = {
                name: {
                    "code": self.cleaned_data[name + CODE_SUFFIX],
                    "reason": (self.cleaned_data.get(name + REASON_SUFFIX) or "").strip(),
                }
                for name in self._meta.model.codable_fields
                if self.cleaned_data.get(name + CODE_SUFFIX)
            }
        return values


def screening_form(model: type[ScreeningCRF]) -> type[ScreeningForm]:
    fields = model.answer_fields()
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
        fields = [
            "icf_version",
            "signed_at",
            "obtained_by",
            "signed_by",
            "representative_name",
            "representative_relationship",
            "witness_name",
            "withdrawn_at",
            "withdrawal_reason",
        ]
        widgets = {
            "signed_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "withdrawn_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }

    submit_label = _("Save consent")

    def __init__(self, *args, staff=None, icf_versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The study's approved versions (the service refuses any other with a field error).
        versions = [item["version"] for item in icf_versions]
        if self.instance.pk and self.instance.icf_version not in versions:
            versions.append(self.instance.icf_version)
        field = self.fields["icf_version"]
        self.fields["icf_version"] = forms.ChoiceField(
            label=field.label,
            help_text=field.help_text,
            choices=[("", "---------"), *[(v, v) for v in versions]],
        )
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


class PriorRegimenForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = PriorRegimen
        fields = ["regimen", "start_date", "end_date", "best_response"]

    submit_label = _("Save regimen")


class SubjectActionForm(forms.Form):
    """A decision about a subject, made on the subject version the user read."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    submit_label = _("Save")

    @property
    def helper(self) -> FormHelper:
        helper = FormHelper()
        helper.layout = Layout(*self.fields, Submit("save", self.submit_label))
        return helper


class ScreenFailureForm(SubjectActionForm):
    category = forms.ChoiceField(label=_("Reason"), choices=ScreenFailureCategory.choices)
    text = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for “Other”."),
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    submit_label = _("Sign and record the screen failure")


class ReverseScreenFailureForm(SubjectActionForm):
    reason = forms.CharField(
        label=_("Why the screen failure was a mistake"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    submit_label = _("Reverse the screen failure")


class ReverseWithdrawalForm(SubjectActionForm):
    reason = forms.CharField(
        label=_("Why the withdrawal was a mistake"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: recorded on the wrong subject. Kept in the audit trail."),
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    submit_label = _("Sign and reverse the withdrawal")


class RescreenForm(SubjectActionForm):
    submit_label = _("Rescreen under a new screening number")


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
