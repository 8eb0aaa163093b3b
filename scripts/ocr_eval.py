"""Scanned pages with a known text: how well OCR reads them, and whether retrieval still finds them.

Pages of the evaluation PDFs that questions point at are drawn by pdfium at 200 dpi and saved as image-only PDFs
(no text layer at all). Each is read through the real loader (`ingest.load_bytes`, so Tesseract, exactly as an
ingest would), and the text is scored against the page's own text layer: character error rate (edit distance
over the reference's length, whitespace collapsed) and pages per minute. Then recall@5 of those pages'
questions is measured twice, on the documents as they are and on the same documents with those pages replaced
by their scans, with the real embedder and hybrid search.

    .venv/bin/python scripts/ocr_eval.py --pages 12               # CER and speed only, about 2 minutes here
    .venv/bin/python scripts/ocr_eval.py --pages 12 --recall      # also recall@5, a few minutes more
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import Settings, SourceFile, ingest, load_bytes, open_index
from ingest.loaders import LoadOptions

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


def normalise(text: str) -> str:
    return " ".join(text.replace("ﬁ", "fi").replace("ﬂ", "fl").split())


def sample(count: int) -> tuple[list[tuple[str, int]], list[dict]]:
    """The first `count` distinct (document, page) pairs that answerable one-page questions point at."""
    questions = [json.loads(line) for line in (DATASET / "questions.jsonl").open()]
    pages: list[tuple[str, int]] = []
    for question in questions:
        if question["answers"] and question.get("doc") and question.get("pages") and len(question["pages"]) == 1:
            key = (question["doc"], question["pages"][0])
            if key not in pages and len(pages) < count:
                pages.append(key)
    asked = [
        q
        for q in questions
        if q["answers"] and q.get("doc") and q.get("pages") and any((q["doc"], p) in pages for p in q["pages"])
    ]
    return pages, asked


def scan(pdf: Path, number: int, dpi: int = 200) -> tuple[bytes, str]:
    """Page `number` as an image-only PDF, and the page's own text layer."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    page = document[number - 1]
    reference = page.get_textpage().get_text_range()
    image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=dpi)
    return buffer.getvalue(), reference


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
    ingest([SourceFile(f, f.name, str(f)) for f in files], settings, embedder)
    store = open_index(settings, embedder)
    hits = 0
    for question in questions:
        top = retrieve(question["question"], store, embedder, settings).candidates[:5]
        hits += any(c.chunk.source == question["doc"] and c.chunk.page in question["pages"] for c in top)
    return hits / len(questions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=12, help="pages to scan and read (default 12)")
    parser.add_argument("--languages", default="eng", help="Tesseract languages (default eng)")
    parser.add_argument("--recall", action="store_true", help="also measure recall@5 against the text layer")
    args = parser.parse_args()
    pages, questions = sample(args.pages)
    options = LoadOptions(ocr=True, ocr_languages=args.languages)
    errors = length = 0
    scans: dict[str, dict[int, bytes]] = {}
    started = time.perf_counter()
    for name, number in pages:
        image_pdf, reference = scan(DATASET / "pdfs" / name, number)
        scans.setdefault(name, {})[number] = image_pdf
        document = load_bytes(image_pdf, f"{name} p{number}", suffix=".pdf", options=options)
        text = normalise(" ".join(p.text for p in document.pages))
        reference = normalise(reference)
        distance = edit_distance(text, reference)
        errors, length = errors + distance, length + len(reference)
        print(f"{name} p.{number}: CER {distance / max(1, len(reference)):.3f} ({len(reference)} characters)")
    seconds = time.perf_counter() - started
    print(f"\nCER {errors / max(1, length):.3%} over {len(pages)} pages; {len(pages) / seconds * 60:.1f} pages/minute")
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
