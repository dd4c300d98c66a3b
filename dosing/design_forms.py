"""The design page's form: the true DLT probability per dose level and the method.

Only parsing (DESIGN.md §3): probabilities are numbers from 0 to 1 typed as text (so a letter
typed by mistake is shown back beside its error, architecture.md §11); the engine
(``dosing.rules.operating_characteristics``) checks them again. The grade-2 probabilities are
asked only when the design has ATD levels, the only place they matter (RULES.md §4.2).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from dosing import design

PROBABILITY_HELP = _("A number from 0 to 1, e.g. 0.25.")
TRIALS_REQUIRED = _("Give the number of simulated trials.")
SEED_REQUIRED = _("Give the seed of the simulation.")

METHOD_CHOICES = [
    ("exact", _("Exact: every trial path (Storer 1989)")),
    ("simulation", _("Simulation: seeded random trials, with Monte-Carlo standard errors")),
]


def _text_input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


def probability_field(label: str, *, required: bool) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_value=Decimal(1),
        help_text=PROBABILITY_HELP,
        widget=_text_input(size="6"),
    )


class OperatingCharacteristicsForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Method"), choices=METHOD_CHOICES, initial="exact", widget=forms.RadioSelect
    )
    n_trials = forms.IntegerField(
        label=_("Simulated trials"),
        required=False,
        initial=design.DEFAULT_TRIALS,
        min_value=design.MIN_TRIALS,
        max_value=design.MAX_TRIALS,
        widget=_text_input(inputmode="numeric", size="8"),
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        initial=design.DEFAULT_SEED,
        min_value=0,
        max_value=design.MAX_SEED,
        help_text=_("The same seed gives the same simulated trials."),
        widget=_text_input(inputmode="numeric", size="10"),
    )

    def __init__(self, study_design: design.StudyDesign, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.study_design = study_design
        self.level_rows = []
        for level in study_design.levels:
            dlt = f"p_dlt_{level.level}"
            self.fields[dlt] = probability_field(
                _("%(level)s: true probability of a DLT") % {"level": level.label}, required=True
            )
            grade2 = None
            if level.atd:
                grade2 = f"p_grade2_{level.level}"
                self.fields[grade2] = probability_field(
                    _("%(level)s: probability of a related grade 2 toxicity without DLT")
                    % {"level": level.label},
                    required=False,
                )
            self.level_rows.append((level, dlt, grade2))

    @property
    def bound_rows(self) -> list[tuple]:
        """(dose level, its DLT probability field, its grade-2 field or None) for the table."""
        return [
            (level, self[dlt], self[grade2] if grade2 else None)
            for level, dlt, grade2 in self.level_rows
        ]

    def clean(self):
        data = super().clean()
        if data.get("method") == "simulation":
            if data.get("n_trials") is None and "n_trials" not in self.errors:
                self.add_error("n_trials", forms.ValidationError(TRIALS_REQUIRED, code="required"))
            if data.get("seed") is None and "seed" not in self.errors:
                self.add_error("seed", forms.ValidationError(SEED_REQUIRED, code="required"))
        return data

    def inputs(self) -> design.Inputs:
        data = self.cleaned_data
        p_dlt, p_grade2 = [], []
        for _level, dlt, grade2 in self.level_rows:
            p_dlt.append(float(data[dlt]))
            value = data.get(grade2) if grade2 else None
            p_grade2.append(float(value) if value is not None else 0.0)
        simulation = data["method"] == "simulation"
        return design.Inputs(
            p_dlt=tuple(p_dlt),
            p_grade2=tuple(p_grade2),
            method=data["method"],
            n_trials=data["n_trials"] if simulation else design.DEFAULT_TRIALS,
            seed=data["seed"] if simulation else design.DEFAULT_SEED,
        )

    def query_values(self) -> dict[str, str]:
        """The cleaned inputs as the GET parameters of the CSV download of the same table."""
        values = {name: str(self.cleaned_data[name]) for name in self.fields}
        return {name: value for name, value in values.items() if value != "None"}

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, label, message) per error in field order, for records/_error_summary."""
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
