"""Time helpers: everything is aware UTC inside; Asia/Shanghai only at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def to_local(value: datetime, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(tz)


def as_utc(value: datetime, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    """A datetime with no offset is read as local time (Asia/Shanghai) and converted to UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo = LOCAL_TZ) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def week_start(day: date) -> date:
    """Monday of the week that contains ``day``."""
    return day - timedelta(days=day.weekday())


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", tz: ZoneInfo = LOCAL_TZ) -> str:
    if value is None:
        return ""
    return to_local(value, tz).strftime(fmt)
