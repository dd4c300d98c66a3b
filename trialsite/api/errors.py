"""API errors with a machine-readable ``code`` beside the ``detail`` (issue 9 §4)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class CodedApiError(APIException):
    """An API error whose body is ``{"detail": ..., "code": ...}``."""


class AccountLocked(CodedApiError):
    # The same status as the login page's lockout (django-axes' AXES_HTTP_RESPONSE_CODE).
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "account_locked"

    def __init__(self):
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        super().__init__(
            _(
                "This account is locked after too many failed logins. Try again in %(minutes)d "
                "minutes, or ask the study administrator to unlock it."
            )
            % {"minutes": minutes}
        )


class RequestTooLarge(CodedApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, limit: int):
        super().__init__(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
