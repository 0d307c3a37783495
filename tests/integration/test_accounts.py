"""Sign in, sign out, CSRF and throttling through the real app and Redis."""

from tests.conftest import csrf_token, form_post


async def test_landing_page_requires_sign_in(client):
    response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=%2F"


async def test_login_and_logout(client, make_user):
    await make_user("ada@example.com", "correct horse", name="Ada Admin")
    response = await form_post(client, "/login", {"email": "ADA@example.com", "password": "correct horse"})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert "Welcome, Ada Admin" in home.text

    out = await form_post(client, "/logout")
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 302


async def test_wrong_password_is_refused_with_a_message(client, make_user):
    await make_user("ada@example.com", "correct horse")
    response = await form_post(client, "/login", {"email": "ada@example.com", "password": "wrong"})
    assert response.status_code == 400
    assert "do not match an account" in response.text
    assert 'value="ada@example.com"' in response.text  # what the user typed is kept
    assert (await client.get("/")).status_code == 302


async def test_next_is_followed_only_for_local_paths(client, make_user):
    await make_user()
    response = await form_post(
        client,
        "/login",
        {"email": "ada@example.com", "password": "correct horse", "next": "https://evil.example"},
    )
    assert response.headers["location"] == "/"


async def test_post_without_csrf_token_is_refused(client, make_user):
    await make_user()
    await client.get("/login")
    response = await client.post("/login", data={"email": "ada@example.com", "password": "correct horse"})
    assert response.status_code == 403
    assert "Traceback" not in response.text


async def test_htmx_post_with_csrf_header_is_accepted(client, make_user):
    await make_user()
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "ada@example.com", "password": "correct horse"},
        headers={"x-csrftoken": csrf_token(client), "HX-Request": "true"},
    )
    assert response.status_code == 303


async def test_login_attempts_are_rate_limited(client, make_user):
    await make_user()
    statuses = []
    for _ in range(7):
        response = await form_post(client, "/login", {"email": "ada@example.com", "password": "nope"})
        statuses.append(response.status_code)
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429, 429]
    assert "Too many sign-in attempts" in response.text
    # Even the right password waits until the window passes.
    response = await form_post(client, "/login", {"email": "ada@example.com", "password": "correct horse"})
    assert response.status_code == 429


async def test_anonymous_requests_create_no_session(client, app):
    response = await client.get("/healthz")
    assert "punctual_session" not in response.headers.get("set-cookie", "")
    keys = [k async for k in app.state.redis.scan_iter(f"{app.state.settings.instance}:sessions*")]
    assert keys == []


async def test_security_headers(client):
    response = await client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_friendly_html_404_and_json_404_for_api(client):
    page = await client.get("/no/such/page")
    assert page.status_code == 404
    assert "Page not found" in page.text
    api = await client.get("/api/v1/no/such")
    assert api.status_code == 404
    assert api.json()["error"]["type"] == "not_found"
