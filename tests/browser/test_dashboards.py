"""A real headless Chromium on each example shop's dashboard: live states, confirm, reset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("httpx")

import httpx

from tests.browser.shops import Shop

pytestmark = pytest.mark.slow

STATE = ".state"


def test_the_dashboard_turns_open_live_and_resets(browser, shop: Shop, screenshots: Path):
    from playwright.sync_api import expect

    context = browser.new_context(**shop.context_options())
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        shop.sign_in(page, shop.admin)
        page.goto(shop.url + shop.dashboard)
        expect(page.locator("h1")).to_have_text("Breakers")
        expect(page.locator("section.card")).to_have_count(2)
        inventory = page.locator('section.card[data-name="inventory"]')
        recommendations = page.locator('section.card[data-name="recommendations"]')
        expect(inventory.locator(STATE)).to_have_text("closed")
        expect(inventory.locator(STATE)).to_have_class("state closed")
        expect(recommendations.locator(STATE)).to_have_text("closed")
        for card in (inventory, recommendations):
            for action in ("open", "disable", "metrics-only", "reset"):
                expect(card.locator(f'button[data-action="{action}"]')).to_be_visible()
        page.screenshot(path=str(screenshots / f"{shop.kind}-1-closed.png"), full_page=True)

        # A dismissed confirmation sends nothing.
        questions: list[str] = []

        def dismiss(dialog) -> None:
            questions.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        recommendations.locator('button[data-action="open"]').click()
        assert questions == [questions[0]]
        assert questions[0].startswith("Force open recommendations?")
        status = page.request.get(shop.url + shop.status).json()
        assert {b["name"]: b["state"] for b in status["breakers"]}["recommendations"] == "closed"

        # Trip the inventory: the upstream fails, visitors keep loading the product page.
        page.evaluate("window.breakerpanelTestMarker = 'same document'")
        shop.inventory.set_mode("errors", status=503)
        with httpx.Client(base_url=shop.url, timeout=10) as visitor:
            for _ in range(shop.trip_calls + 1):
                assert visitor.get(shop.product).status_code == 200  # it degrades, never fails
        expect(inventory.locator(STATE)).to_have_text("open")  # polled: no reload
        expect(inventory.locator(STATE)).to_have_class("state open")
        assert page.evaluate("window.breakerpanelTestMarker") == "same document"
        expect(inventory.locator(".failures")).to_have_text(re.compile(rf"^{shop.trip_calls} / "))
        expect(inventory.locator(".transitions li").first).to_contain_text(
            "closed \u2192 open (failure_threshold)"
        )
        expect(recommendations.locator(STATE)).to_have_text("closed")  # its upstream is fine
        page.screenshot(path=str(screenshots / f"{shop.kind}-2-open.png"), full_page=True)

        # Reset it, accepting the confirmation; the form posts and the page comes back.
        shop.inventory.set_mode("healthy")
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
        with page.expect_navigation():
            inventory.locator('button[data-action="reset"]').click()
        assert questions[-1].startswith("Reset inventory?")
        expect(inventory.locator(STATE)).to_have_text("closed")
        expect(inventory.locator(".failures")).to_have_text("0 / 0")
        page.screenshot(path=str(screenshots / f"{shop.kind}-3-reset.png"), full_page=True)
    finally:
        context.close()
    health = httpx.get(shop.url + shop.health, timeout=10)
    assert (health.status_code, health.json()["open"]) == (200, [])  # the server agrees
    with httpx.Client(base_url=shop.url, timeout=10) as visitor:
        assert "in stock" in visitor.get(shop.product).text  # and the shop has its stock back
