"""Shared fixtures: a study with two sites and personas for every role (docs/architecture.md).

In CI (``CI=true``) a skipped test fails the run: CI always has PostgreSQL, Redis and Chromium,
so a skip there means something is broken, not absent.
"""

from __future__ import annotations

import os

import pytest

from tests.factories import PASSWORD, MembershipFactory, SiteFactory, StudyFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run inside
# one unless told it is safe (it is: the loop is Playwright's, not an async view).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, where nothing may skip: {reason}"


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def study(db):
    return StudyFactory()


@pytest.fixture
def site_a(study):
    return SiteFactory(study=study, code="TJ", name="Tianjin site")


@pytest.fixture
def site_b(study):
    return SiteFactory(study=study, code="BJ", name="Beijing site")


def _member(role, site=None, study=None, username=None):
    user = UserFactory(username=username) if username else UserFactory()
    MembershipFactory(user=user, study=study or site.study, site=site, role=role)
    return user


@pytest.fixture
def coordinator_a(site_a):
    return _member("coordinator", site_a, username="coord_a")


@pytest.fixture
def coordinator_b(site_b):
    return _member("coordinator", site_b, username="coord_b")


@pytest.fixture
def investigator_a(site_a):
    return _member("investigator", site_a, username="inv_a")


@pytest.fixture
def monitor(study):
    return _member("monitor", study=study, username="monitor")


@pytest.fixture
def data_manager(study):
    return _member("data_manager", study=study, username="dm")


@pytest.fixture
def sponsor(study):
    return _member("sponsor", study=study, username="sponsor")


@pytest.fixture
def study_admin(study):
    return _member("admin", study=study, username="study_admin")


@pytest.fixture
def outsider(db):
    """A logged-in user with no role on any study: sees nothing clinical."""
    return UserFactory(username="outsider")


@pytest.fixture
def seen_versions():
    """A recompute hook that records the data version each run saw (removed afterwards)."""
    from trialsite.records import recompute

    seen: list[int] = []

    def hook(study, data_version):
        seen.append(data_version)
        return {"saw": data_version}

    recompute.register("test-hook")(hook)
    yield seen
    recompute._HOOKS.pop("test-hook", None)


@pytest.fixture
def frozen_clock():
    """Freeze ``trialsite.clock`` at a moment: ``frozen_clock(date_or_datetime)``; undone after."""
    import contextlib

    from trialsite import clock

    with contextlib.ExitStack() as stack:

        def freeze(moment):
            stack.enter_context(clock.freeze(moment))

        yield freeze
