"""The screening part of a CONSORT flow diagram: who was screened, and why they were excluded.

CONSORT 2010 (Schulz et al., BMJ 2010;340:c332), flow diagram, "Enrolment" box: assessed for
eligibility (n), excluded (n) with the reasons — "not meeting inclusion criteria", "declined",
"other". A sponsor asks for the exclusions by protocol criterion. A subject excluded for a
sub-item (EX12.2, HBsAg positive) and for another sub-item of the same criterion (EX12.3)
counts once under EX12; a subject failing two criteria counts once under each. Pure: no Django.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping


def top_level(code: str) -> str:
    """The protocol criterion a sub-item belongs to: ``"EX12.2"`` → ``"EX12"``."""
    return code.split(".", 1)[0]


def _criterion_key(code: str) -> tuple[int, int]:
    """Inclusion before exclusion, then by number: IN1, IN2, …, IN10, EX1, …"""
    kind = 0 if code.startswith("IN") else 1
    digits = "".join(ch for ch in code if ch.isdigit())
    return kind, int(digits or 0)


def failures_by_criterion(reason_lists: Iterable[Iterable[Mapping]]) -> list[tuple[str, int]]:
    """(criterion, subjects excluded by it), each top-level criterion once per subject.

    ``reason_lists`` holds one list per screen-failed subject, as stored on the subject:
    ``[{"code": "EX12.2", "message": "..."}, ...]``. Ordered as the protocol lists criteria.
    """
    counts: Counter[str] = Counter()
    for reasons in reason_lists:
        codes = {top_level(str(r.get("code", ""))) for r in reasons if r.get("code")}
        counts.update(codes)
    return sorted(counts.items(), key=lambda item: _criterion_key(item[0]))
