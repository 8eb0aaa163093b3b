"""The app factory: one FastAPI app with the OpenAI-compatible routes, the native ones, errors as JSON, /docs."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse

from ingest import AssistantError, DocumentError, IndexStoreError, ModelError, Settings

from . import native_routes, openai_routes
from .auth import KeylessHostCheck
from .queue import QueueFull
from .service import Service

_STATUS = {DocumentError: 422, IndexStoreError: 409, ModelError: 502, AssistantError: 400}


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """The team server. Tests pass a `Service` built on fakes; `python -m assistant.server` builds the real one."""
    service = service or Service(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        service.close()

    app = FastAPI(
        title="Document assistant",
        summary="Answers from your collections with cited sources; OpenAI-compatible chat, keys per collection.",
        version="1",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(KeylessHostCheck, service=service)
    app.include_router(openai_routes.router)
    app.include_router(native_routes.router)

    @app.get("/healthz", tags=["Service"], summary="Liveness, and how many questions wait for the model")
    def health() -> dict[str, Any]:
        return {"ok": True, "waiting": service.queue.waiting, "answering": service.queue.running}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return _error(422, f"Invalid request: {problems}")

    @app.exception_handler(QueueFull)
    async def busy(request: Request, exc: QueueFull) -> JSONResponse:
        return _error(503, str(exc), {"Retry-After": "5"})

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        status = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
        return _error(status, str(exc))

    return app


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """OpenAI's error shape (which its clients read), plus FastAPI's `detail`."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "code": status}, "detail": message}
    return JSONResponse(body, status_code=status, headers=headers)
