"""One handler maps service errors to HTTP (docs/architecture.md §10 "Errors"): 400, 409, 423, 428.

A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a JSON 413 and a locked account a JSON 429, each
with a ``code`` (``trialsite.api.errors``; issue 9 §4).

Field problems come back as ``{"errors": {field: [messages]}, "code": ...}`` so API clients see
the same field-level messages as the forms. Record state problems (a stale or missing version, a
locked record) are RFC 9457 problem details (``application/problem+json``) that keep the
``detail`` and ``code`` keys clients already read.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from trialsite.api.errors import CodedApiError, RequestTooLarge
from trialsite.records.exceptions import (
    RecordLocked,
    RecordStateError,
    SignatureRefused,
    StaleVersion,
    VersionRequired,
)

_STATUS = {
    StaleVersion: status.HTTP_409_CONFLICT,
    VersionRequired: status.HTTP_428_PRECONDITION_REQUIRED,
    RecordLocked: status.HTTP_423_LOCKED,
    SignatureRefused: status.HTTP_403_FORBIDDEN,
}


_TITLES = {
    "stale_version": "The record changed since it was read",
    "version_required": "The version that was read is required",
    "record_locked": "The record is locked",
    "signature_refused": "The signature was refused",
}


def _codes(exc: DjangoValidationError) -> list[str]:
    return (
        sorted({e.code for e in exc.error_list if getattr(e, "code", None)})
        if hasattr(exc, "error_list")
        else []
    )


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):  # DRF reads request.body, which enforces the limit
        exc = RequestTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        else:
            errors = {"non_field_errors": [str(m) for m in exc.messages]}
        codes = sorted(
            {e.code for errs in getattr(exc, "error_dict", {}).values() for e in errs if e.code}
        ) or _codes(exc)
        return Response({"errors": errors, "codes": codes}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        codes = exc.get_codes()
        flat = sorted(
            {c for v in (codes.values() if isinstance(codes, dict) else [codes]) for c in _flat(v)}
        )
        return Response({"errors": detail, "codes": flat}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RecordStateError):
        code = _STATUS.get(type(exc), status.HTTP_409_CONFLICT)
        body = {
            "type": f"urn:trialsite:problem:{exc.code}",
            "title": _TITLES.get(exc.code, "Record state conflict"),
            "status": code,
            "detail": exc.message,
            "code": exc.code,
        }
        if isinstance(exc, StaleVersion | VersionRequired):
            body["current_version"] = exc.current_version
        return Response(body, status=code, content_type="application/problem+json")
    if isinstance(exc, CodedApiError):
        response = drf_exception_handler(exc, context)
        response.data = {"detail": exc.detail, "code": exc.detail.code}
        return response
    return drf_exception_handler(exc, context)


def _flat(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [c for v in value.values() for c in _flat(v)]
    return [c for v in value for c in _flat(v)]
