"""Images (PNG, JPEG, TIFF including multi-page TIFF): each image or frame is a page, read by OCR."""

from __future__ import annotations

import io

from .. import ocr
from ..errors import DocumentError
from ..text import clean_text
from ..types import Page
from .registry import Loaded, Loader, LoadOptions, Probe, register

#: Largest image decoded, in pixels; Pillow refuses bigger ones before decoding (a decompression bomb).
MAX_IMAGE_PIXELS = 64_000_000
MAX_FRAMES = 500
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def load_image(data: bytes, source: str, options: LoadOptions) -> Loaded:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if not options.ocr:
        raise DocumentError(source, "an image, and OCR is off (DOCQA_OCR=false), so there is no text to index.")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # above twice this, Pillow raises instead of decoding
    pages: list[Page] = []
    warnings: list[str] = []
    try:
        image = Image.open(io.BytesIO(data))
        frames = getattr(image, "n_frames", 1)
        if frames > MAX_FRAMES:
            raise DocumentError(source, f"an image of {frames:,} frames, more than {MAX_FRAMES:,}.")
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if frame.width * frame.height > MAX_IMAGE_PIXELS:
                raise DocumentError(
                    source, f"frame {number} is {frame.width} × {frame.height} pixels, more than can be read safely."
                )
            try:
                text = clean_text(ocr.read_image(frame.copy(), options.ocr_languages, options.deadline))
            except ocr.OcrError as exc:
                warnings.append(f"page {number}: {exc}")
                text = ""
            pages.append(Page(text, number, ocr=bool(text.strip())))
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DocumentError(source, f"not a readable image ({type(exc).__name__}: {str(exc)[:160]}).") from exc
    if not any(page.text.strip() for page in pages):
        reason = "; ".join(warnings[:3]) or "OCR found no text in it"
        raise DocumentError(source, f"an image with no readable text ({reason}).")
    return pages, "", warnings


def _is_image(probe: Probe) -> bool:
    return probe.head.startswith(_SIGNATURES)


register(
    Loader(
        "image",
        "an image (PNG, JPEG or TIFF)",
        (".png", ".jpg", ".jpeg", ".tif", ".tiff"),
        _is_image,
        load_image,
        order=60,
        ocr=True,
        options=("ocr", "ocr_languages"),
    )
)
