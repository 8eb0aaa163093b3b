"""Scanned pages with a known text: how well OCR reads them, and whether retrieval still finds them.

Pages of the evaluation PDFs that questions point at are drawn by pdfium at 200 dpi and saved as image-only PDFs
(no text layer at all): first the pages of questions answered on one page, then those of questions that need
several. Each is read through the real loader (`ingest.load_bytes`, so Tesseract and its reading order, exactly as
an ingest would), and the text is scored against the page's own text layer (pdfium's), both sides normalised
alike (`normalise`): the loader's own page cleaning, Unicode compatibility forms (ligatures such as "ﬁ"), one
kind of quote and dash, a word broken at a line end joined again, whitespace collapsed. The score is the
character error rate: edit distance over the reference's length, text compared in order (no alignment of blocks,
so text read in another order counts as errors). Pages/minute is the reading speed. Then recall@5 of those pages'
questions is measured twice, on the documents as they are and on the same documents with those pages replaced by
their scans, with the real embedder and hybrid search.

Pages with pictures (raster images in the original PDF) are flagged: text inside a picture is on the page, and OCR
reads it, but it is not in the text layer, so it counts as inserted text here.

The images of `shared/eval/formats/` are not in this set: none of them comes with its text (they are read in
`tests/test_formats.py`, which checks phrases in each).

    .venv/bin/python scripts/ocr_eval.py --pages 20               # CER and speed only, about 2 minutes here
    .venv/bin/python scripts/ocr_eval.py --pages 20 --recall      # also recall@5, about 9 minutes in all
    .venv/bin/python scripts/ocr_eval.py --pages 31 --order tesseract   # a variant: Tesseract's own reading order
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import Settings, SourceFile, ingest, load_bytes, ocr, ocr_layout, open_index
from ingest.cleanup import clean_pages
from ingest.loaders import LoadOptions
from ingest.text import clean_text
from ingest.types import Page

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "data"
DATASET = DATA / "mmlongbench-doc-papers"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time with numpy (insertions by a running minimum)."""
    if not a or not b:
        return max(len(a), len(b))
    target = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    positions = np.arange(len(b) + 1)
    previous = positions.copy()
    for i, char in enumerate(a, start=1):
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[:-1] + (target != ord(char)), previous[1:] + 1)
        previous = np.minimum.accumulate(current - positions) + positions
    return int(previous[-1])


_ALIKE = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"'} | dict.fromkeys("‐‑‒–—−", "-"))
_BROKEN = re.compile(r"(\w)-[ \t]*\n\s*(?=\w)")


def normalise(text: str) -> str:
    """What both sides are compared as: compatibility forms (ligatures), one quote and one dash, a word broken
    at a line end joined again (`re-\nspectively`), whitespace collapsed. Applied to OCR and reference alike."""
    text = unicodedata.normalize("NFKC", text).translate(_ALIKE)
    return " ".join(_BROKEN.sub(r"\1", text).split())


def plain(text: str) -> str:
    """The comparison before `normalise`: whitespace collapsed, ﬁ and ﬂ spelled out, nothing else (the text
    layer as pdfium gives it, the OCR as the loader cleaned it)."""
    return " ".join(text.replace("ﬁ", "fi").replace("ﬂ", "fl").split())


def reference_text(layer: str) -> str:
    """pdfium's text of the page, cleaned as the loader cleans any page (page number and furniture at the edges,
    odd spaces, broken words it knows). pdfium marks a hyphen that breaks a word at a line end with U+FFFE and no
    line break: it becomes what the page shows, a hyphen and a new line."""
    page = Page(clean_text(layer.replace("\ufffe", "-\n")), 1)
    return "\n".join(p.text for p in clean_pages([page], layout=True))


def tesseract_order(words: list) -> str:
    """The words in Tesseract's own order (block, paragraph, line), as its plain text output gives them: the
    reading order before `ingest.ocr_layout`, for comparison (`--order tesseract`)."""
    lines: dict[tuple[int, int, int], list] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    out, previous = [], None
    for key in sorted(lines):
        if previous is not None and key[:2] != previous:
            out.append("")
        out.append(" ".join(w.text for w in lines[key]))
        previous = key[:2]
    return "\n".join(out)


def sample(count: int) -> tuple[list[tuple[str, int]], list[dict]]:
    """The first `count` distinct (document, page) pairs that answerable questions point at: the pages of
    questions answered on one page first, then those of questions that need several."""
    questions = [json.loads(line) for line in (DATASET / "questions.jsonl").open()]
    answerable = [q for q in questions if q["answers"] and q.get("doc") and q.get("pages")]
    pages: list[tuple[str, int]] = []
    for question in sorted(answerable, key=lambda q: len(q["pages"]) > 1):  # stable: file order within each
        for number in question["pages"]:
            if (question["doc"], number) not in pages and len(pages) < count:
                pages.append((question["doc"], number))
    asked = [
        q
        for q in questions
        if q["answers"] and q.get("doc") and q.get("pages") and any((q["doc"], p) in pages for p in q["pages"])
    ]
    return pages, asked


def scan(pdf: Path, number: int, dpi: int = 200) -> tuple[bytes, str, int]:
    """Page `number` as an image-only PDF, the page's own text layer, and how many pictures it holds (raster
    images of at least 1 % of the page)."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    document = pypdfium2.PdfDocument(str(pdf))
    page = document[number - 1]
    reference = page.get_textpage().get_text_range()
    width, height = page.get_size()
    pictures = 0
    for item in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        left, bottom, right, top = item.get_bounds()
        pictures += (right - left) * (top - bottom) >= 0.01 * width * height
    image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=dpi)
    return buffer.getvalue(), reference, pictures


def replaced(pdf: Path, scans: dict[int, bytes]) -> bytes:
    """The PDF with the given pages swapped for their scans."""
    import pypdf

    reader, writer = pypdf.PdfReader(str(pdf)), pypdf.PdfWriter()
    for number, page in enumerate(reader.pages, start=1):
        writer.add_page(pypdf.PdfReader(io.BytesIO(scans[number])).pages[0] if number in scans else page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def recall_at_5(folder: Path, index: Path, questions: list[dict]) -> float:
    from assistant.retrieve import retrieve
    from ingest import SentenceTransformerEmbedder

    settings = Settings(index_dir=index, _env_file=None)  # type: ignore[call-arg]
    embedder = SentenceTransformerEmbedder(settings)
    files = sorted(folder.iterdir())
    report = ingest([SourceFile(f, f.name, str(f)) for f in files], settings, embedder)
    for file in report.files:  # a page left unread (the file's time limit) would cost recall: say so
        if file.empty_pages or file.status != "indexed":
            print(f"  {folder.name}/{file.source}: {file.status}, pages without text {file.empty_pages}")
            print("   ", "; ".join(file.warnings))
    store = open_index(settings, embedder)
    hits = 0
    for question in questions:
        top = retrieve(question["question"], store, embedder, settings).candidates[:5]
        hits += any(c.chunk.source == question["doc"] and c.chunk.page in question["pages"] for c in top)
    return hits / len(questions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages to scan and read (default 20)")
    parser.add_argument("--dpi", type=int, default=200, help="resolution the pages are scanned at (default 200)")
    parser.add_argument("--languages", default="eng", help="Tesseract languages (default eng)")
    parser.add_argument("--recall", action="store_true", help="also measure recall@5 against the text layer")
    variants = parser.add_argument_group("variants of the OCR, to compare (the defaults are the loader's own)")
    variants.add_argument("--ocr-dpi", type=int, help=f"resolution pages are drawn at for OCR ({ocr.OCR_DPI})")
    variants.add_argument("--psm", help=f"Tesseract page segmentation mode ({ocr.PAGE_SEGMENTATION})")
    variants.add_argument("--order", choices=("layout", "tesseract"), default="layout", help="reading order")
    args = parser.parse_args()
    ocr.OCR_DPI = args.ocr_dpi or ocr.OCR_DPI
    ocr.PAGE_SEGMENTATION = args.psm or ocr.PAGE_SEGMENTATION
    if args.order == "tesseract":
        ocr_layout.page_text = tesseract_order
        ocr.MAX_VERTICAL_STRIPS = 0
    pages, questions = sample(args.pages)
    options = LoadOptions(ocr=True, ocr_languages=args.languages)
    totals = {"all": [0, 0], "with pictures": [0, 0], "without": [0, 0], "plain": [0, 0]}
    rates: list[float] = []
    scans: dict[str, dict[int, bytes]] = {}
    started = time.perf_counter()
    for name, number in pages:
        image_pdf, layer, pictures = scan(DATASET / "pdfs" / name, number, args.dpi)
        scans.setdefault(name, {})[number] = image_pdf
        document = load_bytes(image_pdf, f"{name} p{number}", suffix=".pdf", options=options)
        read = "\n".join(p.text for p in document.pages)
        text = normalise(read)
        totals["plain"][0] += edit_distance(plain(read), plain(layer))
        totals["plain"][1] += len(plain(layer))
        reference = normalise(reference_text(layer))
        distance = edit_distance(text, reference)
        rates.append(distance / max(1, len(reference)))
        for key in ("all", "with pictures" if pictures else "without"):
            totals[key][0] += distance
            totals[key][1] += len(reference)
        flag = f", {pictures} picture{'s' * (pictures > 1)}" if pictures else ""
        print(f"{name} p.{number}: CER {rates[-1]:.3f} ({len(reference)} characters{flag})")
    seconds = time.perf_counter() - started
    errors, length = totals["all"]
    speed = f"{len(pages) / seconds * 60:.1f} pages/minute"
    print(f"\nCER {errors / max(1, length):.3%} over {len(pages)} pages ({length:,} characters); {speed}")
    print(f"pages at or under 5 % CER: {sum(rate <= 0.05 for rate in rates)} of {len(pages)}")
    for key in ("with pictures", "without"):
        errors, length = totals[key]
        if length:
            print(f"CER on pages {key}{' pictures' if key == 'without' else ''}: {errors / length:.3%}")
    errors, length = totals["plain"]
    print(f"CER compared as before (whitespace and ﬁ/ﬂ only, pdfium's text as it is): {errors / max(1, length):.3%}")
    if args.recall:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            (root / "text").mkdir()
            (root / "scanned").mkdir()
            for name, pages_of in scans.items():
                (root / "text" / name).write_bytes((DATASET / "pdfs" / name).read_bytes())
                (root / "scanned" / name).write_bytes(replaced(DATASET / "pdfs" / name, pages_of))
            text_recall = recall_at_5(root / "text", root / "index-text", questions)
            scanned_recall = recall_at_5(root / "scanned", root / "index-scanned", questions)
        print(
            f"recall@5 on {len(questions)} questions about those pages: text layer {text_recall:.3f}, "
            f"scanned and OCR'd {scanned_recall:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
