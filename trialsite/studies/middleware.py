"""Attach the study the user is working in (the study switcher's choice) to each request."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from trialsite.studies.permissions import studies_for

SESSION_KEY = "trialsite_study_id"


def _current_study(request):
    studies = studies_for(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        study = studies.filter(pk=chosen).first()
        if study is not None:
            return study
    return studies.order_by("protocol_number").first()


class CurrentStudyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.study = SimpleLazyObject(lambda: _current_study(request))
        return self.get_response(request)
