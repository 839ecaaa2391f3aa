"""The harness itself: the server answers, Chromium renders the home page, screenshots work."""

from __future__ import annotations

import pytest

from equipshare.extensions import db
from tests.e2e.conftest import RESULTS_DIR, screenshot
from tests.factories import make_instrument

pytestmark = pytest.mark.e2e


def test_home_page_loads_and_is_screenshotted(page):
    make_instrument(name_en="Field-emission SEM", model="SU8010")
    db.session.commit()

    response = page.goto("/")
    assert response is not None and response.status == 200
    assert "EquipShare" in page.title()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("main").count() == 1
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("navigation", name="Main navigation").is_visible()

    path = screenshot(page, "home")
    assert path.parent == RESULTS_DIR and path.stat().st_size > 10_000


def test_health_check_answers_through_the_live_server(page):
    response = page.request.get("/healthz")
    assert response.ok and response.json() == {"status": "ok"}
