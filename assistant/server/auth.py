"""Who may do what: the bearer key of a request, the collection checks every route runs, and the host check.

A collection outside a key's scope is answered with 404, as if it did not exist, so a key cannot learn which
other collections there are. A key that may read a collection but not write answers 403 to writes.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from ..hostcheck import AllowList, HostCheck, Scope
from .keys import LOCAL, Key
from .service import Service


def service_of(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def current_key(request: Request) -> Key:
    """The key the request's `Authorization: Bearer` token belongs to; with no keys configured, the local user."""
    service = service_of(request)
    if not service.keys.active():
        return LOCAL
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = service.keys.authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if key is None:
        raise HTTPException(401, "A valid API key is needed: send `Authorization: Bearer <key>`.",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return key


KeyDep = Annotated[Key, Depends(current_key)]


def not_found(collection: str) -> HTTPException:
    return HTTPException(404, f"No collection {collection!r} is open to this key.")


def check_read(key: Key, collection: str) -> str:
    if not key.can_read(collection):
        raise not_found(collection)
    return collection


def check_write(key: Key, collection: str) -> str:
    check_read(key, collection)
    if not key.can_write(collection):
        raise HTTPException(403, f"This key may read {collection!r} but not change it.")
    return collection


def readable(collection: str, key: KeyDep) -> str:
    """Dependency for routes with a `{collection}` in their path that only read it."""
    return check_read(key, collection)


def writable(collection: str, key: KeyDep) -> str:
    """Dependency for routes with a `{collection}` in their path that change it."""
    return check_write(key, collection)


Readable = Annotated[str, Depends(readable)]
Writable = Annotated[str, Depends(writable)]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class KeylessHostCheck(HostCheck):
    """With no key configured, the server answers only to its loopback names and its own origin (a web page
    cannot reach it through DNS rebinding or a cross-site form). With keys, the bearer token is the guard."""

    def __init__(self, app: Any, service: Service) -> None:
        settings = service.settings
        allowed = AllowList.build(settings.server_host, settings.server_port, settings.allowed_hosts)
        super().__init__(app, lambda: allowed)
        self.service = service

    def permitted(self, scope: Scope) -> bool:
        return bool(self.service.keys.active()) or super().permitted(scope)
