"""A user logs in with a demo login and sees the role-aware home page, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_investigator_logs_in_and_sees_the_study_home(live_server, page: Page, demo_site):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")

    page.get_by_label("Username").fill("investigator")
    page.get_by_label("Password").fill("trialsite-demo")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="CLL1+CD38 CAR-T in r/r AML")).to_be_visible()
    expect(page.get_by_test_id("role-cards")).to_contain_text("Investigator")
    expect(page.get_by_text("Institute of Hematology & Blood Diseases Hospital")).to_be_visible()
    expect(page.locator("footer")).to_contain_text("trialsite 0.1.0")


def test_a_wrong_password_is_refused(live_server, page: Page, demo_site):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
