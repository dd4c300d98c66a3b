"""Every demo user can open every link the app shows them (issue 8 §2).

Logs in as each demo login (``manage.py seed_demo``) and follows, breadth-first, every same-site
``<a href>`` reachable from the home page with Django's test client (the pages are server-rendered
HTML, so a browser would add nothing here). Each link must answer 200, or redirect to a page that
does: a link that answers 4xx is a link shown to a user who cannot open it.

The demo has twenty-two subjects with a dozen CRFs each; crawling every one of them for six users
would take minutes and show nothing new. Every link is opened, but the links *on* a page are
followed only for the first page of each kind: two pages of the same URL pattern (ids replaced)
that show the same kinds of links and the same subject state (status badge, which criteria pass,
fail or are missing) are one kind. So one subject per state is crawled to the bottom, and a
subject with a steroid course, or one awaiting the investigator's confirmation, is its own kind.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from trialsite.studies.demo import DEMO_USERS

pytestmark = pytest.mark.django_db

MAX_PAGES_PER_USER = 1500
# Not pages of the app: Django's admin site (its own permission model) and the API (JSON, with
# its own tests); static files are not links of a page.
SKIPPED_PREFIXES = ("/admin/", "/api/", "/static/")
NUMBER = re.compile(r"\d+")
LOGIN_URL = "/accounts/login/"
# Elements whose text tells pages of one kind apart beyond their links: a subject in screening,
# screen-failed or eligible shows different pages one level down (e.g. the confirmation link).
STATE_TEST_IDS = {"subject-status", "eligibility-verdict"}


class _Page(HTMLParser):
    """The links of a page, and what it says about the subject's state (status, eligibility)."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.state: set[str] = set()
        self._in_status = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        self._in_status = attrs.get("data-testid") in STATE_TEST_IDS
        self.state |= {c for c in (attrs.get("class") or "").split() if c.startswith("criterion-")}

    def handle_data(self, data):
        if self._in_status:
            self.state.add(NUMBER.sub("N", data.strip()))
            self._in_status = False


def read_page(html: str, base: str) -> tuple[list[str], frozenset[str]]:
    """Same-site links of a page (path plus sorted query string, no fragment); its state."""
    parser = _Page()
    parser.feed(html)
    found = []
    for href in parser.hrefs:
        if href.startswith(("#", "mailto:", "tel:", "javascript:")):
            continue
        url = urlsplit(urljoin(base, href))
        if url.scheme not in ("", "http") or url.netloc not in ("", "testserver"):
            continue
        if url.path.startswith(SKIPPED_PREFIXES):
            continue
        query = dict(parse_qsl(url.query))
        if not query.get("page", "1").isdigit() or int(query.get("page", "1")) > 2:
            continue  # pages 1 and 2 of a list show its kinds of links; further pages repeat them
        found.append(url.path + (f"?{urlencode(sorted(query.items()))}" if query else ""))
    return found, frozenset(parser.state)


def kind(url: str) -> str:
    """A URL with its ids replaced: ``/subjects/7/screening/labs/`` -> ``/subjects/N/...``."""
    return NUMBER.sub("N", url)


def crawl(client) -> tuple[dict[str, str], list[str]]:
    """Every link the user reaches that does not open, with where it was shown; pages opened."""
    linked_from: dict[str, str] = {"/": "the home page"}
    followed_kinds: set[tuple] = set()
    broken: dict[str, str] = {}
    queue = deque(["/"])
    opened: list[str] = []
    while queue and len(opened) < MAX_PAGES_PER_USER:
        url = queue.popleft()
        response = client.get(url, follow=True)
        opened.append(url)
        final = response.redirect_chain[-1][0] if response.redirect_chain else url
        if response.status_code != 200 or urlsplit(final).path == LOGIN_URL:
            broken[url] = f"{response.status_code} at {final}, shown on {linked_from[url]}"
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        links, state = read_page(response.content.decode(), final)
        page_kind = (kind(url), frozenset(kind(link) for link in links), state)
        if page_kind in followed_kinds:
            continue
        followed_kinds.add(page_kind)
        for link in links:
            if link not in linked_from:
                linked_from[link] = url
                queue.append(link)
    return broken, opened


def test_every_link_shown_to_every_demo_user_opens(client):
    call_command("seed_demo", stdout=StringIO())
    User = get_user_model()
    broken, opened = {}, {}
    for username in DEMO_USERS:
        client.force_login(User.objects.get(username=username))
        broken[username], opened[username] = crawl(client)
        client.logout()

    assert broken == {username: {} for username in DEMO_USERS}
    assert all(len(urls) < MAX_PAGES_PER_USER for urls in opened.values()), "crawl cut short"
    # Clinical users reach every screening CRF and the checklist; the sponsor and the study
    # administrator are shown no identified subject page at all.
    crfs = {
        user: {kind(u) for u in urls if u.startswith("/subjects/")} for user, urls in opened.items()
    }
    for user in ("coordinator", "investigator", "monitor", "datamanager"):
        assert {"/subjects/N/screening/labs/", "/subjects/N/eligibility/"} <= crfs[user]
    assert crfs["sponsor"] == crfs["admin"] == set()
    # Only the investigator is led to the eligibility e-signature.
    assert [u for u in crfs if "/subjects/N/eligibility/confirm/" in crfs[u]] == ["investigator"]
