"""No route lets a key reach a collection outside its scope. Every route of the app is enumerated: one that
names a collection in its path is called for `beta` with a key scoped to `alpha`, and must answer 403 or 404,
while a key for every collection gets through (so the probe is a real request). A route without a collection
in its path needs a probe of its own below; a new one without a probe fails this test until it gets one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route

from tests.server_fixtures import Team, team_fixture  # noqa: F401 - the `team` fixture

QUESTION = {"model": "docs:beta", "messages": [{"role": "user", "content": "What is the launch code of project beta?"}]}


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, full path) of every route, including those of included routers."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)  # FastAPI's included routers
        if contexts is not None:
            for context in contexts():
                for method in getattr(context.original_route, "methods", None) or ():
                    yield method, context.path
        elif isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                yield method, route.path


def _beta_hidden(key: str) -> Callable[[Team], None]:
    """A listing must not name beta to the alpha key, and must name it to the admin key."""

    def check(team: Team) -> None:
        path = "/v1/models" if key == "id" else "/v1/collections"
        listing = "data" if key == "id" else "collections"
        names = [item[key] for item in team.client.get(path, headers=team.auth("alpha")).json()[listing]]
        wanted = "docs:beta" if key == "id" else "beta"
        assert wanted not in names
        admin = [item[key] for item in team.client.get(path, headers=team.auth("admin")).json()[listing]]
        assert wanted in admin

    return check


def _chat_beta(team: Team) -> None:
    response = team.client.post("/v1/chat/completions", json=QUESTION, headers=team.auth("alpha"))
    assert response.status_code in (403, 404), response.text
    assert "launch code" not in response.text
    streamed = team.client.post("/v1/chat/completions", json={**QUESTION, "stream": True}, headers=team.auth("alpha"))
    assert streamed.status_code in (403, 404) and "launch code" not in streamed.text
    assert team.client.post("/v1/chat/completions", json=QUESTION, headers=team.auth("admin")).status_code == 200


def _create_beta(team: Team) -> None:
    response = team.client.post("/v1/collections", json={"name": "beta-2"}, headers=team.auth("alpha"))
    assert response.status_code in (403, 404)
    assert team.client.post("/v1/collections", json={"name": "beta-2"}, headers=team.auth("admin")).status_code == 201


def _untouched(team: Team) -> None:
    """Routes that touch no collection (the schema, its pages, the health check)."""


#: Routes with no `{collection}` in their path, and how each is aimed at beta.
PROBES: dict[tuple[str, str], Callable[[Team], None]] = {
    ("POST", "/v1/chat/completions"): _chat_beta,
    ("GET", "/v1/models"): _beta_hidden("id"),
    ("HEAD", "/v1/models"): _beta_hidden("id"),
    ("GET", "/v1/collections"): _beta_hidden("name"),
    ("HEAD", "/v1/collections"): _beta_hidden("name"),
    ("POST", "/v1/collections"): _create_beta,
    **{
        (m, p): _untouched
        for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz")
        for m in ("GET", "HEAD")
    },
}


def _request(team: Team, who: str, method: str, path: str) -> Any:
    url = re.sub(
        r"\{(\w+)(:\w+)?\}",
        lambda m: {"collection": "beta", "doc_id": team.doc_ids["beta"], "page": "1"}[m.group(1)],
        path,
    )
    extra: dict[str, Any] = {}
    if method == "POST" and path.endswith("/search"):
        extra["json"] = {"query": "launch code"}
    elif method == "POST" and path.endswith("/documents"):
        extra["files"] = [("files", ("more.md", b"# More\n\nMore about the beta launch code.\n", "text/markdown"))]
    return team.client.request(method, url, headers=team.auth(who), **extra)


def test_every_route_keeps_a_key_inside_its_collections(team: Team) -> None:
    found = sorted(set(routes(team.client.app)))  # type: ignore[arg-type]
    assert ("POST", "/v1/chat/completions") in found and len(found) > 12
    unprobed = [r for r in found if "{collection}" not in r[1] and r not in PROBES]
    assert not unprobed, f"routes without a scope probe (add one to PROBES): {unprobed}"
    # Deletions last, so the other routes still find beta and its document.
    ordered = sorted(found, key=lambda r: (r[0] == "DELETE", r[1].count("/") * -1))
    for method, path in ordered:
        if "{collection}" not in path:
            PROBES[(method, path)](team)
            continue
        refused = _request(team, "alpha", method, path)
        assert refused.status_code in (403, 404), f"{method} {path} let the alpha key into beta: {refused.status_code}"
        assert b"launch code" not in refused.content
        admitted = _request(team, "admin", method, path)
        assert admitted.status_code < 400, f"{method} {path} probe is not a valid request: {admitted.text[:200]}"


def test_a_key_sees_the_same_answer_for_a_collection_it_may_not_read_and_one_that_does_not_exist(team: Team) -> None:
    for path in ("/v1/collections/{c}/documents", "/v1/collections/{c}/documents/x/pages/1/image"):
        hidden = team.client.get(path.format(c="beta"), headers=team.auth("alpha"))
        absent = team.client.get(path.format(c="nothing"), headers=team.auth("alpha"))
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json()["error"]["message"].replace("beta", "X") == absent.json()["error"]["message"].replace(
            "nothing", "X"
        )
