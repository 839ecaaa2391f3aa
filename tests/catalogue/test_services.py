"""Catalogue services, permissions and photo checks, called directly (no HTTP)."""

from __future__ import annotations

import pytest
from PIL import Image

from equipshare.catalogue import services
from equipshare.catalogue.categories import NATIONAL_CATEGORIES
from equipshare.catalogue.display import parse_specs
from equipshare.catalogue.models import Category, Instrument
from equipshare.catalogue.permissions import (
    can_manage_instrument,
    can_manage_lab,
    can_use_manage_area,
    can_view_instrument,
)
from equipshare.catalogue.photos import PhotoError, process_photo
from equipshare.errors import Forbidden, RuleViolation
from equipshare.extensions import db
from tests.catalogue.helpers import image_bytes
from tests.factories import make_admin, make_client_user, make_instrument, make_lab, make_manager


def category_count() -> int:
    return db.session.scalar(db.select(db.func.count(Category.id)))


def test_national_classification_has_fifteen_classes_with_unique_codes():
    codes = [c.code for c in NATIONAL_CATEGORIES]
    assert len(codes) == 15 == len(set(codes))
    names = {c.name_zh for c in NATIONAL_CATEGORIES}
    assert {"分析仪器", "计量仪器", "激光器", "核仪器", "其他仪器", "计算机及其配套设备"} <= names
    assert all(c.name_en for c in NATIONAL_CATEGORIES)


def test_ensure_categories_is_idempotent():
    assert services.ensure_categories() == 15
    assert services.ensure_categories() == 0
    assert category_count() == 15


def test_seed_categories_command_is_idempotent(app):
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-categories"])
    assert first.exit_code == 0, first.output
    assert "Added 15" in first.output
    second = runner.invoke(args=["seed-categories"])
    assert second.exit_code == 0 and "already complete" in second.output
    db.session.expire_all()
    assert category_count() == 15


def test_permissions():
    lab_a, lab_b = make_lab(), make_lab()
    instrument = make_instrument(lab_a, status="retired")
    manager_a, manager_b = make_manager(lab_a), make_manager(lab_b)
    admin, client = make_admin(), make_client_user()
    db.session.flush()
    assert can_manage_instrument(manager_a, instrument) and can_manage_lab(manager_a, lab_a)
    assert not can_manage_instrument(manager_b, instrument) and not can_manage_lab(manager_b, lab_a)
    assert can_manage_instrument(admin, instrument)
    assert not can_manage_instrument(client, instrument) and not can_manage_instrument(None, instrument)
    assert can_view_instrument(manager_a, instrument) and can_view_instrument(admin, instrument)
    assert not can_view_instrument(manager_b, instrument) and not can_view_instrument(None, instrument)
    assert can_use_manage_area(manager_b) and can_use_manage_area(admin) and not can_use_manage_area(client)


def test_save_instrument_refuses_a_lab_the_actor_does_not_manage():
    lab_a, lab_b = make_lab(), make_lab()
    instrument = make_instrument(lab_a)
    manager_a = make_manager(lab_a)
    db.session.commit()
    values = {"name_zh": "新名", "name_en": "New", "status": "active", "booking_mode": "service",
              "slot_minutes": 30, "min_duration_minutes": 30, "max_duration_minutes": 60, "min_notice_hours": 0,
              "horizon_days": 10, "open_minute": 0, "close_minute": 1440, "open_weekdays": "1234567",
              "requires_approval": False, "late_cancel_hours": 0, "max_open_requests_per_org": 1}
    with pytest.raises(Forbidden):
        services.save_instrument(manager_a, instrument, values, lab_id=lab_b.id,
                                 category_id=instrument.category_id, rates={})
    db.session.rollback()
    with pytest.raises(RuleViolation) as excinfo:
        services.save_instrument(manager_a, instrument, {**values, "max_duration_minutes": 15},
                                 lab_id=lab_a.id, category_id=instrument.category_id, rates={})
    assert excinfo.value.field == "max_duration_minutes"
    db.session.rollback()
    with pytest.raises(RuleViolation):
        services.save_instrument(manager_a, instrument, values, lab_id=lab_a.id,
                                 category_id=instrument.category_id, rates={"internal": {"hourly_rate_fen": -1}})
    db.session.rollback()
    saved = services.save_instrument(manager_a, instrument, values, lab_id=lab_a.id,
                                     category_id=instrument.category_id, rates={"academic": {"hourly_rate_fen": 5}})
    assert saved.name_en == "New" and saved.rate_for("academic").hourly_rate_fen == 5
    assert db.session.get(Instrument, instrument.id).open_weekdays == "1234567"


def test_booking_rule_errors_accepts_round_the_clock_and_refuses_off_grid_opening():
    good = {"slot_minutes": 60, "min_duration_minutes": 60, "max_duration_minutes": 10080, "open_minute": 0,
            "close_minute": 1440, "open_weekdays": "1234567", "min_notice_hours": 0, "late_cancel_hours": 0,
            "horizon_days": 1, "max_open_requests_per_org": 1, "status": "active", "booking_mode": "self"}
    assert services.booking_rule_errors(good) == {}
    assert "open_minute" in services.booking_rule_errors({**good, "open_minute": 30})
    assert "open_weekdays" in services.booking_rule_errors({**good, "open_weekdays": "115"})


def test_parse_specs():
    assert parse_specs("a: 1\n\n  b：2  \nplain line\n: no name") == [
        ("a", "1"), ("b", "2"), ("plain line", ""), (": no name", "")]
    assert parse_specs(None) == []
    assert parse_specs("URL: http://x.example/a:b") == [("URL", "http://x.example/a:b")]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_process_photo_reencodes_accepted_formats(fmt):
    photo = process_photo(image_bytes(fmt, size=(3000, 2000)), 10 * 1024 * 1024)
    import io

    with Image.open(io.BytesIO(photo.data)) as img:
        assert img.format == fmt and max(img.size) == 1600


def test_process_photo_refuses_bad_files():
    for data, reason in ((b"", "empty"), (b"hello" * 100, "not_an_image"), (image_bytes("GIF"), "wrong_type"),
                         (image_bytes("PNG"), "too_large")):
        with pytest.raises(PhotoError) as excinfo:
            process_photo(data, 10 if reason == "too_large" else 10_000_000)
        assert excinfo.value.reason == reason


def test_process_photo_refuses_decompression_bombs():
    import io

    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, "PNG")  # tiny file, 50 million pixels
    with pytest.raises(PhotoError) as excinfo:
        process_photo(out.getvalue(), 10_000_000)
    assert excinfo.value.reason in ("too_many_pixels", "not_an_image")
