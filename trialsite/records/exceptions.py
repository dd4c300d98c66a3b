"""Named record state problems; the API maps them to 409, 423 and 428 (docs/architecture.md)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

STALE_VERSION = _("This record was changed by {user} at {when}; reload to see their change.")
RECORD_LOCKED = _("This record is locked; a data manager must unlock it before any change.")
BAD_PASSWORD = _("The password is not correct; the record was not signed.")
VERSION_REQUIRED = _(
    "This record already exists (version {version}): reload it and send the version you read."
)


class RecordStateError(Exception):
    """Base of the record state errors; ``message`` is shown to the user as is."""

    code = "record_state"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StaleVersion(RecordStateError):
    """The record changed since the user loaded it (optimistic concurrency, architecture.md §6)."""

    code = "stale_version"

    def __init__(self, *, user: str, when: str, current_version: int, message=None):
        super().__init__(str(message or STALE_VERSION.format(user=user, when=when)))
        self.current_version = current_version


class VersionRequired(RecordStateError):
    """An update without the version it was based on (the API answers 428 Precondition Required).

    A write must say which version it read; without one it could overwrite a change it never
    saw. Code that legitimately writes without a read passes ``services.UNREAD``.
    """

    code = "version_required"

    def __init__(self, *, current_version: int):
        super().__init__(str(VERSION_REQUIRED.format(version=current_version)))
        self.current_version = current_version


class RecordLocked(RecordStateError):
    code = "record_locked"

    def __init__(self):
        super().__init__(str(RECORD_LOCKED))


class SignatureRefused(RecordStateError):
    code = "signature_refused"


def field_error(field: str, message, code: str):
    """A ValidationError for one field that keeps its code (a dict-form error drops ``code``)."""
    from django.core.exceptions import ValidationError

    return ValidationError({field: ValidationError(message, code=code)})
