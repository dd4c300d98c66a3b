"""Reading CTCAE v5.0 term files in NCI's layout (CSV or XLSX) into plain rows.

NCI CTEP publishes CTCAE v5.0 as ``CTCAE_v5.0.xlsx`` (27 Nov 2017), one row per term with the
columns *MedDRA Code, MedDRA SOC, CTCAE Term, Grade 1 … Grade 5, Definition* (and a
navigational note, ignored here). A grade the term does not have is printed "-": it is read as
an empty text, which is how ``CTCAETerm.max_grade`` knows that a term stops at grade 3.

The subset trialsite ships (``safety/terms_data/ctcae_v5_subset.csv``) uses the same layout, so
one reader serves both. Its MedDRA column is empty: codes are filled only from
``safety.rules.ctcae`` (the codes RULES.md §3.2 gives, with their [VERIFY] flags), never
invented. The CRS and ICANS rows this study grades by ASTCT 2019 are in
``astct_2019_terms.csv`` and are applied over any CTCAE file (``astct_rows``).

This module only parses; ``safety.services.terms`` writes the terms and the audit row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from safety.rules.ctcae import CTCAE_CLINICAL_TERMS, CTCAE_TERMS

DATA_DIR = Path(__file__).resolve().parent / "terms_data"
SHIPPED_FILE = DATA_DIR / "ctcae_v5_subset.csv"
ASTCT_FILE = DATA_DIR / "astct_2019_terms.csv"

#: Our field -> the NCI column heading (matched case- and space-insensitively).
COLUMNS = {
    "meddra_code": "MedDRA Code",
    "soc": "MedDRA SOC",
    "term": "CTCAE Term",
    "grade_1": "Grade 1",
    "grade_2": "Grade 2",
    "grade_3": "Grade 3",
    "grade_4": "Grade 4",
    "grade_5": "Grade 5",
    "definition": "Definition",
}
_NO_GRADE = {"", "-", "\u2013", "\u2014"}  # NCI prints a dash where a grade does not exist

#: The cytopenias the DLT criteria treat as hematologic (safety.rules.dlt_candidate).
HEMATOLOGIC_TERMS = frozenset(
    {
        "anemia",
        "neutrophil count decreased",
        "platelet count decreased",
        "white blood cell decreased",
        "lymphocyte count decreased",
    }
)
CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"


class TermFileError(ValueError):
    """The file is not in NCI's layout; the message names the row and column."""


@dataclass(frozen=True)
class TermRow:
    term: str
    soc: str
    meddra_code: int | None
    code_to_verify: bool
    definition: str
    grades: tuple[str, str, str, str, str]
    dlt_category: str
    other_specify: bool

    def field_values(self) -> dict:
        return {
            "soc": self.soc,
            "meddra_code": self.meddra_code,
            "code_to_verify": self.code_to_verify,
            "definition": self.definition,
            **{f"grade_{g}": text for g, text in enumerate(self.grades, start=1)},
            "dlt_category": self.dlt_category,
            "other_specify": self.other_specify,
        }


def dlt_category_for(term: str) -> str:
    """How the DLT criteria treat the term (``safety.rules.AE_CATEGORIES``)."""
    key = term.strip().lower()
    if key == CRS_TERM.lower():
        return "crs"
    if key == ICANS_TERM.lower():
        return "icans"
    if key in HEMATOLOGIC_TERMS:
        return "hematologic"
    return "non_hematologic"


def _key(heading: object) -> str:
    return " ".join(str(heading or "").split()).lower()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _code(raw: str, where: str) -> int | None:
    if not raw:
        return None
    try:
        code = int(raw)
    except ValueError:
        raise TermFileError(f"{where}: the MedDRA code {raw!r} is not a number.") from None
    if not 10_000_000 <= code <= 99_999_999:
        raise TermFileError(f"{where}: the MedDRA code {raw!r} is not an 8-digit code.")
    return code


_SHIPPED_CODES = {
    spec.term.lower(): (spec.meddra_llt_code, spec.code_to_verify)
    for spec in (*CTCAE_TERMS.values(), *CTCAE_CLINICAL_TERMS.values())
}


def parse_rows(rows: list[list[object]], *, from_nci: bool) -> list[TermRow]:
    """Rows of cells (the heading row somewhere in the first ten) -> TermRows.

    ``from_nci``: the codes come from NCI's file and are trusted; otherwise (the shipped subset)
    a code comes only from ``safety.rules.ctcae`` with its to-verify flag, and a term without one
    keeps a blank code marked to verify.
    """
    header_at = next(
        (
            i
            for i, row in enumerate(rows[:10])
            if {_key(v) for v in row} >= {_key(h) for h in COLUMNS.values()}
        ),
        None,
    )
    if header_at is None:
        missing = ", ".join(COLUMNS.values())
        raise TermFileError(f"No heading row with the columns {missing}.")
    positions = {_key(v): i for i, v in enumerate(rows[header_at])}
    index = {field: positions[_key(heading)] for field, heading in COLUMNS.items()}
    parsed: dict[str, TermRow] = {}
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cells = {f: _text(row[i]) if i < len(row) else "" for f, i in index.items()}
        if not any(cells.values()):
            continue
        where = f"Row {number}"
        if not cells["term"]:
            raise TermFileError(f"{where}: the CTCAE Term is empty.")
        if not cells["soc"]:
            raise TermFileError(f"{where}: the MedDRA SOC of {cells['term']!r} is empty.")
        grades = tuple("" if cells[f"grade_{g}"] in _NO_GRADE else cells[f"grade_{g}"]
                       for g in range(1, 6))  # fmt: skip
        if from_nci:
            code = _code(cells["meddra_code"], where)
            to_verify = code is None
        else:
            code, to_verify = _SHIPPED_CODES.get(cells["term"].lower(), (None, True))
        if cells["term"].lower() in parsed:
            raise TermFileError(f"{where}: {cells['term']!r} appears twice.")
        parsed[cells["term"].lower()] = TermRow(
            term=cells["term"],
            soc=cells["soc"],
            meddra_code=code,
            code_to_verify=to_verify,
            definition=cells["definition"],
            grades=grades,
            dlt_category=dlt_category_for(cells["term"]),
            other_specify=cells["term"].lower().endswith("other, specify"),
        )
    if not parsed:
        raise TermFileError("The file has a heading row but no terms.")
    return list(parsed.values())


def read_cells(content: bytes, file_name: str) -> list[list[object]]:
    """The cells of a CSV (UTF-8) or of the first sheet of an XLSX file."""
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # not an xlsx file
            raise TermFileError(f"Not a readable XLSX file: {exc}") from None
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    if file_name.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TermFileError("The CSV file is not UTF-8 text.") from None
        return list(csv.reader(io.StringIO(text)))
    raise TermFileError("Give a .xlsx or .csv file in NCI's CTCAE v5.0 layout.")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def shipped_rows() -> list[TermRow]:
    return parse_rows(read_cells(SHIPPED_FILE.read_bytes(), SHIPPED_FILE.name), from_nci=False)


def astct_rows() -> list[TermRow]:
    """CRS and ICANS as this study grades them (ASTCT 2019), applied over any CTCAE load."""
    return parse_rows(read_cells(ASTCT_FILE.read_bytes(), ASTCT_FILE.name), from_nci=False)
