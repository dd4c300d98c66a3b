"""CTCAE v5.0 laboratory grades (counts, haemoglobin, liver enzymes, bilirubin, creatinine).

Source: NCI CTCAE v5.0 (27 Nov 2017); baseline-abnormal rules as in pharmaverse/admiral
``data-raw/adlb_grading/ncictcaev5.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rulekit.validation import allowed_text
from safety.rules._values import _decimal
from safety.rules.settings import _setting_choice

# ---------------------------------------------------------------------------------------------
# CTCAE v5.0 lab grades (RULES.md §3.2-§3.4)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CTCAETerm:
    """A CTCAE v5.0 term: MedDRA LLT code (MedDRA v20.1), primary SOC, the direction the lab
    value moves for the term ("decreased" | "increased", ``None`` for clinical terms), the
    default unit, the units accepted, and ``code_to_verify`` = True where RULES.md marks the
    code [VERIFY] (or it is not in RULES.md): read it from NCI's CTCAE_v5.0.xlsx before relying
    on it."""

    term: str
    meddra_llt_code: int
    soc: str
    direction: str | None
    default_unit: str | None
    units: tuple[str, ...]
    code_to_verify: bool = False


_COUNT_UNITS = ("10^9/L", "x10^9/L", "10^3/uL", "/mm3", "/uL", "cells/uL", "cells/mm3")
_HGB_UNITS = ("g/dL", "g/L", "mmol/L")
_MASS_UNITS = ("mg/dL", "umol/L")
_ENZYME_UNITS = ("U/L", "IU/L", "ukat/L")
_INVESTIGATIONS = "Investigations"
_BLOOD = "Blood and lymphatic system disorders"

CTCAE_TERMS: dict[str, CTCAETerm] = {
    t.term: t
    for t in (
        CTCAETerm("Neutrophil count decreased", 10029366, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS),
        CTCAETerm("Platelet count decreased", 10035528, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS, code_to_verify=True),
        CTCAETerm("White blood cell decreased", 10049182, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS, code_to_verify=True),
        CTCAETerm("Lymphocyte count decreased", 10025256, _INVESTIGATIONS, "decreased",
                  "10^9/L", _COUNT_UNITS, code_to_verify=True),
        CTCAETerm("Anemia", 10002272, _BLOOD, "decreased", "g/dL", _HGB_UNITS),
        CTCAETerm("Alanine aminotransferase increased", 10001551, _INVESTIGATIONS,
                  "increased", "U/L", _ENZYME_UNITS),
        CTCAETerm("Aspartate aminotransferase increased", 10003481, _INVESTIGATIONS,
                  "increased", "U/L", _ENZYME_UNITS),
        CTCAETerm("Blood bilirubin increased", 10005364, _INVESTIGATIONS, "increased",
                  "mg/dL", _MASS_UNITS),
        CTCAETerm("Creatinine increased", 10011368, _INVESTIGATIONS, "increased", "mg/dL",
                  _MASS_UNITS),
    )
}  # fmt: skip

#: Clinical (not lab-gradable) CTCAE v5.0 terms used by this module, for AE coding.
CTCAE_CLINICAL_TERMS: dict[str, CTCAETerm] = {
    t.term: t
    for t in (
        CTCAETerm("Febrile neutropenia", 10016288, _BLOOD, None, None, ()),
        CTCAETerm("Hypotension", 10021097, "Vascular disorders", None, None, ()),
        CTCAETerm("Hypoxia", 10021143, "Respiratory, thoracic and mediastinal disorders",
                  None, None, ()),
        CTCAETerm("Cytokine release syndrome", 10052015, "Immune system disorders", None,
                  None, (), code_to_verify=True),
        CTCAETerm("Fever", 10016558, "General disorders and administration site conditions",
                  None, None, (), code_to_verify=True),
    )
}  # fmt: skip

# Decreasing terms: default-unit cut-offs (grade 2 below, grade 3 below, grade 4 below).
_DECREASING_CUTOFFS: dict[str, tuple[str, str, str | None]] = {
    "Neutrophil count decreased": ("1.5", "1.0", "0.5"),
    "Platelet count decreased": ("75", "50", "25"),
    "White blood cell decreased": ("3.0", "2.0", "1.0"),
    "Lymphocyte count decreased": ("0.8", "0.5", "0.2"),
    # Grade 4 anemia is clinical (life-threatening, urgent intervention): not from Hgb alone.
    "Anemia": ("10.0", "8.0", None),
}
_HGB_MMOL_L_CTCAE = ("6.2", "4.9", None)  # as printed in CTCAE v5.0
_HGB_MMOL_L_PER_G_DL = Decimal("0.6206")

# ULN/baseline multiples (grade 2 above, grade 3 above, grade 4 above).
_LIVER_MULTIPLES = {
    "Alanine aminotransferase increased": ("3.0", "5.0", "20.0"),
    "Aspartate aminotransferase increased": ("3.0", "5.0", "20.0"),
    "Blood bilirubin increased": ("1.5", "3.0", "10.0"),
}
# Grade 1 for an abnormal baseline: ALT/AST ">= 1.5 x baseline", bilirubin "> 1.0 x baseline".
_ABNORMAL_BASELINE_G1 = {
    "Alanine aminotransferase increased": ("1.5", True),
    "Aspartate aminotransferase increased": ("1.5", True),
    "Blood bilirubin increased": ("1.0", False),
}


def _canonical_unit(unit: str | None, term: CTCAETerm) -> str:
    if unit is None:
        return term.default_unit
    if isinstance(unit, str):
        key = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u").lower()
        for allowed in term.units:
            if allowed.lower() == key:
                return allowed
    raise ValueError(
        f"unit {unit!r} is not allowed for {term.term!r}; allowed: {allowed_text(term.units)}"
    )


def _canonical_term(term: object) -> CTCAETerm:
    if isinstance(term, str):
        key = term.strip().lower()
        for name, spec in CTCAE_TERMS.items():
            if name.lower() == key:
                return spec
    raise ValueError(
        f"term must be a lab-gradable CTCAE v5.0 term, one of {allowed_text(CTCAE_TERMS)}; "
        f"got {term!r}"
    )


def _decreasing_cutoffs(term: str, unit: str, hgb_mmol_rule: str) -> list[tuple[int, Decimal]]:
    texts = _DECREASING_CUTOFFS[term]
    factor = Decimal(1)
    if unit in ("/mm3", "/uL", "cells/uL", "cells/mm3"):
        factor = Decimal(1000)
    elif unit == "g/L":
        factor = Decimal(10)
    elif unit == "mmol/L":
        if hgb_mmol_rule == "ctcae":
            texts = _HGB_MMOL_L_CTCAE
        else:
            factor = _HGB_MMOL_L_PER_G_DL
    return [
        (grade, Decimal(t) * factor)
        for grade, t in zip((2, 3, 4), texts, strict=True)
        if t is not None
    ]


def ctcae_lab_grade(
    term: str,
    value: float | None,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    unit: str | None = None,
    creatinine_baseline_rule: str = "literal",
    hemoglobin_mmol_l_cutoffs: str = "converted",
) -> int | None:
    """CTCAE v5.0 grade (0-4) of one lab value, or ``None`` when it cannot be determined.

    Why: lab toxicities are graded the same way for AE reporting, LBTOXGR/ATOXGR and DLT review.
    Source: NCI CTCAE v5.0 (27 Nov 2017), terms in SOC Investigations and Blood and lymphatic
    system disorders (RULES.md §3.2), boundaries per RULES.md §3.3, baseline rules per §3.4,
    cross-checked with pharmaverse/admiral ``ncictcaev5.json``.

    Terms: see ``CTCAE_TERMS`` (matched case-insensitively). Decreasing terms ("< A - B" means
    B <= x < A): neutrophils 1.5/1.0/0.5, platelets 75/50/25, white blood cells 3.0/2.0/1.0,
    lymphocytes 0.8/0.5/0.2 x10^9/L; anemia Hgb 10.0/8.0 g/dL (grade 3 at most: grade 4 needs
    clinical input). The numeric grades 2-4 apply whatever the LLN; grade 1 needs value < LLN.
    Increasing terms ("> A - B" means A < x <= B) are multiples of ULN: ALT/AST 3/5/20,
    bilirubin 1.5/3/10. When baseline > ULN ("baseline abnormal"), the multiples apply to the
    baseline instead; grade 1 is then >= 1.5 x baseline (ALT/AST) or > baseline (bilirubin).
    Creatinine: grade 1 > ULN - 1.5 x ULN; grade 2 > 1.5 - 3 x baseline or ULN; grade 3
    > 3 x baseline or > 3 - 6 x ULN; grade 4 > 6 x ULN; the worse reading counts.
    [SETTING] ``creatinine_baseline_rule``: "literal" (default, admiral: the baseline criteria
    apply even while the value is <= ULN, CRE-03 -> 2) | "only_above_uln" (CRE-03 -> 0).

    ``unit`` names the unit of value, lln, uln and baseline alike: counts in "10^9/L"
    (default), "10^3/uL", "/mm3" or "/uL"; hemoglobin in "g/dL" (default), "g/L" or "mmol/L";
    bilirubin and creatinine in "mg/dL" (default) or "umol/L"; enzymes in "U/L", "IU/L" or
    "ukat/L". The cut-offs are converted into the reporting unit (exact decimal
    multiplication), never the value. [SETTING] ``hemoglobin_mmol_l_cutoffs``: "converted"
    (default: 10.0 and 8.0 g/dL x 0.6206 = 6.206 and 4.9648 mmol/L, RULES.md conventions, so
    the grade does not depend on the reporting unit) | "ctcae" (6.2 and 4.9 mmol/L, the
    rounded values printed in CTCAE v5.0).

    Returns ``None`` (the contract says int; documented exception, as admiral returns missing)
    when the value is ``None``; for a decreasing term without LLN when the value is not below
    the grade-2 cut-off; for an increasing term without ULN. Baseline is not used by the
    decreasing terms (CTCAE v5.0 has no baseline rule for them).
    """
    spec = _canonical_term(term)
    unit_name = _canonical_unit(unit, spec)
    creatinine_rule = _setting_choice(creatinine_baseline_rule, "creatinine_baseline_rule")
    hgb_rule = _setting_choice(hemoglobin_mmol_l_cutoffs, "hemoglobin_mmol_l_cutoffs")
    x = _decimal(value, "value", minimum=0, allow_none=True)
    low = _decimal(lln, "lln", positive=True, allow_none=True)
    high = _decimal(uln, "uln", positive=True, allow_none=True)
    base = _decimal(baseline, "baseline", minimum=0, allow_none=True)
    if x is None:
        return None
    if spec.direction == "decreased":
        for grade, cutoff in reversed(_decreasing_cutoffs(spec.term, unit_name, hgb_rule)):
            if x < cutoff:
                return grade
        if low is None:
            return None
        return 1 if x < low else 0
    if spec.term == "Creatinine increased" and base is not None and base == 0:
        raise ValueError("baseline must be greater than 0 for 'Creatinine increased'; got 0")
    if high is None:
        return None
    if spec.term == "Creatinine increased":
        return _creatinine_grade(x, high, base, creatinine_rule)
    return _liver_grade(spec.term, x, high, base)


def _liver_grade(term: str, x: Decimal, uln: Decimal, baseline: Decimal | None) -> int:
    g2, g3, g4 = (Decimal(m) for m in _LIVER_MULTIPLES[term])
    abnormal = baseline is not None and baseline > uln
    reference = baseline if abnormal else uln
    if x > g4 * reference:
        return 4
    if x > g3 * reference:
        return 3
    if x > g2 * reference:
        return 2
    if not abnormal:
        return 1 if x > uln else 0
    multiple, inclusive = _ABNORMAL_BASELINE_G1[term]
    limit = Decimal(multiple) * reference
    return 1 if (x >= limit if inclusive else x > limit) else 0


def _creatinine_grade(x: Decimal, uln: Decimal, baseline: Decimal | None, rule: str) -> int:
    if x > 6 * uln:
        by_uln = 4
    elif x > 3 * uln:
        by_uln = 3
    elif x > Decimal("1.5") * uln:
        by_uln = 2
    else:
        by_uln = 1 if x > uln else 0
    by_baseline = 0
    if baseline is not None:
        if x > 3 * baseline:
            by_baseline = 3
        elif x > Decimal("1.5") * baseline:
            by_baseline = 2
    if rule == "only_above_uln" and x <= uln:
        return 0
    return max(by_uln, by_baseline)


#: Terms whose grade reads the baseline (RULES.md §3.4); without one they grade against normal.
BASELINE_TERMS: frozenset[str] = frozenset(
    {*_LIVER_MULTIPLES, "Creatinine increased"},
)
BASELINE_NOT_RECORDED = "baseline_not_recorded"


@dataclass(frozen=True)
class CTCAELabGrade:
    """A CTCAE v5.0 lab grade with the flags a data manager acts on.

    grade: as ``ctcae_lab_grade`` returns it (0-4, or ``None`` when it cannot be determined).
    flags: ``"baseline_not_recorded"`` when the term has baseline-relative criteria (ALT, AST,
    bilirubin, creatinine) and no baseline was given: the grade was read against a normal
    baseline and a data query should ask for the baseline value.
    """

    grade: int | None
    flags: tuple[str, ...] = ()

    @property
    def needs_query(self) -> bool:
        """True when a flag asks for a data query."""
        return bool(self.flags)


def ctcae_lab_assessment(
    term: str,
    value: float | None,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    unit: str | None = None,
    creatinine_baseline_rule: str = "literal",
    hemoglobin_mmol_l_cutoffs: str = "converted",
) -> CTCAELabGrade:
    """``ctcae_lab_grade`` plus its flags (same parameters, same grade).

    Why: a missing baseline for ALT, AST, bilirubin or creatinine is graded as a normal baseline
    (NCI CTCAE v5.0 gives no rule for an unknown baseline; admiral treats it as normal), but the
    grade may then be too high for a subject whose baseline was abnormal, so the result carries
    "baseline_not_recorded" and the safety app opens a data query on it. The contract's
    ``ctcae_lab_grade`` keeps returning a plain int.
    """
    grade = ctcae_lab_grade(
        term,
        value,
        lln=lln,
        uln=uln,
        baseline=baseline,
        unit=unit,
        creatinine_baseline_rule=creatinine_baseline_rule,
        hemoglobin_mmol_l_cutoffs=hemoglobin_mmol_l_cutoffs,
    )
    spec = _canonical_term(term)
    flags = (BASELINE_NOT_RECORDED,) if spec.term in BASELINE_TERMS and baseline is None else ()
    return CTCAELabGrade(grade, flags)
