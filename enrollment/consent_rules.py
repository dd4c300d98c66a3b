"""Pure rules of consent, withdrawal, screen failure and rescreening (issue 10, items 1, 5–7).

No Django import: plain values in, plain values out (``docs/architecture.md §3``). Messages are
plain English; the services translate nothing here and put these messages on the field.

Sources: ICH E6(R3) §2.8 (informed consent: the approved version of the written information, the
legally acceptable representative and the impartial witness), 21 CFR 50.27 (documentation of
consent), protocol NCT06880354 §6 (screening, screen failure and rescreening).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

SCREEN_FAILURE_CATEGORIES = (
    "failed_criteria",
    "withdrew_consent",
    "died",
    "investigator_decision",
    "other",
)
SIGNED_BY_SUBJECT = "subject"
SIGNED_BY_LAR = "lar"

DEFAULT_APPROVED_ICF_VERSIONS = [
    {"version": "v2.1 2025-04-01", "approved_on": "2025-04-01"},
    {"version": "v2.2 2025-09-01", "approved_on": "2025-09-01"},
]


def validate_approved_icf_versions(value: object) -> list[dict]:
    """The study setting ``approved_icf_versions``: each ICF version the ethics committee approved.

    ICH E6(R3) §2.8.2: the subject signs the version of the written information the IRB/IEC
    approved. A non-empty list of ``{"version": text, "approved_on": "YYYY-MM-DD"}`` with unique
    versions; raises ``ValueError`` naming the problem (the settings page shows it).
    """
    if not isinstance(value, list) or not value:
        raise ValueError("approved_icf_versions must be a non-empty list of ICF versions")
    cleaned, seen = [], set()
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict) or set(item) != {"version", "approved_on"}:
            raise ValueError(f"ICF version {index} must have exactly version and approved_on")
        version = item["version"]
        if not isinstance(version, str) or not version.strip() or len(version) > 40:
            raise ValueError(f"ICF version {index}: version must be text of 1–40 characters")
        if version in seen:
            raise ValueError(f"ICF version {version!r} is listed twice")
        seen.add(version)
        try:
            approved = dt.date.fromisoformat(item["approved_on"])
        except (TypeError, ValueError):
            raise ValueError(
                f"ICF version {version!r}: approved_on must be a date (YYYY-MM-DD)"
            ) from None
        cleaned.append({"version": version, "approved_on": approved.isoformat()})
    return cleaned


def icf_version_problem(version: str, signed_on: dt.date | None, approved: Sequence[dict]) -> str:
    """Why ``version`` cannot be signed on ``signed_on`` ('' when it can).

    ICH E6(R3) §2.8.2: only an approved version may be used, and not before its approval.
    """
    found = next((item for item in approved if item["version"] == version), None)
    if found is None:
        known = ", ".join(item["version"] for item in approved)
        return f"{version!r} is not an approved ICF version of this study (approved: {known})."
    approved_on = dt.date.fromisoformat(found["approved_on"])
    if signed_on is not None and signed_on < approved_on:
        return (
            f"ICF {version} was approved on {approved_on.isoformat()}; it cannot have been "
            f"signed on {signed_on.isoformat()}."
        )
    return ""


def representative_problems(
    signed_by: str, representative_name: str, representative_relationship: str
) -> dict[str, str]:
    """Consent by a legally acceptable representative names them and their relationship.

    ICH E6(R3) §2.8.5 and 21 CFR 50.27(a): the LAR signs and dates the form; who signed must be
    documented. Representative fields on a consent the subject signed themself are refused, so the
    record cannot say two things at once.
    """
    problems = {}
    if signed_by == SIGNED_BY_LAR:
        if not representative_name.strip():
            problems["representative_name"] = (
                "Give the name of the legally acceptable representative."
            )
        if not representative_relationship.strip():
            problems["representative_relationship"] = (
                "Give the representative's relationship to the subject."
            )
    elif representative_name.strip() or representative_relationship.strip():
        problems["signed_by"] = (
            "A representative is named: choose “legally acceptable representative” as signer."
        )
    return problems


def screening_before_consent(screening_date: dt.date | None, first_consent: dt.date | None) -> bool:
    """Soft check SCR-BEFORE-ICF: screening dated before the first informed consent.

    ICH E6(R3) §2.8.1: no trial procedure before consent. A screening date before it is usually a
    typing error, sometimes a standard-of-care visit: a data query, not a refusal (issue 10 item 7).
    """
    return bool(screening_date and first_consent and screening_date < first_consent)


def screen_failure_problems(
    category: str, text: str, *, failed_criteria: Sequence[str]
) -> dict[str, str]:
    """What stops recording a screen failure with this category and text.

    Protocol §6.3: a screen failure records why. "Failed criteria" needs at least one failing
    criterion; the other reasons (a patient who declines, dies, or the investigator's decision)
    apply whatever the checklist says, so missing criteria do not block them. "Other" needs a
    description.
    """
    problems = {}
    if category not in SCREEN_FAILURE_CATEGORIES:
        problems["category"] = "Choose a reason category."
    elif category == "failed_criteria" and not failed_criteria:
        problems["category"] = (
            "No criterion fails: choose the reason that applies (declined, died, "
            "investigator decision or other)."
        )
    if category == "other" and not text.strip():
        problems["text"] = "Describe the reason."
    return problems
