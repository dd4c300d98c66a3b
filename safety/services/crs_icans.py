"""Daily CRS and ICANS assessments, the episodes they roll up into, and the episodes' AEs.

``save_crs_assessment`` / ``save_icans_assessment`` follow the CRF service shape
(docs/architecture.md §10). In one transaction, under the subject lock, they grade the day with
the rules (``safety.services.crs_grading``, the same functions the live-grade endpoint calls),
re-grade the later days whose grade depends on this one (a treated CRS no longer needs fever,
ASTCT 2019), rebuild the subject's episodes and keep each episode as an adverse event
(``save_derived_adverse_event``). A correction of any day therefore re-derives everything after
it, and the episode's AE is updated, never duplicated.

Episode rule (chosen; docs/rules/safety.md "Episodes"): consecutive *assessed* days graded
>= 1 form one episode; a day without an assessment does not end it; the first assessed day
graded 0 ends it and is its resolution day. A treated CRS stays grade 1 until the investigator
ticks "CRS resolved" (RULES.md §2.1), which makes that day's grade rest on fever again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from enrollment.models import Subject, Visit
from enrollment.services import mark_entered, require_data_entry
from safety import derived_ae, rules
from safety.models import AdverseEvent, AESource, CTCAETerm, DLTCategory
from safety.models.crs_icans import (
    CRSAssessment,
    CRSEpisode,
    EpisodeBase,
    ICANSAssessment,
    ICANSEpisode,
)
from safety.services import adverse_events as ae_services
from safety.services.adverse_events import save_derived_adverse_event
from safety.services.crs_grading import Grading, grade_crs_values, grade_icans_values
from trialsite.records import services as records
from trialsite.records.exceptions import field_error
from trialsite.records.models import RecordStatus
from trialsite.records.services import UNREAD

ONE_PER_DAY = _("A %(form)s is already recorded for %(date)s: open it to correct it.")
NO_DAY0 = _("Record the CAR-T infusion (Day 0) before the daily CRS and ICANS assessments.")
BEFORE_DAY0 = _("The assessment is before Day 0 (%(day0)s), the CAR-T infusion.")
RESOLVED_WITH_SIGNS = _(
    "This day still has signs of CRS (%(sentence)s): the CRS cannot be closed on it."
)
NOTHING_TO_UPDATE = _("There is no saved assessment to update: leave out the version to create it.")
WRONG_SUBJECT = _("This assessment belongs to another subject.")

CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"

#: The two terms with the ASTCT 2019 grade texts, created only when the shipped CTCAE list has
#: not been loaded yet (the term list ships the same names).
_TERMS = {
    CRS_TERM: {
        "soc": "Immune system disorders",
        "meddra_code": 10052015,
        "code_to_verify": True,
        "dlt_category": DLTCategory.CRS,
        "definition": "Graded by the ASTCT 2019 consensus (Lee et al., BBMT 2019;25:625).",
        "grade_1": "Fever >= 38.0 °C without hypotension or hypoxia",
        "grade_2": "Fever with hypotension not needing vasopressors and/or hypoxia needing "
        "low-flow nasal cannula or blow-by",
        "grade_3": "Fever with hypotension needing one vasopressor with or without vasopressin "
        "and/or hypoxia needing high-flow nasal cannula, face mask, non-rebreather or Venturi",
        "grade_4": "Fever with hypotension needing multiple vasopressors (excluding vasopressin) "
        "and/or hypoxia needing positive pressure (CPAP, BiPAP, intubation)",
        "grade_5": "Death from CRS",
    },
    ICANS_TERM: {
        "soc": "Nervous system disorders",
        "meddra_code": None,
        "dlt_category": DLTCategory.ICANS,
        "definition": "Graded by the ASTCT 2019 consensus for adults (Lee et al., BBMT 2019).",
        "grade_1": "ICE 7-9; awakens spontaneously",
        "grade_2": "ICE 3-6; awakens to voice",
        "grade_3": "ICE 0-2; awakens only to touch; any seizure resolving rapidly; focal oedema",
        "grade_4": "Unarousable or ICE 0 because unable; prolonged or repetitive seizures; deep "
        "focal motor weakness; diffuse cerebral oedema, posturing, CN VI palsy, papilloedema",
        "grade_5": "Death from ICANS",
    },
}


def ctcae_term(name: str) -> CTCAETerm:
    term, _created = CTCAETerm.objects.get_or_create(term=name, defaults=_TERMS[name])
    return term


@dataclass(frozen=True)
class Kind:
    """What differs between CRS and ICANS for the shared workflow."""

    model: type
    episode: type
    source: str
    key_prefix: str
    term: str


CRS = Kind(CRSAssessment, CRSEpisode, AESource.CRS_EPISODE, "crs", CRS_TERM)
ICANS = Kind(ICANSAssessment, ICANSEpisode, AESource.ICANS_EPISODE, "icans", ICANS_TERM)

_CRS_INPUT_FIELDS = [
    f.name
    for f in CRSAssessment._meta.concrete_fields
    if f.editable and f.name not in ("id", "study", "subject", "visit", "status", "version")
]
_ICANS_INPUT_FIELDS = [
    f.name
    for f in ICANSAssessment._meta.concrete_fields
    if f.editable and f.name not in ("id", "study", "subject", "visit", "status", "version")
]


def _settings(subject: Subject) -> dict:
    return subject.study.rule_settings("safety")


def _merged(model, existing, values: Mapping, names) -> dict:
    """The record's values after this save (a partial update keeps the other fields)."""
    base = {name: getattr(existing, name) for name in names} if existing is not None else {}
    defaults = {f.name: f.get_default() for f in model._meta.concrete_fields if f.name in names}
    return {**defaults, **base, **values}


def _crs_treated_today(values: Mapping) -> bool:
    return bool(
        values.get("tocilizumab_given")
        or values.get("corticosteroid_given")
        or values.get("antipyretic_given")
    )


@dataclass
class _CRSChain:
    """The state the next day's CRS grade depends on: an open episode and whether it was treated.

    ASTCT 2019: once CRS has been treated with antipyretics, tocilizumab or steroids, fever is no
    longer needed to grade the episode (RULES.md §2.1).
    """

    in_episode: bool = False
    treated: bool = False

    def fever_treated(self, values: Mapping) -> bool:
        if values.get("episode_resolved"):
            return False
        return self.in_episode and (self.treated or _crs_treated_today(values))

    def advance(self, grade: int | None, values: Mapping) -> None:
        if grade is None:
            return
        if grade >= 1:
            carried = self.treated if self.in_episode else False
            self.treated = carried or _crs_treated_today(values)
            self.in_episode = True
        else:
            self.in_episode = False
            self.treated = False


def _crs_chain_before(subject: Subject, day: dt.date, *, exclude_pk=None) -> _CRSChain:
    chain = _CRSChain()
    earlier = CRSAssessment.objects.filter(subject=subject, assessment_date__lt=day)
    if exclude_pk:
        earlier = earlier.exclude(pk=exclude_pk)
    for row in earlier.order_by("assessment_date"):
        chain.advance(row.grade, _row_values(row, _CRS_INPUT_FIELDS))
    return chain


def _row_values(row, names) -> dict:
    return {name: getattr(row, name) for name in names}


def _grade_crs_day(values: Mapping, chain: _CRSChain, settings: Mapping) -> Grading:
    grading = grade_crs_values(values, fever_treated=chain.fever_treated(values), settings=settings)
    if values.get("episode_resolved") and grading.grade:
        raise field_error(
            "episode_resolved",
            RESOLVED_WITH_SIGNS % {"sentence": grading.sentence},
            "inconsistent",
        )
    return grading


def grade_crs(subject: Subject, values: Mapping, *, record: CRSAssessment | None = None) -> Grading:
    """The CRS grade this day would get if saved now (the live-grade endpoint and the save).

    Field errors (``ValidationError``) for input the rules cannot grade.
    """
    values = _merged(CRSAssessment, record, values, _CRS_INPUT_FIELDS)
    day = values.get("assessment_date")
    chain = (
        _crs_chain_before(subject, day, exclude_pk=record.pk if record else None)
        if day
        else _CRSChain()
    )
    return _grade_crs_day(values, chain, _settings(subject))


def grade_icans(
    subject: Subject, values: Mapping, *, record: ICANSAssessment | None = None
) -> Grading:
    """The ICANS grade this day would get if saved now (same function for live grade and save)."""
    values = _merged(ICANSAssessment, record, values, _ICANS_INPUT_FIELDS)
    return grade_icans_values(values, settings=_settings(subject))


# --- Saving a day -----------------------------------------------------------------------------


def _check_day(subject: Subject, kind: Kind, values: Mapping, existing) -> None:
    day = values.get("assessment_date")
    if subject.day0 is None:
        raise field_error("assessment_date", NO_DAY0, "no_day0")
    if day is None:
        return  # full_clean names the missing date
    if day < subject.day0:
        raise field_error(
            "assessment_date", BEFORE_DAY0 % {"day0": subject.day0.isoformat()}, "before_day0"
        )
    clash = kind.model.objects.filter(subject=subject, assessment_date=day)
    if existing is not None:
        clash = clash.exclude(pk=existing.pk)
    if clash.exists():
        raise field_error(
            "assessment_date",
            ONE_PER_DAY % {"form": kind.model.crf_title, "date": day.isoformat()},
            "one_per_day",
        )


def _visit_on(subject: Subject, day: dt.date | None) -> Visit | None:
    """The Day-0-anchored visit whose target date is the assessment date (Days 0-14 daily)."""
    if day is None:
        return None
    return Visit.objects.filter(subject=subject, anchor="day0", target_date=day).first()


def _save_day(
    subject: Subject,
    kind: Kind,
    *,
    actor,
    values: Mapping,
    record,
    expected_version,
    reason: str,
    grade,
):
    """Lock, check, grade (``grade(subject, merged, existing)``), save, re-derive."""
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=subject.pk)  # one writer per subject
        existing = None
        if record is not None:
            existing = kind.model.objects.filter(pk=record.pk).first()
            if existing is None:
                raise field_error("version", NOTHING_TO_UPDATE, "no_record")
            if existing.subject_id != subject.pk:
                raise field_error("subject", WRONG_SUBJECT, "wrong_subject")
        else:
            require_data_entry(subject)
            if expected_version is not None:
                raise field_error("version", NOTHING_TO_UPDATE, "no_record")
        names = _CRS_INPUT_FIELDS if kind is CRS else _ICANS_INPUT_FIELDS
        merged = _merged(kind.model, existing, values, names)
        _check_day(subject, kind, merged, existing)
        grading = grade(subject, merged, existing)
        derived = {"grade": grading.grade, "deciding": grading.deciding}
        if kind is CRS:
            derived |= {"fever": bool(grading.fever), "needs_review": grading.needs_review}
        else:
            derived["ice_score"] = grading.ice_score
        if existing is None:
            visit = _visit_on(subject, merged.get("assessment_date"))
            saved = records.create_record(
                kind.model,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, **derived, "subject": subject, "visit": visit},
                reason=reason,
            )
            mark_entered(subject, visit, kind.model.crf_code)
        else:
            visit = _visit_on(subject, merged.get("assessment_date"))
            saved = records.update_record(
                existing,
                actor=actor,
                values={**values, **derived, "visit": visit},
                expected_version=expected_version,
                reason=reason,
            )
        if kind is CRS:
            _regrade_crs(subject, actor=actor, after=saved)
        rebuild_episodes(subject, kind, actor=actor)
    return saved


def _grade_crs_for_save(subject, merged, existing):
    return grade_crs(subject, merged, record=existing)


def _grade_icans_for_save(subject, merged, existing):
    return grade_icans(subject, merged, record=existing)


def save_crs_assessment(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: CRSAssessment | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> CRSAssessment:
    """Add (``record=None``) or correct one day's CRS assessment; grade, episodes and AE follow.

    Refused with field errors: a second assessment for the same day (``one_per_day``), a
    vasopressor without a dose (``dose_required``), a nasal cannula without its flow, a day
    before Day 0, and whatever the rules cannot grade. Nothing is saved then.
    """
    return _save_day(
        subject,
        CRS,
        actor=actor,
        values=values,
        record=record,
        expected_version=expected_version,
        reason=reason,
        grade=_grade_crs_for_save,
    )


def save_icans_assessment(
    subject: Subject,
    *,
    actor,
    values: Mapping,
    record: ICANSAssessment | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> ICANSAssessment:
    """Add or correct one day's ICANS assessment; ICE score, grade, episodes and AE follow.

    Refused with field errors: ICE items out of range (``out_of_range``) or missing, a second
    assessment for the same day (``one_per_day``), a day before Day 0.
    """
    return _save_day(
        subject,
        ICANS,
        actor=actor,
        values=values,
        record=record,
        expected_version=expected_version,
        reason=reason,
        grade=_grade_icans_for_save,
    )


def _regrade_crs(subject: Subject, *, actor, after: CRSAssessment) -> None:
    """Re-grade the days after ``after``: their grade depends on the episode before them."""
    chain = _crs_chain_before(subject, after.assessment_date)
    chain.advance(after.grade, _row_values(after, _CRS_INPUT_FIELDS))
    settings = _settings(subject)
    later = CRSAssessment.objects.filter(
        subject=subject, assessment_date__gt=after.assessment_date
    ).order_by("assessment_date")
    for row in later:
        values = _row_values(row, _CRS_INPUT_FIELDS)
        try:
            grading = _grade_crs_day(values, chain, settings)
        except ValidationError:
            # A later day's own values are unchanged and were graded when it was saved; a
            # refusal here could only repeat that day's own input problem, so it keeps its grade.
            chain.advance(row.grade, values)
            continue
        new = {
            "grade": grading.grade,
            "deciding": grading.deciding,
            "fever": bool(grading.fever),
            "needs_review": grading.needs_review,
        }
        if any(getattr(row, k) != v for k, v in new.items()):
            row = records.update_record(
                row,
                actor=actor,
                values=new,
                expected_version=UNREAD,  # derived fields, under the subject lock
                reason=f"Regraded after the CRS assessment of {after.assessment_date} changed",
                derived=True,
            )
        chain.advance(row.grade, values)


# --- Episodes ---------------------------------------------------------------------------------


@dataclass
class _Span:
    days: list[tuple[dt.date, int]] = field(default_factory=list)
    treatments: set[str] = field(default_factory=set)
    tocilizumab_doses: int = 0
    resolution_date: dt.date | None = None

    @property
    def onset(self) -> dt.date:
        return self.days[0][0]

    @property
    def last(self) -> dt.date:
        return self.days[-1][0]

    def history(self) -> list[tuple[int, dt.date]]:
        """The grade steps: a new step where the daily grade changes."""
        steps: list[tuple[int, dt.date]] = []
        for day, grade in self.days:
            if not steps or steps[-1][0] != grade:
                steps.append((grade, day))
        return steps


def episode_spans(rows) -> list[_Span]:
    """Group daily assessments (ordered by date) into episodes (see the module docstring)."""
    spans: list[_Span] = []
    current: _Span | None = None
    for row in rows:
        if row.grade is None:
            continue
        if row.grade >= 1:
            if current is None:
                current = _Span()
                spans.append(current)
            current.days.append((row.assessment_date, row.grade))
            current.treatments.update(row.treatments)
            if getattr(row, "tocilizumab_given", False):
                current.tocilizumab_doses += 1
        elif current is not None:
            current.resolution_date = row.assessment_date
            current = None
    return spans


def _episode_values(span: _Span) -> dict:
    daily = [g for _d, g in span.days]
    worst = rules.crs_episode_grade(daily)
    worst_date = next(d for d, g in span.days if g == worst)
    end = span.resolution_date or span.last
    duration = (end - span.onset).days + (0 if span.resolution_date else 1)
    return {
        "onset_date": span.onset,
        "last_day": span.last,
        "resolution_date": span.resolution_date,
        "max_grade": worst,
        "max_grade_date": worst_date,
        "current_grade": daily[-1],
        "duration_days": duration,
        "treatments": sorted(span.treatments),
        "daily_grades": [[d.isoformat(), g] for d, g in span.days],
    }


def _overlaps(episode: EpisodeBase, span: _Span) -> bool:
    return episode.onset_date <= span.last and span.onset <= episode.last_day


def rebuild_episodes(subject: Subject, kind: Kind, *, actor) -> list[EpisodeBase]:
    """Bring the subject's episodes and their AEs in line with the daily grades.

    A span keeps the episode it overlaps (so its AE keeps its key and investigator fields); a
    new span creates one; an episode no day supports any more is deleted with its AE (audited,
    with the reason).
    """
    rows = list(kind.model.objects.filter(subject=subject).order_by("assessment_date"))
    spans = episode_spans(rows)
    existing = list(kind.episode.objects.filter(subject=subject).order_by("onset_date", "pk"))
    unmatched = list(existing)
    kept = []
    for span in spans:
        match = next((e for e in unmatched if _overlaps(e, span)), None)
        values = _episode_values(span)
        if kind is CRS:
            values["tocilizumab_doses"] = span.tocilizumab_doses
        if match is None:
            episode = records.create_record(
                kind.episode,
                actor=actor,
                study=subject.study,
                status=RecordStatus.SUBMITTED,
                values={**values, "subject": subject},
                reason="Derived from the daily assessments",
                derived=True,
            )
        else:
            unmatched.remove(match)
            episode = records.update_record(
                match,
                actor=actor,
                values=values,
                expected_version=UNREAD,  # derived record, under the subject lock
                reason="Re-derived from the daily assessments",
                derived=True,
            )
        _keep_ae(subject, kind, episode, span, actor=actor)
        kept.append(episode)
    for episode in unmatched:
        reason = "No daily assessment supports this episode any more"
        event = AdverseEvent.objects.filter(
            subject=subject, source_key=f"{kind.key_prefix}-{episode.pk}"
        ).first()
        if event is not None:
            records.delete_record(event, actor=actor, expected_version=UNREAD, reason=reason)
        records.delete_record(episode, actor=actor, expected_version=UNREAD, reason=reason)
    return kept


def _keep_ae(subject: Subject, kind: Kind, episode: EpisodeBase, span: _Span, *, actor):
    """The episode's AE: onset, current grade with its steps, treatments and resolution."""
    key = f"{kind.key_prefix}-{episode.pk}"
    history = span.history()
    resolved = episode.resolution_date is not None
    base = {
        "term": ctcae_term(kind.term),
        "onset_date": episode.onset_date,
        "ongoing": not resolved,
        "resolution_date": episode.resolution_date,
    }
    reason = f"Kept in step with {episode.crf_title} from {episode.onset_date}"
    event = AdverseEvent.objects.filter(subject=subject, source_key=key).first()
    # The investigator's outcome and added treatments stay (safety.derived_ae).
    base["outcome"] = derived_ae.kept_outcome(event, resolved=resolved)
    base["treatments"] = derived_ae.kept_treatments(event, episode.treatments, kind.source)
    steps = [] if event is None else list(event.grade_steps.values_list("grade", "from_date"))
    if steps == history[: len(steps)]:
        for grade, since in history[len(steps) :] or history[-1:]:
            event = save_derived_adverse_event(
                subject,
                actor=actor,
                source=kind.source,
                source_key=key,
                values={**base, "grade": grade, "grade_date": since},
                reason=reason,
            )
        return event
    return _rewrite_ae_history(event, base, history, actor=actor, reason=reason)


def _rewrite_ae_history(event: AdverseEvent, base: Mapping, history, *, actor, reason: str):
    """A correction changed an earlier day: the AE's grade history is rebuilt from the days.

    The AE service only appends steps (a person correcting an AE changes the grade back
    first); a derived AE follows its days, so its steps are replaced (the AE's audit trail
    keeps every earlier value).
    """
    grade, since = history[-1]
    worst, worst_date = ae_services._worst(history)
    event = records.update_record(
        event,
        actor=actor,
        values={
            **base,
            "grade": grade,
            "grade_date": since,
            "worst_grade": worst,
            "worst_grade_date": worst_date,
        },
        expected_version=UNREAD,  # system write under the subject lock
        reason=reason,
    )
    ae_services._write_steps(event, history, actor=actor)
    return event
