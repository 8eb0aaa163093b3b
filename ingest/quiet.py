"""Muting third-party noise at the program's edges (the CLIs and the app), never inside the library."""

from __future__ import annotations

import logging
import os


def quiet_third_party_output() -> None:
    """No per-tensor progress bars from transformers, no tokenizer fork warnings, and no line-by-line pypdf
    complaints about damaged files (those are reported once per file instead)."""
    from transformers.utils import logging as transformers_logging

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    transformers_logging.disable_progress_bar()
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
