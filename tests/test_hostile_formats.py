"""Hostile files in the new formats: compression bombs, XML entity expansion, external references, deep nesting
and oversized images are each refused with a reason naming the file, fast and within memory, never a traceback."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from ingest import DocumentError, load_bytes
from ingest.isolate import IsolatedParser

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def _zip(members: dict[str, bytes | str], *, first: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1])  # stored, as EPUB and ODT want their mimetype
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


EPUB_MIME = ("mimetype", "application/epub+zip")
ODT_MIME = ("mimetype", "application/vnd.oasis.opendocument.text")
CONTAINER = (
    '<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">'
    '<rootfiles><rootfile full-path="OPS/package.opf" media-type="application/oebps-package+xml"/></rootfiles>'
    "</container>"
)
BOMB = b"\0" * (64 * 1024 * 1024)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("deck.pptx", _zip({"ppt/presentation.xml": "<p/>", "ppt/media/big.bin": BOMB})),
        ("book.xlsx", _zip({"xl/workbook.xml": "<w/>", "xl/worksheets/sheet1.xml": BOMB})),
        ("novel.epub", _zip({"META-INF/container.xml": CONTAINER, "OPS/ch1.xhtml": BOMB}, first=EPUB_MIME)),
        ("letter.odt", _zip({"content.xml": BOMB}, first=ODT_MIME)),
    ],
)
def test_compression_bombs_are_refused_before_inflating(name: str, data: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(DocumentError, match="compression bomb") as caught:
        load_bytes(data, name, suffix="." + name.rsplit(".", 1)[1])
    assert caught.value.source == name and time.monotonic() - started < 5


@pytest.mark.parametrize("prolog", [LAUGHS, EXTERNAL], ids=["entity-expansion", "external-entity"])
@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("novel.epub", lambda x: _zip({"META-INF/container.xml": x + CONTAINER[21:]}, first=EPUB_MIME)),
        ("letter.odt", lambda x: _zip({"content.xml": x + "<office:document-content/>"}, first=ODT_MIME)),
        ("deck.pptx", lambda x: _zip({"ppt/presentation.xml": x + "<p>&lol9;</p>"})),
        ("book.xlsx", lambda x: _zip({"xl/workbook.xml": x + "<workbook>&lol9;</workbook>"})),
        ("memo.docx", lambda x: _zip({"word/document.xml": x + "<w>&lol9;</w>"})),
    ],
)
def test_xml_entities_and_external_references_are_refused(prolog: str, name: str, build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DocumentError) as caught:
        load_bytes(build(prolog), name, suffix="." + name.rsplit(".", 1)[1])
    assert caught.value.source == name
    assert "entit" in caught.value.reason or "DOCTYPE" in caught.value.reason


def test_an_epub_chapter_outside_the_book_is_never_read() -> None:
    package = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf"><manifest>'
        '<item id="a" href="../../../../etc/passwd" media-type="application/xhtml+xml"/>'
        '<item id="b" href="ch.xhtml" media-type="application/xhtml+xml"/></manifest>'
        '<spine><itemref idref="a"/><itemref idref="b"/></spine></package>'
    )
    chapter = (
        "<html><body><h1>Skiing</h1><p>Davos has the best runs.</p><img src='http://evil.example/x.png'/></body></html>"
    )
    data = _zip(
        {"META-INF/container.xml": CONTAINER, "OPS/package.opf": package, "OPS/ch.xhtml": chapter}, first=EPUB_MIME
    )
    document = load_bytes(data, "novel.epub", suffix=".epub")
    assert "Davos has the best runs." in document.pages[0].text and "root:" not in document.pages[0].text
    assert any("not in the book" in w for w in document.warnings)


def test_deeply_nested_rtf_and_group_shapes_stay_bounded() -> None:
    data = b"{\\rtf1 " + b"{" * 50_000 + b"deep text" + b"}" * 50_000 + b"}"
    started = time.monotonic()
    try:
        document = load_bytes(data, "deep.rtf", suffix=".rtf")
        assert "deep text" in document.pages[0].text
    except DocumentError as exc:
        assert exc.reason
    assert time.monotonic() - started < 20


def test_an_image_bomb_is_refused_before_decoding() -> None:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    with pytest.raises(DocumentError, match=r"not a readable image|pixels") as caught:
        load_bytes(png, "huge.png", suffix=".png")
    assert caught.value.source == "huge.png"


def test_hostile_files_in_the_worker_give_a_reason_and_the_next_file_goes_in() -> None:
    parser = IsolatedParser(timeout=60, memory_mb=1024)
    try:
        bomb = _zip({"xl/workbook.xml": "<w/>", "xl/worksheets/sheet1.xml": BOMB})
        with pytest.raises(DocumentError, match="compression bomb"):
            parser.load(bomb, "book.xlsx", suffix=".xlsx")
        csv = parser.load(b'Region,Q2 revenue\nEMEA,"1,204"\n', "q.csv", suffix=".csv")
        assert "Region: EMEA; Q2 revenue: 1,204" in csv.pages[0].text and csv.pages[0].tables
    finally:
        parser.close()
