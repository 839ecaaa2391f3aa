"""Lab managers editing their instruments: fields, rules, rates, photo, status."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from equipshare.catalogue.models import Instrument, InstrumentStatus
from equipshare.extensions import db
from tests.catalogue.helpers import image_bytes, instrument_payload, payload_for
from tests.factories import login, make_category, make_instrument, make_lab, make_manager


@pytest.fixture()
def setup():
    lab = make_lab()
    other_lab = make_lab()
    instrument = make_instrument(lab)
    other = make_instrument(other_lab)
    manager = make_manager(lab)
    db.session.commit()
    return {"lab": lab, "other_lab": other_lab, "instrument": instrument, "other": other, "manager": manager}


def instrument_count() -> int:
    return db.session.scalar(db.select(db.func.count(Instrument.id)))


def test_manager_lists_only_their_labs_instruments(client, app, setup):
    login(client, setup["manager"])
    html = client.get("/manage/instruments").get_data(as_text=True)
    assert f'/manage/instruments/{setup["instrument"].id}/edit' in html
    assert f'/manage/instruments/{setup["other"].id}/edit' not in html
    if "booking_manage.downtime" in app.view_functions:
        with app.test_request_context():
            from flask import url_for

            assert url_for("booking_manage.downtime", instrument_id=setup["instrument"].id) in html


def test_manager_edits_instrument_happy_path(client, setup):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    page = client.get(f"/manage/instruments/{instrument.id}/edit")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    data = instrument_payload(setup["lab"], instrument.category)
    response = client.post(f"/manage/instruments/{instrument.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(instrument)
    assert instrument.name_en == "Confocal laser scanning microscope"
    assert instrument.manufacturer == "Zeiss" and instrument.model == "LSM 980"
    assert instrument.description_zh is None  # blank stays blank, not ""
    assert instrument.booking_mode == "self"
    assert (instrument.min_duration_minutes, instrument.max_duration_minutes) == (60, 240)
    assert (instrument.open_minute, instrument.close_minute, instrument.open_weekdays) == (480, 1200, "123456")
    assert instrument.late_cancel_hours == 48 and instrument.max_open_requests_per_org == 4
    rates = {r.customer_class: r for r in instrument.rate_cards}
    assert rates["academic"].hourly_rate_fen == 15050
    assert rates["enterprise"].hourly_rate_fen == 30000
    assert rates["internal"].per_sample_fen == 1000 and rates["internal"].minimum_charge_fen == 5000
    public = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "¥150.50" in public and "Lasers" in public


def test_manager_creates_instrument_in_own_lab_only(client, setup):
    login(client, setup["manager"])
    category = setup["instrument"].category
    before = instrument_count()
    response = client.post("/manage/instruments/new", data=instrument_payload(setup["lab"], category))
    assert response.status_code == 302
    assert instrument_count() == before + 1
    # A tampered lab id (another lab's) is refused and writes nothing.
    response = client.post("/manage/instruments/new", data=instrument_payload(setup["other_lab"], category))
    assert response.status_code == 422
    assert instrument_count() == before + 1


def test_manager_cannot_move_instrument_to_a_lab_they_do_not_manage(client, setup):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    data = payload_for(instrument, lab_id=str(setup["other_lab"].id), name_en="Moved")
    assert client.post(f"/manage/instruments/{instrument.id}/edit", data=data).status_code == 422
    db.session.refresh(instrument)
    assert instrument.lab_id == setup["lab"].id and instrument.name_en != "Moved"


def test_manager_of_another_lab_gets_403_even_with_a_tampered_id(client, setup):
    login(client, setup["manager"])
    other = setup["other"]
    assert client.get(f"/manage/instruments/{other.id}/edit").status_code == 403
    data = payload_for(other, lab_id=str(setup["lab"].id), name_en="Hijacked")
    assert client.post(f"/manage/instruments/{other.id}/edit", data=data).status_code == 403
    assert client.post(f"/manage/instruments/{other.id}/status", data={"status": "retired"}).status_code == 403
    db.session.refresh(other)
    assert other.name_en != "Hijacked" and other.status == "active" and other.lab_id == setup["other_lab"].id
    assert client.get("/manage/instruments/999999/edit").status_code == 404


@pytest.mark.parametrize("field, value", [
    ("rate_internal-hourly_rate_fen", "-5"),
    ("rate_academic-per_sample_fen", "abc"),
    ("rate_enterprise-setup_fee_fen", "1.234"),
    ("rate_enterprise-minimum_charge_fen", "99999999"),
    ("rate_internal-hourly_rate_fen", "1e5"),
    ("rate_internal-hourly_rate_fen", "NaN"),
])
def test_rate_card_validation_refuses_bad_amounts(client, setup, field, value):
    instrument = setup["instrument"]
    before = {r.customer_class: r.hourly_rate_fen for r in instrument.rate_cards}
    login(client, setup["manager"])
    data = payload_for(instrument, **{field: value, "name_en": "Changed"})
    response = client.post(f"/manage/instruments/{instrument.id}/edit", data=data)
    assert response.status_code == 422
    assert 'is-invalid' in response.get_data(as_text=True)
    db.session.refresh(instrument)
    assert instrument.name_en != "Changed"
    assert {r.customer_class: r.hourly_rate_fen for r in instrument.rate_cards} == before


def test_empty_fee_means_zero(client, setup):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    data = payload_for(instrument, **{"rate_internal-hourly_rate_fen": "", "rate_internal-per_sample_fen": "1,200"})
    assert client.post(f"/manage/instruments/{instrument.id}/edit", data=data).status_code == 302
    db.session.refresh(instrument)
    card = instrument.rate_for("internal")
    assert card.hourly_rate_fen == 0 and card.per_sample_fen == 120000


@pytest.mark.parametrize("overrides, error_field", [
    ({"min_duration_minutes": "45"}, "min_duration_minutes"),  # not on the 30-minute grid
    ({"min_duration_minutes": "120", "max_duration_minutes": "60"}, "max_duration_minutes"),
    ({"max_duration_minutes": "20160"}, "max_duration_minutes"),
    ({"open_minute": "1200", "close_minute": "480"}, "close_minute"),
    ({"open_weekdays": []}, "open_weekdays"),
    ({"open_weekdays": ["8"]}, "open_weekdays"),
    ({"slot_minutes": "7"}, "slot_minutes"),
    ({"min_notice_hours": "-1"}, "min_notice_hours"),
    ({"horizon_days": "100000"}, "horizon_days"),
    ({"status": "destroyed"}, "status"),
    ({"booking_mode": "magic"}, "booking_mode"),
    ({"name_zh": ""}, "name_zh"),
    ({"name_en": "x" * 201}, "name_en"),
    ({"specs": "ok\x00bad"}, "specs"),
    ({"model": "line1\nline2"}, "model"),
    ({"category_id": "999999"}, "category_id"),
])
def test_bad_instrument_input_is_refused_and_nothing_is_written(client, setup, overrides, error_field):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    data = payload_for(instrument, **{"location": "Should not be saved", **overrides})
    response = client.post(f"/manage/instruments/{instrument.id}/edit", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{error_field}-err"' in html, error_field
    db.session.refresh(instrument)
    assert instrument.location != "Should not be saved"


def test_status_change_from_list(client, setup):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    response = client.post(f"/manage/instruments/{instrument.id}/status",
                           data={"status": "maintenance", "next": "/manage/instruments"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/instruments")
    db.session.refresh(instrument)
    assert instrument.status == InstrumentStatus.MAINTENANCE
    response = client.post(f"/manage/instruments/{instrument.id}/status",
                           data={"status": "bogus", "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/manage/instruments")
    db.session.refresh(instrument)
    assert instrument.status == InstrumentStatus.MAINTENANCE
    client.post(f"/manage/instruments/{instrument.id}/status", data={"status": "retired"})
    db.session.refresh(instrument)
    assert instrument.status == "retired"
    # Gone for the public, still editable by its manager.
    assert client.get(f"/manage/instruments/{instrument.id}/edit").status_code == 200


# --- Photos ------------------------------------------------------------------------------------


def _upload(client, instrument, content: bytes, filename: str = "photo.png", **overrides):
    data = payload_for(instrument, **overrides)
    data["photo"] = (io.BytesIO(content), filename)
    return client.post(f"/manage/instruments/{instrument.id}/edit", data=data, content_type="multipart/form-data")


def test_photo_upload_is_reencoded_under_a_random_name(client, app, setup):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    response = _upload(client, instrument, image_bytes("PNG"), filename="../../evil.png")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(instrument)
    name = instrument.photo_filename
    assert name and name.endswith(".png") and "evil" not in name and len(name) == 36
    stored = Path(app.config["UPLOAD_FOLDER"]) / name
    with Image.open(stored) as img:
        assert img.format == "PNG" and img.size == (32, 24)
    served = client.get(f"/instruments/{instrument.id}/photo")
    assert served.status_code == 200 and served.mimetype == "image/png"

    # A new upload replaces the file; the old one is deleted.
    assert _upload(client, instrument, image_bytes("JPEG"), filename="p.jpg").status_code == 302
    db.session.refresh(instrument)
    assert instrument.photo_filename.endswith(".jpg") and not stored.exists()

    # Removing the photo deletes the file too.
    new_path = Path(app.config["UPLOAD_FOLDER"]) / instrument.photo_filename
    data = payload_for(instrument, remove_photo="y")
    assert client.post(f"/manage/instruments/{instrument.id}/edit", data=data).status_code == 302
    db.session.refresh(instrument)
    assert instrument.photo_filename is None and not new_path.exists()


def test_webp_is_accepted(client, setup):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    assert _upload(client, instrument, image_bytes("WEBP"), filename="p.webp").status_code == 302
    db.session.refresh(instrument)
    assert instrument.photo_filename.endswith(".webp")


@pytest.mark.parametrize("content, message", [
    (b"This is not an image, only text pretending to be one.\n" * 10, "not a picture"),
    (image_bytes("GIF"), "Only JPEG, PNG and WebP"),
    (image_bytes("BMP"), "Only JPEG, PNG and WebP"),
    (image_bytes("PNG")[:60], "not a picture"),  # truncated
], ids=["text", "gif", "bmp", "truncated-png"])
def test_fake_or_unsupported_photo_is_refused(client, app, setup, content, message):
    instrument = setup["instrument"]
    login(client, setup["manager"])
    folder = Path(app.config["UPLOAD_FOLDER"])
    files_before = set(folder.iterdir()) if folder.exists() else set()
    response = _upload(client, instrument, content, filename="photo.png", name_en="Not saved")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(instrument)
    assert instrument.photo_filename is None and instrument.name_en != "Not saved"
    assert (set(folder.iterdir()) if folder.exists() else set()) == files_before


def test_oversized_photo_is_refused(client, app, setup, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", 4000)
    big = image_bytes("PNG", size=(120, 120), noise=True)
    assert len(big) > 4000
    instrument = setup["instrument"]
    login(client, setup["manager"])
    response = _upload(client, instrument, big)
    assert response.status_code == 422
    assert "too large" in response.get_data(as_text=True)
    db.session.refresh(instrument)
    assert instrument.photo_filename is None


def test_upload_beyond_request_limit_is_413_not_500(client, app, setup, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    instrument = setup["instrument"]
    login(client, setup["manager"])
    response = _upload(client, instrument, b"\x00" * 20_000)
    assert response.status_code == 413


def test_admin_can_create_an_instrument_for_any_lab(client, setup):
    from tests.factories import make_admin

    admin = make_admin()
    category = make_category()
    db.session.commit()
    login(client, admin)
    page = client.get("/manage/instruments/new").get_data(as_text=True)
    assert f'value="{setup["other_lab"].id}"' in page and f'value="{setup["lab"].id}"' in page
    response = client.post("/manage/instruments/new", data=instrument_payload(setup["other_lab"], category,
                                                                               name_en="Admin-made"))
    assert response.status_code == 302
    made = db.session.scalar(db.select(Instrument).where(Instrument.name_en == "Admin-made"))
    assert made.lab_id == setup["other_lab"].id and len(made.rate_cards) == 3


def test_manage_list_does_not_run_n_plus_one_queries(client, setup, count_queries):
    from tests.factories import make_institution

    login(client, setup["manager"])
    client.get("/manage/instruments")
    with count_queries() as few:
        assert client.get("/manage/instruments").status_code == 200
    for _ in range(27):
        make_instrument(setup["lab"], make_category())
    extra_lab = make_lab(make_institution())
    extra_lab.managers.append(setup["manager"])
    db.session.commit()
    with count_queries() as many:
        html = client.get("/manage/instruments").get_data(as_text=True)
    assert html.count("/edit\"") >= 28
    assert many.count == few.count, many.statements
