"""Bad and hostile inputs, shared by the tests and scripts/robustness_report.py.

Each case is a file to ingest and the outcome the product must give: `indexed` (read, perhaps with warnings),
`failed` (refused with a reason that names the problem), or `either` (both are fine, as long as it is clean).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_BAD = ROOT.parent / "shared" / "eval" / "bad-inputs"
CONTROL = ROOT / "data" / "docs" / "northwind-handbook.pdf"

#: What ../shared/eval/bad-inputs/README.md asks of each file ("app should").
SHARED_EXPECTED = {
    "qpdf-pages-loop.pdf": ("failed", "damaged"),
    "qpdf-append-xref-loop.pdf": ("either", ""),
    "qpdf-outlines-with-loop.pdf": ("indexed", ""),
    "qpdf-eof-in-inline-image.pdf": ("either", ""),
    "qpdf-broken-lzw.pdf": ("either", ""),
    "qpdf-damaged-stream.pdf": ("indexed", ""),
    "qpdf-bad-xref.pdf": ("failed", "damaged"),
    "qpdf-xref-errors.pdf": ("indexed", ""),
    "qpdf-zero-offset.pdf": ("indexed", ""),
    "qpdf-empty-object.pdf": ("indexed", ""),
    "qpdf-global_damaged.pdf": ("indexed", ""),
    "qpdf-bad-encryption-length.pdf": ("failed", "password"),
    "qpdf-ossfuzz-394129398-runlength-bomb.pdf": ("failed", ""),
    "pypdf-issue-297-broken-xref.pdf": ("indexed", ""),
    "pypdf-libreoffice-writer-password.pdf": ("failed", "password-protected"),
    "pypdf-r6-user-password.pdf": ("either", ""),
    "pypdf-r2-empty-password.pdf": ("indexed", ""),
    "samplefiles-imagemagick-CCITTFaxDecode-image-only.pdf": ("failed", "no extractable text"),
    "samplefiles-minimal-document-control.pdf": ("indexed", ""),
}


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    data: bytes
    expect: str
    """`indexed`, `failed` or `either`."""
    reason: str = ""
    """For `failed`: words the reason must contain."""


def shared_cases() -> list[Case]:
    if not SHARED_BAD.exists():
        return []
    return [Case(name, (SHARED_BAD / name).read_bytes(), *SHARED_EXPECTED[name]) for name in sorted(SHARED_EXPECTED)]


def generated_cases(big_pdf: bytes | None = None) -> list[Case]:
    """Cases built at run time from the sample handbook and from scratch."""
    control = CONTROL.read_bytes()
    words = " ".join(f"word{i % 997}" for i in range(1_400_000))  # about 10 MB on one line
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes.txt", "not a document")
    cases = [
        Case("zero-bytes.pdf", b"", "failed", "empty"),
        Case("whitespace-only.txt", b" \n\t\r\n   \n", "failed", "empty"),
        *[
            Case(f"truncated-at-{cut}.pdf", control[:cut], "either")
            for cut in (9, 100, len(control) // 4, len(control) // 2, len(control) - 30)
        ],
        Case("photo.pdf", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "failed", "PNG image, not a PDF"),
        Case("archive.pdf", archive.getvalue(), "failed", "ZIP archive, not a PDF"),
        Case("program.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40, "failed", "executable"),
        Case(
            "latin-1.txt", "Café policy: the naïve approach costs 5 €… façade.".encode("latin-1", "replace"), "indexed"
        ),
        Case("utf-16.txt", "\ufeffUTF-16 notes: the exam is on 12 May.".encode("utf-16-le"), "indexed"),
        Case("invalid-utf8.md", b"# Notes\n\nValid start \xff\xfe\xc3\x28 broken bytes, then the rest.\n", "indexed"),
        Case("one-long-line.txt", words.encode(), "indexed"),
        Case("duplicate-of-handbook.pdf", control, "indexed"),
    ]
    if big_pdf is not None:
        cases.append(Case("two-thousand-pages.pdf", big_pdf, "indexed"))
    return cases


#: Uploaded names a hostile browser could send; none may reach a path.
HOSTILE_NAMES = [
    "../../../etc/passwd.pdf",
    "/etc/shadow.pdf",
    "C:\\Windows\\system32\\evil.pdf",
    "nul\x00byte.pdf",
    "a" * 300 + ".pdf",
    "invoice\u202efdp.exe.pdf",
    "..",
    "",
]


def big_pdf(pages: int = 2000) -> bytes:
    """A real PDF with a text layer on every page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {number}: the archive entry number {number * 7} is filed under shelf {number % 40}.")
    return bytes(pdf.output())


def docx_bomb(inflated_mb: int = 800) -> bytes:
    """A DOCX of under 1 MB whose document.xml inflates to `inflated_mb` MB: a decompression bomb."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        )
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(
                b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
                b'main"><w:body><w:p><w:r><w:t>'
            )
            block = b"A" * (1 << 20)
            for _ in range(inflated_mb):
                member.write(block)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buffer.getvalue()
