"""A small world for feed tests: one lab with a manager and two instruments, two client firms,
and a booking of every status (times relative to the real clock: the feed route uses it)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from equipshare.booking.models import BookingStatus
from equipshare.db import utcnow
from equipshare.extensions import db
from tests.factories import (
    make_booking,
    make_client_user,
    make_downtime,
    make_instrument,
    make_lab,
    make_manager,
    make_user,
)


@pytest.fixture(autouse=True)
def _empty_body_cache():
    from equipshare.calendars import cache

    cache.bodies.clear()
    yield
    cache.bodies.clear()


@pytest.fixture()
def world():
    now = utcnow()
    day = (now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    lab = make_lab(name_zh="分析测试中心", name_en="Analysis Centre", location="理科楼")
    # Open round the clock with short notice, so that services.reschedule_booking accepts test times.
    rules = dict(open_minute=0, close_minute=1440, open_weekdays="1234567", min_notice_hours=1)
    sem = make_instrument(lab, name_zh="扫描电子显微镜", name_en="Scanning electron microscope", location="B101",
                          **rules)
    xrd = make_instrument(lab, name_zh="X射线衍射仪", name_en="X-ray diffractometer", **rules)
    manager = make_manager(lab, name="王经理", locale="zh")
    client = make_client_user(name="李四")
    colleague = make_user(client.organisation, name="Colleague")
    other = make_client_user(name="Other firm user")
    b = SimpleNamespace()
    b.pending = make_booking(sem, client, start=day, status=BookingStatus.PENDING, purpose="镀层截面成像")
    b.approved = make_booking(sem, client, start=day + timedelta(days=1), status=BookingStatus.APPROVED,
                              sample_count=3, sample_description="Steel coupons")
    b.cancelled = make_booking(sem, client, start=day, status=BookingStatus.CANCELLED)
    b.rejected = make_booking(sem, client, start=day + timedelta(hours=2), status=BookingStatus.REJECTED)
    b.expired = make_booking(sem, client, start=day - timedelta(days=5), status=BookingStatus.EXPIRED)
    b.completed = make_booking(sem, client, start=day - timedelta(days=6), status=BookingStatus.COMPLETED)
    b.no_show = make_booking(sem, client, start=day - timedelta(days=7), status=BookingStatus.NO_SHOW)
    b.colleague = make_booking(xrd, colleague, start=day + timedelta(days=2), status=BookingStatus.APPROVED)
    b.other_org = make_booking(xrd, other, start=day + timedelta(days=1), status=BookingStatus.APPROVED,
                               purpose="Other firm's secret project")
    downtime = make_downtime(sem, day + timedelta(days=4), 8, manager, reason="Annual service")
    db.session.commit()
    return SimpleNamespace(now=now, day=day, lab=lab, sem=sem, xrd=xrd, manager=manager, client=client,
                           colleague=colleague, other=other, b=b, downtime=downtime)

