"""The pure rules behind ``audit_verify``: the anchor MAC and a chain against its record."""

from __future__ import annotations

import pytest

from trialsite.records.audit_rules import anchor_mac, anchor_message, mac_matches, tail_problem

FIELDS = {
    "study_id": 1,
    "last_event_id": 42,
    "last_hash": "a" * 64,
    "event_count": 42,
    "heads": {"7:3": [3, "b" * 64, "Vital signs TJ-S-0002"]},
    "created_at": "2026-12-01T09:00:00+00:00",
    "prev_mac": "",
}


def test_the_mac_depends_on_the_key_and_on_every_field():
    message = anchor_message(**FIELDS)
    mac = anchor_mac("site-key", message)
    assert mac_matches("site-key", message, mac)
    assert not mac_matches("another-key", message, mac)
    for field, forged in [
        ("last_event_id", 41),
        ("event_count", 40),
        ("last_hash", "c" * 64),
        ("heads", {"7:3": [2, "b" * 64, "Vital signs TJ-S-0002"]}),
        ("created_at", "2026-12-01T10:00:00+00:00"),
        ("prev_mac", "d" * 64),
    ]:
        assert not mac_matches("site-key", anchor_message(**{**FIELDS, field: forged}), mac)


def test_the_mac_text_is_canonical_whatever_the_order_of_the_heads():
    one = anchor_message(**{**FIELDS, "heads": {"7:3": [1, "x", "r"], "7:4": [2, "y", "s"]}})
    two = anchor_message(**{**FIELDS, "heads": {"7:4": [2, "y", "s"], "7:3": [1, "x", "r"]}})
    assert one == two


def tail(length, last_version, last_action, record_version):
    return tail_problem(
        chain_length=length,
        last_sequence=length,
        last_version=last_version,
        last_action=last_action,
        record_version=record_version,
    )


@pytest.mark.parametrize(
    ("length", "last_version", "last_action", "record_version"),
    [(1, 1, "create", 1), (3, 3, "update", 3), (4, 3, "delete", None)],
)
def test_a_complete_chain_has_no_problem(length, last_version, last_action, record_version):
    assert tail(length, last_version, last_action, record_version) is None


def test_a_chain_shorter_than_the_record_version_lost_its_tail():
    assert tail(2, 2, "update", 3) == (
        "the audit trail ends at version 2 (2 rows) but the record is at version 3 "
        "(rows removed from the end)"
    )


def test_a_vanished_record_needs_a_deletion_row():
    assert tail(2, 2, "update", None).startswith(
        "the record is gone but its audit trail ends at row 2 without a deletion row"
    )
    assert tail(3, 2, "delete", 2) == (
        "the audit trail records the deletion of a record that still exists"
    )
