"""Fuzz the loaders for a fixed time budget and report crashes.

    python scripts/fuzz_loaders.py [--seconds 120]

Hypothesis generates inputs: random bytes, and mutations (bit flips, cuts, splices, repeated slices) of real
seed files (the sample handbook, the malformed PDF corpus, Markdown, HTML, DOCX). Every input goes through
`load_bytes` under every suffix. The contract: return a document or raise DocumentError with a reason. Anything
else (another exception, a hang past the time limit) is a crash, printed with a reproducer.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import DocumentError, load_bytes  # noqa: E402
from ingest.quiet import quiet_third_party_output  # noqa: E402

SUFFIXES = [".pdf", ".txt", ".md", ".html", ".docx"]


def seeds() -> list[bytes]:
    found = [(ROOT / "data" / "docs" / "northwind-handbook.pdf").read_bytes()]
    found += [p.read_bytes() for p in sorted((ROOT / "data" / "docs").rglob("*.md"))]
    bad = ROOT.parent / "shared" / "eval" / "bad-inputs"
    found += [p.read_bytes() for p in sorted(bad.glob("*.pdf"))] if bad.exists() else []
    found.append(b"<html><body><h1>Title</h1><p>Text &amp; more <script>alert(1)</script></p></body></html>")
    from docx import Document

    buffer = io.BytesIO()
    document = Document()
    document.add_heading("Policy", 1)
    document.add_paragraph("Receipts are due within 30 days.")
    document.save(buffer)
    found.append(buffer.getvalue())
    return found


def mutated(seed_files: list[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seed_files)))
        for _ in range(draw(st.integers(1, 8))):
            if not data:
                break
            kind = draw(st.sampled_from(["flip", "cut", "splice", "repeat", "zero"]))
            at = draw(st.integers(0, len(data) - 1))
            if kind == "flip":
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "cut":
                del data[at : at + draw(st.integers(1, max(1, len(data) // 4)))]
            elif kind == "splice":
                data[at:at] = draw(st.binary(min_size=1, max_size=64))
            elif kind == "repeat":
                piece = data[at : at + draw(st.integers(1, 256))]
                data[at:at] = piece * draw(st.integers(2, 50))
            else:
                data[at : at + 64] = bytes(min(64, len(data) - at))
        return bytes(data)

    return mutate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0, help="time budget (default 120)")
    parser.add_argument("--per-input-limit", type=float, default=10.0, help="seconds one input may take")
    args = parser.parse_args()
    quiet_third_party_output()
    logging.disable(logging.WARNING)  # the parsers' complaints about damaged input are expected by the thousand
    seed_files = seeds()
    deadline = time.monotonic() + args.seconds
    stats = {"inputs": 0, "documents": 0, "refused": 0}
    crashes: list[tuple[str, bytes, str]] = []
    slowest = 0.0

    @settings(
        max_examples=10**9, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=False
    )
    @given(data=st.one_of(mutated(seed_files), st.binary(max_size=4096)), suffix=st.sampled_from(SUFFIXES))
    def run(data: bytes, suffix: str) -> None:
        nonlocal slowest
        if time.monotonic() > deadline:
            raise _Done
        stats["inputs"] += 1
        started = time.perf_counter()
        try:
            load_bytes(data, f"fuzz{suffix}", suffix=suffix)
            stats["documents"] += 1
        except DocumentError as exc:
            assert exc.reason, "a DocumentError without a reason"
            stats["refused"] += 1
        except Exception:  # the contract is broken: report it, keep fuzzing
            crashes.append((suffix, data, traceback.format_exc(limit=3)))
        took = time.perf_counter() - started
        slowest = max(slowest, took)
        if took > args.per_input_limit:
            crashes.append((suffix, data, f"took {took:.1f} s (limit {args.per_input_limit:.0f} s)"))

    with contextlib.suppress(_Done, Unsatisfiable):
        run()
    print(
        f"fuzzed for {args.seconds:.0f} s: {stats['inputs']} inputs, {stats['documents']} read, "
        f"{stats['refused']} refused with a reason, {len(crashes)} crashes; slowest input {slowest:.2f} s"
    )
    for suffix, data, error in crashes[:10]:
        print(f"\nCRASH ({suffix}, {len(data)} bytes, starts {data[:40]!r}):\n{error}")
    sys.exit(1 if crashes else 0)


class _Done(Exception):
    """The time budget is spent."""


if __name__ == "__main__":
    main()
