"""Every route handler of the app, gathered in one list (each area adds its controllers here)."""

from __future__ import annotations

from litestar import Router


def route_handlers() -> list:
    from web.controllers import (
        accounts,
        admin_api_clients,
        admin_bookings,
        admin_people,
        genesys_admin,
        genesys_embedded,
        health,
        metrics,
    )
    from web.controllers import admin as admin_pages
    from web.controllers import agent as agent_pages
    from web.controllers import api as public_api
    from web.controllers import bookings as booking_pages
    from web.controllers import dispatch as dispatch_pages
    from web.controllers import notifications as notifications_pages
    from web.controllers import rooms as room_pages
    from web.controllers import whatsapp as whatsapp_pages

    # Console pages stay out of the OpenAPI document, which describes the public API alone.
    console = Router(
        "/",
        include_in_schema=False,
        route_handlers=[
            *accounts.ROUTES,
            *health.ROUTES,
            *metrics.ROUTES,
            *notifications_pages.ROUTES,
            *agent_pages.ROUTES,
            *booking_pages.ROUTES,
            *admin_pages.ROUTES,
            *admin_people.ROUTES,
            *admin_bookings.ROUTES,
            *admin_api_clients.ROUTES,
            *room_pages.ROUTES,
            *dispatch_pages.ROUTES,
            *whatsapp_pages.ROUTES,
            *genesys_admin.ROUTES,
            *genesys_embedded.ROUTES,
        ],
    )
    return [console, *public_api.ROUTES]
