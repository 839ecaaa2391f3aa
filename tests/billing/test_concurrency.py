"""Statements issued concurrently: numbers stay unique and gap-free, vouchers never over-deduct.

Threads, each with its own app context (so its own session and connection), as two workers
or a worker and the scheduler would be. On SQLite the write lock (BEGIN IMMEDIATE) serialises
them; on PostgreSQL the row locks (SELECT … FOR UPDATE) do.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import func, select, text

from equipshare.billing import statements as service
from equipshare.billing.charges import charge_booking
from equipshare.billing.models import Statement, VoucherGrant, VoucherLedgerEntry
from equipshare.extensions import db
from tests.billing.helpers import APRIL_1, completed_booking, local, setup_firm
from tests.factories import make_voucher_grant, make_voucher_programme

MAY_1 = local(2026, 5, 1, 0, 5)


def _in_threads(app, calls):
    """Run each call in its own thread and app context, started together; re-raise any error."""
    errors, results = [], [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, call):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[i] = call()
            except Exception as exc:  # noqa: BLE001 - reported to the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    return threads, results, errors


def _join(threads, errors):
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a statement issue hung"
    if errors:
        raise errors[0]
    db.session.commit()  # end this session's read transaction: on SQLite (WAL) it is a snapshot


def _charge(s, start, minutes=60):
    return charge_booking(completed_booking(s.instrument, s.client, start, minutes), None, APRIL_1)


def test_concurrent_issues_get_distinct_gap_free_numbers(app):
    firms = [setup_firm() for _ in range(4)]
    for s in firms:
        _charge(s, local(2026, 3, 2))
    db.session.commit()
    threads, results, errors = _in_threads(app, [
        (lambda org_id=s.org.id: service.issue_statement(None, org_id, 2026, 3, APRIL_1).number) for s in firms])
    _join(threads, errors)
    assert sorted(results) == [f"ES2026-{i:06d}" for i in range(1, 5)]


def test_the_same_statement_issued_twice_at_once_exists_once(app):
    s = setup_firm()
    _charge(s, local(2026, 3, 2))
    db.session.commit()
    org_id = s.org.id  # plain values only: the threads must not touch this session's objects
    threads, results, errors = _in_threads(app, [
        lambda: service.issue_statement(None, org_id, 2026, 3, APRIL_1) is not None for _ in range(3)])
    _join(threads, errors)
    assert sorted(results) == [False, False, True]
    assert db.session.scalar(select(func.count()).select_from(Statement)) == 1


def test_two_months_issued_at_once_share_one_grant_without_over_deducting(app):
    s = setup_firm(rates={"enterprise": 40000})
    grant = make_voucher_grant(make_voucher_programme(share_bp=6000), s.org, 2026, 30000)
    _charge(s, local(2026, 3, 2), 120)  # 80000 → share 48000 > balance
    _charge(s, local(2026, 4, 2), 120)
    db.session.commit()
    org_id = s.org.id
    threads, _, errors = _in_threads(app, [
        lambda: service.issue_statement(None, org_id, 2026, 3, MAY_1),
        lambda: service.issue_statement(None, org_id, 2026, 4, MAY_1)])
    _join(threads, errors)
    db.session.refresh(grant)
    ledger = db.session.scalar(select(func.sum(VoucherLedgerEntry.amount_fen)))
    vouchers = db.session.scalar(select(func.sum(Statement.voucher_fen)))
    assert grant.used_fen == ledger == vouchers == 30000


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="row locks: PostgreSQL only (SQLite serialises whole write transactions)")
def test_issue_waits_for_the_grant_row_lock_and_sees_the_fresh_balance(app):
    """Another transaction holds the grant row and deducts from it meanwhile: the issuing
    transaction must wait for the lock (FOR UPDATE) and then use the balance it left."""
    s = setup_firm(rates={"enterprise": 40000})
    grant = make_voucher_grant(make_voucher_programme(share_bp=6000), s.org, 2026, 50000)
    _charge(s, local(2026, 3, 2), 120)  # 80000 → share 48000
    db.session.commit()
    org_id, grant_id = s.org.id, grant.id
    with db.engine.connect() as other:
        tx = other.begin()
        other.execute(select(VoucherGrant.id).where(VoucherGrant.id == grant_id).with_for_update())
        threads, _, errors = _in_threads(app, [lambda: service.issue_statement(None, org_id, 2026, 3, APRIL_1)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            waiting = other.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()
            if waiting:
                break
            time.sleep(0.02)
        assert waiting, "the issuing transaction did not wait for the grant's row lock"
        other.execute(VoucherGrant.__table__.update().where(VoucherGrant.id == grant_id).values(used_fen=49000))
        tx.commit()
    _join(threads, errors)
    db.session.refresh(grant)
    statement = db.session.scalar(select(Statement))
    assert statement.voucher_fen == 1000 and grant.used_fen == 50000
