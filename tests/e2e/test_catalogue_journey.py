"""Journey: a visitor searches the catalogue and opens an instrument."""

from __future__ import annotations

import re

import pytest

from equipshare.extensions import db
from tests.e2e.conftest import screenshot
from tests.factories import make_category, make_instrument, make_lab

pytestmark = pytest.mark.e2e


def test_visitor_searches_and_opens_an_instrument(page):
    lab = make_lab(name_en="Analysis and Testing Centre", name_zh="分析测试中心")
    microscopy = make_category(name_en="Analytical instruments", name_zh="分析仪器")
    make_instrument(lab=lab, category=microscopy, name_en="Field-emission scanning electron microscope",
                    name_zh="场发射扫描电子显微镜", manufacturer="Hitachi", model="SU8010",
                    specs="Resolution: 1.0 nm at 15 kV\nAccelerating voltage: 0.1–30 kV",
                    rates={"internal": 30000, "academic": 45000, "enterprise": 60000})
    make_instrument(lab=lab, category=microscopy, name_en="X-ray diffractometer", name_zh="X射线衍射仪",
                    manufacturer="Rigaku", model="SmartLab")
    db.session.commit()

    page.goto("/")
    search = page.get_by_role("search")
    search.get_by_label("Search instruments").fill("Hitachi")
    with page.expect_navigation():
        search.get_by_role("button", name="Search").click()

    assert re.search(r"/instruments\?(.*&)?q=Hitachi", page.url)
    assert page.get_by_role("heading", name="Instruments", level=1).is_visible()
    assert page.get_by_role("status").inner_text().strip().startswith("1 ")
    result = page.get_by_role("link", name="Field-emission scanning electron microscope")
    assert result.is_visible()
    assert page.get_by_role("link", name="X-ray diffractometer").count() == 0
    screenshot(page, "catalogue-search")

    with page.expect_navigation():
        result.click()
    assert re.search(r"/instruments/\d+$", page.url)
    assert page.get_by_role("heading", level=1).inner_text() == "Field-emission scanning electron microscope"
    assert page.get_by_text("场发射扫描电子显微镜").is_visible()  # the other language's name
    specs = page.get_by_role("table", name="Specifications")
    assert specs.get_by_role("row", name=re.compile("Resolution")).is_visible()
    fees = page.get_by_role("table", name="Fees by customer class")
    assert "¥600.00" in fees.inner_text() and "¥300.00" in fees.inner_text()
    screenshot(page, "instrument-page")
