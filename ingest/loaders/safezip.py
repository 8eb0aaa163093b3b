"""Opening ZIP-based formats (DOCX, PPTX, XLSX, EPUB, ODT) without trusting them: sizes are checked from the
archive's directory before anything is inflated, and XML is parsed with defusedxml (no entity expansion, no
external entities, no DTD fetching). Libraries that open the ZIP themselves get the archive only after
`check_archive` has passed it."""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeTree

from ..errors import DocumentError

#: What zipfile and zlib raise on a damaged member.
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError)

#: The most a document's members may inflate to, all together.
MAX_UNCOMPRESSED = 512 * 1024 * 1024
#: A member bigger than this must not have inflated more than MAX_RATIO times (a compression bomb).
RATIO_FLOOR = 16 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 20_000
#: What one XML member may inflate to when read whole (sheets are streamed by openpyxl instead).
MAX_XML_MEMBER = 64 * 1024 * 1024


def check_archive(data: bytes, source: str, what: str) -> zipfile.ZipFile:
    """The archive, once its directory shows nothing that inflates past the limits; DocumentError otherwise.
    (zipfile stops each member at its declared size, so a directory that lies gives a CRC error, not a bomb.)"""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DocumentError(source, f"not a readable {what} (the ZIP container is damaged: {exc}).") from exc
    if len(members) > MAX_MEMBERS:
        raise DocumentError(source, f"its archive holds {len(members):,} parts, more than {MAX_MEMBERS:,}.")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(1, member.compress_size)
        if member.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise DocumentError(
                source,
                f"{member.filename!r} would inflate {ratio:,.0f} times to {member.file_size / 1e6:,.0f} MB: a "
                "compression bomb, refused before inflating it.",
            )
    if total > MAX_UNCOMPRESSED:
        raise DocumentError(
            source,
            f"its parts would inflate to {total / 1e6:,.0f} MB, more than {MAX_UNCOMPRESSED / 1e6:,.0f} MB "
            "(a compression bomb?), so it was refused before inflating them.",
        )
    return archive


def read_member(archive: zipfile.ZipFile, name: str, source: str, limit: int = MAX_XML_MEMBER) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise DocumentError(source, f"its part {name!r} is {info.file_size / 1e6:,.0f} MB, more than can be read.")
    try:
        return archive.read(name)
    except _MEMBER_ERRORS as exc:
        raise DocumentError(source, f"its part {name!r} cannot be read ({type(exc).__name__}: {exc}).") from exc


def parse_xml(payload: bytes, source: str, name: str) -> Any:
    """An ElementTree root from untrusted XML: entity declarations and external references are refused."""
    try:
        return SafeTree.fromstring(payload, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DocumentError(
            source,
            f"its part {name!r} declares XML entities or external references ({type(exc).__name__}), "
            "which are refused: entity expansion is a known attack.",
        ) from exc
    except SafeTree.ParseError as exc:
        raise DocumentError(source, f"its part {name!r} is not well-formed XML ({exc}).") from exc


def check_xml_members(archive: zipfile.ZipFile, source: str, names: list[str], what: str = "document") -> None:
    """Refuse entity declarations in XML parts a third-party library will parse itself (lxml expands internal
    entities by default): a DOCTYPE has no business in an Office file."""
    for name in names:
        try:
            with archive.open(archive.getinfo(name)) as handle:
                head = handle.read(65536)
        except _MEMBER_ERRORS as exc:
            raise DocumentError(
                source, f"not a readable {what}: its part {name!r} is damaged ({type(exc).__name__}: {exc})."
            ) from exc
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise DocumentError(
                source,
                f"its part {name!r} declares a DOCTYPE or XML entities, which Office files never need "
                "(an entity-expansion attack?), so it was refused.",
            )
