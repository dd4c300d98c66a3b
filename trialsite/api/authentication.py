"""API authentication that answers like HTTP says (issue 9 §4).

``BasicAuthentication`` comes first in ``REST_FRAMEWORK``, so an unauthenticated call is 401 with
``WWW-Authenticate: Basic realm="trialsite"`` (RFC 9110 §11.6.1, §15.5.2) instead of the 403 DRF
gives when session authentication is first. A locked account (django-axes, after
``LOGIN_FAILURE_LIMIT`` failures) is told that it is locked, not that its password is wrong.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from rest_framework import authentication, exceptions

from trialsite.api.errors import AccountLocked


class BasicAuthentication(authentication.BasicAuthentication):
    www_authenticate_realm = "trialsite"

    def authenticate_credentials(self, userid, password, request=None):
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            http_request = getattr(request, "_request", request)
            if http_request is not None and AxesProxyHandler.is_locked(
                http_request, {"username": userid}
            ):
                raise AccountLocked() from None
            raise
