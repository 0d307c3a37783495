"""A person signs in with a real browser and lands on the start page."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import run
from web.auth import create_user

pytestmark = pytest.mark.e2e


def test_sign_in_and_out(page, live_server):
    run(create_user("ada@example.com", "correct horse", name="Ada Admin"))
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")

    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Ada Admin")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
