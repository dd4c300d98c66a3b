"""The escalation engine as it was before the linear replay: the reference the engine must equal.

A frozen, verbatim copy of the engine section of ``dosing/rules.py`` (from "The engine" to
``escalation_trace``) at commit 2a63e01, before ``_State`` stopped copying every level's places
for each replayed subject (issue 12 "Speed"). ``tests/dosing/test_rules_equivalence.py`` runs
both on thousands of generated histories and requires identical recommendations, traces,
tallies, reasons and deviations. Do not edit or optimise this file: it is the specification of
the optimised engine's output. The input and output types (``SubjectOutcome``,
``EscalationDesign``, ``Recommendation``, ``LevelTally``, ``TraceStep``) and the text helpers
are imported from ``dosing.rules`` so the two engines' results compare with ``==``.
"""

# ruff: noqa

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from dosing.rules import (
    EscalationDesign,
    LevelTally,
    Recommendation,
    SubjectOutcome,
    TraceStep,
    _dl,
    _plural,
    outcome_letter,
)


@dataclass(frozen=True)
class _Trigger:
    level: int
    text: str  # why the ATD phase ended, for the reason sentence


@dataclass
class _Level:
    """Working counts of one level (mutable while the state is built)."""

    level: int
    places: list[str] = field(default_factory=list)  # statuses of subjects holding a place
    extra_dlts: int = 0  # DLTs of subjects that hold no place (non-counting ATD subjects)
    extra_pending: int = 0  # placeless subjects still in the window: their DLT would count
    atd_places: int = 0  # places held by ATD subjects
    enrolled: int = 0
    evaluable: int = 0
    dlts: int = 0
    pending: int = 0
    not_evaluable: int = 0
    atd_subjects: int = 0
    exceeds: bool = False

    @property
    def filled(self) -> int:
        return len(self.places)

    @property
    def waiting(self) -> int:
        return self.places.count("pending") + self.extra_pending

    @property
    def complete(self) -> int:
        return self.filled - self.places.count("pending")

    @property
    def dlt_count(self) -> int:
        return self.extra_dlts + self.places.count("dlt")

    @property
    def shown(self) -> int:
        """Evaluable subjects as a reader counts them: complete places plus placeless DLTs."""
        return self.complete + self.extra_dlts

    def counts(self) -> str:
        """E.g. "1 of 3 evaluable subjects at DL2 had a DLT (1 still in the DLT window)"."""
        text = f"{self.dlt_count} of {self.shown} evaluable subjects at {_dl(self.level)}"
        text += " had a DLT"
        if self.waiting:
            text += f" ({self.waiting} still in the DLT window)"
        return text


def _find_trigger(design: EscalationDesign, atd: Sequence[SubjectOutcome]) -> _Trigger | None:
    """The ATD subject whose toxicity ends the ATD phase (RULES.md §4.2; Simon et al. 1997).

    dlt_or_related_grade2: the first ATD subject with a DLT or a related grade >= 2 toxicity in
    the window. dlt_or_second_grade2: the first DLT, or the second subject with a related
    grade >= 2 toxicity that is not a DLT. A toxicity already recorded triggers even while its
    subject is still inside the window: the phase ends whatever the rest of the window shows.
    """
    grade2_seen = 0
    for outcome in atd:
        where = _dl(outcome.dose_level)
        if outcome.dlt is True:
            return _Trigger(
                outcome.dose_level, f"The ATD subject at {where} had a DLT, ending the ATD phase"
            )
        if outcome.related_grade2:
            grade2_seen += 1
            grade = outcome.max_related_grade
            if design.atd_trigger == "dlt_or_related_grade2":
                return _Trigger(
                    outcome.dose_level,
                    f"The ATD subject at {where} had a related grade {grade} toxicity, ending the "
                    f"ATD phase",
                )
            if grade2_seen == 2:
                return _Trigger(
                    outcome.dose_level,
                    f"The ATD subject at {where} is the second with a related grade >= 2 "
                    f"toxicity, ending the ATD phase",
                )
    return None


def _count(lv: _Level, status: str, design: EscalationDesign, *, atd: bool, place: bool) -> None:
    """Add one subject to a level's counts; ``place``: whether it may hold a cohort place."""
    lv.enrolled += 1
    lv.atd_subjects += atd
    lv.dlts += status == "dlt"
    lv.pending += status == "pending"
    lv.not_evaluable += status == "not_evaluable"
    lv.evaluable += status in ("dlt", "no_dlt")
    if not place:
        lv.extra_dlts += status == "dlt"
        lv.extra_pending += status == "pending"
        return
    if status == "not_evaluable":
        if design.replace_non_evaluable:
            return
        status = "no_dlt"  # not replaced: keeps its place, counted without a DLT
    lv.places.append(status)
    lv.atd_places += atd


class _Trial:
    """The subjects replayed so far: ATD subjects, and running counts of the 3+3 subjects."""

    def __init__(self, design: EscalationDesign) -> None:
        self.design = design
        self.atd: list[SubjectOutcome] = []
        self.main = {lv: _Level(lv) for lv in range(design.lowest_level, design.num_levels + 1)}
        self.last_main_level: int | None = None
        self.last: tuple[int, bool] | None = None  # (level, atd) of the last subject

    def add(self, outcome: SubjectOutcome, *, atd: bool) -> None:
        if atd:
            self.atd.append(outcome)
        else:
            _count(
                self.main[outcome.dose_level], outcome.status, self.design, atd=False, place=True
            )
            self.last_main_level = outcome.dose_level
        self.last = (outcome.dose_level, atd)

    def state(self) -> _State:
        return _State(self.design, self.atd, self.main, self.last_main_level)


class _State:
    """Counts and phase of a trial after some subjects, and the decision rules over them."""

    def __init__(
        self,
        design: EscalationDesign,
        atd: Sequence[SubjectOutcome],
        main: dict[int, _Level],
        last_main_level: int | None,
    ) -> None:
        self.design = design
        self.top = design.num_levels
        self.lowest = design.lowest_level
        self.atd = tuple(atd)  # a snapshot: the replay keeps appending to its list
        self.last_main_level = last_main_level
        self.trigger = _find_trigger(design, atd) if design.atd_levels else None
        if self.trigger is not None:
            main_level: int | None = self.trigger.level
        elif any(outcome.dose_level == self.top for outcome in atd):
            main_level = self.top
        else:
            main_level = None
        fill_counts = design.atd_deescalation_fill == "fill_to_6"
        self.levels: dict[int, _Level] = {}
        for level, counted in main.items():
            lv = _Level(level)
            for outcome in atd:  # ATD subjects came first: they hold the first places
                if outcome.dose_level == level:
                    place = design.atd_subject_counts if level == main_level else fill_counts
                    _count(lv, outcome.status, design, atd=True, place=place)
            lv.places.extend(counted.places)
            lv.enrolled += counted.enrolled
            lv.evaluable += counted.evaluable
            lv.dlts += counted.dlts
            lv.pending += counted.pending
            lv.not_evaluable += counted.not_evaluable
            first_cohort = lv.extra_dlts + lv.places[: design.cohort_size].count("dlt")
            lv.exceeds = first_cohort >= 2 or lv.dlt_count > design.mtd_max_dlt_of_6
            self.levels[level] = lv
        exceeded = [lv.level for lv in self.levels.values() if lv.exceeds]
        self.ceiling = min(exceeded) if exceeded else None

    # -- results -------------------------------------------------------------------------

    def tallies(self) -> tuple[LevelTally, ...]:
        return tuple(
            LevelTally(
                dose_level=lv.level,
                enrolled=lv.enrolled,
                evaluable=lv.evaluable,
                dlts=lv.dlts,
                pending=lv.pending,
                not_evaluable=lv.not_evaluable,
                atd_subjects=lv.atd_subjects,
                places=lv.filled,
                exceeds_mtd=lv.exceeds,
            )
            for lv in self.levels.values()
        )

    def _rec(
        self,
        action: str,
        level: int | None,
        code: str,
        reason: str,
        *,
        slots: int = 0,
        mtd: int | None = None,
        phase: str = "3+3",
    ) -> Recommendation:
        return Recommendation(
            action=action,
            dose_level=level,
            mtd=mtd,
            phase=phase,
            open_slots=slots,
            code=code,
            reason=reason,
        )

    # -- the decision --------------------------------------------------------------------

    def decide(self, prev: Recommendation | None) -> Recommendation:
        """The recommendation for the current state (``prev``: the one before the last subject)."""
        return self._one_level_in_flight(self._decide(prev))

    def _decide(self, prev: Recommendation | None) -> Recommendation:
        if self.last_main_level is None:
            if self.design.atd_levels and self.trigger is None:
                return self._atd_step()
            if self.trigger is not None:
                return self._at_level(
                    self.trigger.level, prev, via="atd_triggered", cause=self.trigger.text
                )
            return self._at_level(1, prev)
        return self._at_level(self.last_main_level, prev)

    def _one_level_in_flight(self, rec: Recommendation) -> Recommendation:
        """Wait for another level's DLT windows before enrolling or stopping (RULES.md §4.1).

        "No concurrent enrollment at two levels": a subject still in the window at a level below
        the lowest level that exceeds the MTD can still change the decision (``1NTP``: a DLT
        makes DL1 exceed the MTD), so nothing is enrolled elsewhere, and no MTD or tolerated top
        dose is declared, until it completes. Pending subjects at or above that level cannot
        change anything (``1NNN 2NNN 3TTP`` -> 3 more at DL2 at once), and "no tolerable dose"
        is final. A history that follows the rules never meets this guard (escalation waits for
        the window); it keeps an off-protocol history (``strict=False``, e.g. ``1NTP 2NNN``)
        from escalating past a level still in flight.
        """
        if rec.action == "wait" or rec.code == "no_tolerable_dose":
            return rec
        busy = [
            lv
            for lv in self.levels.values()
            if lv.waiting
            and (self.ceiling is None or lv.level < self.ceiling)
            and not (rec.action == "enroll" and lv.level == rec.dose_level)
        ]
        if not busy:
            return rec
        lv = busy[0]
        where = _dl(lv.level)
        if rec.action == "enroll":
            then = f"enrolling at {_dl(rec.dose_level)}"
        else:
            then = "stopping the trial"
        return self._rec(
            "wait",
            lv.level,
            "await_dlt_window",
            _capital(
                f"{lv.counts()}: wait for the DLT window at {where} before {then} (no two "
                f"levels in flight at once)."
            ),
            phase=rec.phase,
        )

    def _atd_step(self) -> Recommendation:
        """ATD phase, no trigger yet: one subject per level (RULES.md §4.2; Simon et al. 1997)."""
        design = self.design
        if not self.atd:
            return self._rec(
                "enroll",
                1,
                "atd_escalate",
                "No subjects enrolled yet: start the accelerated titration with 1 subject at DL1.",
                slots=1,
                phase="ATD",
            )
        last = self.atd[-1]
        level = last.dose_level
        where = _dl(level)
        status = last.status
        if status == "pending":
            return self._rec(
                "wait",
                level,
                "await_dlt_window",
                f"The ATD subject at {where} is still in the DLT window: wait for it to "
                f"complete before the next ATD step.",
                phase="ATD",
            )
        if status == "not_evaluable" and design.replace_non_evaluable:
            return self._rec(
                "enroll",
                level,
                "atd_escalate",
                f"The ATD subject at {where} left the DLT window early without a DLT and is "
                f"not evaluable: replace them with 1 subject at {where}.",
                slots=1,
                phase="ATD",
            )
        if design.atd_trigger == "dlt_or_second_grade2" and any(
            outcome.related_grade2 for outcome in self.atd
        ):
            quiet = "without a DLT (one related grade >= 2 toxicity so far in the ATD phase)"
        else:
            quiet = "without a DLT or related grade >= 2 toxicity"
        if level < design.atd_levels and level < self.top:
            return self._rec(
                "enroll",
                level + 1,
                "atd_escalate",
                f"The ATD subject at {where} completed the DLT window {quiet}: enrol 1 subject "
                f"at {_dl(level + 1)}.",
                slots=1,
                phase="ATD",
            )
        if level < self.top:
            return self._rec(
                "enroll",
                level + 1,
                "escalate",
                f"The ATD phase ended at {where} {quiet}: start 3+3 with a cohort of 3 at "
                f"{_dl(level + 1)}.",
                slots=self.design.cohort_size,
            )
        return self._at_level(
            level,
            None,
            via="expand",
            cause=f"The ATD phase reached the top dose {where} {quiet}; the top dose needs a "
            f"3+3 cohort",
        )

    def _at_level(
        self,
        level: int,
        prev: Recommendation | None,
        *,
        via: str | None = None,
        cause: str | None = None,
    ) -> Recommendation:
        """Decide at the current level, never at or above the lowest level exceeding the MTD."""
        if self.ceiling is not None and level >= self.ceiling:
            return self._deescalate(self.ceiling)
        return self._evaluate(level, prev, via=via, cause=cause)

    def _deescalate(self, level: int) -> Recommendation:
        """``level`` exceeds the MTD: go one level down, or stop (RULES.md §4.1, Korn 1994)."""
        lv = self.levels[level]
        cause = f"{lv.counts()}; {_dl(level)} exceeds the MTD"
        if level == self.lowest:
            lowest = "the lowest level" + (" (the pre-specified DL-1)" if level == 0 else "")
            return self._rec(
                "stop",
                None,
                "no_tolerable_dose",
                f"{cause} and is {lowest}: stop, no dose is tolerable (MTD not established).",
            )
        return self._evaluate(level - 1, None, via="de_escalate", cause=cause)

    def _evaluate(
        self,
        level: int,
        prev: Recommendation | None,
        *,
        via: str | None = None,
        cause: str | None = None,
    ) -> Recommendation:
        """The 3+3 table at a level that does not exceed the MTD (RULES.md §4.1; Korn 1994).

        ``via`` is how the trial arrived here (de-escalation, ATD trigger, ATD at the top) and
        gives the code of an enrolment; ``cause`` is the first half of the reason sentence.
        """
        design = self.design
        size = design.cohort_size
        lv = self.levels[level]
        where = _dl(level)
        upper = level < self.top and self.levels[level + 1].exceeds

        if lv.filled == 0 or lv.filled % size:
            return self._fill(lv, prev, via, cause, upper)

        if lv.waiting:
            lead = f"{cause}; " if cause else ""
            return self._rec(
                "wait",
                level,
                "await_dlt_window",
                _capital(f"{lead}{lv.counts()}: wait for the DLT window before deciding."),
            )

        n, t = lv.complete, lv.dlt_count
        if cause and upper:
            head = f"{cause} and {where} had {t} of {lv.shown} with a DLT"
        elif cause:
            head = f"{cause}; {lv.counts()}"
        elif upper:
            head = f"{lv.counts()} and {_dl(level + 1)} exceeds the MTD"
        else:
            head = lv.counts()
        is_top = level == self.top
        if n < 2 * size:  # the level's first cohort is complete, with at most 1 DLT
            if t or upper or (is_top and design.six_at_top):
                if upper and not t and not design.deescalate_to_six:
                    return self._stop_mtd(level, f"{head}: stop, the MTD is {where} (Storer).")
                if upper and not t:
                    why = " (the MTD needs 6)"
                elif is_top and not t:
                    why = " (the top dose needs 6)"
                else:
                    why = ""
                # A replaced non-evaluable subject (``1NNN 2TTN 1X``) leaves the de-escalation
                # cohort as it was: same decision, same code.
                same = (
                    prev is not None
                    and (prev.action, prev.dose_level, prev.open_slots) == ("enroll", level, size)
                    and prev.code == "de_escalate"
                )
                return self._rec(
                    "enroll",
                    level,
                    "de_escalate" if via == "de_escalate" or same else "expand",
                    _capital(f"{head}: treat {size} more at {where}{why}."),
                    slots=size,
                )
            if is_top:
                return self._top_tolerated(head, level)
            return self._escalate(level, head)
        if upper:
            return self._stop_mtd(level, f"{head}: stop, the MTD is {where}.")
        if t >= 2:  # only reachable with mtd_max_dlt_of_6 = 2
            limit = design.mtd_max_dlt_of_6
            return self._stop_mtd(
                level, f"{head}: stop, the MTD is {where} (at most {limit} of 6 allowed)."
            )
        if is_top:
            return self._top_tolerated(head, level)
        return self._escalate(level, head)

    def _fill(
        self,
        lv: _Level,
        prev: Recommendation | None,
        via: str | None,
        cause: str | None,
        upper: bool,
    ) -> Recommendation:
        """A cohort with free places: enrol the rest of it (pending subjects hold their place)."""
        size = self.design.cohort_size
        where = _dl(lv.level)
        filled = lv.filled % size
        slots = size - filled
        if via is not None:
            code = via
        elif prev is not None and prev.action == "enroll" and prev.dose_level == lv.level:
            code = prev.code
        elif upper:
            code = "de_escalate"
        else:
            code = "expand" if lv.filled >= size else "escalate"
        if code == "atd_escalate":  # a 3+3 cohort is never an ATD step
            code = "escalate"
        notes = []
        if lv.atd_subjects and lv.filled and lv.filled <= size and lv.atd_places:
            notes.append("the ATD subject counts")
        if lv.not_evaluable and self.design.replace_non_evaluable:
            notes.append(f"{_plural(lv.not_evaluable, 'non-evaluable subject')} replaced")
        if lv.waiting:
            notes.append(f"{lv.waiting} still in the DLT window")
        note = f" ({'; '.join(notes)})" if notes else ""
        cohort = "second cohort" if lv.filled > size else "cohort"
        if not cause and self.last_main_level is None and not self.atd:
            reason = f"No subjects enrolled yet: enrol the first cohort of {size} at {where}."
        elif cause and not lv.filled:
            reason = f"{cause}: enrol a cohort of {size} at {where}."
        elif cause:
            reason = (
                f"{cause}: enrol {slots} more at {where} to complete its {cohort} of {size}{note}."
            )
        else:
            reason = (
                f"The {cohort} at {where} has {filled} of {size} places filled{note}: enrol "
                f"{slots} more at {where}."
            )
        return self._rec("enroll", lv.level, code, _capital(reason), slots=slots)

    def _stop_mtd(self, level: int, reason: str) -> Recommendation:
        return self._rec("stop", level, "mtd_declared", _capital(reason), mtd=level)

    def _top_tolerated(self, head: str, level: int) -> Recommendation:
        return self._rec(
            "stop",
            level,
            "top_dose_tolerated",
            _capital(
                f"{head}: stop, {_dl(level)} is the top dose and the highest dose tolerated "
                f"(MTD not reached)."
            ),
        )

    def _escalate(self, level: int, head: str) -> Recommendation:
        target = level + 1
        if self.levels[target].filled:  # only after an off-protocol history (strict=False)
            return self._evaluate(target, None, via="escalate")
        size = self.design.cohort_size
        return self._rec(
            "enroll",
            target,
            "escalate",
            _capital(f"{head}: escalate to {_dl(target)} with a cohort of {size}."),
            slots=size,
        )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_inputs(design: EscalationDesign, outcomes: Sequence[SubjectOutcome]) -> None:
    if not isinstance(design, EscalationDesign):
        raise ValueError(f"design must be an EscalationDesign (got {type(design).__name__}).")
    if isinstance(outcomes, (str, bytes)):
        raise ValueError("outcomes must be a sequence of SubjectOutcome; use parse_outcomes().")
    low, high = design.lowest_level, design.num_levels
    for position, outcome in enumerate(outcomes, start=1):
        if not isinstance(outcome, SubjectOutcome):
            raise ValueError(
                f"outcomes must hold SubjectOutcome items: subject #{position} is {outcome!r}."
            )
        if not low <= outcome.dose_level <= high:
            extra = "" if design.dose_level_minus1 else " (0 = DL-1 needs dose_level_minus1)"
            raise ValueError(
                f"Subject #{position}: dose_level {outcome.dose_level} is outside the design's "
                f"levels {low}..{high} (num_levels={high}){extra}."
            )


def _fills_open_cohort(trial: _Trial, state: _State, level: int) -> bool:
    """Whether a subject at ``level`` takes a free place of the 3+3 cohort being enrolled.

    Cohort mates are enrolled together, so their outcomes, known now, may not have been known
    then: such a subject is allowed whatever they show (benefit of the doubt on timing).
    """
    if trial.last is None or trial.last != (level, False):
        return False
    return state.levels[level].filled % trial.design.cohort_size != 0


def _after(count: int) -> str:
    if count == 0:
        return "before any subject"
    return "after the first subject" if count == 1 else f"after the first {count} subjects"


def _replay(
    design: EscalationDesign, outcomes: Sequence[SubjectOutcome], strict: bool
) -> tuple[list[Recommendation], list[str | None], list[_State]]:
    """Recommendations (and states) after 0..n subjects, and each subject's deviation, if any."""
    _check_inputs(design, outcomes)
    trial = _Trial(design)
    states = [trial.state()]
    recs = [states[0].decide(None)]
    deviations: list[str | None] = []
    for position, outcome in enumerate(outcomes, start=1):
        rec = recs[-1]
        level = outcome.dose_level
        follows = rec.action == "enroll" and rec.dose_level == level and rec.open_slots > 0
        deviation = None
        if not follows and not _fills_open_cohort(trial, states[-1], level):
            deviation = (
                f"Subject #{position} ({outcome_letter(outcome)}) was enrolled at {_dl(level)}, "
                f"but {_after(position - 1)} the rules recommended: {rec.describe()}."
            )
            if strict:
                raise ValueError(
                    f"{deviation} This contradicts the escalation design (protocol deviation); "
                    f"correct the outcomes or pass strict=False."
                )
        # The ATD phase holds only while no 3+3 subject exists (``_atd_step`` is its only
        # source), so a subject enrolled under an ATD recommendation at an ATD level is ATD.
        trial.add(outcome, atd=rec.phase == "ATD" and level <= design.atd_levels)
        deviations.append(deviation)
        states.append(trial.state())
        recs.append(states[-1].decide(rec))
    return recs, deviations, states


def recommend(
    design: EscalationDesign, outcomes: Sequence[SubjectOutcome], *, strict: bool = True
) -> Recommendation:
    """What to do next in the ATD -> 3+3 escalation, from the subjects in enrollment order.

    Implements RULES.md §4: the Korn et al. (1994) "6 at the MTD" 3+3 (Storer 1989), with
    de-escalation, the top-dose and lowest-dose rules, replacement of non-evaluable subjects and
    the accelerated titration phase of Simon et al. (1997) as read in RULES.md §4.2. A decision
    already forced by the DLTs counted so far does not wait for pending subjects. The module
    docstring lists the reading of every ambiguous point; the first recommendation (no
    subjects) is: enrol 1 at DL1, code "atd_escalate", phase ATD when ``atd_levels`` >= 1, else
    enrol a cohort of 3 at DL1, code "escalate".

    ``strict`` (default True): a history the design would not have produced (a subject at a
    level the rules had not opened, after a stop, or while the previous cohort was pending)
    raises ValueError naming the subject's position, level and what was recommended. With
    ``strict=False`` the engine decides from the counts as they stand, never at or above a level
    exceeding the MTD nor while another level below it is in the DLT window (it waits for that
    level), and lists the deviations in ``Recommendation.deviations``.
    """
    recs, deviations, states = _replay(design, outcomes, strict)
    found = tuple(d for d in deviations if d is not None)
    return replace(recs[-1], levels=states[-1].tallies(), deviations=found)


def escalation_trace(
    design: EscalationDesign, outcomes: Sequence[SubjectOutcome], *, strict: bool = True
) -> list[TraceStep]:
    """The recommendation after each subject, so a dashboard can show how the trial got here.

    Step i is ``recommend(design, outcomes[:i + 1])`` with the subject's index, level and letter
    (RULES.md §4). ``strict`` as in ``recommend``; with ``strict=False`` each step carries the
    deviation of its subject, if any.
    """
    recs, deviations, states = _replay(design, outcomes, strict)
    steps: list[TraceStep] = []
    found: list[str] = []
    for index, outcome in enumerate(outcomes):
        deviation = deviations[index]
        if deviation is not None:
            found.append(deviation)
        rec = replace(recs[index + 1], levels=states[index + 1].tallies(), deviations=tuple(found))
        steps.append(
            TraceStep(
                index=index,
                subject=index + 1,
                dose_level=outcome.dose_level,
                letter=outcome_letter(outcome),
                recommendation=rec,
                deviation=deviation,
            )
        )
    return steps
