"""OpenAPI descriptions of trialsite's own API classes (drf-spectacular extensions)."""

from __future__ import annotations

from drf_spectacular.authentication import BasicScheme


class TrialsiteBasicScheme(BasicScheme):
    """``trialsite.api.authentication.BasicAuthentication`` is HTTP Basic, like DRF's."""

    target_class = "trialsite.api.authentication.BasicAuthentication"
    priority = 0
