"""What a derived adverse event takes from its source, and what stays the investigator's.

The system keeps some AEs itself (``safety.services.adverse_events.save_derived_adverse_event``):
a CRS or ICANS episode rolled up from the daily assessments, and a lab abnormality the
coordinator confirmed. Whatever the source record determines is **derived** and may only change
by correcting the source (a daily assessment, a lab result); a hand edit would be overwritten at
the next re-derivation, or worse, leave the AE and the episode the DLT evaluation reads
disagreeing. So the AE form shows those fields read-only and the AE service refuses them
(``AE-DERIVED-FIELD``), in the form and the API alike.

Derived, per source (what the derivation writes, ``safety.services.crs_icans._keep_ae`` and
``safety.services.labs.confirm_lab_proposal``):

- CRS / ICANS episode: the CTCAE term, verbatim term, onset, ongoing and resolution date (the
  episode ends on the first day without CRS/ICANS), the current grade and the date it was
  reached (the grade history and worst grade follow, ASTCT 2019 daily grades), and the
  treatments the daily forms record (tocilizumab and corticosteroids for CRS; corticosteroids
  for ICANS).
- Lab: the CTCAE term, verbatim term (the test and value), onset (the collection date), the
  current grade and its date (CTCAE v5.0 lab grade). A lab value does not say when the event
  ended, so ongoing / resolution stay open.

The investigator's judgement, open on every AE (CTCAE v5.0 and ICH E2A leave these to the
investigator, never to a rule): relationship to the CAR-T product and to lymphodepletion,
expectedness, serious and the seriousness criteria, action taken, any other treatment (anakinra,
"other" and its name), the outcome (the derivation only moves an outcome that contradicts the
resolution, e.g. "not recovered" on a resolved episode; "with sequelae" stays), the date of
death.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from safety.models import AdverseEvent, AEOutcome, AESource, Treatment

EPISODE_FIELDS = (
    "term",
    "verbatim_term",
    "onset_date",
    "ongoing",
    "resolution_date",
    "grade",
    "grade_date",
)
LAB_FIELDS = ("term", "verbatim_term", "onset_date", "grade", "grade_date")

DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
    AESource.CRS_EPISODE: EPISODE_FIELDS,
    AESource.ICANS_EPISODE: EPISODE_FIELDS,
    AESource.LAB: LAB_FIELDS,
}

# The treatments a daily form records for the episode (``CRSAssessment.treatments``,
# ``ICANSAssessment.treatments``): the episode owns them; the others are the investigator's.
DAY_OWNED_TREATMENTS: dict[str, frozenset[str]] = {
    AESource.CRS_EPISODE: frozenset({Treatment.TOCILIZUMAB, Treatment.CORTICOSTEROIDS}),
    AESource.ICANS_EPISODE: frozenset({Treatment.CORTICOSTEROIDS}),
}

RESOLVED_OUTCOMES = frozenset({AEOutcome.RECOVERED, AEOutcome.SEQUELAE})
ONGOING_OUTCOMES = frozenset({AEOutcome.NOT_RECOVERED, AEOutcome.RECOVERING, AEOutcome.UNKNOWN})

DERIVED_FIELD = _("This adverse event is derived from %(source)s: %(field)s follows it. %(fix)s")
DERIVED_TREATMENT = _(
    "This adverse event is derived from %(source)s: %(treatments)s follow the daily "
    "assessments. %(fix)s"
)


def is_derived(event: AdverseEvent | None) -> bool:
    return event is not None and event.pk is not None and event.source in DERIVED_FIELDS


def derived_fields(event: AdverseEvent | None) -> tuple[str, ...]:
    """The fields of ``event`` its source determines (none for an entered AE)."""
    if not is_derived(event):
        return ()
    return DERIVED_FIELDS[event.source]


def day_owned_treatments(event: AdverseEvent | None) -> frozenset[str]:
    if not is_derived(event):
        return frozenset()
    return DAY_OWNED_TREATMENTS.get(event.source, frozenset())


def _same(field: str, current, given) -> bool:
    if field == "term":
        return getattr(given, "pk", given) == current.term_id
    value = getattr(current, field)
    if field == "verbatim_term":
        return (given or "") == (value or "")
    return given == value


def changed_derived_fields(event: AdverseEvent, values: Mapping) -> list[str]:
    """The derived fields ``values`` would change on ``event`` (a field left out is unchanged)."""
    changed = [
        name
        for name in derived_fields(event)
        if name in values and not _same(name, event, values[name])
    ]
    owned = day_owned_treatments(event)
    if owned and "treatments" in values:
        given = set(values["treatments"] or []) & owned
        if given != set(event.treatments or []) & owned:
            changed.append("treatments")
    return changed


def kept_treatments(event: AdverseEvent | None, episode_treatments, source: str) -> list[str]:
    """An episode AE's treatments: the episode's own, plus what the investigator added."""
    owned = DAY_OWNED_TREATMENTS.get(source, frozenset())
    added = set() if event is None else set(event.treatments or []) - owned
    return sorted(set(episode_treatments) | added)


def kept_outcome(event: AdverseEvent | None, *, resolved: bool) -> str:
    """The investigator's outcome, unless it contradicts the episode's resolution."""
    current = None if event is None else event.outcome
    if resolved:
        return current if current in RESOLVED_OUTCOMES else AEOutcome.RECOVERED
    return current if current in ONGOING_OUTCOMES else AEOutcome.NOT_RECOVERED


@dataclass(frozen=True)
class DerivedSource:
    """Where a derived AE comes from, as the AE form names and links it."""

    label: str
    date: object
    url: str
    fix: str


def _episode_source(event: AdverseEvent) -> DerivedSource | None:
    from safety.models import CRSEpisode, ICANSEpisode

    crs = event.source == AESource.CRS_EPISODE
    model = CRSEpisode if crs else ICANSEpisode
    pk = event.source_key.rpartition("-")[2]
    episode = model.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    return DerivedSource(
        label=str(_("the CRS episode") if crs else _("the ICANS episode")),
        date=episode.onset_date if episode else event.onset_date,
        url=reverse("safety:crs-list" if crs else "safety:icans-list", args=[event.subject_id]),
        fix=str(_("Correct the daily assessments to change this.")),
    )


def _lab_source(event: AdverseEvent) -> DerivedSource | None:
    from safety.models import LabAEProposal

    proposal = (
        LabAEProposal.objects.select_related("result__panel")
        .filter(adverse_event=event)
        .order_by("pk")
        .first()
    )
    if proposal is None:
        url = reverse("safety:lab-panels", args=[event.subject_id])
        return DerivedSource(
            str(_("a lab result")), event.onset_date, url, str(_("Correct the lab result."))
        )
    panel = proposal.result.panel
    return DerivedSource(
        label=str(_("the lab result")),
        date=event.onset_date,
        url=reverse("safety:lab-panel-edit", args=[event.subject_id, panel.pk]),
        fix=str(_("Correct the lab result to change this.")),
    )


def derived_source(event: AdverseEvent | None) -> DerivedSource | None:
    """The source record of a derived AE (None for an entered one); at most one query."""
    if not is_derived(event):
        return None
    if event.source == AESource.LAB:
        return _lab_source(event)
    return _episode_source(event)


def source_phrase(source: DerivedSource) -> str:
    """'the CRS episode of 03-Mar-2026' (the dates as the CRF pages print them)."""
    return str(_("%(label)s of %(date)s")) % {
        "label": source.label,
        "date": source.date.strftime("%d-%b-%Y") if source.date else "?",
    }


def derived_field_errors(event: AdverseEvent, values: Mapping):
    """A ValidationError naming each derived field ``values`` would change, or None."""
    from django.core.exceptions import ValidationError

    changed = changed_derived_fields(event, values)
    if not changed:
        return None
    source = derived_source(event)
    phrase = source_phrase(source)
    errors = {}
    for name in changed:
        if name == "treatments":
            owned = ", ".join(
                str(Treatment(t).label).lower() for t in sorted(day_owned_treatments(event))
            )
            message = DERIVED_TREATMENT % {"source": phrase, "treatments": owned, "fix": source.fix}
        else:
            label = AdverseEvent._meta.get_field(name).verbose_name
            message = DERIVED_FIELD % {"source": phrase, "field": label, "fix": source.fix}
        errors[name] = ValidationError(message, code="AE-DERIVED-FIELD")
    return ValidationError(errors)
