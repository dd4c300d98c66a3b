"""Security headers of every page (issue 9 §4): a Content-Security-Policy that allows no inline
script, and a Permissions-Policy that switches off the browser features an EDC never uses.

The crawl also reads each page's HTML: an inline ``<script>`` or an ``on…=`` handler would be
blocked by the policy in the browser, so it must not be written in the first place.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.enrollment_data import register_and_consent

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """Collects what a strict CSP blocks: inline scripts, on…= handlers, style attributes."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
        if tag == "style":
            self.problems.append("<style>")
        data_block = names.get("type") in ("application/json", "application/ld+json")
        if tag == "script" and not names.get("src") and not data_block:
            self._in_inline_script = True

    def handle_endtag(self, tag):
        if tag == "script" and self._in_inline_script:
            self.problems.append("<script> without src")
            self._in_inline_script = False


def directives(header: str) -> dict[str, list[str]]:
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in parts}


def assert_strict_page(response):
    assert response.status_code == 200, response
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)
    assert re.search(r"(^|, )camera=\(\)", response["Permissions-Policy"])
    assert "geolocation=()" in response["Permissions-Policy"]
    parser = InlineCode()
    parser.feed(response.content.decode())
    assert parser.problems == [], f"{response.wsgi_request.path}: {parser.problems}"


def test_the_login_page_has_a_strict_policy_and_no_inline_code(client):
    assert_strict_page(client.get(reverse("login")))


def test_the_main_pages_have_a_strict_policy_and_no_inline_code(
    client, study, site_a, site_b, coordinator_a, investigator_a, data_manager
):
    subject = register_and_consent(site_a, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    for url in (
        reverse("home"),
        reverse("enrollment:screening-log"),
        reverse("enrollment:register"),
        reverse("enrollment:subject", args=[subject.pk]),
        reverse("enrollment:crf", args=[subject.pk, "labs"]),
        reverse("enrollment:eligibility", args=[subject.pk]),
        reverse("records:queries"),
        reverse("password_change"),
    ):
        assert_strict_page(client.get(url))
    client.force_login(data_manager)
    for url in (reverse("home"), reverse("audit-trail"), reverse("study-settings")):
        assert_strict_page(client.get(url))


def test_the_study_switcher_submits_from_a_static_script(client, study, coordinator_a):
    client.force_login(coordinator_a)
    page = client.get(reverse("home")).content.decode()
    assert 'name="study" data-autosubmit' in page
    assert "/static/js/trialsite.js" in page


def test_api_responses_carry_the_headers_too(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get("/api/v1/me/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
