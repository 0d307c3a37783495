"""Pages inside Genesys Cloud: the embedded My schedules, the interaction widget, and the agent's
sign-in through the tenant's Genesys login (authorization code + PKCE, in the frame or a popup).

Every page here may be framed only by the tenant's Genesys agent UI (and configured extras), and
treats every query value as untrusted: the app, the origin and the conversation are checked
against our own records, and the agent's identity comes from Genesys, never from the URL.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Response, Template

from web.controllers.agent import render_my_schedules
from web.db.tables import FINAL_STATUSES, Membership, Role, User, VideoApp
from web.genesys import embedded, settings_store
from web.genesys.embedded import EmbeddedQuery, InvalidLink
from web.genesys.errors import GenesysError
from web.genesys.login import LoginRefused, verify_agent_token
from web.genesys.pkce import authorize_url, new_pkce_pair
from web.genesys.settings_store import TenantGenesys
from web.scheduling.directory import app_by_public_id, membership
from web.scheduling.presets import get_preset
from web.scheduling.rooms import room_links
from web.security import allow_framing, session_frame_ancestors

log = logging.getLogger("punctual.genesys.embedded")

INVALID_LINK = "This link is not valid"
NOT_SET_UP = "Genesys is not set up for this video app yet; ask your administrator"
NO_BROWSER_CLIENT = (
    "Genesys sign-in is not configured for this video app (no browser OAuth client); ask your administrator"
)
EXPIRED = "This sign-in has expired or was already used; open the app again"
UNKNOWN_CONVERSATION = "We could not find a video meeting for this interaction"
FOREIGN_CONVERSATION = "This video meeting is booked with another agent"


class Refused(Exception):
    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def refusal(request: Request, reason: str, status: int, origins: list[str]) -> Template:
    """The clear "you cannot use this here" page, framable where the app is."""
    allow_framing(request.scope, origins)
    return Template("genesys/refused.html", context={"reason": reason}, status_code=status)


def _extra(request: Request) -> tuple[str, ...]:
    return request.app.state.settings.extra_frame_ancestors


async def _tenant_for(request: Request, query: EmbeddedQuery) -> tuple[VideoApp, TenantGenesys]:
    """The app and its Genesys tenant, when the query may open it."""
    app = await app_by_public_id(query.app)
    tenant = await settings_store.load(app.id, request.app.state.settings.secret_key) if app else None
    if app is None or tenant is None or not tenant.provisioned:
        raise Refused(NOT_SET_UP if app else INVALID_LINK, 404 if app is None else 403)
    if not embedded.origin_allowed(query.host_origin, tenant.apps_origin, _extra(request)):
        log.info("embedded page of app %s refused: origin %s not allowed", app.id, query.host_origin)
        raise Refused(INVALID_LINK, 400)
    return app, tenant


def _redirect_uri(request: Request) -> str:
    return request.app.state.settings.public_url.rstrip("/") + embedded.CALLBACK_PATH


async def _start_sign_in(
    request: Request, query: EmbeddedQuery, tenant: TenantGenesys, app: VideoApp, *, widget: bool
) -> Response:
    client_id = tenant.row.browser_client_id
    if not client_id:
        raise Refused(NO_BROWSER_CLIENT)
    pair = new_pkce_pair()
    state_id = await embedded.save_state(request, query, widget=widget, verifier=pair.verifier)
    url = authorize_url(
        tenant.credentials.login_base_url,
        client_id=client_id,
        redirect_uri=_redirect_uri(request),
        challenge=pair.challenge,
        state=state_id,
    )
    if query.popup:
        # Genesys asked for popup sign-in: the agent clicks, genesys.js opens the popup.
        return Template("genesys/sign_in.html", context={"app": app, "authorize_url": url})
    return Redirect(url, status_code=302)


async def _enter(request: Request, *, widget: bool) -> tuple[Any, ...]:
    """Common start of both pages: (query, app, tenant, user or None). Frames the response."""
    try:
        query = embedded.parse_query(request.query_params, widget=widget)
    except InvalidLink as exc:
        log.info("embedded page refused: %s", exc)
        raise Refused(INVALID_LINK, 400) from None
    app, tenant = await _tenant_for(request, query)
    allow_framing(request.scope, settings_store.frame_origins(tenant, _extra(request)))
    user = await embedded.session_user(request, query.app)
    member = await membership(app.id, user.id) if user else None
    if user is not None and member is None and not user.is_superuser:
        user = None  # removed from the app since signing in: sign in again
    if user is not None:
        request.scope["user"] = user  # the chrome shows the signed-in agent's bell
    return query, app, tenant, user, member


async def _refused_page(request: Request, exc: Refused) -> Template:
    # Prefer what is already known: the tenant's origins, then the session's, else every region's.
    origins = (
        request.scope.get("state", {}).get("frame_ancestors")
        or session_frame_ancestors(request.scope)
        or settings_store.frame_origins(None, _extra(request))
    )
    return refusal(request, exc.reason, exc.status, origins)


@get(embedded.MY_SCHEDULES_PATH, name="genesys_my_schedules")
async def embedded_my_schedules(request: Request) -> Response:
    """The agent's agenda in compact chrome; the sign-in first when needed."""
    try:
        query, app, tenant, user, member = await _enter(request, widget=False)
        if user is None:
            return await _start_sign_in(request, query, tenant, app, widget=False)
    except Refused as exc:
        return await _refused_page(request, exc)
    return await render_my_schedules(request, user, app, query.week or None, True, member=member)


@get(embedded.WIDGET_PATH, name="genesys_widget")
async def interaction_widget(request: Request) -> Response:
    """The meeting behind a dispatched interaction, with a Join button for the booked agent."""
    from web.scheduling.dispatch import booking_for_conversation

    try:
        query, app, tenant, user, member = await _enter(request, widget=True)
        if user is None:
            return await _start_sign_in(request, query, tenant, app, widget=True)
        booking = await booking_for_conversation(query.conversation_id)
        if booking is None or booking.app != app.id:
            raise Refused(UNKNOWN_CONVERSATION, 404)
        is_admin = user.is_superuser or (member is not None and member.role == Role.admin)
        if booking.assigned_agent != user.id and not is_admin:
            raise Refused(FOREIGN_CONVERSATION, 403)
    except Refused as exc:
        return await _refused_page(request, exc)
    preset = await get_preset(app.id)
    tz = (member.timezone if member and member.timezone else None) or app.timezone
    host_url, _ = room_links(booking, request.app.state.settings.public_url)
    return Template(
        "genesys/widget.html",
        context={
            "app": app,
            "booking": booking,
            "tz": tz,
            "host_url": host_url,
            "host_origin": query.host_origin,
            "final": booking.status in {s.value for s in FINAL_STATUSES},
            "show_notes": bool(preset.dispatch_include_intake_notes) and bool(booking.intake_notes),
            "embedded": True,
        },
    )


async def _agent_for(app: VideoApp, genesys_user_id: str) -> User | None:
    """Our user behind a Genesys user id in this app (matched through the membership)."""
    row = (
        await Membership.select(Membership.user)
        .where((Membership.app == app.id) & (Membership.genesys_user_id == genesys_user_id))
        .first()
    )
    return await User.objects().get(User.id == row["user"]) if row else None


@get(embedded.CALLBACK_PATH, name="genesys_auth_callback")
async def auth_callback(request: Request) -> Response:
    """Genesys sends the agent back here with a code; we find out who they are and sign them in."""
    params = request.query_params
    taken = await embedded.take_state(request, params.get("state", ""))
    if taken is None:
        return await _refused_page(request, Refused(EXPIRED, 400))
    query, widget, verifier = taken
    try:
        app, tenant = await _tenant_for(request, query)
        origins = settings_store.frame_origins(tenant, _extra(request))
        allow_framing(request.scope, origins)
        if params.get("error") or not params.get("code"):
            detail = (params.get("error_description") or params.get("error") or "no code")[:200]
            raise Refused(f"Genesys did not sign you in: {detail}")
        client = request.app.state.genesys
        try:
            token = await client.exchange_pkce_code(
                tenant.credentials.login_base_url,
                tenant.row.browser_client_id,
                params["code"],
                verifier,
                _redirect_uri(request),
            )
            genesys_user = await verify_agent_token(
                client, tenant.credentials.api_base_url, token.get("access_token", ""), tenant.organization_id
            )
        except LoginRefused as exc:
            raise Refused(exc.reason) from None
        except GenesysError as exc:
            log.info("genesys sign-in for app %s failed: %s", app.id, exc)
            raise Refused(exc.plain_words(), 502 if not exc.permanent else 403) from None
        user = await _agent_for(app, genesys_user.id)
        if user is None:
            raise Refused(f"Your Genesys user is not an agent of {app.name}")
    except Refused as exc:
        return await _refused_page(request, exc)
    if query.popup:
        ticket = await embedded.save_ticket(request, user.id, query, widget=widget, origins=origins)
        return Template("genesys/popup_done.html", context={"ticket": ticket})
    embedded.start_session(request, user, query.app, origins)
    return Redirect(embedded.page_url(query, widget=widget), status_code=302)


@get("/genesys/auth/redeem", name="genesys_auth_redeem")
async def auth_redeem(request: Request) -> Response:
    """The iframe trades the popup's one-time ticket for its own session (in its own partition)."""
    data = await embedded.take_ticket(request, request.query_params.get("ticket", ""))
    if data is None:
        return await _refused_page(request, Refused(EXPIRED, 400))
    user = await User.objects().get(User.id == data["user_id"])
    if user is None:
        return await _refused_page(request, Refused(EXPIRED, 400))
    query: EmbeddedQuery = data["query"]
    allow_framing(request.scope, data["origins"])
    embedded.start_session(request, user, query.app, data["origins"])
    return Redirect(embedded.page_url(query, widget=data["widget"]), status_code=302)


ROUTES = [embedded_my_schedules, interaction_widget, auth_callback, auth_redeem]
