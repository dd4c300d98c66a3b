"""Count recovery by the recovery day: the haematologic DLT rule.

Source: protocol-defined haematologic DLT (failure of count recovery, not low counts), default
ANC >= 0.5 and platelets >= 20 x10^9/L by Day 28 without transfusion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from safety.rules._values import _decimal, _fmt, _whole
from safety.rules.dlt_criteria import DEFAULT_DLT_CRITERIA, DLTCriteria, _bool, _coerce_criteria

# ---------------------------------------------------------------------------------------------
# Count recovery (hematologic DLT) and the DLT-window evaluation of one subject
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BloodCount:
    """One blood count after infusion: study day (Day 0 = infusion), ANC and platelets in
    x10^9/L and haemoglobin in g/dL (``None`` = not measured), and whether a platelet or a
    red-cell transfusion was given in the 7 days before it."""

    study_day: int
    anc_10e9_l: int | float | Decimal | None = None
    platelets_10e9_l: int | float | Decimal | None = None
    platelet_transfusion_within_7_days: bool = False
    hemoglobin_g_dl: int | float | Decimal | None = None
    red_cell_transfusion_within_7_days: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "study_day", _whole(self.study_day, "study_day"))
        _decimal(self.anc_10e9_l, "anc_10e9_l", minimum=0, allow_none=True)
        _decimal(self.platelets_10e9_l, "platelets_10e9_l", minimum=0, allow_none=True)
        _bool(self.platelet_transfusion_within_7_days, "platelet_transfusion_within_7_days")
        _decimal(self.hemoglobin_g_dl, "hemoglobin_g_dl", minimum=0, allow_none=True)
        _bool(self.red_cell_transfusion_within_7_days, "red_cell_transfusion_within_7_days")


@dataclass(frozen=True)
class CountRecoveryAssessment:
    """Count recovery for the hematologic DLT rule.

    status: "recovered" | "not_recovered" (hematologic DLT candidate) | "pending" (recovery day
    not reached, or no usable count yet) | "not_assessable" (left the study before the recovery
    day without recovering, or no usable count recorded by the recovery day + the criteria's
    ``recovery_grace_days``: a data query) | "not_applicable" (the criteria have no hematologic
    rule).
    recovery_day: the criteria's day. count_day: the study day of the count that decided.
    reasons: sentences an investigator reads.
    """

    status: str
    recovery_day: int | None
    count_day: int | None
    reasons: tuple[str, ...]

    @property
    def hematologic_dlt(self) -> bool | None:
        """True for failure of count recovery, False when recovered or not applicable."""
        if self.status == "not_recovered":
            return True
        if self.status in ("recovered", "not_applicable"):
            return False
        return None


def _count_meets(count: BloodCount, criteria: DLTCriteria) -> bool | None:
    anc = _decimal(count.anc_10e9_l, "anc_10e9_l", allow_none=True)
    plt = _decimal(count.platelets_10e9_l, "platelets_10e9_l", allow_none=True)
    anc_ok = None if anc is None else anc >= _decimal(criteria.recovery_anc_10e9_l, "anc")
    plt_ok = None if plt is None else plt >= _decimal(criteria.recovery_platelets_10e9_l, "plt")
    if (
        plt_ok
        and count.platelet_transfusion_within_7_days
        and criteria.recovery_excludes_transfused_platelets
    ):
        plt_ok = False
    checks = [anc_ok, plt_ok]
    if criteria.recovery_hemoglobin_g_dl is not None:
        hgb = _decimal(count.hemoglobin_g_dl, "hemoglobin_g_dl", allow_none=True)
        limit = _decimal(criteria.recovery_hemoglobin_g_dl, "recovery_hemoglobin_g_dl")
        hgb_ok = None if hgb is None else hgb >= limit
        if (
            hgb_ok
            and count.red_cell_transfusion_within_7_days
            and criteria.recovery_excludes_transfused_red_cells
        ):
            hgb_ok = False
        checks.append(hgb_ok)
    if False in checks:
        return False
    if all(checks):
        return True
    return None


def assess_count_recovery(
    counts: Iterable[BloodCount] | None,
    *,
    as_of_day: int,
    left_study_day: int | None = None,
    criteria: DLTCriteria | Mapping[str, object] = DEFAULT_DLT_CRITERIA,
) -> CountRecoveryAssessment:
    """Did blood counts recover by the study's recovery day (the hematologic DLT rule)?

    Why: after lymphodepletion and CLL1/CD38 CAR-T, cytopenia is expected; the protocol's
    hematologic DLT is failure of count recovery by a stated day (RULES.md §4.2), by default
    ANC >= 0.5 and platelets >= 20 x10^9/L by Day 28 (``DLTCriteria``). Recovery needs both
    thresholds on the same count; a platelet value within 7 days of a platelet transfusion does
    not show recovery (by default). ``recovery_rule`` "last_count" (default) judges the latest
    complete count in [recovery day - lookback, recovery day]; "any_count" accepts any complete
    count from Day 0 to the recovery day (and can report recovery before that day). Counts after
    the recovery day are ignored. ``as_of_day`` is today's study day, whose data may still be
    incomplete: on the recovery day itself a failing earlier count waits for that day's count.
    With no usable count in the lookback by Day X + ``recovery_grace_days`` (default 7) the
    result is "not_assessable", never pending for ever: pending through Day X + 7 (that day's
    data may still come in), not assessable from Day X + 8. A haemoglobin threshold
    (``recovery_hemoglobin_g_dl``) is optional; a haemoglobin within 7 days after red cells does
    not count, as a platelet count within 7 days after platelets does not.
    Whether cytopenia comes from persistent leukemia rather than the product is for the
    investigator, who confirms every candidate.
    """
    criteria = _coerce_criteria(criteria)
    as_of = _whole(as_of_day, "as_of_day", low=0)
    left = _whole(left_study_day, "left_study_day", low=0, allow_none=True)
    day = criteria.hematologic_recovery_day
    if day is None:
        return CountRecoveryAssessment(
            "not_applicable", None, None, ("The study's DLT criteria have no count-recovery rule.",)
        )
    items = []
    for count in counts or ():
        if not isinstance(count, BloodCount):
            raise ValueError(f"counts must be BloodCount records; got {type(count).__name__}")
        if count.study_day > as_of:
            raise ValueError(
                f"counts has a count on study day {count.study_day}, after as_of_day {as_of}"
            )
        items.append(count)
    items.sort(key=lambda c: c.study_day)
    observed_until = as_of if left is None else min(as_of, left)
    anc_text = _fmt(_decimal(criteria.recovery_anc_10e9_l, "anc"))
    plt_text = _fmt(_decimal(criteria.recovery_platelets_10e9_l, "plt"))
    target = f"ANC >= {anc_text} and platelets >= {plt_text} x10^9/L"
    first_lookback = max(0, day - criteria.recovery_lookback_days)

    if criteria.recovery_rule == "any_count":
        for count in items:
            if 0 <= count.study_day <= min(day, observed_until) and _count_meets(count, criteria):
                return CountRecoveryAssessment(
                    "recovered",
                    day,
                    count.study_day,
                    (f"Counts recovered ({target}) on Day {count.study_day}, by Day {day}.",),
                )
    if observed_until < day:
        if left is not None and left < day:
            return CountRecoveryAssessment(
                "not_assessable",
                day,
                None,
                (f"Left the study on Day {left}, before count recovery could be judged on "
                 f"Day {day}.",),
            )  # fmt: skip
        return CountRecoveryAssessment(
            "pending", day, None, (f"Count recovery is judged on Day {day}; today is Day {as_of}.",)
        )
    usable = [
        c
        for c in items
        if first_lookback <= c.study_day <= day and _count_meets(c, criteria) is not None
    ]
    if not usable and as_of > day + criteria.recovery_grace_days:
        return CountRecoveryAssessment(
            "not_assessable",
            day,
            None,
            (f"No usable blood count between Day {first_lookback} and Day {day} by Day "
             f"{day + criteria.recovery_grace_days}: count recovery cannot be assessed; a data "
             f"query is needed.",),
        )  # fmt: skip
    if not usable:
        return CountRecoveryAssessment(
            "pending",
            day,
            None,
            (f"No complete blood count between Day {first_lookback} and Day {day}: count "
             f"recovery cannot be judged yet.",),
        )  # fmt: skip
    last = usable[-1]
    if left is None and as_of == day and last.study_day < day:
        return CountRecoveryAssessment(
            "pending",
            day,
            None,
            (f"Today is Day {day}, the recovery day; its blood count is not recorded yet.",),
        )
    if criteria.recovery_rule == "last_count" and _count_meets(last, criteria):
        return CountRecoveryAssessment(
            "recovered", day, last.study_day, (f"Day {last.study_day} count meets {target}.",)
        )
    return CountRecoveryAssessment(
        "not_recovered",
        day,
        last.study_day,
        (f"Counts had not recovered to {target} by Day {day} (last count Day "
         f"{last.study_day}): hematologic DLT candidate.",),
    )  # fmt: skip
