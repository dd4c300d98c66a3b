"""Who must hear, in the same transaction, that a subject's participation changed.

A withdrawal of consent, its reversal, a screen failure (and its reversal) and an off-study
record change what other apps derived from the subject: the DLT evaluation makes a subject who
left inside the 28-day window "not evaluable" (``safety.services.dlt.refresh_dlt_evaluation``).
Enrollment may not import those apps (DESIGN.md §2: safety imports enrollment, never the
reverse), so they register a function here in their ``AppConfig.ready()`` and enrollment's
services call every registered one inside their transaction, under the subject's lock, so the
change and its consequences commit together (no wait for the next beat run).

A hook is ``fn(subject, *, actor, reason)``; it must not commit or open its own transaction
(an error in it rolls the whole change back, as for any derived record).
"""

from __future__ import annotations

from collections.abc import Callable

StatusHook = Callable[..., object]

_HOOKS: list[StatusHook] = []


def register(fn: StatusHook) -> StatusHook:
    """Add ``fn`` once (``ready()`` can run twice in tests); returns it, so it decorates."""
    if fn not in _HOOKS:
        _HOOKS.append(fn)
    return fn


def registered() -> tuple[StatusHook, ...]:
    return tuple(_HOOKS)


def participation_changed(subject, *, actor, reason: str) -> None:
    """Run every registered hook for ``subject`` (the caller holds the subject lock)."""
    for fn in _HOOKS:
        fn(subject, actor=actor, reason=reason)
