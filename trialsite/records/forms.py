"""The base CRF form: crispy layout, the optimistic version, and the reason for change.

A CRF form is a few lines::

    class VitalsForm(CRFForm):
        class Meta(CRFForm.Meta):
            model = Vitals
            fields = ["weight_kg", "height_cm"]
"""

from __future__ import annotations

import datetime as dt

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout, Submit
from django import forms
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from trialsite.records.dates import format_dmy, parse_date
from trialsite.records.models import RecordStatus

VERSION_MISSING = _(
    "The version of the record you opened is missing: reload the page and enter your change again."
)


DATE_FORMAT_HINT = _("Enter the date as DD-MMM-YYYY, e.g. 05-Mar-2025.")


class DayMonthYearInput(forms.TextInput):
    """A text input showing a date as DD-MMM-YYYY; what the user typed is shown back as typed."""

    def __init__(self, attrs=None):
        defaults = {
            "placeholder": "DD-MMM-YYYY",
            "autocomplete": "off",
            "data-date-dmy": "",
            "inputmode": "text",
            "size": "12",
        }
        super().__init__({**defaults, **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, dt.date):
            return format_dmy(value)
        return super().format_value(value)


class DayMonthYearField(forms.DateField):
    """A date typed as DD-MMM-YYYY or YYYY-MM-DD (``trialsite.records.dates``)."""

    widget = DayMonthYearInput
    default_error_messages = {"invalid": DATE_FORMAT_HINT}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        parsed = parse_date(str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def day_month_year_field(field: forms.DateField) -> DayMonthYearField:
    """The same date field (label, help, required, initial), as a DD-MMM-YYYY text input."""
    return DayMonthYearField(
        required=field.required,
        label=field.label,
        help_text=field.help_text,
        initial=field.initial,
        disabled=field.disabled,
        validators=field.validators,
    )


def text_number_widget(widget: forms.NumberInput) -> forms.TextInput:
    """A text input for a number, so letters typed by mistake are shown back with the error.

    A browser's ``type="number"`` input blanks a value it cannot parse, so the user would see
    an empty field beside "Enter a number" and not know what was wrong.
    """
    attrs = {k: v for k, v in widget.attrs.items() if k not in ("step", "min", "max")}
    attrs.setdefault("inputmode", "decimal")
    return forms.TextInput(attrs=attrs)


class CRFForm(forms.ModelForm):
    """ModelForm for a ClinicalRecord: adds ``version`` (hidden) and ``reason`` fields.

    The reason is required once the record is no longer a draft; the service enforces it too,
    so the form's check is only for a quicker message.
    """

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        required=False,
        error_messages={"required": VERSION_MISSING},
    )
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when changing a submitted record (audit trail)."),
    )
    submit_label = _("Save")

    class Meta:
        fields: list[str] = []

    def __init__(self, *args, open_queries=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_queries = open_queries or {}
        for name, field in list(self.fields.items()):
            if type(field) is forms.DateField:
                self.fields[name] = day_month_year_field(field)
            elif isinstance(field.widget, forms.NumberInput):
                field.widget = text_number_widget(field.widget)
        instance = self.instance
        is_existing = instance is not None and instance.pk is not None
        if is_existing:
            # An edit must say which version it was based on (no silent overwrite).
            self.fields["version"].initial = instance.version
            self.fields["version"].required = True
        self.reason_needed = is_existing and instance.status != RecordStatus.DRAFT
        self.fields["reason"].required = self.reason_needed
        if not is_existing:
            self.fields["reason"].widget = forms.HiddenInput()

    @property
    def helper(self) -> FormHelper:
        """The crispy layout, built from the fields as they are when the form is drawn.

        Subclasses may add or remove fields in their ``__init__``; the layout follows.
        """
        helper = FormHelper()
        helper.form_tag = True
        helper.layout = Layout(
            *[item for name in self.readonly_field_names() for item in self._field_layout(name)],
            "version",
            Div(Field("reason"), css_class="reason-for-change") if self.reason_needed else "reason",
            Submit("save", self.submit_label, css_class="btn btn-primary"),
        )
        return helper

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, label, message) for each error, in the order of the fields on the form."""
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

    def _field_layout(self, name: str) -> list:
        """The field, and beside it the open data queries on it."""
        widget = self.fields[name].widget
        items = [InlineRadios(name) if isinstance(widget, forms.RadioSelect) else Field(name)]
        queries = self.open_queries.get(name)
        if queries:
            html = render_to_string(
                "records/_field_queries.html", {"queries": queries, "field": name}
            )
            # crispy's HTML() renders its text as a template: the query text a user typed must
            # never be template code, so braces become character references (shown the same).
            items.append(HTML(html.replace("{", "&#123;").replace("}", "&#125;")))
        return items

    def clinical_field_names(self) -> list[str]:
        return [name for name in self.fields if name not in ("version", "reason")]

    def readonly_field_names(self) -> list[str]:
        """The questions, each laid out with its helper fields (``_field_layout``) if any."""
        return self.clinical_field_names()

    def clinical_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.clinical_field_names()}

    def _post_clean(self):
        # The service runs full_clean() inside its transaction; running model validation here
        # too would validate against a half-built instance and report errors twice.
        pass


class SignatureForm(forms.Form):
    """Re-enter the password to sign; the meaning is shown above the field and stored."""

    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, meaning: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.meaning = meaning
        self.helper = FormHelper()
        self.helper.layout = Layout("password", "version", Submit("sign", _("Sign")))
