"""Headless Chromium for the browser tests: Debian's `chromium` driven by Playwright (which
downloads no browser here). Screenshots go to var/screenshots/ (docs/operations.md shows them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "var" / "screenshots"


@contextmanager
def chromium(credentials: tuple[str, str] | None = None, width: int = 1400,
             height: int = 1000, timeout_ms: float = 60_000, phone: bool = False,
             zone: str = "Asia/Seoul") -> Iterator[Page]:
    """A page in a fresh headless Chromium, in Korean and Seoul time (`zone`: another time
    zone); `credentials`: the shared password it answers HTTP Basic challenges with; `phone`: a
    phone's screen (touch, mobile layout, 3× pixels) of `width`×`height` CSS pixels.

    Playwright's sync API runs its own event loop: open it outside any other one.
    """
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: `make browser` (.ci/run does it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale="ko-KR",
                timezone_id=zone, accept_downloads=True, is_mobile=phone,
                has_touch=phone, device_scale_factor=3 if phone else 1,
                http_credentials=({"username": credentials[0], "password": credentials[1]}
                                  if credentials else None))
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            # `expect` keeps its own 5 s default otherwise: one wait for the page and its checks
            expect.set_options(timeout=timeout_ms)
            yield page
        finally:
            browser.close()


def form_field(scope: Page | Locator, label: str) -> Locator:
    """A run form's field by its Korean label (flows/models.py LABELS): the form property whose
    label (`.p-label__label`, "(Optional)" after it when not required) is `label`."""
    exactly = re.compile(rf"^\s*{re.escape(label)}(\s*\(Optional\))?\s*$")
    return scope.locator(".schema-form-property").filter(
        has=scope.locator(".p-label__label", has_text=exactly)).first
