"""Dose-escalation rules: accelerated titration (ATD) followed by the Korn 3+3, and dose arithmetic.

Pure functions: plain values in, frozen dataclasses out; no Django import. This module is the one
implementation of the escalation engine that the web app, the worker, the API and the
statisticians' ``manage.py escalation`` command all call.

Sources: Storer BE, Biometrics 1989;45:925-937 (the 3+3 rule); Korn EL et al., Stat Med
1994;13:1799-1806 (the "6 at the MTD" variant used here); Simon R et al., J Natl Cancer Inst
1997;89:1138-1147 (accelerated titration); RULES.md §4 (the study's reading, its [SETTING]s and
defaults); CASES.md G and H (worked examples).

How the engine reads a trial
----------------------------
``recommend`` replays the subjects in enrollment order. Before each subject it computes what the
rules allowed at that moment (from the outcomes of the subjects before it, as they are known now)
and, by default, refuses a history that contradicts the design (``strict=True``). The
recommendation after the last subject is the answer.

The replay is linear in the subjects: ``_Trial`` keeps running counts per level (places as
counts, only the first cohort's statuses kept) and each state is a snapshot of a few numbers
per level, rebuilt only for the level that changed (issue 12 "Speed"; before, every state copied
every level's list of places, quadratic in the subjects per level). ``escalation_history`` gives
``recommend`` and each step's decision from one replay without ``escalation_trace``'s running
list of deviations per step. ``tests/dosing/test_rules_equivalence.py`` holds the result equal
to the previous engine (``tests/dosing/reference_engine.py``) on thousands of histories.

Readings chosen where RULES.md leaves room (a named setting where reasonable people differ):

* Places. Cohorts are blocks of ``cohort_size`` (3) places at a level. A subject holds a place
  while pending, with or without a DLT; a non-evaluable subject (X) gives its place back
  (``replace_non_evaluable``; when False it keeps it and counts as a subject without a DLT). A
  level's first cohort is its first 3 places, the second cohort places 4-6.
* Open slots. A cohort with free places is filled before any decision, and pending subjects do
  not hold up the rest of their cohort (a statistician enrols a 3+3 cohort together):
  ``open_slots`` = 3 - places filled in the current cohort (``3NP`` -> 1 more at DL3). The code of
  such a fill is the code of the decision that opened the cohort.
* Waiting. A full cohort with a subject still inside the DLT window waits
  (``await_dlt_window``, open_slots 0, dose_level = that level).
* Forced decisions. A level "exceeds the MTD" as soon as its first cohort holds 2 DLTs or the level
  holds more than ``mtd_max_dlt_of_6`` DLTs. No pending outcome can undo that, so de-escalation
  (or stopping) happens at once, without the pending subjects or the rest of the cohort
  (``1NNN 2NNN 3TTP`` -> 3 more at DL2). Nothing else is decided early: escalation waits for the
  window, and an MTD needs 6 evaluable subjects.
* A DLT is never discarded: ``dlt=True`` counts whatever ``evaluable`` says, and the DLT of an ATD
  subject that holds no place still counts toward its level (and the level waits for it).
* De-escalation (Korn 1994): from d to d-1, which gets 3 more if it holds 0/3
  (``deescalate_to_six``; False = Storer: stop, MTD = d-1 with 3), a cohort to complete if it
  holds fewer places (an ATD level, DL-1), and is the MTD at once if it already holds <= 1/6.
* Top dose: 0/3 -> 3 more (``six_at_top``; False = stop with 3, the R escalation package);
  <= 1/6 -> stop, "top_dose_tolerated", dose_level = top, mtd None.
* ``mtd_max_dlt_of_6`` = 2: 2 of 6 at a level is its MTD (stop, "mtd_declared"), also at the top
  dose and also when the 2 DLTs came in the second cohort (0/3 then 2/3); 2 DLTs in the first
  cohort, or 3 at any point, exceed the MTD.
* ``dose_level_minus1``: level 0 is DL-1, entered only by de-escalation from DL1 (3, then 3 more,
  MTD if <= 1/6, else no tolerable dose); never started at or escalated into.
* First recommendation: ATD designs enrol 1 at DL1 (code "atd_escalate", phase ATD); plain 3+3
  enrols a cohort of 3 at DL1 (code "escalate").
* ATD (Simon 1997; RULES.md §4.2): one subject per level; a toxicity already recorded triggers
  even while its subject is still in the window (a non-evaluable subject's too); a
  non-evaluable ATD subject is replaced at the same level (code "atd_escalate"); no trigger by
  the last ATD level -> a cohort of 3 at the next level (code "escalate"), or, when the ATD levels
  reach the top dose, the top becomes a 3+3 cohort (code "expand"). From the trigger on, the
  phase is 3+3 and the trigger level's cohort counts the ATD subject (``atd_subject_counts``).
  ``atd_deescalation_fill``: "fill_to_6" counts a lower ATD level's subject in its cohort of 3;
  "fresh_cohorts" does not.
* Safety guards: the engine never recommends a level at or above the lowest level that exceeds
  the MTD, and never opens two levels at once: while a level below that one has a subject in
  the DLT window, it enrols nowhere else and declares no MTD or tolerated top dose (it waits;
  only an off-protocol history such as ``1NTP 2NNN`` with ``strict=False`` gets there).

Strictness and timing: outcomes are today's statuses, so a subject who is complete now may still
have been pending when the next subject was enrolled. The check therefore gives the benefit of the
doubt where timing could explain a history (filling the places of an open cohort is always
allowed, whatever its members show now) and flags only what no timing explains: a subject at a
level the rules did not open (the trial starts at DL1), a new cohort while a subject of the
previous one is still pending, a subject after the trial stopped, more subjects than the cohort
has places. ``sentinel_days`` is an operational date gate the platform enforces; ``recommend``
has no dates and does not use it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date as date_type
from datetime import timedelta
from decimal import Decimal

from rulekit.settings import Range, SettingsError, check_settings
from rulekit.validation import choice

__all__ = [
    "ACTIONS",
    "ATD_DEESCALATION_FILLS",
    "ATD_TRIGGERS",
    "CODES",
    "CODES_BY_ACTION",
    "LETTERS",
    "LETTER_MEANINGS",
    "PHASES",
    "SETTINGS_CHOICES",
    "SETTINGS_DEFAULTS",
    "SETTINGS_HELP",
    "SETTINGS_RANGES",
    "EscalationDesign",
    "LevelTally",
    "OperatingCharacteristics",  # noqa: F822 (loaded lazily by __getattr__)
    "Recommendation",
    "SubjectOutcome",
    "TraceStep",
    "BSA_FORMULAS",
    "DOSING_CRF_DEFAULTS",
    "DoseCheck",
    "body_surface_area",
    "check_infused_dose",
    "lymphodepletion_dates",
    "sentinel_earliest_date",
    "validate_dosing_crf_settings",
    "bsa_du_bois",
    "validate_settings",
    "bsa_mosteller",
    "cells_to_infuse",
    "dose_deviation_pct",
    "dose_per_kg",
    "escalation_history",
    "escalation_trace",
    "format_outcomes",
    "lymphodepletion_dose_mg",
    "operating_characteristics",  # noqa: F822 (loaded lazily by __getattr__)
    "outcome_letter",
    "parse_outcomes",
    "recommend",
]

LETTERS: tuple[str, ...] = ("N", "T", "G", "P", "X")
LETTER_MEANINGS: dict[str, str] = {
    "N": "no DLT",
    "T": "DLT",
    "G": "no DLT but a related grade-2 toxicity",
    "P": "DLT window pending",
    "X": "not evaluable",
}
ACTIONS: tuple[str, ...] = ("enroll", "wait", "stop")
PHASES: tuple[str, ...] = ("ATD", "3+3")
CODES: tuple[str, ...] = (
    "escalate",
    "expand",
    "de_escalate",
    "await_dlt_window",
    "atd_escalate",
    "atd_triggered",
    "mtd_declared",
    "top_dose_tolerated",
    "no_tolerable_dose",
)
ATD_TRIGGERS: tuple[str, ...] = ("dlt_or_related_grade2", "dlt_or_second_grade2")
ATD_DEESCALATION_FILLS: tuple[str, ...] = ("fill_to_6", "fresh_cohorts")
MTD_MAX_DLT_OF_6_CHOICES: tuple[int, ...] = (1, 2)
COHORT_SIZE_CHOICES: tuple[int, ...] = (3,)

#: Which codes go with which action (used by the tests and by the platform's own checks).
CODES_BY_ACTION: dict[str, tuple[str, ...]] = {
    "enroll": ("escalate", "expand", "de_escalate", "atd_escalate", "atd_triggered"),
    "wait": ("await_dlt_window",),
    "stop": ("mtd_declared", "top_dose_tolerated", "no_tolerable_dose"),
}


#: Names this module re-exports from ``dosing.operating`` (loaded on first use, see __getattr__).
_OPERATING = ("OperatingCharacteristics", "operating_characteristics")


def __getattr__(name: str) -> object:
    """``operating_characteristics`` and its result live in ``dosing.operating`` (which drives
    ``recommend``); importing them lazily lets either module be imported first (PEP 562)."""
    if name in _OPERATING:
        from dosing import operating

        return getattr(operating, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _dl(level: int) -> str:
    """Clinical label of a dose level: level 0 is the pre-specified "DL-1"."""
    return "DL-1" if level == 0 else f"DL{level}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectOutcome:
    """One subject's DLT-window outcome at the dose level they received (CONTRACT.md).

    ``dlt``: True = a DLT inside the window (28 days here); False = window completed without a
    DLT; None = still inside the window. ``max_related_grade``: worst CTCAE grade (0-5) of a
    CAR-T-related toxicity inside the window, read only by the ATD trigger. ``evaluable=False``:
    left the window early without a DLT (replaced when ``replace_non_evaluable``). A subject with
    a DLT is DLT-evaluable whatever ``evaluable`` says: a DLT is never discarded.
    """

    dose_level: int
    dlt: bool | None = False
    max_related_grade: int = 0
    evaluable: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.dose_level, bool) or not isinstance(self.dose_level, int):
            raise ValueError(f"dose_level must be an integer dose level (got {self.dose_level!r}).")
        if not (self.dlt is None or isinstance(self.dlt, bool)):
            raise ValueError(f"dlt must be True, False or None (pending) (got {self.dlt!r}).")
        grade = self.max_related_grade
        if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 5:
            raise ValueError(
                f"max_related_grade must be a CTCAE grade 0, 1, 2, 3, 4 or 5 (got {grade!r})."
            )
        if not isinstance(self.evaluable, bool):
            raise ValueError(f"evaluable must be True or False (got {self.evaluable!r}).")

    @property
    def status(self) -> str:
        """ "dlt" | "no_dlt" | "pending" | "not_evaluable" (a DLT wins over the other flags)."""
        if self.dlt is True:
            return "dlt"
        if not self.evaluable:
            return "not_evaluable"
        if self.dlt is None:
            return "pending"
        return "no_dlt"

    @property
    def related_grade2(self) -> bool:
        """A related grade >= 2 toxicity that is not (or not yet) a DLT: Simon's "grade 2"."""
        return self.dlt is not True and self.max_related_grade >= 2


def _setting(default: object, help_text: str) -> object:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class EscalationDesign:
    """The study's escalation design: every [SETTING] of RULES.md §4 with its default.

    Levels are 1..num_levels; level 0 is the pre-specified "DL-1" when ``dose_level_minus1``.
    Bad values raise ValueError naming the setting and the allowed values.
    """

    num_levels: int = field(metadata={"help": "Number of dose levels DL1..DLn (required)."})
    atd_levels: int = _setting(
        0,
        "Lowest dose levels run as single-subject accelerated-titration (ATD) cohorts before "
        "3+3 (RULES.md 4.2); 0 = plain 3+3.",
    )
    atd_trigger: str = _setting(
        "dlt_or_related_grade2",
        "What ends the ATD phase: a DLT or a CAR-T-related grade >= 2 toxicity in the window "
        "(dlt_or_related_grade2), or the first DLT or the second subject with a related "
        "grade >= 2 non-DLT toxicity (dlt_or_second_grade2, Simon 1997).",
    )
    mtd_max_dlt_of_6: int = _setting(
        1,
        "Most DLTs out of 6 at the MTD: 1 (Korn 3+3) or 2 (registry variant, MTD = highest dose "
        "with <= 33 percent DLT: 1/3 then 1/3 stops with MTD = that dose).",
    )
    atd_subject_counts: bool = _setting(
        True,
        "On an ATD trigger the ATD subject is the first of the trigger level's 3+3 cohort, so 2 "
        "more are enrolled; false = a full cohort of 3 (its DLT, if any, still counts).",
    )
    atd_deescalation_fill: str = _setting(
        "fill_to_6",
        "De-escalation into an ATD level holding 1 subject: fill_to_6 = 2 more (the ATD "
        "subject counts), then 3 more, deciding at 3 and 6; fresh_cohorts = the ATD subject "
        "does not count, 3 new then 3 new.",
    )
    replace_non_evaluable: bool = _setting(
        True,
        "Subjects who leave the DLT window early without a DLT are replaced and not counted; "
        "false = they keep their place and count as subjects without a DLT.",
    )
    dose_level_minus1: bool = _setting(
        False,
        "A lower level DL-1 (written 0) is pre-specified: when DL1 exceeds the MTD, treat 3 "
        "(then 3 more) at DL-1 instead of stopping; DL-1 is the MTD if <= 1/6, else no dose is "
        "tolerable. Never escalated into.",
    )
    cohort_size: int = _setting(
        3, "Subjects per 3+3 cohort. The decision table is defined for cohorts of 3 only."
    )
    sentinel_days: int = _setting(
        0,
        "Operational gate: days the first subject of a level is observed before the others "
        "are dosed (0 = none). Enforced by the platform on dates; recommend() has no dates and "
        "does not use it.",
    )
    six_at_top: bool = _setting(
        True,
        "0/3 at the top dose: treat 3 more and stop when <= 1/6 (Korn); false = stop at once, "
        "top dose tolerated with 3 subjects (R escalation package).",
    )
    deescalate_to_six: bool = _setting(
        True,
        "When a level exceeds the MTD and the level below holds only 0/3: treat 3 more there, "
        "the MTD needs 6 (Korn); false = stop, MTD = the level below with 3 (Storer style).",
    )

    def __post_init__(self) -> None:
        def integer(name: str, value: object, low: int, high: int | None, allowed: str) -> None:
            bad = isinstance(value, bool) or not isinstance(value, int)
            if bad or value < low or (high is not None and value > high):
                raise ValueError(f"{name} must be {allowed} (got {value!r}).")

        integer("num_levels", self.num_levels, 1, None, "an integer >= 1")
        integer(
            "atd_levels",
            self.atd_levels,
            0,
            self.num_levels,
            f"an integer from 0 to num_levels ({self.num_levels})",
        )
        integer("sentinel_days", self.sentinel_days, 0, None, "an integer >= 0")
        for name, choices in SETTINGS_CHOICES.items():
            choice(getattr(self, name), name, choices)
        for f in fields(self):
            if isinstance(f.default, bool) and not isinstance(getattr(self, f.name), bool):
                raise ValueError(f"{f.name} must be True or False (got {getattr(self, f.name)!r}).")
        # The declared types and ranges, the same check the study-settings page runs.
        check_settings(
            {name: getattr(self, name) for name in SETTINGS_DEFAULTS},
            defaults=SETTINGS_DEFAULTS,
            choices=SETTINGS_CHOICES,
            ranges=SETTINGS_RANGES,
        )

    @property
    def lowest_level(self) -> int:
        """0 (DL-1) when ``dose_level_minus1``, else 1."""
        return 0 if self.dose_level_minus1 else 1


SETTINGS_CHOICES: dict[str, tuple] = {
    "atd_trigger": ATD_TRIGGERS,
    "atd_deescalation_fill": ATD_DEESCALATION_FILLS,
    "mtd_max_dlt_of_6": MTD_MAX_DLT_OF_6_CHOICES,
    "cohort_size": COHORT_SIZE_CHOICES,
}

#: Every setting of EscalationDesign with its RULES.md default (num_levels is not a setting:
#: it is the number of configured dose levels).
SETTINGS_DEFAULTS: dict[str, object] = {
    f.name: f.default for f in fields(EscalationDesign) if f.default is not MISSING
}

#: Ranges of the numeric settings without choices. Plausible bounds, not in RULES.md: ATD covers
#: at most 10 levels (and never more than the study has, checked against num_levels); a sentinel
#: observation of at most 60 days.
SETTINGS_RANGES: dict[str, Range] = {
    "atd_levels": Range(0, 10, whole=True, unit="dose levels"),
    "sentinel_days": Range(0, 60, whole=True, unit="days"),
}

#: One line of help per field, for settings documents and the management command.
SETTINGS_HELP: dict[str, str] = {f.name: f.metadata["help"] for f in fields(EscalationDesign)}


def validate_settings(
    settings: Mapping[str, object], *, num_levels: int | None = None
) -> dict[str, object]:
    """The complete, checked escalation settings, or ``SettingsError`` naming each bad one.

    Why: the study-settings page stores only what :class:`EscalationDesign` accepts (issue 10
    item 3: ``atd_levels = -1`` had been stored). With ``num_levels`` (the number of configured
    dose levels) the design itself is built, so the checks across settings run too.
    """
    checked = check_settings(
        settings, defaults=SETTINGS_DEFAULTS, choices=SETTINGS_CHOICES, ranges=SETTINGS_RANGES
    )
    if num_levels is not None:
        try:
            EscalationDesign(num_levels=num_levels, **checked)
        except SettingsError:
            raise
        except ValueError as exc:
            name = str(exc).split(" ", 1)[0]
            raise SettingsError({name if name in SETTINGS_DEFAULTS else "": str(exc)}) from None
    return checked


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelTally:
    """Counts at one dose level, as the engine sees them.

    ``places`` = 3+3 cohort places occupied (pending subjects included, replaced non-evaluable
    subjects and non-counting ATD subjects excluded); ``evaluable`` = subjects whose DLT
    assessment is complete (a DLT, or the window completed).
    """

    dose_level: int
    enrolled: int
    evaluable: int
    dlts: int
    pending: int
    not_evaluable: int
    atd_subjects: int
    places: int
    exceeds_mtd: bool


@dataclass(frozen=True)
class Recommendation:
    """What to do next (CONTRACT.md), with the counts behind it.

    ``levels``: a tally per dose level; ``deviations``: with ``strict=False``, one message per
    subject whose enrollment the rules did not allow (empty when strict).
    """

    action: str
    dose_level: int | None
    mtd: int | None
    phase: str
    open_slots: int
    code: str
    reason: str
    levels: tuple[LevelTally, ...] = ()
    deviations: tuple[str, ...] = ()

    def describe(self) -> str:
        """Short text of the decision, used in deviation messages and the command output."""
        level = _dl(self.dose_level) if self.dose_level is not None else "none"
        if self.action == "enroll":
            return f"enroll {self.open_slots} at {level} ({self.code}, phase {self.phase})"
        if self.action == "wait":
            return f"wait for the DLT window at {level} ({self.code})"
        return f"stop ({self.code}, recommended dose {level})"


@dataclass(frozen=True)
class TraceStep:
    """The recommendation right after one subject (``recommend(design, outcomes[:index + 1])``).

    ``subject`` is the 1-based enrollment number; ``deviation`` is set (with ``strict=False``)
    when the rules did not allow this subject's enrollment.
    """

    index: int
    subject: int
    dose_level: int
    letter: str
    recommendation: Recommendation
    deviation: str | None = None


# --------------------------------------------------------------------------------------------
# Outcome strings
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"(\d+)([A-Za-z]+)")
_ALLOWED = ", ".join(f"{letter} = {LETTER_MEANINGS[letter]}" for letter in LETTERS)


def _from_letter(level: int, letter: str) -> SubjectOutcome:
    if letter == "N":
        return SubjectOutcome(level)
    if letter == "T":
        return SubjectOutcome(level, dlt=True, max_related_grade=3)
    if letter == "G":
        return SubjectOutcome(level, dlt=False, max_related_grade=2)
    if letter == "P":
        return SubjectOutcome(level, dlt=None)
    return SubjectOutcome(level, dlt=False, evaluable=False)


def parse_outcomes(text: str) -> list[SubjectOutcome]:
    """Read the escalation shorthand "1NNN 2NNT 2P" into subjects in enrollment order.

    Each token is a dose level followed by one letter per subject (CONTRACT.md; the notation of
    the R ``escalation`` package, brockk/escalation, extended with G, P, X): N = no DLT, T = DLT
    (recorded with related grade 3, the usual lowest DLT grade), G = no DLT but a related
    grade-2 toxicity, P = DLT window pending, X = not evaluable. Tokens are separated by spaces
    or commas; letters are case-insensitive; level 0 is DL-1. Levels are checked against the
    design by ``recommend``. A bad token raises ValueError naming it and the allowed letters.
    """
    if not isinstance(text, str):
        raise ValueError(f"outcomes text must be a string such as '1NNN 2NNT' (got {text!r}).")
    outcomes: list[SubjectOutcome] = []
    for token in text.replace(",", " ").split():
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise ValueError(
                f"Bad outcome token {token!r}: expected a dose level number followed by one "
                f"letter per subject ({_ALLOWED}), e.g. '2NNT'."
            )
        level = int(match.group(1))
        for letter in match.group(2).upper():
            if letter not in LETTERS:
                raise ValueError(
                    f"Bad outcome token {token!r}: letter {letter!r} is not one of "
                    f"{', '.join(LETTERS)} ({_ALLOWED})."
                )
            outcomes.append(_from_letter(level, letter))
    return outcomes


def outcome_letter(outcome: SubjectOutcome) -> str:
    """The shorthand letter of one subject: T, X, P, G (no DLT, related grade >= 2) or N.

    Exact for what ``parse_outcomes`` produces; for other outcomes the letter keeps the status
    but not every detail (a pending subject with a grade-2 toxicity is shown as P).
    """
    status = outcome.status
    if status == "dlt":
        return "T"
    if status == "not_evaluable":
        return "X"
    if status == "pending":
        return "P"
    return "G" if outcome.max_related_grade >= 2 else "N"


def format_outcomes(outcomes: Sequence[SubjectOutcome]) -> str:
    """Write subjects back in the shorthand: the inverse of ``parse_outcomes``.

    Consecutive subjects at the same level share one token ("2NNT 2NNT" is written "2NNTNNT";
    both parse to the same subjects). ``parse_outcomes(format_outcomes(x)) == x`` for every list
    ``parse_outcomes`` returns.
    """
    tokens: list[str] = []
    current: int | None = None
    for outcome in outcomes:
        if not isinstance(outcome, SubjectOutcome):
            raise ValueError(f"format_outcomes needs SubjectOutcome items (got {outcome!r}).")
        if outcome.dose_level < 0:
            raise ValueError(f"dose_level must be >= 0 to be written (got {outcome.dose_level}).")
        if outcome.dose_level != current:
            tokens.append(str(outcome.dose_level))
            current = outcome.dose_level
        tokens[-1] += outcome_letter(outcome)
    return " ".join(tokens)


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trigger:
    level: int
    text: str  # why the ATD phase ended, for the reason sentence


@dataclass
class _Level:
    """Counts of one level: running totals while the replay adds subjects, then a snapshot.

    The places are kept as counts, not as a list of statuses: ``first`` holds the statuses of
    the first ``cohort_size`` places only (all the first-cohort rule reads), so adding a subject
    and taking a state's snapshot cost the same at the 3,000th subject of a level as at the
    first (issue 12 "Speed"; before, every state copied every level's list of places).
    """

    level: int
    filled: int = 0  # places held (pending subjects included)
    pending_places: int = 0  # places held by subjects still in the DLT window
    dlt_places: int = 0  # places held by subjects with a DLT
    first: list[str] = field(default_factory=list)  # statuses of the first cohort's places
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
    shown_tally: LevelTally | None = field(default=None, repr=False, compare=False)

    def tally(self) -> LevelTally:
        """The public counts of this snapshot (built once: consecutive states share it)."""
        if self.shown_tally is None:
            self.shown_tally = LevelTally(
                dose_level=self.level,
                enrolled=self.enrolled,
                evaluable=self.evaluable,
                dlts=self.dlts,
                pending=self.pending,
                not_evaluable=self.not_evaluable,
                atd_subjects=self.atd_subjects,
                places=self.filled,
                exceeds_mtd=self.exceeds,
            )
        return self.shown_tally

    @property
    def waiting(self) -> int:
        return self.pending_places + self.extra_pending

    @property
    def complete(self) -> int:
        return self.filled - self.pending_places

    @property
    def dlt_count(self) -> int:
        return self.extra_dlts + self.dlt_places

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


def _trigger_of(
    design: EscalationDesign, outcome: SubjectOutcome, grade2_seen: int
) -> tuple[_Trigger | None, int]:
    """Whether this ATD subject ends the ATD phase, given the related grade-2 toxicities of the
    ATD subjects before it; and the new count of those (see ``_find_trigger``)."""
    where = _dl(outcome.dose_level)
    if outcome.dlt is True:
        return (
            _Trigger(
                outcome.dose_level, f"The ATD subject at {where} had a DLT, ending the ATD phase"
            ),
            grade2_seen,
        )
    if outcome.related_grade2:
        grade2_seen += 1
        grade = outcome.max_related_grade
        if design.atd_trigger == "dlt_or_related_grade2":
            return (
                _Trigger(
                    outcome.dose_level,
                    f"The ATD subject at {where} had a related grade {grade} toxicity, ending the "
                    f"ATD phase",
                ),
                grade2_seen,
            )
        if grade2_seen == 2:
            return (
                _Trigger(
                    outcome.dose_level,
                    f"The ATD subject at {where} is the second with a related grade >= 2 "
                    f"toxicity, ending the ATD phase",
                ),
                grade2_seen,
            )
    return None, grade2_seen


def _find_trigger(design: EscalationDesign, atd: Sequence[SubjectOutcome]) -> _Trigger | None:
    """The ATD subject whose toxicity ends the ATD phase (RULES.md §4.2; Simon et al. 1997).

    dlt_or_related_grade2: the first ATD subject with a DLT or a related grade >= 2 toxicity in
    the window. dlt_or_second_grade2: the first DLT, or the second subject with a related
    grade >= 2 toxicity that is not a DLT. A toxicity already recorded triggers even while its
    subject is still inside the window: the phase ends whatever the rest of the window shows.
    The first trigger stays the trigger whatever later ATD subjects show, so the replay finds
    it subject by subject (``_trigger_of``) instead of rescanning the ATD subjects.
    """
    grade2_seen = 0
    for outcome in atd:
        trigger, grade2_seen = _trigger_of(design, outcome, grade2_seen)
        if trigger is not None:
            return trigger
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
    lv.filled += 1
    lv.pending_places += status == "pending"
    lv.dlt_places += status == "dlt"
    if len(lv.first) < design.cohort_size:
        lv.first.append(status)
    lv.atd_places += atd


def _combined(design: EscalationDesign, level: int, atd_counted: _Level, counted: _Level) -> _Level:
    """A level's snapshot: its ATD subjects (who came first and hold the first places, or no
    place) followed by its 3+3 subjects, with the "exceeds the MTD" rule applied."""
    lv = _Level(
        level,
        filled=atd_counted.filled + counted.filled,
        pending_places=atd_counted.pending_places + counted.pending_places,
        dlt_places=atd_counted.dlt_places + counted.dlt_places,
        extra_dlts=atd_counted.extra_dlts,
        extra_pending=atd_counted.extra_pending,
        atd_places=atd_counted.atd_places,
        enrolled=atd_counted.enrolled + counted.enrolled,
        evaluable=atd_counted.evaluable + counted.evaluable,
        dlts=atd_counted.dlts + counted.dlts,
        pending=atd_counted.pending + counted.pending,
        not_evaluable=atd_counted.not_evaluable + counted.not_evaluable,
        atd_subjects=atd_counted.atd_subjects,
    )
    first_places = (atd_counted.first + counted.first)[: design.cohort_size]
    first_cohort = lv.extra_dlts + first_places.count("dlt")
    lv.exceeds = first_cohort >= 2 or lv.dlt_count > design.mtd_max_dlt_of_6
    return lv


class _Trial:
    """The subjects replayed so far, as running counts (constant work per subject).

    ATD subjects are counted twice per level, as holding a place and as holding none: which
    applies depends on where the 3+3 phase starts (the trigger level, or the top dose), which a
    later ATD subject can still change. ``state()`` picks the right one per level and combines
    it with the level's 3+3 counts; a level's snapshot is rebuilt only when a subject was added
    to it or its ATD reading changed, otherwise the previous state's (unchanged) one is reused.
    """

    def __init__(self, design: EscalationDesign) -> None:
        self.design = design
        levels = range(design.lowest_level, design.num_levels + 1)
        self.main = {lv: _Level(lv) for lv in levels}  # 3+3 subjects
        self.atd_place = {lv: _Level(lv) for lv in levels}  # ATD subjects holding a place
        self.atd_placeless = {lv: _Level(lv) for lv in levels}  # ATD subjects holding none
        self.changes = dict.fromkeys(levels, 0)  # subjects added per level
        self.atd_count = 0
        self.atd_last: SubjectOutcome | None = None
        self.atd_grade2 = False  # any ATD subject with a related grade >= 2 (non-DLT) toxicity
        self.atd_at_top = False  # any ATD subject at the top dose
        self.grade2_seen = 0
        self.trigger: _Trigger | None = None
        self.last_main_level: int | None = None
        self.last: tuple[int, bool] | None = None  # (level, atd) of the last subject
        self.snapshots: dict[int, tuple[tuple[int, bool], _Level]] = {}

    def add(self, outcome: SubjectOutcome, *, atd: bool) -> None:
        level = outcome.dose_level
        if atd:
            status = outcome.status
            _count(self.atd_place[level], status, self.design, atd=True, place=True)
            _count(self.atd_placeless[level], status, self.design, atd=True, place=False)
            self.atd_count += 1
            self.atd_last = outcome
            self.atd_grade2 = self.atd_grade2 or outcome.related_grade2
            self.atd_at_top = self.atd_at_top or level == self.design.num_levels
            if self.design.atd_levels and self.trigger is None:
                self.trigger, self.grade2_seen = _trigger_of(self.design, outcome, self.grade2_seen)
        else:
            _count(self.main[level], outcome.status, self.design, atd=False, place=True)
            self.last_main_level = level
        self.changes[level] += 1
        self.last = (level, atd)

    def state(self) -> _State:
        design = self.design
        if self.trigger is not None:
            main_level: int | None = self.trigger.level
        elif self.atd_at_top:
            main_level = design.num_levels
        else:
            main_level = None
        fill_counts = design.atd_deescalation_fill == "fill_to_6"
        levels: dict[int, _Level] = {}
        for level, counted in self.main.items():
            place = design.atd_subject_counts if level == main_level else fill_counts
            key = (self.changes[level], place)
            known = self.snapshots.get(level)
            if known is not None and known[0] == key:
                levels[level] = known[1]
                continue
            atd_counted = self.atd_place[level] if place else self.atd_placeless[level]
            lv = _combined(design, level, atd_counted, counted)
            self.snapshots[level] = (key, lv)
            levels[level] = lv
        return _State(self, levels)


class _State:
    """Counts and phase of a trial after some subjects, and the decision rules over them.

    A snapshot: the level counts are ``_Level`` objects nobody changes after ``_Trial.state``
    built them (unchanged ones are shared between consecutive states), so the states of a
    replay stay valid after it has moved on.
    """

    def __init__(self, trial: _Trial, levels: dict[int, _Level]) -> None:
        design = trial.design
        self.design = design
        self.top = design.num_levels
        self.lowest = design.lowest_level
        self.atd_count = trial.atd_count
        self.atd_last = trial.atd_last
        self.atd_grade2 = trial.atd_grade2
        self.last_main_level = trial.last_main_level
        self.trigger = trial.trigger if design.atd_levels else None
        self.levels = levels
        exceeded = [lv.level for lv in levels.values() if lv.exceeds]
        self.ceiling = min(exceeded) if exceeded else None

    # -- results -------------------------------------------------------------------------

    def tallies(self) -> tuple[LevelTally, ...]:
        return tuple(lv.tally() for lv in self.levels.values())

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
        if not self.atd_count:
            return self._rec(
                "enroll",
                1,
                "atd_escalate",
                "No subjects enrolled yet: start the accelerated titration with 1 subject at DL1.",
                slots=1,
                phase="ATD",
            )
        last = self.atd_last
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
        if design.atd_trigger == "dlt_or_second_grade2" and self.atd_grade2:
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
        if not cause and self.last_main_level is None and not self.atd_count:
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
    so_far: tuple[str, ...] = ()
    for index, outcome in enumerate(outcomes):
        deviation = deviations[index]
        if deviation is not None:
            found.append(deviation)
            so_far = tuple(found)  # a step without a deviation shares the previous tuple
        rec = replace(recs[index + 1], levels=states[index + 1].tallies(), deviations=so_far)
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


def escalation_history(
    design: EscalationDesign, outcomes: Sequence[SubjectOutcome], *, strict: bool = True
) -> tuple[Recommendation, list[TraceStep]]:
    """``recommend`` and the decision after each subject, from one replay (the live state).

    The first value equals ``recommend(design, outcomes, strict=strict)``. Step i equals
    ``escalation_trace(design, outcomes, strict=strict)[i]`` except that its recommendation
    carries only the decision: ``levels`` and ``deviations`` are empty (the subject's own
    deviation is ``TraceStep.deviation``; the full list is on the first value). Why: in
    ``escalation_trace`` each step holds every deviation so far, so an off-protocol history of n
    subjects builds n tuples of up to n messages (quadratic; 64 MB at 4,000 subjects); the
    escalation hook stores only the decisions of the steps (issue 12 "Speed").
    """
    recs, deviations, states = _replay(design, outcomes, strict)
    found = tuple(d for d in deviations if d is not None)
    final = replace(recs[-1], levels=states[-1].tallies(), deviations=found)
    steps = [
        TraceStep(
            index=index,
            subject=index + 1,
            dose_level=outcome.dose_level,
            letter=outcome_letter(outcome),
            recommendation=recs[index + 1],
            deviation=deviations[index],
        )
        for index, outcome in enumerate(outcomes)
    ]
    return final, steps


# --------------------------------------------------------------------------------------------
# Dose arithmetic
# --------------------------------------------------------------------------------------------


def _positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{name} must be a number (got {value!r}).")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        limit = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {limit} (got {value!r}).")
    return number


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Body-surface area in m² = sqrt(height_cm × weight_kg / 3600) (Mosteller, NEJM 1987)."""
    return math.sqrt(_positive("height_cm", height_cm) * _positive("weight_kg", weight_kg) / 3600)


def bsa_du_bois(height_cm: float, weight_kg: float) -> float:
    """Body-surface area in m² = 0.007184 × weight_kg^0.425 × height_cm^0.725.

    Du Bois & Du Bois, Arch Intern Med 1916; the coefficient for kg and cm.
    """
    height = _positive("height_cm", height_cm)
    weight = _positive("weight_kg", weight_kg)
    return 0.007184 * weight**0.425 * height**0.725


def dose_per_kg(total_cells: float, weight_kg: float) -> float:
    """Cells per kg actually given = total cells infused / body weight (RULES.md §4.2, EXDOSE).

    CAR-T doses are stated per kg (e.g. 1 × 10⁶ CAR-T cells/kg); the weight is the one the
    protocol names for dosing (usually at apheresis or lymphodepletion).
    """
    return _positive("total_cells", total_cells) / _positive("weight_kg", weight_kg)


def cells_to_infuse(dose_cells_per_kg: float, weight_kg: float) -> float:
    """Total cells to infuse = dose in cells/kg × body weight in kg (RULES.md §4.2)."""
    return _positive("dose_cells_per_kg", dose_cells_per_kg) * _positive("weight_kg", weight_kg)


def dose_deviation_pct(actual: float, planned: float) -> float:
    """Signed deviation of the given dose from the planned dose, in % of the planned dose.

    (actual - planned) / planned × 100; negative = under-dosed. ``actual`` may be 0 (an aborted
    infusion is -100 %); ``planned`` must be > 0. Units must match (e.g. both cells/kg).
    """
    plan = _positive("planned", planned)
    return (_positive("actual", actual, allow_zero=True) - plan) / plan * 100


def lymphodepletion_dose_mg(dose_mg_m2: float, bsa_m2: float) -> float:
    """Lymphodepletion dose in mg = dose in mg/m² × body-surface area in m² (e.g. Flu/Cy).

    Unrounded: the pharmacy's rounding and any BSA cap are protocol rules applied after this.
    """
    return _positive("dose_mg_m2", dose_mg_m2) * _positive("bsa_m2", bsa_m2)


# --------------------------------------------------------------------------------------------
# Dosing CRF settings and checks (RULES.md §4.2 "store dose as cells/kg and the actual infused
# cell number"; §4.4 sentinel spacing). The platform's infusion and lymphodepletion services call
# these; they are the only implementation.
# --------------------------------------------------------------------------------------------

BSA_FORMULAS: tuple[str, ...] = ("mosteller", "du_bois")

#: The ``dosing_crf`` study settings with their defaults. The registry text gives no dose
#: tolerance: 10 % (soft) and 20 % (hard) are placeholders to configure from the protocol and the
#: manufacturer's release specification; DL-1 is half of the default DL1 (RULES.md §4.2 lists no
#: DL-1 dose) and is used only when the escalation setting ``dose_level_minus1`` is true.
DOSING_CRF_DEFAULTS: dict[str, object] = {
    "dose_tolerance_pct": 10.0,
    "dose_max_deviation_pct": 20.0,
    "bsa_formula": "mosteller",
    "dose_level_minus1_cells_per_kg": 0.25e6,
}
DOSING_CRF_CHOICES: dict[str, tuple] = {"bsa_formula": BSA_FORMULAS}
DOSING_CRF_RANGES: dict[str, Range] = {
    "dose_tolerance_pct": Range(0, 100, unit="%"),
    "dose_max_deviation_pct": Range(0, 100, unit="%"),
    "dose_level_minus1_cells_per_kg": Range(1e3, 1e10, unit="cells/kg"),
}
DOSING_CRF_HELP: dict[str, str] = {
    "dose_tolerance_pct": "Deviation of the infused dose (cells/kg) from the planned dose, in %, "
    "beyond which the infusion CRF opens a data query (soft check).",
    "dose_max_deviation_pct": "Deviation in % beyond which the infusion is refused (hard check); "
    "at least the tolerance.",
    "bsa_formula": "Body-surface area for lymphodepletion doses: mosteller (Mosteller, NEJM "
    "1987) or du_bois (Du Bois & Du Bois, Arch Intern Med 1916).",
    "dose_level_minus1_cells_per_kg": "Dose of DL-1 in CAR-T cells/kg, used only when the "
    "escalation setting dose_level_minus1 is true; below DL1.",
}


def validate_dosing_crf_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """The complete, checked ``dosing_crf`` settings, or ``SettingsError`` naming each bad one.

    The hard limit may not be tighter than the soft one: a deviation would then be refused
    before it could ever be queried.
    """
    checked = check_settings(
        settings,
        defaults=DOSING_CRF_DEFAULTS,
        choices=DOSING_CRF_CHOICES,
        ranges=DOSING_CRF_RANGES,
    )
    if checked["dose_max_deviation_pct"] < checked["dose_tolerance_pct"]:
        raise SettingsError(
            {"dose_max_deviation_pct": "dose_max_deviation_pct must be >= dose_tolerance_pct"}
        )
    return checked


def body_surface_area(height_cm: float, weight_kg: float, formula: str = "mosteller") -> float:
    """BSA in m² by the study's formula: ``bsa_mosteller`` or ``bsa_du_bois`` (sources there)."""
    choice(formula, "bsa_formula", BSA_FORMULAS)
    if formula == "du_bois":
        return bsa_du_bois(height_cm, weight_kg)
    return bsa_mosteller(height_cm, weight_kg)


DOSE_OK = "ok"
DOSE_QUERY = "query"
DOSE_REFUSED = "refused"


@dataclass(frozen=True)
class DoseCheck:
    """The infused dose against the planned one: dose/kg, signed deviation %, and the verdict."""

    dose_cells_per_kg: float
    deviation_pct: float
    verdict: str  # DOSE_OK, DOSE_QUERY (beyond the tolerance), DOSE_REFUSED (beyond the maximum)


def check_infused_dose(
    total_cells: float,
    weight_kg: float,
    planned_cells_per_kg: float,
    *,
    tolerance_pct: float,
    max_deviation_pct: float,
) -> DoseCheck:
    """Dose per kg from total cells and weight, its deviation from the plan, and the verdict.

    RULES.md §4.2: the dose is stated per kg and the actual infused cell number is stored; the
    deviation is ``dose_deviation_pct`` (actual - planned) / planned × 100. A deviation whose
    absolute value is above ``tolerance_pct`` is queried, above ``max_deviation_pct`` refused;
    exactly at a limit is within it.
    """
    dose = dose_per_kg(total_cells, weight_kg)
    deviation = dose_deviation_pct(dose, planned_cells_per_kg)
    size = abs(deviation)
    if size > max_deviation_pct:
        verdict = DOSE_REFUSED
    elif size > tolerance_pct:
        verdict = DOSE_QUERY
    else:
        verdict = DOSE_OK
    return DoseCheck(dose, deviation, verdict)


def sentinel_earliest_date(
    first_infusion: date_type | None, sentinel_days: int
) -> date_type | None:
    """The first date the next subject of a cohort may be infused (RULES.md §4.4 sentinel).

    With ``sentinel_days`` N > 0 the second and third subjects of a cohort are infused only N
    days after the first (the first infusion day + N); 0 = no staggering (None: no limit).
    """
    if first_infusion is None or not sentinel_days:
        return None
    return first_infusion + timedelta(days=sentinel_days)


#: Lymphodepletion days relative to the infusion (RULES.md §4.2; enrollment.schedule "LD").
LYMPHODEPLETION_DAYS: tuple[int, ...] = (-5, -4, -3)


def lymphodepletion_dates(planned_infusion: date_type) -> dict[int, date_type]:
    """Study day -> date of each planned lymphodepletion day (Day −5 to −3 of the infusion)."""
    return {day: planned_infusion + timedelta(days=day) for day in LYMPHODEPLETION_DAYS}
