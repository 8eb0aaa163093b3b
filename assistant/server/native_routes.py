"""Native routes, for what OpenAI's API has no words for: collections, documents, uploads, search, source pages.

Every route that names a collection takes it from its path, `{collection}`, through the `Readable` or
`Writable` dependency, which answers 404 outside the key's scope (and 403 to a write by a read-only key).
Uploaded names are only ever shown: files are stored under their content hash (`ingest.save_upload`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ingest import DocumentError, FileReport, IndexStoreError, Settings, ingest, save_upload
from ingest.manage import create_collection, delete_collection, delete_documents
from ingest.names import COLLECTION_PATTERN
from ingest.render import DRAWN_KINDS

from ..evidence import locate, page_kind, page_pdf, render_page
from .auth import KeyDep, Readable, Writable, check_write, service_of
from .service import Service, source_json

router = APIRouter(prefix="/v1", tags=["Collections and documents"])


class NewCollection(BaseModel):
    name: str = Field(pattern=COLLECTION_PATTERN, description="1 to 64 letters, digits, spaces, '.', '_' or '-'.")


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    top_k: int | None = Field(None, ge=1, le=100)


@router.get("/collections", summary="The collections this key may read")
def list_collections(request: Request, key: KeyDep) -> dict[str, Any]:
    return {"collections": [asdict(s) for s in service_of(request).summaries(key)]}


@router.post("/collections", status_code=201, summary="Create an empty collection (a key that may write it)")
def new_collection(body: NewCollection, request: Request, key: KeyDep) -> dict[str, Any]:
    check_write(key, body.name)
    create_collection(service_of(request).settings, body.name)
    return {"name": body.name, "created": True}


@router.delete("/collections/{collection}", summary="Delete a collection and everything in it")
def remove_collection(collection: Writable, request: Request) -> dict[str, Any]:
    service = _existing(request, collection)
    delete_collection(service.settings, collection, lock_timeout=30.0)
    service.forget(collection)
    return {"name": collection, "deleted": True}


@router.get("/collections/{collection}/documents", summary="The documents of a collection")
def list_documents(collection: Readable, request: Request) -> dict[str, Any]:
    service = _existing(request, collection)
    if service.store.config_of(collection) is None:
        return {"documents": []}
    return {"documents": [asdict(d) for d in service.snapshot(collection).list_documents()]}


@router.post("/collections/{collection}/documents", summary="Upload files and index them; a report per file")
async def upload_documents(
    collection: Writable, request: Request, files: Annotated[list[UploadFile], File(description="The files.")]
) -> dict[str, Any]:
    service = service_of(request)
    limit = int(service.settings.max_file_mb * 1024 * 1024)
    payloads = [(upload.filename or "unnamed", await upload.read(limit + 1)) for upload in files]
    reports = await run_in_threadpool(_ingest_uploads, service, collection, payloads)
    return {"collection": collection, "files": [asdict(r) for r in reports]}


def _ingest_uploads(service: Service, collection: str, payloads: list[tuple[str, bytes]]) -> list[FileReport]:
    settings: Settings = service.settings_for(collection)
    limit = int(settings.max_file_mb * 1024 * 1024)
    refused, sources = [], []
    for name, data in payloads:
        try:
            sources.append(save_upload(data, name, settings.upload_dir, limit))
        except DocumentError as exc:
            refused.append(FileReport(exc.source, "failed", reason=exc.reason))
    if not sources:
        return refused
    try:
        report = ingest(sources, settings, service.embedder_of(settings), lock_timeout=60.0)
    except IndexStoreError as exc:
        raise HTTPException(409, str(exc)) from exc
    return refused + report.files


@router.delete("/collections/{collection}/documents/{doc_id}", summary="Delete one document")
def remove_document(collection: Writable, doc_id: str, request: Request) -> dict[str, Any]:
    service = _existing(request, collection)
    _document(service, collection, doc_id)
    removed = delete_documents(service.settings, [doc_id], collection, lock_timeout=30.0)
    return {"deleted": [asdict(d) for d in removed]}


@router.post("/collections/{collection}/search", summary="The evidence for a query, without an answer")
def search(collection: Readable, body: SearchRequest, request: Request) -> dict[str, Any]:
    service = _existing(request, collection)
    try:
        retrieval = service.search(collection, body.query, body.top_k)
    except IndexStoreError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {
        "query": retrieval.query,
        "sources": [source_json(n, hit) for n, hit in enumerate(retrieval.hits, start=1)],
        "withheld": len(retrieval.withheld),
    }


@router.get(
    "/collections/{collection}/documents/{doc_id}/pages/{page}/image",
    summary="A source's PDF page (or slide of a PPTX deck) as a PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def page_image(collection: Readable, doc_id: str, page: int, request: Request, width: int = 900) -> Response:
    service = _existing(request, collection)
    path = _pdf_page(service, collection, doc_id, page, kinds=DRAWN_KINDS)
    png = _render(lambda: render_page(path, page, service.settings, width=max(100, min(width, 2000))))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get(
    "/collections/{collection}/documents/{doc_id}/pages/{page}/pdf",
    summary="A source's PDF page as a one-page PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def page_document(collection: Readable, doc_id: str, page: int, request: Request) -> Response:
    service = _existing(request, collection)
    path = _pdf_page(service, collection, doc_id, page)
    data = _render(lambda: page_pdf(path, page, service.settings))
    headers = {"Content-Disposition": f'attachment; filename="page-{page}.pdf"'}
    return Response(data, media_type="application/pdf", headers=headers)


def _existing(request: Request, collection: str) -> Service:
    service = service_of(request)
    if not service.exists(collection):
        raise HTTPException(404, f"No collection {collection!r} is open to this key.")
    return service


def _document(service: Service, collection: str, doc_id: str) -> Any:
    try:
        document = service.snapshot(collection).documents.get(doc_id)
    except IndexStoreError:
        document = None
    if document is None:
        raise HTTPException(404, f"No document {doc_id[:80]!r} in {collection!r}.")
    return document


def _pdf_page(service: Service, collection: str, doc_id: str, page: int, kinds: tuple[str, ...] = ("pdf",)) -> Any:
    document = _document(service, collection, doc_id)
    path = locate(document, service.settings)
    if path is None:
        raise HTTPException(404, "The document's file is no longer on the server (moved or changed since indexing).")
    if page_kind(path) not in kinds:
        raise HTTPException(415, f"Pages can be shown for {' and '.join(k.upper() for k in kinds)} documents only.")
    if not 1 <= page <= max(document.pages, 1):
        raise HTTPException(404, f"The document has pages 1 to {document.pages}.")
    return path


def _render(make: Any) -> bytes:
    try:
        return make()  # type: ignore[no-any-return]
    except DocumentError as exc:
        raise HTTPException(422, exc.reason) from exc
