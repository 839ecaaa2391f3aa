"""Notification settings and the admins' actions on failed mails. One transaction each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from equipshare.accounts.models import User
from equipshare.catalogue.models import Instrument
from equipshare.db import begin_write
from equipshare.errors import Conflict, Forbidden, NotFound, RuleViolation
from equipshare.extensions import db
from equipshare.notifications.models import InstrumentMute, NotificationMute, OutboxMessage, OutboxStatus
from equipshare.notifications.permissions import can_manage_outbox, can_mute_instrument
from equipshare.notifications.topics import TOPICS


def muted_topics(user: User) -> set[str]:
    return set(db.session.scalars(select(NotificationMute.topic).where(NotificationMute.user_id == user.id)))


def muted_instrument_ids(user: User) -> set[int]:
    return set(db.session.scalars(select(InstrumentMute.instrument_id).where(InstrumentMute.user_id == user.id)))


def save_preferences(actor: User, wanted_topics: Iterable[str], muted_instruments: Iterable[int],
                     now: datetime) -> None:
    """The user's choice: the topics they want (the others are muted) and, for managers, the
    instruments they mute. Replaces what was there."""
    wanted, muted_ids = set(wanted_topics), set(muted_instruments)
    if wanted - set(TOPICS):
        raise RuleViolation(_l("Unknown kind of notification."), code="unknown_topic", field="topics")
    begin_write(db.session)
    actor = db.session.get(User, actor.id)
    instruments = db.session.scalars(select(Instrument).where(Instrument.id.in_(muted_ids))).all() if muted_ids else []
    if len(instruments) != len(muted_ids) or not all(can_mute_instrument(actor, i) for i in instruments):
        raise Forbidden(_l("You can only mute instruments you manage."), code="not_your_instrument")
    db.session.execute(delete(NotificationMute).where(NotificationMute.user_id == actor.id))
    db.session.execute(delete(InstrumentMute).where(InstrumentMute.user_id == actor.id))
    db.session.add_all(NotificationMute(user_id=actor.id, topic=t, created_at=now) for t in sorted(set(TOPICS) - wanted))
    db.session.add_all(InstrumentMute(user_id=actor.id, instrument_id=i, created_at=now) for i in sorted(muted_ids))
    db.session.commit()


def set_instrument_mute(actor: User, instrument_id: int, muted: bool, now: datetime) -> None:
    begin_write(db.session)
    actor = db.session.get(User, actor.id)
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFound(_l("No such instrument."), code="instrument_not_found")
    if not can_mute_instrument(actor, instrument):
        raise Forbidden(_l("You can only mute instruments you manage."), code="not_your_instrument")
    existing = db.session.get(InstrumentMute, (actor.id, instrument.id))
    if muted and existing is None:
        db.session.add(InstrumentMute(user_id=actor.id, instrument_id=instrument.id, created_at=now))
    elif not muted and existing is not None:
        db.session.delete(existing)
    db.session.commit()


def _admin_message(actor: User, message_id: int, allowed: tuple[str, ...]) -> OutboxMessage:
    if not can_manage_outbox(actor):
        raise Forbidden(_l("Only platform administrators can do this."), code="not_admin")
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
                                .execution_options(populate_existing=True))
    if message is None:
        raise NotFound(_l("No such e-mail."), code="mail_not_found")
    if message.status not in allowed:
        raise Conflict(_l("This e-mail is %(status)s now; it cannot be changed that way.", status=message.status),
                       code="mail_state_changed")
    return message


def retry_message(actor: User, message_id: int, now: datetime) -> OutboxMessage:
    """Send a failed (or uncertain) mail again, with a fresh set of attempts. An uncertain one
    keeps its Message-ID, so a duplicate can be recognised by the recipient's mail client."""
    begin_write(db.session)
    message = _admin_message(actor, message_id, (OutboxStatus.FAILED, OutboxStatus.UNKNOWN))
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    message.claimed_at = None
    db.session.commit()
    return message


def dismiss_message(actor: User, message_id: int, now: datetime) -> OutboxMessage:
    begin_write(db.session)
    message = _admin_message(actor, message_id, (OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.PENDING))
    message.status = OutboxStatus.DISMISSED
    db.session.commit()
    return message
