"""The ``Permissions-Policy`` header (W3C Permissions Policy; issue 9 §4).

An EDC needs no camera, microphone, location, payment or sensor: every such browser feature is
switched off for the site and anything it embeds, so an injected script cannot ask for them.
"""

from __future__ import annotations

from django.conf import settings


def header_value(policy: dict[str, list[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` -> ``camera=(), fullscreen=(self)``."""
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = header_value(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response
