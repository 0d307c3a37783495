"""Sign in, sign out and the signed-in landing page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from litestar import Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from web.auth import (
    authenticate,
    clear_login_attempts,
    login_attempts_exceeded,
    requires_login,
    sign_in,
    sign_out,
)


def _safe_next(value: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    if not value or not value.startswith("/") or value.startswith("//") or urlparse(value).netloc:
        return "/"
    return value


@get("/login", name="login")
async def login_page(
    request: Request, next_: Annotated[str | None, QueryParameter(name="next")] = None
) -> Template:
    return Template("accounts/login.html", context={"next": _safe_next(next_), "email": "", "error": None})


@post("/login", status_code=200)
async def login_submit(request: Request) -> Template | Redirect:
    form = await request.form()
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    context = {"next": target, "email": email}
    wait = await login_attempts_exceeded(request, email)
    if wait:
        minutes = max(1, round(wait / 60))
        return Template(
            "accounts/login.html",
            context={**context, "error": f"Too many sign-in attempts. Try again in {minutes} min."},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    user = await authenticate(email, password) if email and password else None
    if user is None:
        return Template(
            "accounts/login.html",
            context={**context, "error": "That email and password do not match an account."},
            status_code=400,
        )
    await clear_login_attempts(request, email)
    sign_in(request, user)
    return Redirect(target, status_code=303)


@post("/logout", guards=[requires_login], status_code=303)
async def logout(request: Request) -> Redirect:
    sign_out(request)
    return Redirect("/login", status_code=303)


@get("/", name="home", guards=[requires_login])
async def home(request: Request) -> Template:
    from web.scheduling.directory import apps_for_user

    apps = await apps_for_user(request.user)
    return Template("home.html", context={"apps": apps})


ROUTES = [login_page, login_submit, logout, home]
