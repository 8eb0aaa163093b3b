"""`python -m assistant.server`: serve the API, or make, list and revoke its keys."""

from __future__ import annotations

import argparse
import sys

from ingest import AssistantError, Settings, quiet_third_party_output, setting_origins

from .auth import is_loopback
from .keys import KeyStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.server", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="start the server (the default)")
    serve.add_argument("--host", help="address to bind (default DOCQA_SERVER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default DOCQA_SERVER_PORT, 8000)")
    keys = commands.add_parser("keys", help="make, list and revoke API keys").add_subparsers(dest="action")
    create = keys.add_parser("create", help="a new key; its token is printed once")
    create.add_argument("--name", default="", help="who or what it is for")
    create.add_argument("--collections", required=True, help="collections it may read, comma-separated, or '*'")
    create.add_argument("--write", action="store_true", help="it may also upload, delete and create")
    keys.add_parser("list", help="the keys (never their tokens)")
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        if args.command == "keys":
            return _keys(args, KeyStore(settings.keys_path))
        return _serve(settings, args.host if args.command else None, args.port if args.command else None)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _keys(args: argparse.Namespace, store: KeyStore) -> int:
    if args.action == "create":
        collections = [c.strip() for c in args.collections.split(",") if c.strip()]
        key, token = store.create(args.name, collections, args.write)
        print(f"key {key.id} ({'read and write' if key.write else 'read only'}: {', '.join(key.collections)})")
        print(f"token (shown once, keep it secret): {token}")
    elif args.action == "list":
        for key in store.active():
            scope = ", ".join(key.collections)
            print(f"{key.id}  {'write' if key.write else 'read '}  [{scope}]  {key.name}  created {key.created}")
        if not store.active():
            print(f"No keys in {store.path}: the server answers anyone on loopback, and binds nowhere else.")
    elif args.action == "revoke":
        key = store.revoke(args.id)
        print(f"revoked {key.id} ({key.name or 'unnamed'}); a running server refuses it from now on")
    else:
        print("usage: python -m assistant.server keys {create,list,revoke}", file=sys.stderr)
        return 2
    return 0


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from .app import create_app

    host, port = host or settings.server_host, port or settings.server_port
    settings = settings.model_copy(update={"server_host": host, "server_port": port})
    if not is_loopback(host) and not KeyStore(settings.keys_path).active():
        print(
            f"error: refusing to bind {host}: with no API key anyone who can reach it could read every collection. "
            "Make a key first: python -m assistant.server keys create --collections NAME",
            file=sys.stderr,
        )
        return 1
    quiet_third_party_output()
    for line in setting_origins():
        print(line, file=sys.stderr)
    print(f"Serving on http://{host}:{port} (API docs at /docs)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
