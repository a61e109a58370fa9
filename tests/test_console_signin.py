"""The console's sign-in in a real browser: the right token gets in, a wrong one does not."""

from __future__ import annotations

from typing import Any

from tests.console_site import Site, shoot


def test_sign_in_with_the_token_reaches_the_overview(browser: Any, site: Site) -> None:
    page = browser.new_context(locale="en-US").new_page()
    page.goto(site.url("/feeds"))
    assert page.url.startswith(site.url("/login"))
    shoot(page, "signin")
    page.fill("#token", site.token)
    page.click("button[type=submit]")
    page.wait_for_url(site.url("/feeds"))  # back where the admin was going
    assert site.token not in page.content()
    page.context.close()


def test_a_wrong_token_is_refused(browser: Any, site: Site) -> None:
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(site.url("/"))
    page.fill("#token", "not-the-token-at-all")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "令牌不对。"
    assert page.url.startswith(site.url("/login"))
    page.goto(site.url("/"))
    assert page.url.startswith(site.url("/login"))  # no session was made
    page.context.close()
