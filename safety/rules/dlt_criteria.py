"""The study's dose-limiting-toxicity definition (``DLTCriteria``), stored on the study as JSON.

Source: the protocol's DLT list; defaults are a typical CAR-T phase I definition (Day 0-28
window, ASTCT 2019 for CRS/ICANS, CTCAE v5.0 otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

from rulekit.validation import allowed_text, choice
from safety.rules._values import _decimal, _whole

# ---------------------------------------------------------------------------------------------
# DLT criteria, adverse-event facts and the DLT-candidate rule
# ---------------------------------------------------------------------------------------------

RELATEDNESS_CATEGORIES: tuple[str, ...] = (
    "unrelated",
    "unlikely",
    "possible",
    "probable",
    "definite",
)
AE_CATEGORIES: tuple[str, ...] = ("crs", "icans", "hematologic", "non_hematologic")
_RECOVERY_RULES = ("last_count", "any_count")
_CATEGORY_LABEL = {
    "crs": "CRS",
    "icans": "ICANS",
    "hematologic": "hematologic",
    "non_hematologic": "non-hematologic",
}


def _optional_grade(value: object, name: str, low: int = 1) -> int | None:
    return _whole(value, name, low=low, high=5, allow_none=True)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return value


def _json_number(value: Decimal | int | float) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


#: CTCAE v5.0 electrolyte abnormalities (Metabolism and nutrition disorders) exempt from the
#: grade-3 DLT rule when corrected within 72 h.
ELECTROLYTE_TERMS: tuple[str, ...] = (
    "Hypercalcemia",
    "Hyperkalemia",
    "Hypermagnesemia",
    "Hypernatremia",
    "Hypocalcemia",
    "Hypokalemia",
    "Hypomagnesemia",
    "Hyponatremia",
    "Hypophosphatemia",
)


@dataclass(frozen=True)
class DLTCriteria:
    """The study's dose-limiting-toxicity definition, stored on the Study as JSON.

    Why: the registry text names DLT as the primary endpoint (28 days after infusion) but not
    its criteria; they come from the protocol (RULES.md §4.2: in CLL1/CD38 CAR-T,
    myelosuppression is expected, so a hematologic DLT is failure of count recovery by a stated
    day, not low counts). The default is a typical CAR-T phase I definition:

    * any related grade 5 event;
    * grade 4 CRS, or grade 3 CRS that does not resolve to grade <= 2 within 72 h;
    * grade >= 3 ICANS;
    * grade 4 related non-hematologic toxicity, regardless of duration
      (``grade4_nonheme_always_dlt``);
    * grade 3 related non-hematologic toxicity that does not resolve to grade <= 2 within
      72 h (so a grade 3 lab abnormality that resolves within 72 h is not a DLT);
    * failure of count recovery: ANC >= 0.5 and platelets >= 20 x10^9/L not reached by Day 28.

    Exempt by default (expected CAR-T events): grade 3 CRS that resolves within 72 h,
    cytopenias before the recovery day (hematologic events are never DLTs by grade alone),
    grade 3 "Fever" and grade 3 "Febrile neutropenia" (``exempt_terms``), grade 3 electrolyte
    abnormalities corrected within 72 h (``electrolyte_terms``), and grade 3 non-hematologic
    events that resolve within 72 h.

    Fields (every one is a key of ``to_dict()`` / ``from_dict()``):

    related_categories: investigator relatedness categories that count as "related to the
        product" (default possible, probable, definite; choices ``RELATEDNESS_CATEGORIES``).
    crs_icans_presumed_related: CRS and ICANS are, by their ASTCT definitions, effects of
        immune effector cells; when their relatedness is not yet recorded, treat them as
        related (an explicit assessment always wins). Default True.
    grade5_is_dlt: any related grade 5 (fatal) event is a DLT, whatever its category or
        exemption. Default True.
    crs_dlt_grade / icans_dlt_grade / non_hematologic_dlt_grade: grade at or above which a
        related event of that category is a DLT at once (``None`` = never at once).
        Defaults 4 / 3 / None.
    crs_unresolved_dlt_grade / icans_unresolved_dlt_grade / non_hematologic_unresolved_dlt_grade:
        grade (>= 3) at or above which a related event is a DLT if it does not resolve to
        grade <= 2 within the matching ``*_resolution_hours`` (``None`` = no such rule).
        Defaults 3 / None / 3.
    crs_resolution_hours / icans_resolution_hours / non_hematologic_resolution_hours: hours
        allowed to resolve to grade <= 2; resolving in exactly that time counts as in time.
        Default 72 each.
    hematologic_event_dlt_grade: grade at or above which a hematologic AE (cytopenia) is a DLT
        by itself; ``None`` (default) = hematologic DLT only as failure of count recovery.
    exempt_terms: CTCAE term -> highest grade that is exempt from the DLT definition for that
        term (matched case-insensitively, any category). Default {"Fever": 3,
        "Febrile neutropenia": 3}.
    hematologic_recovery_day: study day by which counts must have recovered (default 28);
        ``None`` = no hematologic DLT rule.
    recovery_anc_10e9_l / recovery_platelets_10e9_l: recovery thresholds, inclusive (>=).
        Defaults 0.5 and 20.
    recovery_rule: "last_count" (default): the latest complete count in the
        ``recovery_lookback_days`` before and on the recovery day must meet both thresholds;
        "any_count": any complete count from Day 0 to the recovery day meeting both counts.
    recovery_lookback_days: how far before the recovery day a count may be taken (default 7,
        the +/- 7-day count window of RULES.md §1.1).
    recovery_excludes_transfused_platelets: a platelet count taken within 7 days of a
        platelet transfusion is not evidence of recovery (default True).
    recovery_hemoglobin_g_dl: haemoglobin (g/dL, inclusive) that recovery also needs; ``None``
        (default) = haemoglobin is not part of recovery.
    recovery_excludes_transfused_red_cells: a haemoglobin taken within 7 days of a red-cell
        transfusion is not evidence of recovery (default True), as for platelets.
    recovery_grace_days: days after the recovery day by which a usable count must be recorded;
        with none by then the result is "not_assessable" (a data query), never pending for
        ever (default 7).
    grade4_nonheme_always_dlt: a related grade 4 non-haematologic toxicity is a DLT regardless
        of its duration (default True); False leaves grade 4 to the resolve-within-hours rule.
    electrolyte_terms / electrolyte_correction_hours: grade 3 electrolyte abnormalities
        (CTCAE v5.0 metabolism terms) corrected to grade <= 2 within that many hours (72,
        inclusive) are exempt, like fever and febrile neutropenia, even where the study makes
        grade 3 non-haematologic toxicity a DLT at once.
    related_grade_categories: categories whose related grades feed ``max_related_grade`` (the
        ATD trigger). Default crs, icans, non_hematologic: expected myelosuppression would
        otherwise trigger every ATD cohort.
    """

    related_categories: tuple[str, ...] = ("possible", "probable", "definite")
    crs_icans_presumed_related: bool = True
    grade5_is_dlt: bool = True
    crs_dlt_grade: int | None = 4
    crs_unresolved_dlt_grade: int | None = 3
    crs_resolution_hours: int | float | Decimal = 72
    icans_dlt_grade: int | None = 3
    icans_unresolved_dlt_grade: int | None = None
    icans_resolution_hours: int | float | Decimal = 72
    non_hematologic_dlt_grade: int | None = None
    non_hematologic_unresolved_dlt_grade: int | None = 3
    non_hematologic_resolution_hours: int | float | Decimal = 72
    hematologic_event_dlt_grade: int | None = None
    exempt_terms: tuple[tuple[str, int], ...] = (("Fever", 3), ("Febrile neutropenia", 3))
    hematologic_recovery_day: int | None = 28
    recovery_anc_10e9_l: int | float | Decimal = 0.5
    recovery_platelets_10e9_l: int | float | Decimal = 20
    recovery_rule: str = "last_count"
    recovery_lookback_days: int = 7
    recovery_excludes_transfused_platelets: bool = True
    related_grade_categories: tuple[str, ...] = ("crs", "icans", "non_hematologic")
    recovery_hemoglobin_g_dl: int | float | Decimal | None = None
    recovery_excludes_transfused_red_cells: bool = True
    recovery_grace_days: int = 7
    grade4_nonheme_always_dlt: bool = True
    electrolyte_terms: tuple[str, ...] = ELECTROLYTE_TERMS
    electrolyte_correction_hours: int | float | Decimal = 72

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("related_categories", self._categories("related_categories", RELATEDNESS_CATEGORIES))
        put(
            "related_grade_categories",
            self._categories("related_grade_categories", AE_CATEGORIES, allow_empty=True),
        )
        for name in (
            "crs_icans_presumed_related",
            "grade5_is_dlt",
            "recovery_excludes_transfused_platelets",
            "recovery_excludes_transfused_red_cells",
            "grade4_nonheme_always_dlt",
        ):
            _bool(getattr(self, name), name)
        for prefix in ("crs", "icans", "non_hematologic"):
            outright = _optional_grade(getattr(self, f"{prefix}_dlt_grade"), f"{prefix}_dlt_grade")
            unresolved = _optional_grade(
                getattr(self, f"{prefix}_unresolved_dlt_grade"),
                f"{prefix}_unresolved_dlt_grade",
                low=3,
            )
            if outright is not None and unresolved is not None and unresolved >= outright:
                raise ValueError(
                    f"{prefix}_unresolved_dlt_grade must be below {prefix}_dlt_grade "
                    f"({outright}); got {unresolved}"
                )
            put(f"{prefix}_dlt_grade", outright)
            put(f"{prefix}_unresolved_dlt_grade", unresolved)
            hours_name = f"{prefix}_resolution_hours"
            _decimal(getattr(self, hours_name), hours_name, positive=True)
        put(
            "hematologic_event_dlt_grade",
            _optional_grade(self.hematologic_event_dlt_grade, "hematologic_event_dlt_grade"),
        )
        put("exempt_terms", self._exempt_terms(self.exempt_terms))
        put(
            "hematologic_recovery_day",
            _whole(self.hematologic_recovery_day, "hematologic_recovery_day", low=0,
                   allow_none=True),
        )  # fmt: skip
        _decimal(self.recovery_anc_10e9_l, "recovery_anc_10e9_l", minimum=0)
        _decimal(self.recovery_platelets_10e9_l, "recovery_platelets_10e9_l", minimum=0)
        choice(self.recovery_rule, "recovery_rule", _RECOVERY_RULES, normalize=True)
        self._extra_checks()
        put("recovery_lookback_days", _whole(self.recovery_lookback_days,
                                             "recovery_lookback_days", low=0))  # fmt: skip

    def _extra_checks(self) -> None:
        _decimal(
            self.recovery_hemoglobin_g_dl, "recovery_hemoglobin_g_dl", minimum=0, allow_none=True
        )
        grace = _whole(self.recovery_grace_days, "recovery_grace_days", low=0)
        object.__setattr__(self, "recovery_grace_days", grace)
        _decimal(self.electrolyte_correction_hours, "electrolyte_correction_hours", positive=True)
        terms = self.electrolyte_terms
        if isinstance(terms, str) or not isinstance(terms, Iterable):
            raise ValueError("electrolyte_terms must be a list of CTCAE term texts")
        if not all(isinstance(t, str) and t.strip() for t in terms):
            raise ValueError(f"electrolyte_terms must be CTCAE term texts; got {terms!r}")
        object.__setattr__(self, "electrolyte_terms", tuple(t.strip() for t in terms))

    def is_electrolyte(self, term: str) -> bool:
        """Is ``term`` one of the electrolyte abnormalities (case-insensitive)?"""
        key = term.strip().lower()
        return any(t.lower() == key for t in self.electrolyte_terms)

    def _categories(
        self, name: str, allowed: tuple[str, ...], allow_empty: bool = False
    ) -> tuple[str, ...]:
        value = getattr(self, name)
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"{name} must be a list drawn from {allowed_text(allowed)}")
        items = tuple(choice(v, name, allowed, normalize=True) for v in value)
        if not items and not allow_empty:
            raise ValueError(f"{name} must name at least one of {allowed_text(allowed)}")
        return tuple(dict.fromkeys(items))

    @staticmethod
    def _exempt_terms(value: object) -> tuple[tuple[str, int], ...]:
        pairs = value.items() if isinstance(value, Mapping) else value
        if isinstance(pairs, str) or not isinstance(pairs, Iterable):
            raise ValueError("exempt_terms must map CTCAE terms to the highest exempt grade")
        result = []
        for pair in pairs:
            if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise ValueError(f"exempt_terms entries must be (term, grade) pairs; got {pair!r}")
            term, grade = pair
            if not isinstance(term, str) or not term.strip():
                raise ValueError(f"exempt_terms keys must be CTCAE term texts; got {term!r}")
            result.append((term.strip(), _whole(grade, "exempt_terms grade", low=1, high=4)))
        names = [term.lower() for term, _grade in result]
        if len(set(names)) != len(names):
            raise ValueError("exempt_terms must list each term once")
        return tuple(result)

    def exempt_grade(self, term: str) -> int | None:
        """Highest exempt grade for ``term`` (case-insensitive), or ``None``."""
        key = term.strip().lower()
        for name, grade in self.exempt_terms:
            if name.lower() == key:
                return grade
        return None

    def category_rule(self, category: str) -> tuple[int | None, int | None, Decimal]:
        """(DLT-at-once grade, DLT-if-unresolved grade, resolution hours) of a category.

        With ``grade4_nonheme_always_dlt`` the non-haematologic DLT-at-once grade is at most 4.
        """
        outright = getattr(self, f"{category}_dlt_grade")
        if category == "non_hematologic" and self.grade4_nonheme_always_dlt:
            outright = 4 if outright is None else min(outright, 4)
        return (
            outright,
            getattr(self, f"{category}_unresolved_dlt_grade"),
            _decimal(getattr(self, f"{category}_resolution_hours"), "resolution_hours"),
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict of every field (tuples as lists, exempt_terms as {term: grade})."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "exempt_terms":
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Decimal):
                value = _json_number(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DLTCriteria:
        """Build and validate criteria from stored JSON; missing keys take the defaults,
        unknown keys raise ``ValueError`` listing the allowed ones."""
        if not isinstance(data, Mapping):
            raise ValueError(f"DLT criteria must be a mapping; got {type(data).__name__}")
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown DLT criteria key(s) {allowed_text(unknown)}; allowed keys: "
                f"{allowed_text(allowed)}"
            )
        values = {}
        for name, value in data.items():
            if isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values)


DEFAULT_DLT_CRITERIA = DLTCriteria()


def _coerce_criteria(criteria: object) -> DLTCriteria:
    if isinstance(criteria, DLTCriteria):
        return criteria
    if isinstance(criteria, Mapping):
        return DLTCriteria.from_dict(criteria)
    raise ValueError(f"criteria must be a DLTCriteria or a mapping; got {criteria!r}")
