"""Voucher programme and grant services: validation, permissions, nothing written on refusal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from equipshare.accounts.models import OrgStatus
from equipshare.billing import vouchers as service
from equipshare.billing.models import VoucherGrant, VoucherProgramme
from equipshare.errors import Conflict, Forbidden, RuleViolation
from equipshare.extensions import db
from tests.billing.helpers import APRIL_1
from tests.factories import make_admin, make_client_user, make_instrument, make_manager, make_org


def _values(**overrides) -> service.ProgrammeValues:
    values = dict(name="临沂市科技创新券", authority="临沂市科学技术局", share_bp=6000, yearly_cap_fen=50_000_000,
                  customer_classes=("enterprise",), instrument_ids=(), valid_from=date(2026, 1, 1),
                  valid_until=date(2026, 12, 31))
    values.update(overrides)
    return service.ProgrammeValues(**values)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"share_bp": 10_001}, "share_percent"),
    ({"share_bp": 0}, "share_percent"),
    ({"share_bp": -6000}, "share_percent"),
    ({"yearly_cap_fen": 0}, "yearly_cap"),
    ({"yearly_cap_fen": 10**13}, "yearly_cap"),
    ({"customer_classes": ()}, "customer_classes"),
    ({"customer_classes": ("vip",)}, "customer_classes"),
    ({"valid_until": date(2025, 12, 31)}, "valid_until"),
    ({"instrument_ids": (999_999,)}, "instrument_ids"),
    ({"name": " "}, "name"),
    ({"authority": "x" * 201}, "authority"),
])
def test_bad_programmes_are_refused_and_nothing_is_written(overrides, field):
    admin = make_admin()
    db.session.commit()
    with pytest.raises(RuleViolation) as info:
        service.save_programme(admin, None, _values(**overrides), APRIL_1)
    assert info.value.field == field and str(info.value.message)
    db.session.rollback()
    assert _count(VoucherProgramme) == 0


def test_only_platform_admins_define_and_grant():
    manager, firm_admin = make_manager(), make_client_user(org_admin=True)
    db.session.commit()
    for actor in (manager, firm_admin):
        with pytest.raises(Forbidden):
            service.save_programme(actor, None, _values(), APRIL_1)
        db.session.rollback()
    assert _count(VoucherProgramme) == 0


def test_programme_with_instruments_and_grants():
    admin = make_admin()
    instrument = make_instrument()
    firm = make_client_user().organisation
    pending = make_org(status=OrgStatus.PENDING)
    db.session.commit()
    programme = service.save_programme(admin, None, _values(instrument_ids=(instrument.id,)), APRIL_1)
    assert [i.id for i in programme.instruments] == [instrument.id] and programme.created_by_id == admin.id
    grant = service.grant_voucher(admin, programme.id, firm.id, 2026, 50_000_000, " first year ", APRIL_1)
    assert (grant.amount_fen, grant.used_fen, grant.note, grant.balance_fen) == (50_000_000, 0, "first year", 50_000_000)
    for args, error in [((firm.id, 2026, 1), Conflict), ((firm.id, 2027, 1), RuleViolation),
                        ((firm.id, 2026, 50_000_001), RuleViolation), ((pending.id, 2026, 1), RuleViolation),
                        ((firm.id, 2026, 0), RuleViolation)]:
        with pytest.raises(error):
            service.grant_voucher(admin, programme.id, *args, None, APRIL_1)
        db.session.rollback()
    assert _count(VoucherGrant) == 1
    with pytest.raises(RuleViolation) as info:
        service.save_programme(admin, programme.id, _values(yearly_cap_fen=1000), APRIL_1)
    assert info.value.code == "cap_below_grant"
    db.session.rollback()
    service.save_programme(admin, programme.id, _values(share_bp=5000, active=False), APRIL_1)
    assert db.session.get(VoucherProgramme, programme.id).share_bp == 5000
