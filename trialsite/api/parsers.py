"""A JSON parser that refuses a too-deeply-nested body with a JSON 400, not a 500 (issue 9 §4).

DRF's parser lets the ``RecursionError`` of ``'[' * 100000`` escape as a 500. This one turns it,
and any body nested deeper than ``MAX_JSON_DEPTH`` (no CRF is deeper than 2; the limit only stops
abuse), into a ``ParseError``. A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused before it is
parsed (DRF reads it through ``request.body``): the exception handler answers that with 413.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32


def nesting_depth(value) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), iteratively."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> ParseError:
    return ParseError(
        _("JSON parse error - nested more than %(depth)d levels deep.") % {"depth": MAX_JSON_DEPTH}
    )


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if nesting_depth(data) > MAX_JSON_DEPTH:
            raise _too_deep()
        return data
