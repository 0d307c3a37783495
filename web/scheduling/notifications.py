"""In-app notifications for console users: a row per notice, an unread count for the bell, and a
live push to the recipient's open pages (SSE through `web.live`)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import jinja2

from web import live
from web.db.tables import Membership, Notification
from web.settings import PROJECT_ROOT
from web.templating import localtime

PAGE_SIZE = 50


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    # Rendering happens outside any request too (jobs announce notifications), so keep an
    # environment of our own over the same template folder.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROJECT_ROOT / "templates"),
        autoescape=True,
        undefined=jinja2.Undefined,
    )
    env.filters["localtime"] = localtime
    return env


def render_item(notification: Notification, tz: str = "UTC") -> str:
    return _templates().get_template("partials/notification_item.html").render(n=notification, tz=tz)


async def notify(
    user_id: int, *, kind: str, text: str, link: str = "", app_id: int | None = None, now: datetime
) -> Notification:
    """Store a notification for `user_id` (works inside the caller's transaction). Call
    `announce` after the commit so open pages show it at once."""
    notification = Notification(
        recipient=user_id, app=app_id, kind=kind, text=text[:1000], link=link[:500], created_at=now
    )
    await notification.save()
    return notification


async def announce(notification: Notification) -> None:
    """Push the rendered notification to the recipient's open pages (best effort)."""
    recipient = notification.recipient
    user_id = recipient if isinstance(recipient, int) else recipient.id
    tz = await viewer_timezone(user_id)
    await live.publish_to_user(user_id, "notification", render_item(notification, tz))


async def unread_count(user_id: int) -> int:
    return await Notification.count().where(
        (Notification.recipient == user_id) & Notification.read_at.is_null()
    )


async def page_of(user_id: int, *, offset: int = 0, limit: int = PAGE_SIZE) -> list[Notification]:
    """Newest first."""
    return (
        await Notification.objects()
        .where(Notification.recipient == user_id)
        .order_by(Notification.created_at, ascending=False)
        .order_by(Notification.id, ascending=False)
        .offset(max(offset, 0))
        .limit(limit)
    )


async def total(user_id: int) -> int:
    return await Notification.count().where(Notification.recipient == user_id)


async def mark_read(user_id: int, notification_id: int, *, now: datetime) -> bool:
    """Mark one of the user's notifications read; False when it is not theirs (or unknown)."""
    mine = (Notification.id == notification_id) & (Notification.recipient == user_id)
    if not await Notification.exists().where(mine):
        return False
    await Notification.update({Notification.read_at: now}).where(mine & Notification.read_at.is_null())
    return True


async def mark_all_read(user_id: int, *, now: datetime) -> int:
    """Returns how many were unread."""
    unread = (Notification.recipient == user_id) & Notification.read_at.is_null()
    count = await Notification.count().where(unread)
    if count:
        await Notification.update({Notification.read_at: now}).where(unread)
    return count


async def viewer_timezone(user_id: int) -> str:
    """The zone a user's pages show times in outside any one app: their first membership's."""
    row = (
        await Membership.select(Membership.timezone)
        .where(Membership.user == user_id)
        .order_by(Membership.id)
        .first()
    )
    return row["timezone"] if row and row["timezone"] else "UTC"


async def one_of(user_id: int, notification_id: int) -> Notification | None:
    return await Notification.objects().get(
        (Notification.id == notification_id) & (Notification.recipient == user_id)
    )
