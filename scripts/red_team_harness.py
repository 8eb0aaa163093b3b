"""The harness of the red-team report: a tally per class, cases cut off at their limit, tracebacks counted
from stderr, and the table."""

from __future__ import annotations

import contextlib
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import Settings, SourceFile, collect_sources, ingest, open_index  # noqa: E402
from tests.conftest import HashEmbedder  # noqa: E402

BUDGET_S, GRACE_S, CANARY = 60.0, 5.0, "zanzibar-7Q2X-canary"


@dataclass
class Tally:
    name: str
    tried: int = 0
    lost: int = 0
    outside: int = 0
    stalls: int = 0
    tracebacks: int = 0
    problems: int = 0  # class-specific checks that failed: mojibake, live Markdown, forged requests accepted...
    notes: list[str] = field(default_factory=list)


class Stalled(BaseException):  # not an Exception, so that no `except Exception` in the library swallows it
    pass


def _stop(signum: int, frame: object) -> None:
    raise Stalled


@contextlib.contextmanager
def case(t: Tally, label: str, limit: float) -> Iterator[None]:
    """One case: counted, timed against `limit`, stopped at 2 × limit + 30 s (or when an enclosing case's time is
    up); an exception escaping it is a traceback."""
    t.tried += 1
    signal.signal(signal.SIGALRM, _stop)
    outer, started = signal.getitimer(signal.ITIMER_REAL)[0], time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, min(2 * limit + 30, outer or math.inf))
    try:
        yield
    except (Stalled, subprocess.TimeoutExpired):
        print(f"  {t.name}: {label}: stopped by the report")
    except Exception:
        t.tracebacks += 1
        print(f"  {t.name}: {label}: an exception escaped")
        traceback.print_exc(file=sys.stdout)
    finally:
        signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001) if outer else 0)
    if (elapsed := time.monotonic() - started) > limit + GRACE_S:
        t.stalls += 1
        print(f"  {t.name}: {label}: {elapsed:.1f} s, over its {limit:g} s limit")


def settings_in(where: Path, **overrides: object) -> Settings:
    return Settings(index_dir=where / "index", upload_dir=where / "uploads", embedding_model="hash-bow",
                    chunk_size=120, chunk_overlap=20, header_tokens=24, min_score=0.1, _env_file=None,  # type: ignore[call-arg]
                    **overrides)  # fmt: skip


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def run(t: Tally, sources: list, settings: Settings, sync: bool = False) -> dict:  # type: ignore[type-arg]
    """Ingest; a traceback in a reason is one, and a file stopped at the parsing time limit is a stall."""
    sources = sources if all(isinstance(s, SourceFile) for s in sources) else collect_sources(sources)
    report = {f.source: f for f in ingest(sources, settings, HashEmbedder(), sync=sync).files}
    for f in report.values():
        t.tracebacks += "Traceback" in f.reason
        if "longer than" in f.reason:
            t.stalls += 1
            print(f"  {t.name}: {f.source}: stopped at the time limit: {f.reason}")
    return report


def texts(settings: Settings) -> dict[str, str]:
    store = open_index(settings, HashEmbedder())
    return {d.source: " ".join(c.text for c in store.chunks_of([d.doc_id])) for d in store.list_documents()}


def missing(settings: Settings, *words: str) -> int:
    joined = " ".join(texts(settings).values())
    return sum(word not in joined for word in words)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_all(classes: dict[str, Callable[[Tally, Path], None]]) -> list[Tally]:
    """Every class, with stderr (and so that of the workers started meanwhile) captured to count tracebacks."""
    tallies = {name: Tally(name) for name in classes}
    order = sorted(classes, key=lambda name: name not in ("oversized & sparse files", "page-render bombs"))
    with tempfile.TemporaryDirectory(prefix="red-team-") as name, tempfile.TemporaryFile() as stderr:
        saved = os.dup(2)
        try:
            for number, title in enumerate(order):
                print(f"red team: {title} ...", flush=True)
                sys.stderr.flush()
                os.dup2(stderr.fileno(), 2)
                start, started, t = os.fstat(stderr.fileno()).st_size, time.monotonic(), tallies[title]
                Path(name, f"class{number}").mkdir()
                with case(t, "the class as a whole", 600):
                    classes[title](t, Path(name, f"class{number}"))
                sys.stderr.flush()
                os.dup2(saved, 2)
                captured = os.pread(stderr.fileno(), os.fstat(stderr.fileno()).st_size - start, start).decode()
                t.tried, t.tracebacks = t.tried - 1, t.tracebacks + captured.count("Traceback")
                print(f"{captured if 'Traceback' in captured else ''}  {time.monotonic() - started:.0f} s", flush=True)
        finally:
            os.dup2(saved, 2)
    return [tallies[name] for name in classes]


def table(tallies: list[Tally]) -> str:
    keys = ("tried", "lost", "outside", "stalls", "tracebacks", "problems")
    total = Tally("total", *(sum(getattr(t, key) for t in tallies) for key in keys))
    total.notes = [f"class-specific checks failed: {total.problems}"]
    lines = [f"{'Red-team classes':<34}{'tried':>7}{'data lost':>11}{'read outside':>14}{'stalls':>8}{'tracebacks':>12}"
             "  notes"]  # fmt: skip
    for t in [*tallies, total]:
        notes = "; ".join(t.notes) + (f"; CHECKS FAILED: {t.problems}" if t.problems and t is not total else "")
        lines.append(f"  {t.name:<32}{t.tried:>7}{t.lost:>11}{t.outside:>14}{t.stalls:>8}{t.tracebacks:>12}  {notes}")
    return "\n".join(lines)


def failed(tallies: list[Tally]) -> bool:
    return any(t.lost or t.outside or t.stalls or t.tracebacks or t.problems for t in tallies)
