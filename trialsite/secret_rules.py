"""Which secrets production refuses: any key that is written in the repository (issue 9 §4).

A key that appears in the repository (the development defaults in ``trialsite/settings.py``, a
``change-me`` placeholder in a compose file or a README example) is public: whoever reads the
source can sign sessions and password-reset links with it (Django's ``SECRET_KEY`` documentation,
"Cryptographic signing") or forge audit anchors. Django's own deploy check (security.W009) only
catches keys prefixed ``django-insecure-`` or shorter than 50 characters / 5 distinct characters,
so ``change-me-change-me-…`` passes it. These rules are pure (no Django import).
"""

from __future__ import annotations

# The development defaults of trialsite/settings.py: public because they are in the source.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"
DEVELOPMENT_AUDIT_ANCHOR_KEY = "dev-only-audit-anchor-key-do-not-use-in-production"

# Words that mark a placeholder someone wrote into a file for others to copy.
PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "dev-only",
    "build-only",
    "insecure",
    "do-not-use",
    "example",
    "placeholder",
)

# Fewer distinct characters than this is a repeated pattern, not a random key.
MINIMUM_DISTINCT_CHARACTERS = 12


def public_secret_reason(value: str) -> str | None:
    """Why ``value`` is a known, public secret, or ``None`` when it looks like a real random key.

    >>> public_secret_reason("change-me-change-me-change-me-change-me-change-me-change-me")
    "it contains 'change-me', a placeholder written in the repository"
    >>> public_secret_reason("kq3V9w-0Zb1xTnR8s_LcY2pHf7uJdE4aGm6oWiKv5QeNrXyBzC") is None
    True
    """
    if value in (DEVELOPMENT_SECRET_KEY, DEVELOPMENT_AUDIT_ANCHOR_KEY):
        return "it is the development default written in trialsite/settings.py"
    lowered = value.lower()
    for marker in PLACEHOLDER_MARKERS:
        if marker in lowered:
            return f"it contains {marker!r}, a placeholder written in the repository"
    if len(set(value)) < MINIMUM_DISTINCT_CHARACTERS:
        return (
            f"it has fewer than {MINIMUM_DISTINCT_CHARACTERS} distinct characters "
            "(a repeated pattern, not a random key)"
        )
    return None
