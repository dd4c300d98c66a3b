"""Time-to-event derivations per subject: OS, EFS, RFS and duration of response.

Source: Döhner 2022, Table 9 (outcome definitions), and the protocol's registry definitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from efficacy.rules._values import _choice, _count, _date
from efficacy.rules.response import CR_FAMILY, RESPONDER_CATEGORIES, _category

# ---------------------------------------------------------------------------------------------
# §1.6 Time-to-event derivations
# ---------------------------------------------------------------------------------------------

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class ResponseAssessment:
    """One dated ELN 2022 response assessment (category as from :func:`classify_response`).

    ``visit``: the schedule's visit code (e.g. "M3") when the assessment belongs to a scheduled
    visit; ``None`` for an unscheduled assessment.
    """

    date: date
    category: str
    visit: str | None = None

    def __post_init__(self) -> None:
        _date("date", self.date, optional=False)
        _category("category", self.category)
        if self.visit is not None and not isinstance(self.visit, str):
            raise ValueError(f"visit must be a visit code text or None; got {self.visit!r}")


@dataclass(frozen=True)
class SubjectCourse:
    """One subject's dated course after CAR-T infusion (Day 0), the input of the TTE endpoints.

    ``assessments`` may be given as ``ResponseAssessment`` or ``(date, category)`` pairs; they are
    stored sorted by date. ``relapse_date`` is the hematologic relapse, ``progression_date`` the
    PD/loss-of-response date, ``mrd_relapse_date`` a confirmed MRD relapse (used only when
    ``mrd_relapse_is_event``). ``last_assessment_date``: last disease assessment if it is not in
    ``assessments``. Dates before infusion, or after death, are impossible and raise ValueError.
    """

    infusion_date: date
    assessments: tuple[ResponseAssessment, ...] = ()
    relapse_date: date | None = None
    progression_date: date | None = None
    death_date: date | None = None
    last_known_alive_date: date | None = None
    last_assessment_date: date | None = None
    hsct_date: date | None = None
    new_therapy_date: date | None = None
    mrd_relapse_date: date | None = None

    _DATE_FIELDS = (
        "relapse_date",
        "progression_date",
        "death_date",
        "last_known_alive_date",
        "last_assessment_date",
        "hsct_date",
        "new_therapy_date",
        "mrd_relapse_date",
    )

    def __post_init__(self) -> None:
        _date("infusion_date", self.infusion_date, optional=False)
        items = []
        for i, a in enumerate(self.assessments):
            if isinstance(a, ResponseAssessment):
                items.append(a)
            elif isinstance(a, tuple | list) and len(a) == 2:
                items.append(
                    ResponseAssessment(_date(f"assessments[{i}]", a[0], optional=False), a[1])
                )
            else:
                raise ValueError(
                    f"assessments[{i}] must be a ResponseAssessment or (date, category); got {a!r}"
                )
        object.__setattr__(self, "assessments", tuple(sorted(items, key=lambda x: x.date)))
        for name in self._DATE_FIELDS:
            _date(name, getattr(self, name))
        dated = [(n, getattr(self, n)) for n in self._DATE_FIELDS if getattr(self, n)]
        dated += [(f"assessment on {a.date}", a.date) for a in self.assessments]
        for name, d in dated:
            if d < self.infusion_date:
                raise ValueError(f"{name} ({d}) is before infusion_date ({self.infusion_date})")
            if self.death_date is not None and d > self.death_date:
                raise ValueError(f"{name} ({d}) is after death_date ({self.death_date})")

    def last_alive(self) -> date:
        """Last date the subject is known alive: the latest dated fact of the course."""
        candidates = [self.infusion_date] + [a.date for a in self.assessments]
        candidates += [
            getattr(self, n) for n in self._DATE_FIELDS if n != "death_date" and getattr(self, n)
        ]
        return max(candidates)

    def last_disease_assessment(self) -> date | None:
        """Last adequate disease assessment (non-NE assessment or ``last_assessment_date``)."""
        candidates = [a.date for a in self.assessments if a.category != "NE"]
        if self.last_assessment_date is not None:
            candidates.append(self.last_assessment_date)
        return max(candidates) if candidates else None

    def considered_assessments(
        self, response_after_new_therapy: str = "ignore"
    ) -> tuple[ResponseAssessment, ...]:
        """Assessments used for best response: with "ignore", none after HSCT/new therapy."""
        _choice("response_after_new_therapy", response_after_new_therapy)
        if response_after_new_therapy == "include":
            return self.assessments
        cut = [d for d in (self.hsct_date, self.new_therapy_date) if d is not None]
        if not cut:
            return self.assessments
        cutoff = min(cut)
        return tuple(a for a in self.assessments if a.date <= cutoff)


@dataclass(frozen=True)
class TimeToEvent:
    """(duration, event) of one subject for one endpoint; ``duration_days`` includes the offset."""

    start: date
    end: date
    event: bool
    duration_days: int
    reason: str

    @property
    def months(self) -> float:
        """Duration in months (days / 30.4375, RULES.md conventions)."""
        return self.duration_days / DAYS_PER_MONTH


def _tte(start: date, end: date, event: bool, reason: str, offset: int) -> TimeToEvent:
    end = max(end, start)
    return TimeToEvent(start, end, event, (end - start).days + offset, reason)


def _resolve(
    start: date,
    events: Iterable[tuple[date | None, str]],
    censor: tuple[date, str],
    extra_censors: Iterable[tuple[date | None, str]],
    offset: int,
) -> TimeToEvent:
    """First event on/after start; censoring points (e.g. HSCT) win only strictly before it."""
    evs = [(d, r) for d, r in events if d is not None]
    ev = min(evs, key=lambda x: x[0]) if evs else None  # stable: earlier-listed reason on ties
    # A censoring point before the start (e.g. HSCT before a response counted with
    # response_after_new_therapy="include") does not apply to this endpoint.
    cens = [censor] + [(d, r) for d, r in extra_censors if d is not None and d >= start]
    if ev is not None:
        early = [(d, r) for d, r in cens[1:] if d < ev[0]]
        if not early:
            return _tte(start, ev[0], True, ev[1], offset)
        d, r = min(early, key=lambda x: x[0])
        return _tte(start, d, False, r, offset)
    d, r = min(cens, key=lambda x: x[0])
    return _tte(start, d, False, r, offset)


def _check_not_before(name: str, d: date | None, start: date) -> None:
    if d is not None and d < start:
        raise ValueError(f"{name} ({d}) is before the endpoint start ({start})")


def overall_survival(course: SubjectCourse, *, tte_day_offset: int = 0) -> TimeToEvent:
    """OS: infusion to death from any cause; censored at last known alive.

    ELN 2022 Table 9 (OS) with the protocol's start at cell infusion (RULES.md §1.6). Last known
    alive is the latest dated fact of the course when ``last_known_alive_date`` is older.
    """
    _choice("tte_day_offset", tte_day_offset)
    if course.death_date is not None:
        return _tte(course.infusion_date, course.death_date, True, "death", tte_day_offset)
    return _tte(
        course.infusion_date,
        course.last_alive(),
        False,
        "censored_last_known_alive",
        tte_day_offset,
    )


def event_free_survival(
    course: SubjectCourse,
    *,
    efs_definition: str = "protocol",
    response_landmark_days: int = 90,
    response_landmark_visit: str = "M3",
    response_landmark_visit_last_day: int = 98,
    censor_at_hsct: bool = False,
    new_therapy_efs: str = "ignore",
    response_after_new_therapy: str = "ignore",
    mrd_relapse_is_event: bool = False,
    tte_day_offset: int = 0,
) -> TimeToEvent:
    """EFS from infusion (RULES.md §1.6; protocol registry text vs ELN 2022 Table 9).

    "protocol": event = relapse, progression or death, whichever first (for subjects who never
    reach CR/CRh/CRi this is PD or death); no event ⇒ censored at the last disease assessment,
    or at the last contact date (``SubjectCourse.last_alive``) when never assessed.
    Response landmark: a CR/CRh/CRi on or before Day ``response_landmark_days`` (90, inclusive)
    counts; so does one at the ``response_landmark_visit`` ("M3") assessment inside its visit
    window, up to Day ``response_landmark_visit_last_day`` (98 = Day 91 + 7), even after Day 90.
    "eln2022": no CR/CRh/CRi by ``response_landmark_days`` is treatment failure, an event on the
    start date (ELN's "day 1" = day of infusion, 0 days with ``tte_day_offset`` = 0), once the
    landmark is reached or the subject died; alive without any evaluable assessment ⇒ censored
    at the start date; evaluable but landmark not yet reached ⇒ censored at last assessment;
    responders by the landmark: relapse or death. ``censor_at_hsct`` censors at an HSCT before
    the event; ``new_therapy_efs``: new anti-leukemic therapy is ignored, an event or a
    censoring point.
    """
    _choice("efs_definition", efs_definition)
    _choice("censor_at_hsct", censor_at_hsct)
    _choice("new_therapy_efs", new_therapy_efs)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    _choice("tte_day_offset", tte_day_offset)
    landmark_days = _count("response_landmark_days", response_landmark_days)
    visit_last_day = _count("response_landmark_visit_last_day", response_landmark_visit_last_day)
    start = course.infusion_date
    considered = course.considered_assessments(response_after_new_therapy)
    last = course.last_disease_assessment() or start
    censor = (last, "censored_last_assessment")
    if course.last_disease_assessment() is None:
        censor = (course.last_alive(), "censored_last_contact")
    extra = []
    if censor_at_hsct:
        extra.append((course.hsct_date, "censored_hsct"))
    if new_therapy_efs == "censor":
        extra.append((course.new_therapy_date, "censored_new_therapy"))
    events: list[tuple[date | None, str]] = [
        (course.relapse_date, "relapse"),
        (course.progression_date, "progression"),
        (course.death_date, "death"),
    ]
    if mrd_relapse_is_event:
        events.append((course.mrd_relapse_date, "mrd_relapse"))
    if new_therapy_efs == "event":
        events.append((course.new_therapy_date, "new_therapy"))

    if efs_definition == "eln2022":
        landmark = start + timedelta(days=landmark_days)
        visit_end = start + timedelta(days=visit_last_day)
        responder = any(
            a.category in CR_FAMILY
            and (a.date <= landmark or (a.visit == response_landmark_visit and a.date <= visit_end))
            for a in considered
        )
        if not responder:
            evaluable = any(a.category != "NE" for a in considered)
            reached = course.death_date is not None or course.last_alive() >= landmark
            if course.death_date is not None or (evaluable and reached):
                return _tte(start, start, True, "treatment_failure", tte_day_offset)
            if not evaluable:
                return _tte(start, start, False, "censored_not_evaluable", tte_day_offset)
            return _tte(start, last, False, "censored_landmark_not_reached", tte_day_offset)
    return _resolve(start, events, censor, extra, tte_day_offset)


def _first_response(
    course: SubjectCourse, categories: frozenset[str], response_after_new_therapy: str
) -> date | None:
    for a in course.considered_assessments(response_after_new_therapy):
        if a.category in categories:
            return a.date
    return None


def relapse_free_survival(
    course: SubjectCourse,
    *,
    censor_at_hsct: bool = False,
    response_after_new_therapy: str = "ignore",
    mrd_relapse_is_event: bool = False,
    tte_day_offset: int = 0,
) -> TimeToEvent | None:
    """RFS: first CR/CRh/CRi to hematologic relapse or death; censored at last known alive.

    ELN 2022 Table 9 (RFS), identical in the protocol (RULES.md §1.6). ``None`` for subjects who
    never reach CR/CRh/CRi. A progression date on/after remission is a relapse.
    """
    _choice("censor_at_hsct", censor_at_hsct)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    _choice("tte_day_offset", tte_day_offset)
    start = _first_response(course, CR_FAMILY, response_after_new_therapy)
    if start is None:
        return None
    _check_not_before("relapse_date", course.relapse_date, start)
    prog = (
        course.progression_date
        if course.progression_date and (course.progression_date >= start)
        else None
    )
    events: list[tuple[date | None, str]] = [
        (course.relapse_date, "relapse"),
        (prog, "relapse"),
        (course.death_date, "death"),
    ]
    if mrd_relapse_is_event:
        _check_not_before("mrd_relapse_date", course.mrd_relapse_date, start)
        events.append((course.mrd_relapse_date, "mrd_relapse"))
    extra = [(course.hsct_date, "censored_hsct")] if censor_at_hsct else []
    censor = (course.last_alive(), "censored_last_known_alive")
    return _resolve(start, events, censor, extra, tte_day_offset)


def duration_of_response(
    course: SubjectCourse,
    *,
    dor_censor: str = "last_assessment",
    censor_at_hsct: bool = False,
    response_after_new_therapy: str = "ignore",
    mrd_relapse_is_event: bool = False,
    tte_day_offset: int = 0,
) -> TimeToEvent | None:
    """DOR: first CR/CRh/CRi/MLFS/PR to first relapse/progression or death (protocol text).

    Not in ELN 2022 Table 9; the protocol counts MLFS and PR responders (RULES.md §1.6).
    Censored at the last adequate disease assessment (``dor_censor`` = "last_assessment") or at
    last known alive. ``None`` for non-responders.
    """
    _choice("dor_censor", dor_censor)
    _choice("censor_at_hsct", censor_at_hsct)
    _choice("mrd_relapse_is_event", mrd_relapse_is_event)
    _choice("tte_day_offset", tte_day_offset)
    start = _first_response(course, RESPONDER_CATEGORIES, response_after_new_therapy)
    if start is None:
        return None
    _check_not_before("relapse_date", course.relapse_date, start)
    prog = (
        course.progression_date
        if course.progression_date and (course.progression_date >= start)
        else None
    )
    events: list[tuple[date | None, str]] = [
        (course.relapse_date, "relapse"),
        (prog, "progression"),
        (course.death_date, "death"),
    ]
    if mrd_relapse_is_event:
        _check_not_before("mrd_relapse_date", course.mrd_relapse_date, start)
        events.append((course.mrd_relapse_date, "mrd_relapse"))
    extra = [(course.hsct_date, "censored_hsct")] if censor_at_hsct else []
    if dor_censor == "last_assessment":
        censor = (course.last_disease_assessment() or start, "censored_last_assessment")
    else:
        censor = (course.last_alive(), "censored_last_known_alive")
    return _resolve(start, events, censor, extra, tte_day_offset)
