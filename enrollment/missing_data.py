"""Missing-data codes: why a result the eligibility rules need cannot be given.

CDASH distinguishes a result that is blank (not yet entered) from one that was *not done*
(``--STAT = "NOT DONE"`` with ``--REASND``, the reason) — CDISC CDASH IG v2.3 §8.3.3 — and
sites add *unknown* (done, result not obtainable) and *not applicable*. A coded field keeps no
value; the eligibility checklist treats every code as missing (a criterion is never passed on
a test that was not done) and says so in its message. Pure: no Django import.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

NOT_DONE = "not_done"
UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"
CODES = {NOT_DONE: "not done", UNKNOWN: "unknown", NOT_APPLICABLE: "not applicable"}
REASON_MAX = 200


@dataclass(frozen=True)
class Coded:
    """One coded field: its code and the reason given."""

    code: str
    reason: str

    @property
    def shown(self) -> str:
        """As a page shows it instead of the value: "Not done — sample haemolysed"."""
        return f"{CODES[self.code].capitalize()} — {self.reason}"


def problems(
    codes: object, *, codable: Collection[str], values: Mapping[str, object]
) -> dict[str, str]:
    """{field: problem} for a ``missing_codes`` mapping; empty when it is valid.

    ``codes`` is ``{field: {"code": "not_done", "reason": "..."}}``; ``codable`` the fields that
    may carry a code; ``values`` the record's values (a coded field must have none). The key
    ``""`` reports a malformed mapping.
    """
    if not isinstance(codes, Mapping):
        return {"": "Missing-data codes must be a mapping of field to code and reason."}
    found: dict[str, str] = {}
    for name, entry in codes.items():
        if name not in codable:
            found[""] = f"{name!s} cannot carry a missing-data code."
            continue
        if not isinstance(entry, Mapping):
            found[name] = "Give a code and a reason."
            continue
        code, reason = entry.get("code"), entry.get("reason")
        if code not in CODES:
            found[name] = f"The code must be one of: {', '.join(CODES.values())}."
        elif not isinstance(reason, str) or not reason.strip():
            found[name] = "Give the reason the value cannot be given."
        elif len(reason) > REASON_MAX:
            found[name] = f"Keep the reason to {REASON_MAX} characters."
        elif values.get(name) not in (None, ""):
            found[name] = "Give a value or a missing-data code, not both."
    return found


def parse(codes: object) -> dict[str, Coded]:
    """The valid entries of a stored mapping (invalid ones are ignored: validation refused them)."""
    if not isinstance(codes, Mapping):
        return {}
    return {
        name: Coded(entry["code"], str(entry.get("reason", "")))
        for name, entry in codes.items()
        if isinstance(entry, Mapping) and entry.get("code") in CODES
    }


def explain(message: str, needs: Collection[str], coded: Mapping[str, tuple[str, Coded]]) -> str:
    """A missing criterion's message, saying which needed result was not done and why.

    ``coded`` maps a fact key to (its label, its code): "ALT needed; ALT (U/L): not done
    (sample haemolysed)".
    """
    notes = [
        f"{label}: {CODES[c.code]} ({c.reason})"
        for key in needs
        if key in coded
        for label, c in [coded[key]]
    ]
    return "; ".join([message, *notes]) if notes else message
