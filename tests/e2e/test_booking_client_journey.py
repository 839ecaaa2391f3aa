"""Journey: a client drags over free slots in the week view, previews the fee, confirms, and sees
the booking page; without the drag, a single free cell is a plain link."""

from __future__ import annotations

import re

import pytest

from equipshare.booking.models import Booking
from equipshare.extensions import db
from tests.booking._client_world import future_monday, local, make_world
from tests.e2e.conftest import log_in, screenshot, submit
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_client_drags_a_slot_previews_and_confirms(page):
    world = make_world()
    monday = future_monday()
    db.session.commit()
    log_in(page, world.client.email, PASSWORD)

    page.goto(f"/instruments/{world.instrument.id}/availability?week={monday.isoformat()}")
    grid = page.locator("table.availability-grid")
    first = grid.locator(f'td[data-start="{monday.isoformat()}T10:00"]')
    last = grid.locator(f'td[data-start="{monday.isoformat()}T11:30"]')
    screenshot(page, "availability-week")
    a, b = first.bounding_box(), last.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=8)
    with page.expect_navigation():
        page.mouse.up()

    assert re.search(r"/book\?start=.*T10%3A00&end=.*T12%3A00", page.url), page.url
    assert page.get_by_label("Start time").input_value() == "10:00"
    assert page.get_by_label("End time").input_value() == "12:00"
    page.get_by_label("Purpose").fill("XRD phase analysis")
    page.get_by_label("Number of samples").fill("2")
    submit(page, "Preview fee and check")
    assert "¥400.00/h × 2 h = ¥800.00" in page.locator("#quote-preview").inner_text()
    screenshot(page, "booking-preview")
    submit(page, "Confirm request")

    assert re.search(r"/bookings/\d+$", page.url)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Booking #")
    db.session.rollback()
    booking = db.session.scalars(db.select(Booking)).one()
    assert booking.start_at == local(monday, 10) and booking.end_at == local(monday, 12)
    screenshot(page, "booking-detail")


def test_a_click_on_a_free_cell_follows_its_link(page):
    world = make_world()
    monday = future_monday()
    db.session.commit()
    page.goto(f"/instruments/{world.instrument.id}/availability?week={monday.isoformat()}")
    cell = page.locator(f'td[data-start="{monday.isoformat()}T14:00"] a')
    with page.expect_navigation():
        cell.click()
    assert "/auth/login" in page.url and "book" in page.url  # visitors log in first, then come back
