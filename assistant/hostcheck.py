"""The app's server answers only to its own names and its own pages, and looks nothing up on the internet.

`streamlit run streamlit_app.py` serves the app as an `st.App` whose first middleware is `HostCheck`:

- a request (page, health check, upload, media, WebSocket) whose `Host` is not the app's own address is
  refused with 403, which defeats DNS rebinding: an attacker's name resolving to 127.0.0.1 still says
  `Host: attacker.example`;
- a request with an `Origin` that is not the app's own origin, scheme, name and port (so not
  `http://localhost:9999` either), is refused with 403 before Streamlit sees it;
- Streamlit's external-IP lookup (an HTTP request to checkip.amazonaws.com, made when it checks a
  cross-origin WebSocket or prints an "External URL") is turned off: nothing leaves the machine.

The app's own names are 127.0.0.1, localhost and ::1, plus the configured `server.address` when it is a
specific one, all at the server's port. Anything else (a LAN name, a reverse proxy) is added with
`Settings.allowed_hosts` (`DOCQA_ALLOWED_HOSTS='["docs.lan:8501"]'`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _split(netloc: str) -> tuple[str, int | None] | None:
    """`name[:port]` as (lower-case name, port or None), or None when it is not a plain host."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None or parts.path:
        return None
    return parts.hostname.lower().rstrip("."), port


@dataclass(frozen=True)
class AllowList:
    """The (name, port) pairs the app answers to; a port of None accepts that name on any port."""

    hosts: frozenset[tuple[str, int | None]]

    @classmethod
    def build(cls, address: str, port: int, extra: Iterable[str] = ()) -> AllowList:
        names = set(LOOPBACK)
        if address and address not in ("0.0.0.0", "::"):  # a wildcard bind is not a name
            names.add(address.lower().strip("[]"))
        hosts: set[tuple[str, int | None]] = {(name, port) for name in names}
        for entry in extra:
            parsed = _split(entry.strip())
            if parsed is not None:
                hosts.add(parsed)
        return cls(frozenset(hosts))

    def allows(self, netloc: str, scheme: str) -> bool:
        parsed = _split(netloc)
        if parsed is None:
            return False
        name, port = parsed
        return (name, port or _DEFAULT_PORTS.get(scheme, 80)) in self.hosts or (name, None) in self.hosts

    def allows_origin(self, origin: str) -> bool:
        parts = urlsplit(origin)  # scheme://name[:port], nothing else ("null" is refused)
        return parts.scheme in ("http", "https") and not parts.path and self.allows(parts.netloc, parts.scheme)


def streamlit_allow_list(extra: Iterable[str]) -> AllowList:
    """From Streamlit's server address and port, read when asked: the port is final only once the server is bound."""
    from streamlit import config

    return AllowList.build(str(config.get_option("server.address") or ""), int(config.get_option("server.port")), extra)


class HostCheck:
    """ASGI middleware: refuses requests whose Host or Origin is not the app's own (403), before anything else."""

    def __init__(self, app: ASGIApp, allowed: Callable[[], AllowList]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and not self.permitted(scope):
            if scope["type"] == "websocket":  # closing before accepting makes the server answer 403
                await send({"type": "websocket.close", "code": 1008})
                return
            body = b"Forbidden: this address or origin is not allowed (see DOCQA_ALLOWED_HOSTS).\n"
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def permitted(self, scope: Scope) -> bool:
        headers = [(k.lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        hosts = [v for k, v in headers if k == b"host"]
        origins = [v for k, v in headers if k == b"origin"]
        allowed = self.allowed()
        scheme = str(scope.get("scheme", "http"))
        if len(hosts) != 1 or not allowed.allows(hosts[0], scheme):
            return False
        return len(origins) <= 1 and all(allowed.allows_origin(o) for o in origins)


def disable_external_lookups() -> None:
    """Streamlit asks checkip.amazonaws.com for this machine's public address; make it know none."""
    from streamlit import net_util

    net_util.get_external_ip = lambda: None


def middleware(extra_hosts: Iterable[str]) -> list[Any]:
    """The middleware list for `st.App`: the host check, ahead of Streamlit's own."""
    from starlette.middleware import Middleware

    disable_external_lookups()
    extra = tuple(extra_hosts)
    return [Middleware(HostCheck, allowed=lambda: streamlit_allow_list(extra))]
