"""Pure rules of the audit trail's integrity checks (no Django import; DESIGN.md §6).

Sources: 21 CFR 11.10(e) — "secure, computer-generated, time-stamped audit trails … Record
changes shall not obscure previously recorded information"; EMA *Guideline on computerised
systems and electronic data in clinical trials* (2023) §6.2 and Annex 1 — the audit trail must
be protected from deletion and alteration, and its integrity verifiable. The anchor MAC is
HMAC-SHA256 (RFC 2104) over a canonical JSON text, so a database superuser who can rewrite and
re-hash every audit row still cannot forge an anchor without the key kept outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

DELETE_ACTION = "delete"


def chain_key(content_type_id: int, object_id: str) -> str:
    """The text key of one record's chain in an anchor's ``heads`` (``"<ct id>:<pk>"``)."""
    return f"{content_type_id}:{object_id}"


def anchor_message(
    *,
    study_id: int,
    last_event_id: int,
    last_hash: str,
    event_count: int,
    heads: Mapping[str, list],
    created_at: str,
    prev_mac: str,
) -> str:
    """The canonical text an anchor's MAC covers: every stored field but the MAC itself."""
    return json.dumps(
        {
            "study": study_id,
            "last_event_id": last_event_id,
            "last_hash": last_hash,
            "event_count": event_count,
            "heads": dict(heads),
            "created_at": created_at,
            "prev_mac": prev_mac,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def anchor_mac(key: str, message: str) -> str:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``, as 64 hex digits."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def mac_matches(key: str, message: str, mac: str) -> bool:
    """Whether ``mac`` is the MAC of ``message`` under ``key`` (constant-time comparison)."""
    return hmac.compare_digest(anchor_mac(key, message), mac)


def tail_problem(
    *,
    chain_length: int,
    last_sequence: int,
    last_version: int | None,
    last_action: str,
    record_version: int | None,
) -> str | None:
    """What is wrong between a record's chain and the record itself, or None.

    Every audited write raises the record's ``version`` by one and appends one row stamped with
    the new version (creation is row 1 at version 1), so a present record at version *v* has a
    chain of exactly *v* rows whose last row carries version *v*; a deleted record's chain ends
    with its deletion row. ``record_version`` is None when the record no longer exists. This is
    what makes a removed *tail* visible: the hash links of the rows that remain still verify.
    """
    if record_version is None:
        if last_action != DELETE_ACTION:
            return (
                f"the record is gone but its audit trail ends at row {last_sequence} "
                "without a deletion row (rows removed from the end, or deleted outside the "
                "application)"
            )
        return None
    if last_action == DELETE_ACTION:
        return "the audit trail records the deletion of a record that still exists"
    if last_version != record_version or chain_length != record_version:
        return (
            f"the audit trail ends at version {last_version} ({chain_length} rows) but the "
            f"record is at version {record_version} (rows removed from the end)"
        )
    return None
