import httpx

from simulators.serve import ServerThread, free_port


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_server_thread_serves_on_a_free_port_and_stops():
    with ServerThread(hello) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url).text == "hello"
    try:
        httpx.get(server.url, timeout=1)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("server still answering after stop")


def test_free_port_is_bindable():
    assert 1024 < free_port() < 65536
