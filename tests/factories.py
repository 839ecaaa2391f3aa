"""Builders for test data. Each returns a committed-ready object added to the session."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from functools import lru_cache

from equipshare.accounts.auth import hash_password
from equipshare.accounts.models import (
    MemberRole,
    MemberStatus,
    Organisation,
    OrgKind,
    OrgStatus,
    User,
)
from equipshare.booking.models import Booking, BookingStatus, Downtime, Qualification
from equipshare.catalogue.models import Category, Institution, Instrument, Lab, RateCard
from equipshare.db import utcnow
from equipshare.extensions import db

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)

# A valid unified social credit code (GB 32100-2015) for tests; make_org generates others.
VALID_CREDIT_CODE = "91371300MA3C4D5E6F"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)


def n() -> int:
    return next(_seq)


def make_institution(**kw) -> Institution:
    i = n()
    obj = Institution(name_zh=kw.pop("name_zh", f"测试大学{i}"), name_en=kw.pop("name_en", f"Test University {i}"), **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def make_lab(institution: Institution | None = None, managers=(), **kw) -> Lab:
    i = n()
    obj = Lab(
        institution=institution or make_institution(),
        name_zh=kw.pop("name_zh", f"分析测试中心{i}"),
        name_en=kw.pop("name_en", f"Analysis Centre {i}"),
        **kw,
    )
    obj.managers.extend(managers)
    db.session.add(obj)
    db.session.flush()
    return obj


def make_category(**kw) -> Category:
    i = n()
    obj = Category(code=kw.pop("code", f"T{i:03d}"), name_zh=kw.pop("name_zh", f"分析仪器{i}"),
                   name_en=kw.pop("name_en", f"Analytical {i}"), **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def make_instrument(lab: Lab | None = None, category: Category | None = None, rates: dict | None = None, **kw) -> Instrument:
    i = n()
    obj = Instrument(
        lab=lab or make_lab(),
        category=category or make_category(),
        name_zh=kw.pop("name_zh", f"扫描电子显微镜{i}"),
        name_en=kw.pop("name_en", f"Scanning electron microscope {i}"),
        model=kw.pop("model", f"SU{i}"),
        manufacturer=kw.pop("manufacturer", "Hitachi"),
        **kw,
    )
    db.session.add(obj)
    if rates is None:
        rates = {"internal": 10000, "academic": 20000, "enterprise": 40000}
    for customer_class, hourly in rates.items():
        obj.rate_cards.append(RateCard(customer_class=customer_class, hourly_rate_fen=hourly))
    db.session.flush()
    return obj


def make_org(kind: str = OrgKind.ENTERPRISE, status: str = OrgStatus.APPROVED, **kw) -> Organisation:
    from equipshare.accounts.credit_code import make_valid_code

    i = n()
    if kind == OrgKind.ENTERPRISE and "credit_code" not in kw:
        kw["credit_code"] = make_valid_code(f"9137130{i:010d}")
    obj = Organisation(
        name=kw.pop("name", f"临沂测试科技有限公司{i}"),
        kind=kind,
        status=status,
        contact_name=kw.pop("contact_name", "张三"),
        contact_phone=kw.pop("contact_phone", "0539-1234567"),
        contact_email=kw.pop("contact_email", f"contact{i}@example.com"),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def make_user(org: Organisation | None = None, *, org_admin: bool = False, **kw) -> User:
    i = n()
    obj = User(
        email=kw.pop("email", f"user{i}@example.com"),
        name=kw.pop("name", f"User {i}"),
        password_hash=_password_hash(),
        organisation=org,
        org_role=MemberRole.ADMIN if org_admin else MemberRole.MEMBER,
        member_status=kw.pop("member_status", MemberStatus.ACTIVE),
        locale=kw.pop("locale", "en"),  # see BABEL_DEFAULT_LOCALE in conftest.py
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def make_client_user(org_admin: bool = False, **kw) -> User:
    """An active member of a fresh, approved firm."""
    return make_user(make_org(), org_admin=org_admin, **kw)


def make_manager(lab: Lab | None = None, **kw) -> User:
    user = make_user(**kw)
    lab = lab or make_lab()
    lab.managers.append(user)  # keep a reference to the lab until the flush
    db.session.flush()
    return user


def make_admin(**kw) -> User:
    return make_user(is_platform_admin=True, **kw)


def make_booking(instrument: Instrument, user: User, start: datetime | None = None, hours: float = 1,
                 status: str = BookingStatus.PENDING, **kw) -> Booking:
    start = start or (utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=3))
    obj = Booking(
        instrument=instrument,
        user=user,
        organisation=user.organisation,
        start_at=start,
        end_at=start + timedelta(hours=hours),
        status=status,
        purpose=kw.pop("purpose", "SEM imaging of coating cross-sections"),
        customer_class=kw.pop("customer_class", "enterprise"),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def make_downtime(instrument: Instrument, start: datetime, hours: float, by: User, reason: str = "Maintenance") -> Downtime:
    obj = Downtime(instrument=instrument, start_at=start, end_at=start + timedelta(hours=hours), reason=reason, created_by=by)
    db.session.add(obj)
    db.session.flush()
    return obj


def make_qualification(user: User, instrument: Instrument, by: User) -> Qualification:
    obj = Qualification(user=user, instrument=instrument, granted_by=by)
    db.session.add(obj)
    db.session.flush()
    return obj


def login(client, user: User, password: str = PASSWORD):
    response = client.post("/auth/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def make_feed(user: User, scope: str = "mine", *, instrument: Instrument | None = None, lab: Lab | None = None,
              name: str = "Test feed") -> tuple:
    """A calendar feed and its secret token: returns (FeedToken, token)."""
    from equipshare.calendars.models import FeedToken
    from equipshare.calendars.services import hash_token, new_token

    token = new_token()
    obj = FeedToken(user=user, scope=scope, instrument=instrument, lab=lab, name=name, token_hash=hash_token(token))
    db.session.add(obj)
    db.session.flush()
    return obj, token


def make_voucher_programme(share_bp: int = 6000, yearly_cap_fen: int = 50_000_000, classes: str = "enterprise",
                           instruments=(), **kw):
    """An innovation voucher programme (default: 60 % of enterprise fees, ¥500,000 a year, 2020–2030)."""
    from datetime import date

    from equipshare.billing.models import VoucherProgramme

    obj = VoucherProgramme(
        name=kw.pop("name", f"临沂市科技创新券{n()}"), authority=kw.pop("authority", "临沂市科学技术局"),
        share_bp=share_bp, yearly_cap_fen=yearly_cap_fen, customer_classes=classes,
        valid_from=kw.pop("valid_from", date(2020, 1, 1)), valid_until=kw.pop("valid_until", date(2030, 12, 31)),
        **kw,
    )
    obj.instruments.extend(instruments)
    db.session.add(obj)
    db.session.flush()
    return obj


def make_voucher_grant(programme, org: Organisation, year: int, amount_fen: int, **kw):
    from equipshare.billing.models import VoucherGrant

    obj = VoucherGrant(programme=programme, organisation_id=org.id, year=year, amount_fen=amount_fen, used_fen=0, **kw)
    db.session.add(obj)
    db.session.flush()
    return obj
