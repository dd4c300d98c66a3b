"""Argument validation for coded values (settings and enumerated facts) of the rules modules.

One implementation of "is this value one of the allowed codes?" so that every rules module
accepts and rejects coded arguments the same way and names the allowed values in its message.
"""

from __future__ import annotations

from collections.abc import Iterable


def allowed_text(allowed: Iterable[object]) -> str:
    """The allowed values as a message fragment: ``'a', 'b', 1``."""
    return ", ".join(repr(a) for a in allowed)


def _same(value: object, allowed: object) -> bool:
    # True == 1 in Python; a boolean setting must not accept 1 and a count must not accept True.
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed
    return value == allowed


def choice(value: object, name: str, allowed: Iterable[object], *, normalize: bool = False):
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` naming them.

    ``normalize``: strip and lower-case a text value before matching (coded values typed by a
    person, e.g. a device or relatedness category); the allowed value is returned.
    Booleans match only themselves (``1`` is not ``True``); ``"1"`` is not ``1``.
    """
    allowed = tuple(allowed)
    key = value.strip().lower() if normalize and isinstance(value, str) else value
    for candidate in allowed:
        if _same(key, candidate):
            return candidate
    raise ValueError(f"{name} must be one of {allowed_text(allowed)}; got {value!r}")
