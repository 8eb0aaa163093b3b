"""Talking to Milvus: the connection, the three kinds of Milvus collection we keep, and paged queries. The
only module that imports pymilvus.

For each of our collections Milvus holds a *chunks* collection (vector, BM25 text, the chunk as JSON) and a
*docs* collection (one row per document version). One shared *heads* collection holds a row per collection
of ours: its config, the live generation and the names of its two Milvus collections. Rows carry the
generation that added them (`gen`) and the one that removed them (`removed`, 0 while live), so a snapshot at
generation G reads exactly the rows with `gen <= G and (removed == 0 or removed > G)`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from ..errors import IndexStoreError

log = logging.getLogger(__name__)

HEADS = "docqa_heads"
#: Milvus caps VARCHAR fields at 65,535 bytes.
MAX_VARCHAR = 65_535
MAX_ID = 1_024
_DUMMY_DIM = 2  # Milvus wants a vector field in every collection; heads and docs carry a constant one
_PAGE = 1_000
#: HNSW settings: the graph FAISS builds past its threshold, and the candidates a search explores.
HNSW_PARAMS = {"M": 32, "efConstruction": 200}
HNSW_EF = 128
#: bm25s's defaults, so both backends score alike.
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}


def connect(uri: str, token: str = "") -> Any:
    """A client for a Milvus Lite file (a path ending in `.db`) or a server (`http://host:19530`)."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    logging.getLogger("pymilvus").setLevel(logging.ERROR)  # paged queries warn about Lite's clock on every page
    if is_local(uri):  # Lite's in-process server logs a traceback for the clock call it lacks; pymilvus copes
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        from .milvus_lite_search import install

        install()  # the engine runs in this process: its search without the per-row Python loops
    try:
        return MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
    except MilvusException as exc:
        hint = (
            " Milvus Lite lets one process open a database at a time: stop the other process (the app, another"
            " ingest), or serve the file to both with `python -m ingest.stores.milvus_lite_search server --data-dir "
            f"{uri} --host 127.0.0.1` and set DOCQA_MILVUS_URI=http://127.0.0.1:19530."
            if is_local(uri)
            else " Check that the server is running and DOCQA_MILVUS_TOKEN is right."
        )
        raise IndexStoreError(f"Cannot open Milvus at {uri} ({exc.message}).{hint}") from exc


def is_local(uri: str) -> bool:
    """A file path (Milvus Lite), not a server address."""
    return not uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))


def ensure_loaded(client: Any, name: str) -> None:
    """Milvus searches only loaded collections; after a restart (or a killed process, on Lite) they are not.

    Milvus Lite killed while it writes an index file can leave it empty, and then refuses to load the collection
    ("File is too small: 0" for a scalar index, "No data left in file" or "read error" for a vector index, saved without
    a rename). Indexes are derived from the rows, so they are dropped and built again from them; the rows are
    untouched."""
    from pymilvus.exceptions import MilvusException

    state = client.get_load_state(name).get("state")
    if str(state).rsplit(".", 1)[-1] == "Loaded":
        return
    try:
        client.load_collection(name)
    except MilvusException as exc:
        if not any(sign in str(exc.message) for sign in ("too small", "No data left", "read error")):
            raise
        log.warning("Milvus could not load %s (%s); rebuilding its indexes.", name, exc.message)
        _rebuild_indexes(client, name)
        client.load_collection(name)


#: What `describe_index` reports beside an index's own parameters.
_NOT_PARAMS = {"index_type", "metric_type", "field_name", "index_name", "total_rows", "indexed_rows",
               "pending_index_rows", "state"}  # fmt: skip


def _rebuild_indexes(client: Any, name: str) -> None:
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    described = {i: client.describe_index(name, i) for i in client.list_indexes(name)}
    client.release_collection(name)
    for index in described:
        try:
            client.drop_index(name, index)
        except MilvusException as exc:  # Lite may already have dropped it with another one
            log.info("Index %s of %s: %s", index, name, exc.message)
    params = MilvusClient.prepare_index_params()
    for index, about in described.items():
        extra = {k: v for k, v in about.items() if k not in _NOT_PARAMS}
        if about.get("metric_type"):
            params.add_index(
                field_name=about.get("field_name", index), index_type=about["index_type"],
                metric_type=about["metric_type"], params=extra,
            )  # fmt: skip
        else:
            params.add_index(field_name=about.get("field_name", index), index_type=about["index_type"])
    client.create_index(name, params)


def ensure_heads(client: Any) -> None:
    if client.has_collection(HEADS):
        ensure_loaded(client, HEADS)
        return
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("name", DataType.VARCHAR, is_primary=True, max_length=512)
    schema.add_field("head", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=_DUMMY_DIM)
    _create(client, HEADS, schema, [("v", "FLAT", "L2", {})])


def create_chunks(client: Any, name: str, dimension: int) -> None:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=MAX_ID + 24)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=MAX_ID)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=128)
    schema.add_field("gen", DataType.INT64)
    schema.add_field("removed", DataType.INT64)
    schema.add_field("lexical", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True)
    schema.add_field("data", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lexical"],
                 output_field_names=["sparse"])
    )  # fmt: skip
    _create(
        client,
        name,
        schema,
        [("vector", "HNSW", "IP", HNSW_PARAMS), ("sparse", "SPARSE_INVERTED_INDEX", "BM25", BM25_PARAMS), *_SCALAR],
    )


def create_docs(client: Any, name: str) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=160)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=128)
    schema.add_field("gen", DataType.INT64)
    schema.add_field("removed", DataType.INT64)
    schema.add_field("info", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("profile", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=_DUMMY_DIM)
    _create(client, name, schema, [("v", "FLAT", "L2", {}), *_SCALAR[:3]])


#: Inverted indexes on the fields every filter names (the generation window, documents, chunk ids), so the
#: engine answers filters from an index instead of testing every row.
_SCALAR: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("gen", "INVERTED", None, {}),
    ("removed", "INVERTED", None, {}),
    ("doc_id", "INVERTED", None, {}),
    ("chunk_id", "INVERTED", None, {}),
]


def _create(client: Any, name: str, schema: Any, indexes: list[tuple[str, str, str | None, dict[str, Any]]]) -> None:
    params = client.prepare_index_params()
    for field, kind, metric, extra in indexes:
        if metric is None:
            params.add_index(field_name=field, index_type=kind)
        else:
            params.add_index(field_name=field, index_type=kind, metric_type=metric, params=extra)
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def dummy() -> list[float]:
    return [0.0] * _DUMMY_DIM


def visible(gen: int) -> str:
    """The filter that reads a snapshot at generation `gen`."""
    return f"gen <= {int(gen)} and (removed == 0 or removed > {int(gen)})"


def quoted(values: list[str] | set[str]) -> str:
    """A Milvus list literal of strings, escaped."""
    return "[" + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


def query_all(client: Any, collection: str, expression: str, fields: list[str]) -> Iterator[dict[str, Any]]:
    """Every row matching `expression`, page by page, however many there are."""
    iterator = client.query_iterator(collection, batch_size=_PAGE, filter=expression, output_fields=fields)
    try:
        while rows := iterator.next():
            yield from rows
    finally:
        iterator.close()


def mark_removed(client: Any, collection: str, pks: list[str], gen: int) -> None:
    """Set `removed = gen` on these rows, leaving every other field as it is."""
    for start in range(0, len(pks), _PAGE):
        rows = [{"pk": pk, "removed": int(gen)} for pk in pks[start : start + _PAGE]]
        client.upsert(collection, rows, partial_update=True)


def drop(client: Any, name: str) -> None:
    with contextlib.suppress(Exception):  # already gone: dropping is idempotent
        if client.has_collection(name):
            client.drop_collection(name)
