"""Calendar feeds: tokens, the cheap validator, building and serving a feed.

Serving a feed (``fetch_feed``) first computes a *validator* with two or three small queries
and no booking rows: the scope's instruments, then one aggregate over the scope's bookings
(and downtime) in the window — count, sum of ids, sum of versions, latest ``updated_at``.
Every change of a booking bumps its version and ``updated_at``; a booking entering or leaving
the window changes the count and the id sum; the window itself moves once a day (it is part
of the validator). The ETag is a digest of the validator, the feed's settings and the reader's
language, so a conditional request that matches is answered 304 without loading or building
anything. Names of people, organisations and labs carry no ``updated_at``; a rename reaches
subscribers with the next change in the feed or at the latest the next day.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal_column, null, or_, select, union_all, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from equipshare.accounts.models import User
from equipshare.booking.models import MAX_BOOKING_MINUTES, Booking, Downtime
from equipshare.calendars import cache, ical
from equipshare.calendars.models import FeedScope, FeedToken
from equipshare.calendars.permissions import can_create_feed, can_manage_feed, can_use_feed
from equipshare.catalogue.models import Instrument, Lab
from equipshare.db import begin_write, utcnow
from equipshare.errors import Forbidden, NotFound, RuleViolation
from equipshare.extensions import db
from equipshare.i18n import localized
from equipshare.timeutil import local_midnight, to_local

TOKEN_BYTES = 24  # 192 bits from secrets; 32 URL-safe characters
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
PAST_DAYS = 30
FETCH_WRITE_INTERVAL = timedelta(minutes=1)
MAX_FEEDS_PER_USER = 20
# Part of every ETag: bump it when the builder's output changes for the same data.
FORMAT_VERSION = "1"
NEW_TOKEN_SESSION_KEY = "calendars_new_token"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def calendar_settings() -> ical.CalendarSettings:
    config = current_app.config
    return ical.CalendarSettings(base_url=config["SERVER_BASE_URL"],
                                 refresh=timedelta(minutes=config["FEED_REFRESH_MINUTES"]))


def feed_urls(token: str) -> tuple[str, str]:
    """(https URL, webcal URL). Built from SERVER_BASE_URL: subscribers reach the public host."""
    url = f"{current_app.config['SERVER_BASE_URL'].rstrip('/')}/feeds/{token}.ics"
    return url, "webcal://" + url.split("://", 1)[1]


# --- scopes --------------------------------------------------------------------------------------


def scope_choices(user: User) -> list[tuple[str, str]]:
    """What this user may subscribe to, as (key, label): "mine", "managed", "lab-3", "instrument-7"."""
    choices: list[tuple[str, str]] = []
    if can_create_feed(user, FeedScope.MINE):
        choices.append((FeedScope.MINE.value, _("My bookings")))
    if can_create_feed(user, FeedScope.MANAGED):
        choices.append((FeedScope.MANAGED.value, _("Everything I manage")))
        labs = sorted(user.managed_labs, key=lambda lab: lab.id)
        for lab in labs:
            choices.append((f"lab-{lab.id}", _("Lab: %(name)s", name=localized(lab, "name"))))
        instruments = db.session.scalars(
            select(Instrument).where(Instrument.lab_id.in_([lab.id for lab in labs])).order_by(Instrument.id))
        for instrument in instruments:
            choices.append((f"instrument-{instrument.id}",
                            _("Instrument: %(name)s", name=localized(instrument, "name"))))
    return choices


def _parse_scope(key: str) -> tuple[str, object | None]:
    if key in (FeedScope.MINE, FeedScope.MANAGED):
        return FeedScope(key), None
    kind, _sep, raw_id = (key or "").partition("-")
    model = {"lab": Lab, "instrument": Instrument}.get(kind)
    target = db.session.get(model, int(raw_id)) if model and raw_id.isdigit() and len(raw_id) < 10 else None
    if target is None:
        raise RuleViolation(_l("Choose what the feed should contain."), code="bad_scope", field="scope")
    return FeedScope(kind), target


def scope_title(feed: FeedToken) -> str:
    """What the calendar shows, in the current (the reader's) language."""
    if feed.scope == FeedScope.MINE:
        return _("My bookings")
    if feed.scope == FeedScope.MANAGED:
        return _("Everything I manage")
    return localized(feed.lab if feed.scope == FeedScope.LAB else feed.instrument, "name")


# --- managing feeds (one transaction each) -------------------------------------------------------


def feeds_of(user: User) -> list[FeedToken]:
    return list(db.session.scalars(
        select(FeedToken).where(FeedToken.user_id == user.id)
        .options(joinedload(FeedToken.instrument), joinedload(FeedToken.lab))
        .order_by(FeedToken.revoked_at.is_not(None), FeedToken.id)))


def _clean_name(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    if len(name) > 100:
        raise RuleViolation(_l("The name can have at most 100 characters."), code="name_too_long", field="name")
    return name or None


def create_feed(actor: User, name: str | None, scope_key: str, now: datetime) -> tuple[FeedToken, str]:
    """A new feed and its secret (shown to the owner once; only its hash is kept)."""
    begin_write(db.session)
    actor = db.session.get(User, actor.id)
    scope, target = _parse_scope(scope_key)
    if not can_create_feed(actor, scope, target):
        raise Forbidden(_l("You cannot subscribe to this calendar."), code="feed_scope_forbidden")
    live = db.session.scalar(select(func.count()).select_from(FeedToken).where(
        FeedToken.user_id == actor.id, FeedToken.revoked_at.is_(None)))
    if live >= MAX_FEEDS_PER_USER:
        raise RuleViolation(_l("You have %(n)s active feeds, the most allowed. Revoke one first.",
                               n=MAX_FEEDS_PER_USER), code="too_many_feeds")
    token = new_token()
    feed = FeedToken(user=actor, scope=scope, token_hash=hash_token(token), created_at=now,
                     token_created_at=now,
                     instrument=target if scope == FeedScope.INSTRUMENT else None,
                     lab=target if scope == FeedScope.LAB else None)
    with force_locale(actor.locale or "zh"):
        feed.name = _clean_name(name) or scope_title(feed)[:100]
    db.session.add(feed)
    db.session.commit()
    return feed, token


def _owned_feed(actor: User, feed_id: int) -> tuple[User, FeedToken]:
    feed = db.session.get(FeedToken, feed_id)
    actor = db.session.get(User, actor.id)
    if feed is None:
        raise NotFound(_l("No such feed."), code="feed_not_found")
    if not can_manage_feed(actor, feed):
        raise Forbidden(_l("This is not your feed."), code="not_your_feed")
    return actor, feed


def revoke_feed(actor: User, feed_id: int, now: datetime) -> FeedToken:
    """The URL stops working at once. Revoking twice changes nothing."""
    begin_write(db.session)
    _actor, feed = _owned_feed(actor, feed_id)
    if feed.revoked_at is None:
        feed.revoked_at = now
    db.session.commit()
    return feed


def regenerate_feed(actor: User, feed_id: int, now: datetime) -> tuple[FeedToken, str]:
    """A new secret for the same feed (also revives a revoked one); the old URL stops working."""
    begin_write(db.session)
    actor, feed = _owned_feed(actor, feed_id)
    target = feed.instrument if feed.scope == FeedScope.INSTRUMENT else feed.lab
    if not can_create_feed(actor, feed.scope, target):
        raise Forbidden(_l("You no longer have access to this calendar."), code="feed_scope_forbidden")
    token = new_token()
    feed.token_hash = hash_token(token)
    feed.token_created_at = now
    feed.revoked_at = feed.last_fetched_at = None
    db.session.commit()
    return feed, token


def ensure_demo_feed(user: User, now: datetime | None = None) -> tuple[FeedToken, str]:
    """The demo data's feed: the same URL on every run, derived from SECRET_KEY (demo only; real
    feeds use random tokens). Returns (feed, token)."""
    now = now or utcnow()
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"equipshare demo feed {user.id}".encode(),
                      hashlib.sha256).digest()
    token = urlsafe_b64encode(digest[:TOKEN_BYTES]).decode()
    begin_write(db.session)
    user = db.session.get(User, user.id)
    feed = db.session.scalar(select(FeedToken).where(FeedToken.token_hash == hash_token(token)))
    if feed is None:
        scope = FeedScope.MANAGED if user.is_lab_manager else FeedScope.MINE
        feed = FeedToken(user=user, scope=scope, name="Demo", token_hash=hash_token(token), created_at=now,
                         token_created_at=now)
        db.session.add(feed)
    feed.revoked_at = None
    db.session.commit()
    return feed, token


# --- serving a feed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    etag: str  # hex digest, unquoted
    last_modified: datetime
    window_start: datetime
    window_end: datetime
    instrument_ids: tuple[int, ...] | None  # None: the owner's own bookings


@dataclass(frozen=True)
class FeedResult:
    etag: str
    last_modified: datetime
    body: bytes | None  # None: not modified, nothing was built


def resolve_feed(token: str) -> FeedToken:
    """The live feed for a token; unknown, malformed, revoked or no-longer-allowed all raise the
    same NotFound, so a caller learns nothing about which it was."""
    feed = None
    if TOKEN_PATTERN.fullmatch(token or ""):
        feed = db.session.scalar(select(FeedToken).where(FeedToken.token_hash == hash_token(token))
                                 .options(joinedload(FeedToken.user)))
    if feed is None or not can_use_feed(feed.user, feed):
        raise NotFound(_l("No such feed."), code="feed_not_found")
    return feed


def _booking_scope(feed: FeedToken, instrument_ids):
    if instrument_ids is None:
        owner = feed.user
        return [Booking.user_id == owner.id, Booking.organisation_id == owner.organisation_id]
    return [Booking.instrument_id.in_(instrument_ids)]


def _in_window(model, start: datetime, end: datetime):
    # The lower bound on start_at lets the (…, start_at) indexes bound the range scan.
    return [model.start_at < end, model.end_at > start,
            model.start_at > start - timedelta(minutes=MAX_BOOKING_MINUTES)]


def feed_state(feed: FeedToken, now: datetime, settings: ical.CalendarSettings) -> FeedState:
    """The validator, from the scope's instruments and one aggregate query; loads no booking."""
    owner = feed.user
    day_start = local_midnight(to_local(now).date())
    if feed.scope == FeedScope.MINE:
        instrument_ids = None
        horizon = db.session.scalar(select(func.max(Instrument.horizon_days))) or 0
        instruments_part: tuple = (owner.organisation_id, horizon)
    else:
        if feed.scope == FeedScope.INSTRUMENT:  # loaded already by the permission check
            rows = [feed.instrument]
        else:
            lab_ids = [feed.lab_id] if feed.scope == FeedScope.LAB else [lab.id for lab in owner.managed_labs]
            rows = db.session.execute(select(Instrument.id, Instrument.horizon_days, Instrument.updated_at)
                                      .where(Instrument.lab_id.in_(lab_ids)).order_by(Instrument.id)).all()
        instrument_ids = tuple(r.id for r in rows)
        horizon = max((r.horizon_days for r in rows), default=0)
        instruments_part = (instrument_ids, horizon, max((r.updated_at for r in rows), default=None))
    start, end = day_start - timedelta(days=PAST_DAYS), day_start + timedelta(days=horizon + 1)

    bookings = select(literal_column("'b'"), func.count(), func.coalesce(func.sum(Booking.id), 0),
                      func.coalesce(func.sum(Booking.version), 0), func.max(Booking.updated_at),
                      func.max(Instrument.updated_at) if instrument_ids is None else null())
    if instrument_ids is None:  # the client's instruments are not known in advance: join them here
        bookings = bookings.select_from(Booking).join(Instrument, Instrument.id == Booking.instrument_id)
    parts = [bookings.where(*_booking_scope(feed, instrument_ids), *_in_window(Booking, start, end))]
    if instrument_ids is not None:
        parts.append(select(literal_column("'d'"), func.count(), func.coalesce(func.sum(Downtime.id), 0), literal_column("0"),
                            func.max(Downtime.updated_at), null())
                     .where(Downtime.instrument_id.in_(instrument_ids), *_in_window(Downtime, start, end)))
    aggregates = sorted(tuple(row) for row in db.session.execute(union_all(*parts)).all())

    validator = repr((FORMAT_VERSION, feed.id, feed.scope, feed.name, owner.locale, settings, start, end,
                      instruments_part, aggregates))
    etag = hashlib.sha256(validator.encode()).hexdigest()[:32]
    stamps = [s for s in [day_start, *(a[4] for a in aggregates), *(a[5] for a in aggregates)] if s is not None]
    if feed.scope != FeedScope.MINE and instruments_part[2] is not None:
        stamps.append(instruments_part[2])
    last_modified = max(_as_utc(s) for s in stamps)
    if feed.content_etag == etag and feed.content_changed_at is not None:
        last_modified = max(last_modified, feed.content_changed_at)
    elif feed.content_etag is not None:
        # Changed since the last fetch (possibly by a deletion, which leaves no timestamp). HTTP
        # dates have whole seconds: step past the previous Last-Modified, so that a client that
        # fetched within the same second does not get a 304 for the new content.
        previous = feed.content_changed_at or now
        last_modified = max(last_modified, now, previous + timedelta(seconds=1))
    return FeedState(etag, last_modified.replace(microsecond=0), start, end, instrument_ids)


def _as_utc(value) -> datetime:
    """Aggregates of a UTC column come back as aware datetimes, or as text on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_feed(feed: FeedToken, state: FeedState, settings: ical.CalendarSettings) -> bytes:
    """Load the feed's rows and serialise the calendar, in the owner's language."""
    bookings = db.session.scalars(
        select(Booking)
        .where(*_booking_scope(feed, state.instrument_ids), *_in_window(Booking, state.window_start, state.window_end),
               Booking.status.in_(ical.FEED_STATUSES))
        .options(joinedload(Booking.instrument).joinedload(Instrument.lab), joinedload(Booking.user),
                 joinedload(Booking.organisation))
        .order_by(Booking.start_at, Booking.id)).all()
    downtimes = []
    if state.instrument_ids is not None:
        downtimes = db.session.scalars(
            select(Downtime)
            .where(Downtime.instrument_id.in_(state.instrument_ids),
                   *_in_window(Downtime, state.window_start, state.window_end))
            .options(joinedload(Downtime.instrument).joinedload(Instrument.lab))
            .order_by(Downtime.start_at, Downtime.id)).all()
    with force_locale(feed.user.locale or "zh"):
        name = f"{_('EquipShare')} · {scope_title(feed)}"
        description = _("EquipShare calendar feed “%(name)s”", name=feed.name)
        cal = ical.feed_calendar(name, description, f"feed-{feed.id}@{settings.host}", settings, bookings,
                                 downtimes, for_manager=state.instrument_ids is not None)
    return cal.to_ical()


def record_fetch(feed: FeedToken, state: FeedState, now: datetime) -> None:
    """Note the fetch and the validator served: at most one UPDATE per feed a minute (more only
    when the content changed), in its own short write transaction."""
    changed = feed.content_etag != state.etag
    due = feed.last_fetched_at is None or now - feed.last_fetched_at >= FETCH_WRITE_INTERVAL
    if not (changed or due):
        return
    values: dict = {"last_fetched_at": now}
    if changed:
        values.update(content_etag=state.etag, content_changed_at=state.last_modified)
    begin_write(db.session)
    db.session.execute(
        update(FeedToken)
        .where(FeedToken.id == feed.id,
               or_(FeedToken.last_fetched_at.is_(None), FeedToken.last_fetched_at <= now - FETCH_WRITE_INTERVAL,
                   FeedToken.content_etag.is_(None), FeedToken.content_etag != state.etag))
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()


def fetch_feed(token: str, now: datetime, not_modified: Callable[[str, datetime], bool]) -> FeedResult:
    """Serve a subscription: resolve the token (NotFound), compute the validator, and produce the
    calendar only if ``not_modified(etag, last_modified)`` — the request's conditions — is false:
    from the body cache when this ETag was built recently, else by building it."""
    settings = calendar_settings()
    feed = resolve_feed(token)
    state = feed_state(feed, now, settings)
    body = None
    if not not_modified(state.etag, state.last_modified):
        body = cache.bodies.get(state.etag)
        if body is None:
            body = build_feed(feed, state, settings)
            cache.bodies.put(state.etag, body)
    feed_id = feed.id
    try:
        record_fetch(feed, state, now)
    except SQLAlchemyError:  # bookkeeping only: never fail a subscriber's fetch over it
        db.session.rollback()
        current_app.logger.warning("Could not record the fetch of calendar feed %s", feed_id, exc_info=True)
    return FeedResult(state.etag, state.last_modified, body)


def booking_ics(booking: Booking, viewer: User) -> bytes:
    """"Add to my calendar": a single-event file, in the viewer's (current) language. The viewer
    has been checked with can_download_booking_ics."""
    settings = calendar_settings()
    return ical.single_booking_calendar(booking, settings, for_manager=viewer.id != booking.user_id).to_ical()
