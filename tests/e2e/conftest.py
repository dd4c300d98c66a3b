"""Browser tests: Playwright drives Debian's Chromium (its own browser download fails here).

Run against pytest-django's ``live_server``. A failing test leaves a screenshot in
``test-results/`` (pytest-playwright's ``--screenshot only-on-failure``, set in pytest.ini).
"""

from __future__ import annotations

import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("No Chromium found: install Debian's `chromium` package for browser tests.")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def demo_site(transactional_db):
    """The demo study and its users, exactly as `make run` seeds them."""
    from django.core.management import call_command

    call_command("seed_demo")


@pytest.fixture
def demo_team(transactional_db):
    """The demo study, site and one login per role, without the demo subjects."""
    from trialsite.studies.demo import seed_study, seed_users

    study, site = seed_study()
    users = seed_users(study, site, "trialsite-demo")
    return study, site, users


def log_in(page, base_url: str, username: str, password: str = "trialsite-demo") -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
