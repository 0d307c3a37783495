"""Who belongs to which video app, and with which role."""

from __future__ import annotations

import uuid
from typing import Any

from web.db.ids import MAX_ROW_ID
from web.db.tables import Membership, Role, User, VideoApp


async def apps_for_user(user: User) -> list[dict]:
    """The apps the user is a member of, with the role, newest first."""
    rows = (
        await Membership.select(
            Membership.role,
            Membership.app.public_id.as_alias("public_id"),
            Membership.app.name.as_alias("name"),
            Membership.app.timezone.as_alias("timezone"),
        )
        .where(Membership.user == user.id)
        .order_by(Membership.app.name)
    )
    return rows


async def app_by_public_id(public_id: Any) -> VideoApp | None:
    """The app with this public UUID, or None (also for a malformed id)."""
    try:
        key = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        return None
    return await VideoApp.objects().get(VideoApp.public_id == key)


async def membership(app_id: int, user_id: int) -> Membership | None:
    return await Membership.objects().get((Membership.app == app_id) & (Membership.user == user_id))


async def role_in_app(user: User, app_public_id: Any) -> str | None:
    """'admin', 'agent' or None. Superusers count as admins of every app."""
    app = await app_by_public_id(app_public_id)
    if app is None:
        return None
    member = await membership(app.id, user.id)
    if member is not None:
        return member.role
    return Role.admin.value if user.is_superuser else None


async def agents_of(app_id: int) -> list[dict]:
    """The app's agents (role agent): user id, name, email, timezone, Genesys user id; by name."""
    return (
        await Membership.select(
            Membership.user.id.as_alias("user_id"),
            Membership.user.name.as_alias("name"),
            Membership.user.email.as_alias("email"),
            Membership.timezone,
            Membership.genesys_user_id,
            Membership.last_assigned_at,
        )
        .where((Membership.app == app_id) & (Membership.role == Role.agent))
        .order_by(Membership.user.name)
        .order_by(Membership.user.id)
    )


async def is_agent_of(app_id: int, user_id: int) -> bool:
    if not 0 < user_id <= MAX_ROW_ID:  # names nobody (and must not reach the driver)
        return False
    # Checked on every booking the API creates: plain SQL costs a third of the query builder's time.
    rows = await Membership.raw(
        'SELECT 1 FROM membership WHERE app = {} AND "user" = {} AND role = {} LIMIT 1',
        app_id,
        user_id,
        Role.agent.value,
    )
    return bool(rows)


async def agent_label(app_id: int, user_id: int) -> str | None:
    """The agent's name (or email when unnamed) if they are an agent of the app, else None."""
    if not 0 < user_id <= MAX_ROW_ID:
        return None
    row = (
        await Membership.select(Membership.user.name, Membership.user.email)
        .where((Membership.app == app_id) & (Membership.user == user_id) & (Membership.role == Role.agent))
        .first()
    )
    return None if row is None else (row["user.name"] or row["user.email"])
