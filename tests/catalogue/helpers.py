"""Shared helpers for catalogue tests: form payloads and small images."""

from __future__ import annotations

import io
import re

from PIL import Image

from equipshare.catalogue.models import Category, Instrument, Lab


def instrument_payload(lab: Lab, category: Category, **overrides) -> dict:
    """A complete, valid instrument form submission (as a browser would post it)."""
    data = {
        "lab_id": str(lab.id),
        "category_id": str(category.id),
        "name_zh": "激光共聚焦显微镜",
        "name_en": "Confocal laser scanning microscope",
        "model": "LSM 980",
        "manufacturer": "Zeiss",
        "location": "Building B, room 204",
        "description_zh": "",
        "description_en": "Live-cell imaging.",
        "specs": "Lasers: 405/488/561/640 nm\nObjectives: 10x, 20x, 63x oil",
        "status": "active",
        "booking_mode": "self",
        "slot_minutes": "30",
        "min_duration_minutes": "60",
        "max_duration_minutes": "240",
        "min_notice_hours": "12",
        "horizon_days": "30",
        "open_minute": "480",
        "close_minute": "1200",
        "open_weekdays": ["1", "2", "3", "4", "5", "6"],
        "requires_approval": "y",
        "late_cancel_hours": "48",
        "max_open_requests_per_org": "4",
    }
    for customer_class, hourly in (("internal", "80"), ("academic", "150.5"), ("enterprise", "300")):
        data[f"rate_{customer_class}-hourly_rate_fen"] = hourly
        data[f"rate_{customer_class}-per_sample_fen"] = "10"
        data[f"rate_{customer_class}-setup_fee_fen"] = "0"
        data[f"rate_{customer_class}-minimum_charge_fen"] = "50"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def payload_for(instrument: Instrument, **overrides) -> dict:
    """The edit form of an existing instrument, as the page would submit it unchanged."""
    data = instrument_payload(instrument.lab, instrument.category)
    for name in ("name_zh", "name_en", "model", "manufacturer", "location", "description_zh", "description_en",
                 "specs", "status", "booking_mode"):
        data[name] = getattr(instrument, name) or ""
    for name in ("slot_minutes", "min_duration_minutes", "max_duration_minutes", "min_notice_hours", "horizon_days",
                 "open_minute", "close_minute", "late_cancel_hours", "max_open_requests_per_org"):
        data[name] = str(getattr(instrument, name))
    data["open_weekdays"] = list(instrument.open_weekdays)
    if not instrument.requires_approval:
        data.pop("requires_approval")
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def image_bytes(fmt: str = "PNG", size=(32, 24), noise: bool = False) -> bytes:
    img = Image.new("RGB", size, (20, 120, 200))
    if noise:
        import random

        rng = random.Random(7)
        img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size[0] * size[1])])
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def listed_instrument_ids(html: str) -> list[int]:
    """Instrument ids in the order the cards appear on a catalogue page."""
    return [int(x) for x in re.findall(r'class="stretched-link text-decoration-none" href="/instruments/(\d+)"', html)]
