"""Forms of the structured settings sections: a table of rows, or labelled fields in groups.

The dose levels, the visit schedule and the approved ICF versions are lists: each is edited as
a table (a Django formset: one row per item, a blank row to add one, a *Remove* box per row).
The DLT criteria are an object: each key is a labelled field, in the groups its app declares.
The columns and fields are declared by the app that owns the section (``SettingField`` in its
``register_section`` call, issue 10); nothing here knows a clinical rule.

The forms only parse. The values go to ``services.update_study_settings``, which checks the
section with the section's own ``validate`` function — the one the rules use — and each message
is put back where it belongs: on the field it names, in the row it is about. A validator walks
its list in order and stops at the first problem, so the row is the first prefix of the list the
validator refuses (:func:`failing_row`); the field is the declared name the message mentions.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trialsite.studies.settings_forms import _BaseSettingsForm, _shown
from trialsite.studies.study_settings import SettingField, SettingsSection

PAIR_LINE = _("Write one “term: grade” per line; “%(line)s” is not one.")
REMOVE = _("Remove")


def _help(field: SettingField, default: object = None, *, show_default: bool) -> str:
    parts = [str(field.help)]
    if show_default:
        parts.append(str(_("Default: %(d)s.") % {"d": _default_text(field, default)}))
    return " ".join(p for p in parts if p)


def _default_text(field: SettingField, value: object) -> str:
    if value is None:
        return str(_("none"))
    if field.kind == "pairs" and isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if field.kind in ("lines", "choices") and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or str(_("none"))
    return _shown(value)


class PairsField(forms.CharField):
    """``{term: whole number}`` typed as one ``term: number`` per line (CTCAE term → grade)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k}: {v}" for k, v in value.items())
        return value

    def to_python(self, value):
        text = super().to_python(value)
        pairs = {}
        for line in (line.strip() for line in text.splitlines()):
            if not line:
                continue
            term, sep, number = line.rpartition(":")
            if not sep or not term.strip() or not re.fullmatch(r"\s*-?\d+\s*", number):
                raise ValidationError(PAIR_LINE, params={"line": line}, code="bad_pair")
            pairs[term.strip()] = int(number)
        return pairs


class LinesField(forms.CharField):
    """A list of texts typed one per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return [line.strip() for line in super().to_python(value).splitlines() if line.strip()]


def form_field(field: SettingField, *, help_text: str) -> forms.Field:
    """The input of one declared setting, styled for a table cell or a form row."""
    made = _form_field(field, help_text=help_text)
    widget = made.widget
    if isinstance(widget, forms.CheckboxInput):
        widget.attrs.setdefault("class", "form-check-input")
    elif isinstance(widget, forms.Select) and not isinstance(widget, forms.CheckboxSelectMultiple):
        widget.attrs.setdefault("class", "form-select form-select-sm")
    elif not isinstance(widget, forms.CheckboxSelectMultiple):
        widget.attrs.setdefault("class", "form-control form-control-sm")
    return made


def _form_field(field: SettingField, *, help_text: str) -> forms.Field:
    """The input of one declared setting; ``optional`` fields leave empty for "none"."""
    common = {"label": field.label, "help_text": help_text, "required": not field.optional}
    if field.kind == "integer":
        return forms.IntegerField(**common)
    if field.kind == "number":
        return forms.FloatField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if field.kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.kind == "choice":
        # A blank first choice: the empty row to add one must post nothing to stay empty.
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in field.choices]], **common)
    if field.kind == "choices":
        common["required"] = False
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in field.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    if field.kind == "bool":
        common["required"] = False
        return forms.BooleanField(**common)
    if field.kind == "lines":
        return LinesField(**common)
    if field.kind == "pairs":
        common["required"] = False
        return PairsField(**common)
    return forms.CharField(max_length=field.max_length, **common)


def _jsonable(field: SettingField, value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if field.kind == "integer" and value is None and field.optional:
        return None
    return value


def _name_in(message: str, names) -> str | None:
    """The declared name the message mentions first (longest first at one place)."""
    found = []
    for name in names:
        match = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message)
        if match:
            found.append((match.start(), -len(name), name))
    return min(found)[2] if found else None


# --- Lists: a table of rows ------------------------------------------------------------------


def failing_row(section: SettingsSection, rows: list) -> int | None:
    """The index of the row the section's validator refuses first (None: no single row).

    Validators check each row against the rows before it (numbering, increasing days, unique
    codes) and stop at the first problem, so the first refused prefix ends at that row.
    """
    for end in range(1, len(rows) + 1):
        try:
            section.validate(rows[:end])
        except ValueError:
            return end - 1
    return None


class ListSectionForm:
    """One list section: the reason and version (``form``) and a formset of its rows."""

    def __init__(self, section: SettingsSection, study, data=None):
        self.section = section
        self.columns = [c for c in section.fields if c.kind != "position"]
        self.form = _BaseSettingsForm(
            data,
            prefix=section.name,
            initial={"section": section.name, "version": study.settings_version},
        )
        row_fields = {
            c.name: form_field(c, help_text=_help(c, show_default=False)) for c in self.columns
        }
        row_form = type(f"{section.name.title()}RowForm", (forms.Form,), row_fields)
        formset_class = forms.formset_factory(row_form, extra=1, can_delete=True)
        formset_class.deletion_widget = forms.CheckboxInput
        rows = self.stored = study.settings.get(section.name) or []
        initial = [
            {c.name: self._initial(c, row.get(c.name)) for c in self.columns} for row in rows
        ]
        self.rows = formset_class(data, initial=initial, prefix=f"{section.name}-rows")
        self._ordered: list[forms.Form] = []
        self._table_errors: list[str] = []  # the section's messages about no single row
        for row in self.rows.forms:
            if "DELETE" in row.fields:
                row.fields["DELETE"].label = REMOVE

    def _cells(self, items) -> list[list[str]]:
        return [
            [
                item.get(c.name) if isinstance(item.get(c.name), str)
                else _default_text(c, item.get(c.name))
                for c in self.section.fields
            ]
            for item in items or []
        ]  # fmt: skip

    @property
    def value_table(self) -> list[list[str]]:
        """The study's rows as text cells (the read-only view)."""
        return self._cells(self.stored)

    @property
    def default_table(self) -> list[list[str]]:
        """The section's default rows as text cells (shown under the table)."""
        return self._cells(self.section.default)

    @property
    def position(self) -> SettingField | None:
        return next((c for c in self.section.fields if c.kind == "position"), None)

    @staticmethod
    def _initial(column: SettingField, value):
        if column.kind == "date" and isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return value
        return value

    @property
    def errors(self):
        return self.form.errors

    def non_field_errors(self):
        return [
            *self.form.non_field_errors(),
            *self.rows.non_form_errors(),
            *self._table_errors,
        ]

    def is_valid(self) -> bool:
        form_ok = self.form.is_valid()
        return self.rows.is_valid() and form_ok

    @property
    def cleaned_data(self):
        return self.form.cleaned_data

    def kept_rows(self) -> list[forms.Form]:
        """The filled rows not marked for removal, in the order the section keeps them."""
        kept = [
            row
            for row in self.rows.forms
            if row.cleaned_data and not row.cleaned_data.get("DELETE")
        ]
        if self.section.sort_key is not None:
            kept.sort(key=lambda row: self.section.sort_key(self._item(row, 0)))
        return kept

    def _item(self, row: forms.Form, index: int) -> dict:
        item = {}
        for column in self.section.fields:
            if column.kind == "position":
                item[column.name] = index + 1
            else:
                item[column.name] = _jsonable(column, row.cleaned_data.get(column.name))
        return item

    def parse(self) -> list[dict]:
        """The section's new list from the valid rows (remembered to place the errors)."""
        self._ordered = self.kept_rows()
        return [self._item(row, i) for i, row in enumerate(self._ordered)]

    def add_service_errors(self, exc: ValidationError, values: list[dict]) -> None:
        """The section's message on the row and column it is about; others on the table."""
        if not hasattr(exc, "error_dict"):
            self.form.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            messages = [m for e in errors for m in e.messages]
            if key == "reason":
                self.form.add_error("reason", errors)
            elif key == self.section.name:
                index = failing_row(self.section, values)
                if index is None:
                    self._table_errors += messages
                    continue
                column = _name_in(" ".join(messages), [c.name for c in self.columns])
                self._ordered[index].add_error(column, messages)
            else:
                self._table_errors += [f"{key}: {m}" for m in messages]


# --- Objects: labelled fields in groups ------------------------------------------------------


def object_form(section: SettingsSection, study, data=None) -> forms.Form:
    """One field per key of an object section, grouped as the app declares (``groups``)."""
    defaults = section.default or {}
    fields = {
        f.name: form_field(f, help_text=_help(f, defaults.get(f.name), show_default=True))
        for f in section.fields
    }
    form_class = type(f"{section.name.title()}SettingsForm", (_BaseSettingsForm,), fields)
    if data is not None:
        form = form_class(data, prefix=section.name)
    else:
        initial = dict(study.settings.get(section.name) or {})
        initial.update(section=section.name, version=study.settings_version)
        form = form_class(initial=initial, prefix=section.name)
    form.groups = [
        (label, [form[name] for name in names if name in form.fields])
        for label, names in section.groups
    ]
    return form


def object_values(section: SettingsSection, form: forms.Form) -> dict:
    return {f.name: _jsonable(f, form.cleaned_data.get(f.name)) for f in section.fields}


def add_object_errors(section: SettingsSection, form: forms.Form, exc: ValidationError) -> None:
    """The section's message on the field it names (else on the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        messages = [m for e in errors for m in e.messages]
        if key == "reason":
            form.add_error("reason", errors)
        elif key == section.name:
            form.add_error(_name_in(" ".join(messages), [f.name for f in section.fields]), messages)
        else:
            form.add_error(None, [f"{key}: {m}" for m in messages])
