"""The lab test catalogue: which tests a panel holds, their units, normal ranges and CTCAE term.

Data, not rules: grading stays in ``safety.rules.ctcae_lab_assessment`` (one implementation).
A test that CTCAE v5.0 grades from the value names its ``safety.rules.CTCAE_TERMS`` term and
accepts exactly the units the rules accept for that term (so a unit the rules cannot convert is
refused before grading); every other test gets an H/L flag only. ``units`` maps each accepted
unit to the factor that turns a value in it into the default unit; it converts the catalogue's
default normal range into the unit a lab reports, and a baseline reported in another unit into
the unit of the graded value (the rules convert their own cut-offs, never the value).

Default normal ranges are typical adult reference intervals (Tietz Clinical Guide to Laboratory
Tests; CTCAE golden cases use ANC LLN 1.8, Hgb LLN 12.0, ALT ULN 40, bilirubin ULN 1.2,
creatinine ULN 1.1); each lab entry may override LLN/ULN with its own reference range.
Conversion factors: bilirubin 17.1 umol/L per mg/dL, creatinine 88.4 umol/L per mg/dL,
1 ukat/L = 60 U/L, Hgb 0.6206 mmol/L per g/dL (RULES.md conventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from safety.rules import CTCAE_TERMS

D = Decimal

CBC = "cbc"
CHEMISTRY = "chemistry"
COAGULATION = "coagulation"
INFLAMMATION = "inflammation"
GROUPS = {
    CBC: "Blood count with differential",
    CHEMISTRY: "Chemistry",
    COAGULATION: "Coagulation",
    INFLAMMATION: "Inflammation and cytokines",
}

_COUNTS = {
    "10^9/L": D(1),
    "x10^9/L": D(1),
    "10^3/uL": D(1),
    "/mm3": D("0.001"),
    "/uL": D("0.001"),
    "cells/uL": D("0.001"),
    "cells/mm3": D("0.001"),
}
_HGB = {"g/dL": D(1), "g/L": D("0.1"), "mmol/L": D(1) / D("0.6206")}
_ENZYME = {"U/L": D(1), "IU/L": D(1), "ukat/L": D(60)}
_BILI = {"mg/dL": D(1), "umol/L": D(1) / D("17.1")}
_CREAT = {"mg/dL": D(1), "umol/L": D(1) / D("88.4")}


@dataclass(frozen=True)
class LabTest:
    code: str
    label: str
    group: str
    unit: str  # the default unit; ``lln``/``uln`` are in it
    units: dict[str, Decimal]
    lln: Decimal | None = None
    uln: Decimal | None = None
    ctcae_term: str | None = None

    def canonical_unit(self, unit: str | None) -> str | None:
        """The catalogue spelling of ``unit`` (case, µ/u), or None when not accepted."""
        if unit is None:
            return None
        key = str(unit).strip().replace("\u00b5", "u").replace("\u03bc", "u").lower()
        return next((u for u in self.units if u.lower() == key), None)

    def convert(self, value: Decimal | None, from_unit: str, to_unit: str) -> Decimal | None:
        """``value`` in ``from_unit`` expressed in ``to_unit`` (both accepted units)."""
        if value is None or from_unit == to_unit:
            return value
        return value * self.units[from_unit] / self.units[to_unit]

    @property
    def accepted_units(self) -> str:
        return ", ".join(self.units)


def _t(code, label, group, units, lln=None, uln=None, term=None, unit=None):
    if term is not None:
        # The rules' unit list is the contract: every unit they accept, and no other.
        assert set(units) == set(CTCAE_TERMS[term].units), code
    default = unit or next(iter(units))
    return LabTest(
        code,
        label,
        group,
        default,
        dict(units),
        None if lln is None else D(lln),
        None if uln is None else D(uln),
        term,
    )


TESTS: dict[str, LabTest] = {
    t.code: t
    for t in (
        _t("WBC", "White blood cells", CBC, _COUNTS, "4.0", "11.0", "White blood cell decreased"),
        _t("ANC", "Neutrophils (ANC)", CBC, _COUNTS, "1.8", "7.5", "Neutrophil count decreased"),
        _t("ALC", "Lymphocytes (ALC)", CBC, _COUNTS, "1.0", "4.0", "Lymphocyte count decreased"),
        _t("MONO", "Monocytes", CBC, _COUNTS, "0.2", "1.0"),
        _t("HGB", "Haemoglobin", CBC, _HGB, "12.0", "16.0", "Anemia"),
        _t("PLT", "Platelets", CBC, _COUNTS, "150", "400", "Platelet count decreased"),
        _t("CREAT", "Creatinine", CHEMISTRY, _CREAT, "0.6", "1.1", "Creatinine increased"),
        _t("ALT", "ALT", CHEMISTRY, _ENZYME, "7", "40", "Alanine aminotransferase increased"),
        _t("AST", "AST", CHEMISTRY, _ENZYME, "10", "40", "Aspartate aminotransferase increased"),
        _t("TBIL", "Total bilirubin", CHEMISTRY, _BILI, "0.2", "1.2", "Blood bilirubin increased"),
        _t("ALP", "Alkaline phosphatase", CHEMISTRY, _ENZYME, "40", "130"),
        _t("ALB", "Albumin", CHEMISTRY, {"g/dL": D(1), "g/L": D("0.1")}, "3.5", "5.0"),
        _t("LDH", "LDH", CHEMISTRY, _ENZYME, "120", "246"),
        _t("NA", "Sodium", CHEMISTRY, {"mmol/L": D(1), "mEq/L": D(1)}, "135", "145"),
        _t("K", "Potassium", CHEMISTRY, {"mmol/L": D(1), "mEq/L": D(1)}, "3.5", "5.1"),
        _t("CA", "Calcium", CHEMISTRY, {"mmol/L": D(1), "mg/dL": D("0.2495")}, "2.15", "2.55"),
        _t("MG", "Magnesium", CHEMISTRY, {"mmol/L": D(1), "mg/dL": D("0.4114")}, "0.66", "1.07"),
        _t("PHOS", "Phosphate", CHEMISTRY, {"mmol/L": D(1), "mg/dL": D("0.3229")}, "0.81", "1.45"),
        _t("GLU", "Glucose", CHEMISTRY, {"mmol/L": D(1), "mg/dL": D("0.0555")}, "3.9", "5.6"),
        _t("URIC", "Uric acid", CHEMISTRY, {"mg/dL": D(1), "umol/L": D(1) / D("59.48")}, "3.5",
           "7.2"),
        _t("PT", "Prothrombin time", COAGULATION, {"s": D(1)}, "11.0", "13.5"),
        _t("INR", "INR", COAGULATION, {"ratio": D(1)}, "0.8", "1.2"),
        _t("APTT", "aPTT", COAGULATION, {"s": D(1)}, "25", "35"),
        _t("FIB", "Fibrinogen", COAGULATION, {"g/L": D(1), "mg/dL": D("0.01")}, "2.0", "4.0"),
        _t("DDIMER", "D-dimer", COAGULATION, {"mg/L FEU": D(1), "ug/mL FEU": D(1),
           "ng/mL FEU": D("0.001")}, None, "0.5"),
        _t("FERRITIN", "Ferritin", INFLAMMATION, {"ng/mL": D(1), "ug/L": D(1)}, "30", "400"),
        _t("CRP", "C-reactive protein", INFLAMMATION, {"mg/L": D(1), "mg/dL": D(10)}, None, "5"),
        _t("IL6", "IL-6", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}, None, "7"),
        _t("IFNG", "IFN-\u03b3", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}, None, "15.6"),
        _t("IL10", "IL-10", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}, None, "9.1"),
        _t("TNFA", "TNF-\u03b1", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}, None, "8.1"),
        _t("IL2R", "Soluble IL-2 receptor", INFLAMMATION, {"U/mL": D(1), "pg/mL": D(1)}, None,
           "710"),
        # Cytokines of the CAR-T kinetics and CRS correlates (issue #13): flagged against the
        # lab's own reference range (no default: assays differ), never CTCAE-graded.
        _t("IL2", "IL-2", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}),
        _t("IL15", "IL-15", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}),
        _t("GMCSF", "GM-CSF", INFLAMMATION, {"pg/mL": D(1), "ng/L": D(1)}),
    )
}  # fmt: skip

#: Tests whose counts feed count recovery (safety.rules.BloodCount) and their unit there.
BLOOD_COUNT_TESTS = {"ANC": "10^9/L", "PLT": "10^9/L", "HGB": "g/dL"}


def find_test(code: str | None) -> LabTest | None:
    """The test of a catalogue code or label (case-insensitive), or None."""
    if not code:
        return None
    key = str(code).strip().lower()
    for test in TESTS.values():
        if key in (test.code.lower(), test.label.lower()):
            return test
    return None


def choices() -> list[tuple[str, str]]:
    return [(t.code, t.label) for t in TESTS.values()]
