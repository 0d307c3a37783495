"""`punctual sim`: the Genesys Cloud simulator and the WhatsApp one, in the foreground."""

from __future__ import annotations

import threading

from simulators.serve import ServerThread


def run_simulators(*, host: str, port: int, fixture: str | None, whatsapp_port: int) -> None:
    from simulators.genesys.app import create_app as genesys_app
    from simulators.genesys.fixture import load_fixture

    servers = [ServerThread(genesys_app(load_fixture(fixture), strict=True), host=host, port=port)]
    try:
        from simulators.whatsapp.app import create_app as whatsapp_app
    except ImportError:
        whatsapp_app = None
    if whatsapp_app is not None:
        servers.append(ServerThread(whatsapp_app(), host=host, port=whatsapp_port))
    for server in servers:
        server.start()
    print(f"Genesys Cloud simulator: {servers[0].url} (agent desktop: {servers[0].url}/__sim/desktop)")
    if len(servers) > 1:
        print(f"WhatsApp Cloud API simulator: {servers[1].url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
