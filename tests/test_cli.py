"""flask commands: create-admin and demo-data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from equipshare.accounts.auth import verify_password
from equipshare.accounts.credit_code import is_valid
from equipshare.accounts.models import MemberRole, Organisation, OrgKind, OrgStatus, User
from equipshare.catalogue.models import Category, Institution, Instrument, Lab
from equipshare.catalogue.pricing import customer_class_for
from equipshare.catalogue.services import booking_rule_errors
from equipshare.demo import DEMO_PASSWORD, INSTRUMENTS, LOGINS, email, instrument_values
from equipshare.extensions import db
from tests.factories import PASSWORD, login, make_user


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


def _user(address: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == address))


# --- create-admin ---------------------------------------------------------------------------------


def test_create_admin_creates_a_platform_admin_who_can_log_in(runner, client):
    result = runner.invoke(args=["create-admin", "  Boss@Example.COM ", "--name", "Boss", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "boss@example.com is a platform admin" in result.output
    user = _user("boss@example.com")
    assert user.is_platform_admin and user.active and user.name == "Boss"
    assert verify_password(user.password_hash, PASSWORD)
    login(client, user)


def test_create_admin_reads_the_password_from_the_environment(runner):
    result = runner.invoke(args=["create-admin", "env@example.com"], env={"ADMIN_PASSWORD": "from the environment"})
    assert result.exit_code == 0, result.output
    assert verify_password(_user("env@example.com").password_hash, "from the environment")


@pytest.mark.parametrize("password", ["too short", "x" * 129])
def test_create_admin_refuses_a_bad_password_and_writes_nothing(runner, password):
    result = runner.invoke(args=["create-admin", "weak@example.com", "--password", password])
    assert result.exit_code != 0
    assert "12 to 128 characters" in result.output
    assert _user("weak@example.com") is None


def test_create_admin_promotes_an_existing_user_and_keeps_the_password(runner):
    user = make_user(email="member@example.com", active=False)
    db.session.commit()
    old_hash = user.password_hash
    result = runner.invoke(args=["create-admin", "MEMBER@example.com"])  # no password needed
    assert result.exit_code == 0, result.output
    user = _user("member@example.com")
    assert user.is_platform_admin and user.active
    assert user.password_hash == old_hash
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


# --- demo-data -----------------------------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _load(runner):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_data_twice_changes_nothing(runner):
    first = _load(runner)
    counts = _row_counts()
    second = _load(runner)
    assert _row_counts() == counts
    assert "Created: nothing. Updated: nothing." in second
    assert "Created: nothing" not in first
    for output in (first, second):
        assert DEMO_PASSWORD in output
        for prefix, _role in LOGINS:
            assert email(prefix) in output


def test_demo_data_content_is_realistic(runner):
    _load(runner)
    assert db.session.scalar(select(func.count()).select_from(Institution)) >= 3
    assert {i.kind for i in db.session.scalars(select(Institution))} == {"university", "institute", "college"}
    assert db.session.scalar(select(func.count()).select_from(Lab)) >= 6
    instruments = db.session.scalars(select(Instrument)).all()
    assert len(instruments) >= 40
    assert len({i.category_id for i in instruments}) >= 5
    assert {i.booking_mode for i in instruments} == {"self", "service"}
    assert {i.requires_approval for i in instruments} == {True, False}
    assert db.session.scalar(select(func.count()).select_from(Category)) >= 15  # seeded on the way
    for instrument in instruments:
        assert instrument.name_zh and instrument.name_en and instrument.model and instrument.specs
        assert instrument.description_zh and instrument.description_en
        cards = {card.customer_class: card for card in instrument.rate_cards}
        assert set(cards) == {"internal", "academic", "enterprise"}
        for fee in ("hourly_rate_fen", "per_sample_fen", "setup_fee_fen", "minimum_charge_fen"):
            internal, academic, enterprise = (getattr(cards[c], fee) for c in ("internal", "academic", "enterprise"))
            assert internal <= academic <= enterprise, (instrument.model, fee)
            assert enterprise == 0 or internal < academic < enterprise, (instrument.model, fee)
        assert any(getattr(cards["enterprise"], f) > 0 for f in ("hourly_rate_fen", "per_sample_fen")), instrument.model

    firms = db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.ENTERPRISE)).all()
    assert len(firms) == 5
    for firm in firms:
        assert firm.status == OrgStatus.APPROVED and is_valid(firm.credit_code)
        assert any(m.org_role == MemberRole.ADMIN for m in firm.members)


def test_demo_data_has_one_login_per_role(runner, make_client):
    _load(runner)
    admin, manager = _user(email("admin")), _user(email("manager"))
    firm_admin, firm_member = _user(email("firm.admin")), _user(email("firm.member"))
    academic, internal = _user(email("academic")), _user(email("internal"))
    assert admin.is_platform_admin
    assert len(manager.managed_labs) >= 2 and not manager.is_platform_admin
    assert firm_admin.is_org_admin and firm_admin.organisation.kind == OrgKind.ENTERPRISE
    assert firm_member.is_client and not firm_member.is_org_admin
    assert firm_member.organisation_id == firm_admin.organisation_id

    lyu_instrument = next(i for i in manager.managed_labs[0].instruments)
    assert lyu_instrument.lab.institution.name_en == "Linyi University"
    assert customer_class_for(internal.organisation, lyu_instrument) == "internal"
    assert customer_class_for(academic.organisation, lyu_instrument) == "academic"
    assert customer_class_for(firm_member.organisation, lyu_instrument) == "enterprise"

    for user in (admin, manager, firm_admin, firm_member, academic, internal):
        login(make_client(), user, password=DEMO_PASSWORD)


def test_demo_data_puts_back_what_was_changed(runner):
    _load(runner)
    user = _user(email("firm.member"))
    user.password_hash = "scrypt:changed"
    instrument = db.session.scalar(select(Instrument).where(Instrument.model == "SU8010"))
    instrument.name_en = "Renamed"
    db.session.commit()
    output = _load(runner)
    assert "Created: nothing." in output and "1 instruments" in output
    assert db.session.scalar(select(Instrument.name_en).where(Instrument.model == "SU8010")).startswith("Field-emission")
    assert verify_password(_user(email("firm.member")).password_hash, DEMO_PASSWORD)


def test_demo_data_refuses_production_unless_forced(runner, monkeypatch):
    monkeypatch.setenv("EQUIPSHARE_ENV", "production")
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code != 0 and "--force" in result.output
    assert db.session.scalar(select(func.count()).select_from(Instrument)) == 0


@pytest.mark.parametrize("item", INSTRUMENTS, ids=lambda item: item.model)
def test_demo_instruments_follow_the_catalogue_rules(item):
    assert booking_rule_errors(instrument_values(item)) == {}
