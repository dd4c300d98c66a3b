"""Forms of the study-settings page: one per flat section, generated from its declarations, and
the raw document as the advanced view (issue 10 items 2 and 3).

The forms only parse: the values go to ``services.update_study_settings``, which checks them
with the rules module's own ``validate_settings``, and its errors (keyed ``section.setting``) are
put back beside their fields by :func:`add_service_errors`. No range is duplicated here; the
range is shown (help text, ``min``/``max`` on the input) from the module's declaration.
"""

from __future__ import annotations

import json
import math

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trialsite.studies.study_settings import SettingsSection

RAW = "__document__"
BAD_JSON = _("This is not valid JSON: %(error)s")
NOT_FINITE = _("%(value)s is not a finite number; JSON numbers must be finite.")


class _BaseSettingsForm(forms.Form):
    section = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the settings history with who and when (21 CFR 11.10(e))."),
    )


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _choice_key(value: object) -> str:
    """How a coded value travels in the form: text as itself, true/false and numbers as JSON."""
    return value if isinstance(value, str) else _shown(value)


def _field(section: SettingsSection, name: str, default: object) -> forms.Field:
    parts = [section.help.get(name, ""), str(_("Default: %(d)s.") % {"d": _shown(default)})]
    allowed = section.choices.get(name)
    limits = section.ranges.get(name)
    if limits is not None:
        parts.append(f"{limits.describe()[0].upper()}{limits.describe()[1:]}.")
    help_text = " ".join(p for p in parts if p)
    common = {"label": _label(name), "help_text": help_text}
    if allowed is not None:
        by_key = {_choice_key(v): v for v in allowed}
        return forms.TypedChoiceField(
            choices=[(key, key) for key in by_key], coerce=by_key.__getitem__, **common
        )
    if isinstance(default, bool):
        return forms.BooleanField(required=False, **common)
    if limits is not None:
        attrs = {"min": limits.minimum, "max": limits.maximum, "step": 1 if limits.whole else "any"}
        kind = forms.IntegerField if limits.whole else forms.FloatField
        return kind(widget=forms.NumberInput(attrs=attrs), **common)
    return forms.CharField(**common)


def section_form_class(section: SettingsSection) -> type[forms.Form]:
    """A form of every setting of a flat section: label, help naming the rule, the default."""
    assert section.defaults is not None
    fields = {name: _field(section, name, d) for name, d in section.defaults.items()}
    return type(f"{section.name.title()}SettingsForm", (_BaseSettingsForm,), fields)


def section_form(section: SettingsSection, study, data=None) -> forms.Form:
    form_class = section_form_class(section)
    if data is not None:
        return form_class(data, prefix=section.name)
    initial = {
        name: (_choice_key(value) if name in section.choices else value)
        for name, value in study.settings.get(section.name, {}).items()
    }
    initial.update(section=section.name, version=study.settings_version)
    return form_class(initial=initial, prefix=section.name)


def section_values(form: forms.Form) -> dict:
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if name not in ("section", "version", "reason")
    }


def _refuse_constant(text: str) -> float:
    raise ValueError(str(NOT_FINITE % {"value": text}))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(str(NOT_FINITE % {"value": text}))
    return value


class RawSettingsForm(_BaseSettingsForm):
    """The whole document as JSON (advanced); NaN, Infinity and 1e999 are refused here."""

    document = forms.CharField(
        label=_("Settings document (JSON)"), widget=forms.Textarea(attrs={"rows": 24})
    )
    field_order = ("document", "reason")

    def clean_document(self):
        try:
            return json.loads(
                self.cleaned_data["document"],
                parse_constant=_refuse_constant,
                parse_float=_finite_float,
            )
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise ValidationError(BAD_JSON, params={"error": exc}, code="invalid_json") from None


def raw_form(study, data=None) -> RawSettingsForm:
    if data is not None:
        return RawSettingsForm(data, prefix="raw")
    return RawSettingsForm(
        initial={
            "section": RAW,
            "document": json.dumps(study.settings, indent=2, ensure_ascii=False),
            "version": study.settings_version,
        },
        prefix="raw",
    )


def add_service_errors(form: forms.Form, exc: ValidationError, *, section: str | None) -> None:
    """Put the service's errors beside their fields: ``section.setting`` on that setting's field,
    ``reason`` on the reason; anything else on the document (raw view) or the whole form."""
    if not hasattr(exc, "error_dict"):
        stale = any(e.code == "stale_version" for e in exc.error_list)
        form.add_error(None if stale or "document" not in form.fields else "document", exc)
        return
    for key, errors in exc.error_dict.items():
        prefix, _dot, setting = key.partition(".")
        if key == "reason":
            form.add_error("reason", errors)
        elif section is not None and prefix == section and setting in form.fields:
            form.add_error(setting, errors)
        elif "document" in form.fields:
            form.add_error("document", [f"{key}: {m}" for e in errors for m in e.messages])
        else:
            form.add_error(None, [f"{key}: {m}" for e in errors for m in e.messages])
