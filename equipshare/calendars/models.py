"""Calendar feed tokens: a secret URL that serves one scope of bookings as iCalendar."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from equipshare.db import UTCDateTime, utcnow
from equipshare.extensions import db


class FeedScope(enum.StrEnum):
    MINE = "mine"  # a client's own bookings
    INSTRUMENT = "instrument"  # one instrument the owner manages
    LAB = "lab"  # one lab the owner manages
    MANAGED = "managed"  # every lab the owner manages, as it is at fetch time


class FeedToken(db.Model):
    """A feed the owner subscribes to. Only the SHA-256 of the secret is stored, so the URL is
    shown once (on creation or regeneration); a lost URL is replaced by regenerating."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        CheckConstraint(
            "(scope = 'instrument' AND instrument_id IS NOT NULL AND lab_id IS NULL)"
            " OR (scope = 'lab' AND lab_id IS NOT NULL AND instrument_id IS NULL)"
            " OR (scope IN ('mine', 'managed') AND instrument_id IS NULL AND lab_id IS NULL)",
            name="scope_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(20))
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    token_created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written at most once a minute per feed (see services.record_fetch).
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The validator last served and when it first appeared: the Last-Modified of the feed.
    content_etag: Mapped[str | None] = mapped_column(String(64))
    content_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
    instrument = relationship("Instrument")
    lab = relationship("Lab")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<FeedToken {self.id} {self.scope} user={self.user_id}>"
