"""Billing pages: who sees what (404 for another firm's statement), downloads, forms."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from equipshare.billing.charges import charge_booking
from equipshare.billing.models import Charge, ChargeEvent, Statement, VoucherGrant, VoucherProgramme
from equipshare.billing.statements import issue_statement
from equipshare.extensions import db
from tests.billing.helpers import APRIL_1, completed_booking, local, member_of, setup_firm
from tests.factories import (
    login,
    make_admin,
    make_client_user,
    make_manager,
    make_voucher_grant,
    make_voucher_programme,
)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _issued(s=None, **instrument_kw):
    s = s or setup_firm(**instrument_kw)
    charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2), 90, samples=2), None, APRIL_1)
    db.session.commit()
    return s, issue_statement(None, s.org.id, 2026, 3, APRIL_1)


# --- statements: firms and admins ---------------------------------------------------------------


def test_org_admin_sees_own_statements_and_downloads(client):
    s, statement = _issued()
    login(client, s.client)
    page = client.get("/billing/statements").get_data(as_text=True)
    assert statement.number in page and "¥600.00" in page
    detail = client.get(f"/billing/statements/{statement.id}")
    assert detail.status_code == 200 and s.instrument.name_en in detail.get_data(as_text=True)
    pdf = client.get(f"/billing/statements/{statement.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and b"STSong-Light" in pdf.data
    csv = client.get(f"/billing/statements/{statement.id}.csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    text = csv.data.decode("utf-8-sig")
    assert s.instrument.name_en in text and "600.00" in text


def test_another_firms_statement_is_not_found(client):
    _, statement = _issued()
    intruder = make_client_user(org_admin=True, locale="en")
    db.session.commit()
    login(client, intruder)
    for suffix in ("", ".pdf", ".csv"):
        response = client.get(f"/billing/statements/{statement.id}{suffix}")
        assert response.status_code == 404
        assert statement.number.encode() not in response.data
    assert b"No such statement" in client.get(f"/billing/statements/{statement.id}").data
    listing = client.get(f"/billing/statements?org={statement.organisation_id}").get_data(as_text=True)
    assert statement.number not in listing  # ?org= is ignored for firms: they see their own
    vouchers = client.get(f"/billing/vouchers?org={statement.organisation_id}").get_data(as_text=True)
    assert statement.org_name not in vouchers


def test_statements_need_an_org_admin(client):
    s, statement = _issued()
    member = member_of(s.org)
    db.session.commit()
    assert client.get("/billing/statements").status_code == 302  # to the login page
    login(client, member)
    assert client.get("/billing/statements").status_code == 403
    assert client.get(f"/billing/statements/{statement.id}").status_code == 404


def test_platform_admin_sees_every_statement(client):
    _, statement = _issued()
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    page = client.get("/billing/statements").get_data(as_text=True)
    assert statement.number in page and statement.org_name in page
    assert client.get(f"/billing/statements/{statement.id}.pdf").status_code == 200
    assert client.get("/billing/statements?org=999999").status_code == 404


def test_statement_csv_neutralises_formulas(client):
    s, statement = _issued(name_zh="=HYPERLINK(\"http://evil\")", name_en="=HYPERLINK(\"http://evil\")")
    login(client, s.client)
    text = client.get(f"/billing/statements/{statement.id}.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_voucher_balance_and_history(client):
    s = setup_firm()
    programme = make_voucher_programme(name="临沂市科技创新券")
    make_voucher_grant(programme, s.org, 2026, 100_000)
    _, statement = _issued(s)
    login(client, s.client)
    page = client.get("/billing/vouchers").get_data(as_text=True)
    # 90 min at ¥400/h = ¥600; 60 % = ¥360 deducted from ¥1,000
    assert "临沂市科技创新券" in page and "¥640.00" in page and "¥360.00" in page and statement.number in page


def test_nav_shows_billing_entries_by_role(client):
    s = setup_firm()
    db.session.commit()
    login(client, s.client)
    page = client.get("/billing/statements").get_data(as_text=True)
    assert 'href="/billing/statements"' in page and "/manage/billing/income" not in page


# --- managers -----------------------------------------------------------------------------------


def test_manager_adjusts_an_open_charge_through_the_form(client):
    s = setup_firm()
    charge = charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2)), None, APRIL_1)
    db.session.commit()
    login(client, s.manager)
    assert client.get(f"/manage/billing/charges/{charge.id}").status_code == 200
    response = client.post(f"/manage/billing/charges/{charge.id}/adjust", data={"amount": "300", "reason": ""})
    assert response.status_code == 422 and _count(ChargeEvent) == 1
    response = client.post(f"/manage/billing/charges/{charge.id}/adjust", data={"amount": "abc", "reason": "x"})
    assert response.status_code == 422
    response = client.post(f"/manage/billing/charges/{charge.id}/adjust",
                           data={"amount": "300.50", "reason": "Sample prep failed"})
    assert response.status_code == 302
    assert db.session.get(Charge, charge.id).amount_fen == 30050
    history = client.get(f"/manage/billing/charges/{charge.id}").get_data(as_text=True)
    assert "Sample prep failed" in history and "¥400.00 → ¥300.50" in history


def test_adjustment_on_an_issued_statement_is_refused_with_a_message(client):
    s, statement = _issued()
    charge_id = statement.lines[0].charge_id
    login(client, s.manager)
    response = client.post(f"/manage/billing/charges/{charge_id}/adjust", data={"amount": "1", "reason": "oops"})
    assert response.status_code == 422
    assert "can no longer be changed" in response.get_data(as_text=True)
    assert db.session.get(Charge, charge_id).amount_fen == 60000
    response = client.post(f"/manage/billing/charges/{charge_id}/correct",
                           data={"amount": "-100", "reason": "Goodwill"})
    assert response.status_code == 302
    assert db.session.scalar(select(Charge).where(Charge.corrects_charge_id == charge_id)).amount_fen == -10000


def test_other_managers_cannot_see_or_adjust_charges(client):
    s = setup_firm()
    charge = charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2)), None, APRIL_1)
    other = make_manager(locale="en")
    db.session.commit()
    login(client, other)
    assert client.get(f"/manage/billing/charges/{charge.id}").status_code == 403
    assert client.post(f"/manage/billing/charges/{charge.id}/adjust",
                       data={"amount": "1", "reason": "x"}).status_code == 403
    listing = client.get("/manage/billing/charges").get_data(as_text=True)
    assert "No charges." in listing and s.org.name not in listing
    assert client.get("/manage/billing/charges/999999").status_code == 404


def test_clients_cannot_open_manager_pages(client):
    s = setup_firm()
    db.session.commit()
    login(client, s.client)
    for url in ("/manage/billing/charges", "/manage/billing/income",
                f"/manage/billing/instruments/{s.instrument.id}/policy"):
        assert client.get(url).status_code == 403


def test_billing_policy_form(client):
    s = setup_firm()
    db.session.commit()
    login(client, s.manager)
    url = f"/manage/billing/instruments/{s.instrument.id}/policy"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"billing_mode": "actual", "billing_increment_minutes": "0",
                                 "late_cancel_fee_percent": "150", "no_show_fee_percent": "0"})
    assert bad.status_code == 422
    assert db.session.get(type(s.instrument), s.instrument.id).late_cancel_fee_percent == 0
    ok = client.post(url, data={"billing_mode": "max_booked_actual", "billing_increment_minutes": "15",
                                "late_cancel_fee_percent": "20", "no_show_fee_percent": "50"})
    assert ok.status_code == 302
    instrument = db.session.get(type(s.instrument), s.instrument.id)
    assert (instrument.billing_mode, instrument.billing_increment_minutes, instrument.late_cancel_fee_percent,
            instrument.no_show_fee_percent) == ("max_booked_actual", 15, 20, 50)
    other = make_manager(locale="en")
    db.session.commit()
    client.post("/auth/logout")
    login(client, other)
    assert client.get(url).status_code == 403


def test_income_by_instrument_and_month(client):
    s = setup_firm(name_zh="原子力显微镜", name_en="Atomic force microscope")
    make_voucher_grant(make_voucher_programme(), s.org, 2026, 100_000)
    _issued(s)
    other = setup_firm(name_zh="核磁共振波谱仪", name_en="NMR spectrometer")
    _issued(other)
    login(client, s.manager)
    page = client.get("/manage/billing/income?year=2026").get_data(as_text=True)
    assert "Atomic force microscope" in page and "NMR spectrometer" not in page
    assert "¥600.00" in page and "¥360.00" in page and "¥240.00" in page
    assert "No billed income in 2025" in client.get("/manage/billing/income?year=2025").get_data(as_text=True)
    admin = make_admin(locale="en")
    db.session.commit()
    client.post("/auth/logout")
    login(client, admin)
    assert "NMR spectrometer" in client.get("/manage/billing/income?year=2026").get_data(as_text=True)
    client.post("/auth/logout")
    login(client, s.manager)
    csv = client.get("/manage/billing/income?year=2026&format=csv").data.decode("utf-8-sig")
    assert "Atomic force microscope" in csv and "NMR spectrometer" not in csv and "600.00" in csv


# --- platform admin: programmes, grants, claims, on-demand run ---------------------------------------


def _programme_data(**overrides):
    data = {"name": "临沂市科技创新券", "authority": "临沂市科学技术局", "share_percent": "60",
            "yearly_cap": "500000", "customer_classes": ["enterprise"], "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "active": "y"}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("field", "value", "message"), [
    ("share_percent", "150", "at most 100"),
    ("share_percent", "0", "more than 0"),
    ("share_percent", "abc", "percentage"),
    ("yearly_cap", "-5", "negative"),
    ("valid_until", "2025-01-01", "not be before"),
    ("customer_classes", [], "at least one"),
])
def test_bad_programmes_are_refused(client, field, value, message):
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    response = client.post("/admin/billing/vouchers/new", data=_programme_data(**{field: value}))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _count(VoucherProgramme) == 0


def test_admin_defines_and_grants_a_programme(client):
    admin = make_admin(locale="en")
    firm = make_client_user(org_admin=True, locale="en").organisation
    db.session.commit()
    login(client, admin)
    assert client.post("/admin/billing/vouchers/new", data=_programme_data()).status_code == 302
    programme = db.session.scalar(select(VoucherProgramme))
    assert (programme.share_bp, programme.yearly_cap_fen, programme.class_list) == (6000, 50_000_000, ["enterprise"])
    url = f"/admin/billing/vouchers/{programme.id}/grant"
    too_much = client.post(url, data={"organisation_id": firm.id, "year": 2026, "amount": "500000.01"})
    assert too_much.status_code == 422 and "at most the yearly cap" in too_much.get_data(as_text=True)
    wrong_year = client.post(url, data={"organisation_id": firm.id, "year": 2027, "amount": "100"})
    assert wrong_year.status_code == 422
    assert _count(VoucherGrant) == 0
    assert client.post(url, data={"organisation_id": firm.id, "year": 2026, "amount": "200000"}).status_code == 302
    again = client.post(url, data={"organisation_id": firm.id, "year": 2026, "amount": "1"})
    assert again.status_code == 422 and "already has a grant" in again.get_data(as_text=True)
    assert db.session.scalar(select(VoucherGrant.amount_fen)) == 20_000_000
    # the cap cannot drop below a grant
    edit = client.post(f"/admin/billing/vouchers/{programme.id}/edit", data=_programme_data(yearly_cap="1000"))
    assert edit.status_code == 422


def test_voucher_admin_pages_are_for_platform_admins(client):
    s = setup_firm()
    db.session.commit()
    for user in (s.client, s.manager):
        login(client, user)
        for url in ("/admin/billing/vouchers", "/admin/billing/vouchers/new", "/admin/billing/claims",
                    "/admin/billing/statements/run"):
            assert client.get(url).status_code == 403
        assert client.post("/admin/billing/vouchers/new", data=_programme_data()).status_code == 403
        client.post("/auth/logout")
    assert _count(VoucherProgramme) == 0


def test_admin_runs_statements_on_demand(client):
    s = setup_firm()
    charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2)), None, APRIL_1)
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    assert client.get("/admin/billing/statements/run").status_code == 200
    assert client.post("/admin/billing/statements/run", data={"period": "2999-01"}).status_code == 422
    response = client.post("/admin/billing/statements/run", data={"period": "2026-03"})
    assert response.status_code == 302
    assert client.post("/admin/billing/statements/run", data={"period": "2026-03"}).status_code == 302
    statement = db.session.scalar(select(Statement))
    assert _count(Statement) == 1 and statement.issued_by_id == admin.id


def test_claims_export_per_institution(client):
    from openpyxl import load_workbook

    s = setup_firm()
    make_voucher_grant(make_voucher_programme(name="=cmd|' /C calc'!A0"), s.org, 2026, 100_000)
    _issued(s)
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    page = client.get("/admin/billing/claims?period=2026-03").get_data(as_text=True)
    assert s.org.name in page and "¥360.00" in page
    csv = client.get("/admin/billing/claims?period=2026-03&format=csv").data.decode("utf-8-sig")
    assert s.org.name in csv and "'=cmd" in csv and "1.50" in csv and "600.00" in csv and "360.00" in csv
    response = client.get("/admin/billing/claims?period=2026-03&format=xlsx")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book[book.sheetnames[0]]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1] == s.org.name and rows[1][3] == "'=cmd|' /C calc'!A0" and float(rows[1][8]) == 360.0
    assert client.get("/admin/billing/claims?period=2026-02&format=csv").data.decode("utf-8-sig").count("\n") == 1
    institution = s.instrument.lab.institution_id
    assert client.get(f"/admin/billing/claims?period=2026-03&institution={institution + 999}").status_code == 404


def test_admin_pages_render(client):
    s = setup_firm()
    programme = make_voucher_programme(instruments=[s.instrument])
    make_voucher_grant(programme, s.org, 2026, 100_000)
    _, statement = _issued(s)
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    index = client.get("/admin/billing/vouchers").get_data(as_text=True)
    assert programme.name in index and s.org.name in index and "¥640.00" in index
    assert "classes: Enterprise" in index and "enterprise" not in index  # labels, not codes
    edit = client.get(f"/admin/billing/vouchers/{programme.id}/edit").get_data(as_text=True)
    assert 'value="60"' in edit and programme.name in edit
    assert s.org.name in client.get(f"/admin/billing/vouchers/{programme.id}/grant").get_data(as_text=True)
    assert client.get("/admin/billing/vouchers/999999/edit").status_code == 404
    assert "¥640.00" in client.get(f"/billing/vouchers?org={s.org.id}").get_data(as_text=True)
    charge_page = client.get(f"/manage/billing/charges/{statement.lines[0].charge_id}").get_data(as_text=True)
    assert "Add a correction" in charge_page and statement.number in charge_page


def test_statement_in_chinese_for_a_chinese_speaking_firm(client):
    s, statement = _issued()
    s.client.locale = "zh"
    db.session.commit()
    login(client, s.client)
    page = client.get(f"/billing/statements/{statement.id}").get_data(as_text=True)
    assert "对账单" in page and "应付金额" in page and s.instrument.name_zh in page and s.org.name in page
    pdf = client.get(f"/billing/statements/{statement.id}.pdf")
    assert pdf.status_code == 200 and b"UniGB-UCS2-H" in pdf.data  # CJK text in the built-in CID font
