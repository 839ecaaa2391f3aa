"""The public catalogue: home page, search, filters, sort, pagination, instrument pages."""

from __future__ import annotations

import pytest

from equipshare.catalogue.models import BookingMode, InstrumentStatus, RateCard
from equipshare.extensions import db
from tests.catalogue.helpers import listed_instrument_ids
from tests.factories import (
    make_category,
    make_institution,
    make_instrument,
    make_lab,
    make_manager,
)


@pytest.fixture()
def catalogue():
    """Two institutions, three labs, four instruments with distinct searchable text."""
    uni = make_institution(name_zh="临沂大学", name_en="Linyi University")
    inst = make_institution(name_zh="临沂市农业科学院", name_en="Linyi Academy of Agricultural Sciences", kind="institute")
    chem = make_lab(uni, name_zh="化学分析中心", name_en="Chemistry Analysis Centre")
    mat = make_lab(uni, name_zh="材料测试中心", name_en="Materials Testing Centre")
    agri = make_lab(inst, name_zh="农产品检测中心", name_en="Produce Testing Centre")
    analytical = make_category(code="01", name_zh="分析仪器", name_en="Analytical instruments")
    physical = make_category(code="02", name_zh="物理性能测试仪器", name_en="Physical property testing instruments")
    items = {
        "sem": make_instrument(mat, physical, name_zh="扫描电子显微镜", name_en="Scanning electron microscope",
                               model="SU8010", manufacturer="Hitachi", booking_mode=BookingMode.SELF,
                               description_zh="适用于金属断口分析", description_en="Fracture surfaces of metals"),
        "nmr": make_instrument(chem, analytical, name_zh="核磁共振波谱仪", name_en="NMR spectrometer",
                               model="AVANCE NEO 400", manufacturer="Bruker", booking_mode=BookingMode.SERVICE,
                               description_en="Liquid-state 1H and 13C spectra"),
        "gc": make_instrument(agri, analytical, name_zh="气相色谱仪", name_en="Gas chromatograph",
                              model="7890B", manufacturer="Agilent", booking_mode=BookingMode.SERVICE,
                              description_zh="农药残留检测"),
        "old": make_instrument(chem, analytical, name_zh="旧紫外分光光度计", name_en="Old UV-Vis spectrophotometer",
                               model="UV-2450", manufacturer="Shimadzu", status=InstrumentStatus.RETIRED),
    }
    db.session.commit()
    return {"uni": uni, "inst": inst, "chem": chem, "mat": mat, "agri": agri, "analytical": analytical,
            "physical": physical, **items}


def ids(client, url) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return set(listed_instrument_ids(response.get_data(as_text=True)))


def test_home_page_shows_search_categories_institutions_featured_and_steps(client, catalogue):
    html = client.get("/").get_data(as_text=True)
    assert 'role="search"' in html and 'name="q"' in html
    assert "Analytical instruments" in html and "Linyi University" in html and "Linyi Academy of Agricultural Sciences" in html
    assert f'href="/instruments?category={catalogue["analytical"].id}"' in html
    featured = listed_instrument_ids(html)
    assert featured and catalogue["old"].id not in featured
    # analytical: nmr and gc count, the retired one does not
    assert '2<span class="visually-hidden">' in html
    assert html.count("step-number") == 5


@pytest.mark.parametrize("query, expected", [
    ("显微镜", {"sem"}),  # Chinese name
    ("spectrometer", {"nmr"}),  # English name, case-insensitive below
    ("SPECTROMETER", {"nmr"}),
    ("7890B", {"gc"}),  # model
    ("bruker", {"nmr"}),  # manufacturer
    ("断口", {"sem"}),  # Chinese description
    ("13C spectra", {"nmr"}),  # English description, several words all match
    ("农药", {"gc"}),
    ("Hitachi NMR", set()),  # words must all match
    ("100%", set()),  # LIKE wildcards are literal
    ("_", set()),
])
def test_keyword_search(client, catalogue, query, expected):
    assert ids(client, f"/instruments?q={query}") == {catalogue[k].id for k in expected}


def test_search_ignores_control_characters_and_overlong_queries(client, catalogue):
    assert ids(client, "/instruments?q=SU80%0010") == {catalogue["sem"].id}
    response = client.get("/instruments?q=" + "x" * 5000)
    assert response.status_code == 200


def test_each_filter(client, catalogue):
    c = catalogue
    assert ids(client, f"/instruments?category={c['analytical'].id}") == {c["nmr"].id, c["gc"].id}
    assert ids(client, f"/instruments?institution={c['uni'].id}") == {c["sem"].id, c["nmr"].id}
    assert ids(client, f"/instruments?lab={c['agri'].id}") == {c["gc"].id}
    assert ids(client, "/instruments?mode=self") == {c["sem"].id}
    assert ids(client, "/instruments?mode=service") == {c["nmr"].id, c["gc"].id}
    assert ids(client, f"/instruments?category={c['analytical'].id}&institution={c['uni'].id}") == {c["nmr"].id}
    # Unknown or malformed values are ignored, not errors.
    assert ids(client, "/instruments?mode=teleport&category=abc&lab=-3") == {c["sem"].id, c["nmr"].id, c["gc"].id}


def test_retired_instruments_leave_the_public_catalogue(client, catalogue):
    assert catalogue["old"].id not in ids(client, "/instruments")
    assert catalogue["old"].id not in ids(client, "/instruments?q=UV-2450")
    response = client.get(f"/instruments/{catalogue['old'].id}")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True) or "404" in response.get_data(as_text=True)


def test_retired_instrument_still_visible_to_its_manager(client, catalogue):
    from tests.factories import login

    manager = make_manager(catalogue["chem"])
    db.session.commit()
    login(client, manager)
    response = client.get(f"/instruments/{catalogue['old'].id}")
    assert response.status_code == 200
    assert "retired" in response.get_data(as_text=True).lower()


def test_unknown_instrument_is_the_404_page(client):
    response = client.get("/instruments/999999")
    assert response.status_code == 404
    assert "404" in response.get_data(as_text=True)


def test_maintenance_instruments_are_listed_with_a_badge(client, catalogue):
    catalogue["gc"].status = InstrumentStatus.MAINTENANCE
    db.session.commit()
    html = client.get("/instruments").get_data(as_text=True)
    assert catalogue["gc"].id in listed_instrument_ids(html)
    assert "badge bg-warning" in html
    page = client.get(f"/instruments/{catalogue['gc'].id}").get_data(as_text=True)
    assert "under maintenance" in page


def test_sort_by_name_and_by_institution(client):
    z = make_institution(name_zh="Z学院", name_en="Z College")
    a = make_institution(name_zh="A大学", name_en="A University")
    first = make_instrument(make_lab(z), name_zh="A仪器", name_en="A instrument")
    second = make_instrument(make_lab(a), name_zh="B仪器", name_en="B instrument")
    third = make_instrument(make_lab(a), name_zh="C仪器", name_en="C instrument")
    db.session.commit()
    by_name = listed_instrument_ids(client.get("/instruments").get_data(as_text=True))
    assert by_name == [first.id, second.id, third.id]
    by_institution = listed_instrument_ids(client.get("/instruments?sort=institution").get_data(as_text=True))
    assert by_institution == [second.id, third.id, first.id]
    client.get("/lang/en")
    assert listed_instrument_ids(client.get("/instruments?sort=name").get_data(as_text=True)) == by_name


def test_pagination(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOGUE_PAGE_SIZE", 4)
    lab = make_lab()
    made = [make_instrument(lab, name_zh=f"仪器{i:02d}", name_en=f"Instrument {i:02d}", rates={}) for i in range(10)]
    db.session.commit()
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"/instruments?page={page}")
        html = response.get_data(as_text=True)
        seen.extend(listed_instrument_ids(html))
    assert seen == [i.id for i in made]
    html = client.get("/instruments?page=1&q=仪器").get_data(as_text=True)
    assert "page=2" in html and "q=" in html  # links keep the search
    assert listed_instrument_ids(client.get("/instruments?page=99").get_data(as_text=True)) == []
    assert client.get("/instruments?page=-1").status_code == 200


def test_instrument_page_shows_specs_rules_contact_and_fees(client):
    lab = make_lab(location="Science building A, 1st floor", contact_name="王老师", contact_phone="0539-7654321",
                   contact_email="lab@example.edu.cn")
    instrument = make_instrument(
        lab, rates={}, specs="分辨率：1.0 nm\nAccelerating voltage: 0.5–30 kV\nCryo stage",
        booking_mode=BookingMode.SELF, slot_minutes=30, min_duration_minutes=60, max_duration_minutes=240,
        min_notice_hours=24, horizon_days=30, open_minute=8 * 60 + 30, close_minute=17 * 60,
        open_weekdays="12345", requires_approval=True, late_cancel_hours=48,
    )
    instrument.rate_cards.append(RateCard(customer_class="internal", hourly_rate_fen=12000, per_sample_fen=1550,
                                          setup_fee_fen=5000, minimum_charge_fen=20000))
    instrument.rate_cards.append(RateCard(customer_class="enterprise", hourly_rate_fen=123456))
    db.session.commit()
    client.get("/lang/en")
    html = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert '<th scope="row">分辨率</th><td>1.0 nm</td>' in html
    assert '<th scope="row">Accelerating voltage</th><td>0.5–30 kV</td>' in html
    assert '<td colspan="2">Cryo stage</td>' in html
    for text in ("Monday–Friday, 08:30–17:00", "grid of 30 minutes", "from 1 hour to 4 hours",
                 "at least 1 day in advance", "up to 30 days ahead", "reviews every request",
                 "trained and qualified", "less than 2 days before the start",
                 "Self-operated after training", "王老师", "0539-7654321", "lab@example.edu.cn",
                 "Science building A"):
        assert text in html, text
    assert "¥120.00" in html and "¥15.50" in html and "¥50.00" in html and "¥200.00" in html
    assert "¥1,234.56" in html
    assert "No charge" in html  # the academic class has no rate card


def test_book_button_only_when_booking_exists(client, app):
    instrument = make_instrument()
    db.session.commit()
    html = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    has_endpoint = "booking.availability" in app.view_functions
    assert (f"/instruments/{instrument.id}" in html)
    if has_endpoint:
        from flask import url_for

        with app.test_request_context():
            assert url_for("booking.availability", instrument_id=instrument.id) in html


def test_photo_route_serves_stored_photo_and_404s_otherwise(client, app):
    from pathlib import Path

    from tests.catalogue.helpers import image_bytes

    name = "0123456789abcdef0123456789abcdef.png"
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    (Path(app.config["UPLOAD_FOLDER"]) / name).write_bytes(image_bytes())
    with_photo = make_instrument(photo_filename=name)
    without = make_instrument()
    tampered = make_instrument(photo_filename="../../etc/passwd")
    retired = make_instrument(photo_filename=name, status=InstrumentStatus.RETIRED)
    db.session.commit()
    response = client.get(f"/instruments/{with_photo.id}/photo")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert client.get(f"/instruments/{without.id}/photo").status_code == 404
    assert client.get(f"/instruments/{tampered.id}/photo").status_code == 404
    assert client.get(f"/instruments/{retired.id}/photo").status_code == 404
    html = client.get(f"/instruments/{with_photo.id}").get_data(as_text=True)
    assert f"/instruments/{with_photo.id}/photo?v=01234567" in html


def _build_catalogue(count: int) -> int:
    """``count`` instruments, each in its own institution, lab and category, with three rates."""
    first = None
    for _ in range(count):
        instrument = make_instrument(make_lab(make_institution()), make_category())
        first = first or instrument
    db.session.commit()
    return first.id


def test_catalogue_and_instrument_pages_do_not_run_n_plus_one_queries(client, app, count_queries, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOGUE_PAGE_SIZE", 50)
    first = _build_catalogue(3)
    client.get("/instruments")  # warm-up
    with count_queries() as small_list:
        assert client.get("/instruments").status_code == 200
    with count_queries() as small_page:
        assert client.get(f"/instruments/{first}").status_code == 200
    with count_queries() as small_home:
        assert client.get("/").status_code == 200
    _build_catalogue(27)
    with count_queries() as large_list:
        response = client.get("/instruments")
    assert len(listed_instrument_ids(response.get_data(as_text=True))) == 30
    with count_queries() as large_page:
        assert client.get(f"/instruments/{first}").status_code == 200
    with count_queries() as large_home:
        assert client.get("/").status_code == 200
    assert large_list.count == small_list.count, large_list.statements
    assert large_page.count == small_page.count
    assert large_home.count == small_home.count
    assert small_list.count <= 8 and small_page.count <= 4


def test_huge_numbers_in_urls_are_not_server_errors(client):
    huge = "9" * 30
    assert client.get(f"/instruments/{huge}").status_code == 404
    assert client.get(f"/instruments/{huge}/photo").status_code == 404
    assert client.get(f"/instruments?category={huge}&lab={huge}&institution={huge}&page={huge}").status_code == 200
