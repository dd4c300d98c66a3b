"""The adverse-event form: a CTCAE term picker, the term's grade texts beside the grade, and
every field of ``AdverseEvent`` with its clinical label (issue #11, "What a user does").

The term is a plain ``<select>`` grouped by system organ class, so the form works without
JavaScript; ``static/js/ae_form.js`` adds the search box (server-side search at
``/safety/ctcae-terms/?q=``) and refreshes the grade texts when the term changes. The grade
texts shown on a page load are rendered here by the server for the chosen term.
"""

from __future__ import annotations

from itertools import groupby

from crispy_forms.layout import HTML
from django import forms
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from safety import derived_ae
from safety.models import AdverseEvent, CTCAETerm, SeriousnessCriterion, Treatment
from trialsite.records.forms import CRFForm

GRADE_CHOICES = [("", "—"), *[(g, str(g)) for g in range(1, 6)]]


class TermChoiceField(forms.ModelChoiceField):
    """The CTCAE terms grouped by SOC (``<optgroup>``), each labelled with its term."""

    def __init__(self, **kwargs):
        super().__init__(queryset=CTCAETerm.objects.order_by("soc", "term"), **kwargs)

    @property
    def choices(self):
        terms = list(self.queryset)
        grouped = [
            (soc, [(t.pk, t.term) for t in group])
            for soc, group in groupby(terms, key=lambda t: t.soc)
        ]
        return [("", _("Choose a CTCAE term")), *grouped]

    @choices.setter
    def choices(self, value):  # ModelChoiceField sets it; the property recomputes it
        pass


class TreatmentCheckboxes(forms.CheckboxSelectMultiple):
    """Treatment ticks; those a derived AE takes from its daily assessments are disabled."""

    def __init__(self, *args, locked=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = frozenset(locked)

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.locked:
            option["attrs"]["disabled"] = True
        return option


class AdverseEventForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = AdverseEvent
        fields = [
            "term",
            "verbatim_term",
            "onset_date",
            "ongoing",
            "resolution_date",
            "grade",
            "grade_date",
            "serious",
            "seriousness_criteria",
            "relationship_car_t",
            "relationship_lymphodepletion",
            "expectedness",
            "action_taken",
            "treatments",
            "treatment_other",
            "outcome",
            "death_date",
        ]

    submit_label = _("Save adverse event")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"] = TermChoiceField(
            label=_("CTCAE v5.0 term"),
            help_text=_(
                "Type in the search box to narrow the list. CRS and ICANS are graded by ASTCT "
                "2019 in this study."
            ),
            widget=forms.Select(attrs={"data-term-select": ""}),
        )
        self.fields["grade"] = forms.TypedChoiceField(
            label=_("Grade (current)"),
            choices=GRADE_CHOICES,
            coerce=int,
            help_text=self.fields["grade"].help_text,
        )
        self.fields["seriousness_criteria"] = forms.MultipleChoiceField(
            label=_("Seriousness criteria"),
            choices=SeriousnessCriterion.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.day_owned_treatments = derived_ae.day_owned_treatments(self.instance)
        self.fields["treatments"] = forms.MultipleChoiceField(
            label=_("Treatment given for the event"),
            choices=Treatment.choices,
            required=False,
            widget=TreatmentCheckboxes(locked=self.day_owned_treatments),
        )
        self.fields["ongoing"].label = _("Ongoing (not resolved)")
        self.fields["serious"].label = _("Serious adverse event")
        self.fields["death_date"].help_text = _("Only for a grade 5 (fatal) event.")
        self.fields["grade_date"].help_text = _(
            "When the grade changes, the date the event reached the new grade (a new step of "
            "the grade history); the onset date when left empty on a new event."
        )
        self._lock_derived_fields()

    def _lock_derived_fields(self) -> None:
        """A derived AE's source fields are shown read-only (the service refuses them too)."""
        for name in derived_ae.derived_fields(self.instance):
            if name in self.fields:
                self.fields[name].disabled = True
        if self.day_owned_treatments:
            self.fields["treatments"].help_text = _(
                "Tocilizumab and corticosteroids follow the daily assessments; add any other "
                "treatment here."
            )

    def clean_treatments(self):
        """The ticks the daily assessments own are disabled (not posted): keep the record's."""
        given = list(self.cleaned_data.get("treatments") or [])
        if not self.day_owned_treatments:
            return given
        kept = set(self.instance.treatments or []) & self.day_owned_treatments
        return sorted((set(given) - self.day_owned_treatments) | kept)

    def chosen_term(self) -> CTCAETerm | None:
        """The term whose grade texts the page shows: the one posted, else the record's."""
        raw = self.data.get("term") if self.is_bound else None
        if raw:
            try:
                return CTCAETerm.objects.filter(pk=int(raw)).first()
            except (TypeError, ValueError):
                return None
        if self.instance.pk and self.instance.term_id:
            return self.instance.term
        return None

    def _field_layout(self, name: str) -> list:
        items = super()._field_layout(name)
        if name == "term" and not self.fields["term"].disabled:
            search = render_to_string("safety/ae/_term_search.html", {})
            items.insert(0, HTML(search))
        if name == "grade":
            html = render_to_string(
                "safety/ae/_grade_definitions.html", {"term": self.chosen_term()}
            )
            # crispy renders HTML() text as a template: term texts must never be template code.
            items.append(HTML(html.replace("{", "&#123;").replace("}", "&#125;")))
        return items
