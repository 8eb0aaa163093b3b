"""Benchmark: first-ingest throughput of our pipeline against the LangChain tutorial's, on the same files in the
same run, with retrieval recall@5 of both on the same questions, where the time goes, and the unchanged re-ingest.

    python scripts/bench_ingest.py                  # docugami-sec-10q and squad-dev-wiki, every file
    python scripts/bench_ingest.py --quick          # a few files of each (make bench), minutes instead of ~an hour
    python scripts/bench_ingest.py --files 6 --dataset docugami-sec-10q

Each pipeline runs in a fresh process of its own (so each pays its own model loading, and its peak RSS is its
own), ours and the tutorial's alternating. The tutorial: PyPDFLoader/TextLoader, RecursiveCharacterTextSplitter
(1000, 200), HuggingFaceEmbeddings with the same MiniLM, FAISS (`assistant/baseline.py`). Only ratios are
meaningful on a shared machine; both sides are measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVAL = ROOT.parent / "shared" / "eval" / "data"
DATASETS = {  # name: (documents folder, question files with optional sample size)
    "docugami-sec-10q": ("pdfs", [("questions.jsonl", None)]),
    "squad-dev-wiki": ("articles", [("questions_sample300.jsonl", None)]),
}
QUICK_FILES = {"docugami-sec-10q": 3, "squad-dev-wiki": 6}


def subset(dataset: str, files: int | None) -> list[Path]:
    """The dataset's files, or the `files` that the most questions point at (so recall still means something)."""
    folder = EVAL / dataset / DATASETS[dataset][0]
    every = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if files is None or files >= len(every):
        return every
    counts = {p.name: 0 for p in every}
    for question in questions(dataset, None):
        for name in question.docs:
            if name in counts:
                counts[name] += 1
    ranked = sorted(every, key=lambda p: (-counts[p.name], p.name))
    return sorted(ranked[:files])


def questions(dataset: str, names: set[str] | None) -> list[Any]:
    """Gold questions of the dataset whose every gold document is among `names` (all, when None)."""
    from assistant.scoring import load_passages, load_questions

    passages = load_passages(EVAL / dataset / "passages.jsonl")
    found = []
    for file_name, _ in DATASETS[dataset][1]:
        found += [q for q in load_questions(EVAL / dataset / file_name, passages) if q.has_gold]
    return [q for q in found if names is None or (q.docs and set(q.docs) <= names)]


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child (the parse worker), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


# One side's run, in its own process ---------------------------------------------------------------------


def run_ours(files: list[Path], dataset: str, index_dir: Path) -> dict[str, Any]:
    from assistant import Assistant
    from assistant.scoring import rank_of_first_hit
    from ingest import SentenceTransformerEmbedder, Settings, collect_sources, ingest

    settings = Settings(index_dir=index_dir, collection="bench", _env_file=None)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(f"{stage}_start", time.perf_counter())
        marks[f"{stage}_end"] = time.perf_counter()

    embedder = SentenceTransformerEmbedder(settings)
    embed_documents = embedder.embed_documents

    def timed_embed(texts: list[str], on_progress: Any = None) -> Any:
        marks["embed_start"] = time.perf_counter()
        vectors = embed_documents(texts, on_progress)
        marks["embed_end"] = time.perf_counter()
        return vectors

    embedder.embed_documents = timed_embed  # type: ignore[method-assign]
    sources = collect_sources(files)
    started = time.perf_counter()
    embedder.dimension  # noqa: B018  (loads the model, which the run would do first anyway)
    loaded = time.perf_counter()
    report = ingest(sources, settings, embedder, on_progress=progress)
    seconds = time.perf_counter() - started
    read_end = marks.get("reading_end", loaded)
    embed_start, embed_end = marks.get("embed_start", read_end), marks.get("embed_end", read_end)
    stages = {
        "load model": loaded - started,
        "parse + chunk (worker)": read_end - loaded,
        "headers": embed_start - read_end,
        "embed": embed_end - embed_start,
        "commit": started + seconds - embed_end,
    }
    stages.update(parse_chunk_split(files[:4], settings))
    rss = peak_rss_mb()
    again_started = time.perf_counter()
    again = ingest(collect_sources(files), settings, SentenceTransformerEmbedder(settings))
    reingest = time.perf_counter() - again_started
    indexed = [f for f in report.files if f.status == "indexed"]
    assistant = Assistant.from_settings(settings)
    ranks = []
    for question in questions(dataset, {p.name for p in files}):
        found = assistant.search(question.question).candidates[:10]
        ranks.append(rank_of_first_hit(question, [(c.chunk.source, c.chunk.page, c.chunk.text) for c in found]))
    return {
        "seconds": seconds,
        "pages": sum(f.pages for f in indexed),
        "chunks": sum(f.chunks for f in indexed),
        "failed": len(report.failed),
        "stages": stages,
        "rss_mb": rss,
        "reingest_seconds": reingest,
        "reingest_unchanged": sum(f.status == "unchanged" for f in again.files),
        "ranks": ranks,
    }


def parse_chunk_split(files: list[Path], settings: Any) -> dict[str, float]:
    """How the worker's time divides between parsing and chunking, measured in this process on a few files."""
    from ingest import SentenceTransformerEmbedder, load_file, make_chunker

    chunker = make_chunker(settings, SentenceTransformerEmbedder(settings))
    parse = chunk = 0.0
    for path in files:
        started = time.perf_counter()
        document = load_file(path)
        parse += time.perf_counter() - started
        started = time.perf_counter()
        chunker.split(document)
        chunk += time.perf_counter() - started
    return {"_parse_share": parse / max(parse + chunk, 1e-9)}


def run_tutorial(files: list[Path], dataset: str) -> dict[str, Any]:
    """The tutorial pipeline of `assistant/baseline.py`, stage by stage, then its recall on the same questions."""
    from assistant.baseline import Baseline
    from assistant.scoring import rank_of_first_hit
    from ingest import Settings, resolve_embedder

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.document_loaders import PyPDFLoader, TextLoader
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    marks = [time.perf_counter()]
    documents, failed = [], 0
    for path in files:
        loader = PyPDFLoader(str(path)) if path.suffix.lower() == ".pdf" else TextLoader(str(path), encoding="utf-8")
        try:
            documents.extend(loader.load())
        except Exception:  # the tutorial has no error handling; it loses the file
            failed += 1
    marks.append(time.perf_counter())
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(documents)
    marks.append(time.perf_counter())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embeddings = HuggingFaceEmbeddings(model_name=resolve_embedder(Settings(_env_file=None).embedding_model))
    marks.append(time.perf_counter())
    texts = [c.page_content for c in chunks]
    vectors = embeddings.embed_documents(texts)
    marks.append(time.perf_counter())
    store = FAISS.from_embeddings(list(zip(texts, vectors, strict=True)), embeddings, [c.metadata for c in chunks])
    marks.append(time.perf_counter())
    names = ["import", "parse", "chunk", "load model", "embed", "commit (FAISS)"]
    stages = {name: marks[i] - (marks[i - 1] if i else started) for i, name in enumerate(names)}
    rss = peak_rss_mb()
    baseline = Baseline(store, len(chunks))
    ranks = [rank_of_first_hit(q, baseline.search(q.question, 10)) for q in questions(dataset, {p.name for p in files})]
    return {
        "seconds": marks[-1] - started,
        "pages": len(documents),
        "chunks": len(chunks),
        "failed": failed,
        "stages": stages,
        "rss_mb": rss,
        "ranks": ranks,
    }


# The parent: alternate the sides, print the comparison ------------------------------------------------------


def child(side: str, dataset: str, files: list[Path]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        command = [sys.executable, __file__, "--child", side, "--dataset", dataset, "--index-dir", scratch]
        command += [str(f) for f in files]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{side} run on {dataset} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def recall(ranks: list[int | None], k: int = 5) -> float:
    return sum(r is not None and r <= k for r in ranks) / max(1, len(ranks))


def report(dataset: str, files: list[Path], ours: dict[str, Any], tutorial: dict[str, Any]) -> bool:
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"\n## {dataset}: {len(files)} files, {size:.1f} MB, {len(ours['ranks'])} questions with gold")
    print(f"{'':28}{'ours':>12}{'tutorial':>12}{'ratio':>9}")

    def row(label: str, a: float, b: float, fmt: str = "{:.2f}", ratio: bool = True) -> None:
        cell = f"{a / b:8.2f}x" if ratio and b else ""
        print(f"{label:28}{fmt.format(a):>12}{fmt.format(b):>12}{cell:>9}")

    row("wall time, s (lower wins)", ours["seconds"], tutorial["seconds"], "{:.1f}", ratio=False)
    print(f"{'speed-up (tutorial/ours)':28}{'':>24}{tutorial['seconds'] / ours['seconds']:8.2f}x")
    row("pages (as each counts)", ours["pages"], tutorial["pages"], "{:.0f}", ratio=False)
    row("pages/s", ours["pages"] / ours["seconds"], tutorial["pages"] / tutorial["seconds"])
    row("chunks", ours["chunks"], tutorial["chunks"], "{:.0f}", ratio=False)
    row("chunks/s", ours["chunks"] / ours["seconds"], tutorial["chunks"] / tutorial["seconds"])
    row("files lost", ours["failed"], tutorial["failed"], "{:.0f}", ratio=False)
    row("peak RSS, MB", ours["rss_mb"][0], tutorial["rss_mb"][0], "{:.0f}")
    row("  parse worker peak RSS, MB", ours["rss_mb"][1], 0, "{:.0f}", ratio=False)
    ours_recall, tutorial_recall = recall(ours["ranks"]), recall(tutorial["ranks"])
    row("recall@5", ours_recall, tutorial_recall, "{:.3f}", ratio=False)
    share = ours["stages"].pop("_parse_share")
    read = ours["stages"].pop("parse + chunk (worker)")
    stages = {"parse (worker)": read * share, "chunk (worker)": read * (1 - share), **ours["stages"]}
    stages = {"load model": stages.pop("load model"), **stages}
    print("stages, s: ours      " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    print("           tutorial  " + ", ".join(f"{k} {v:.1f}" for k, v in tutorial["stages"].items()))
    print(
        f"unchanged re-ingest: {ours['reingest_seconds']:.2f} s for {ours['reingest_unchanged']} files = "
        f"{ours['reingest_seconds'] / ours['seconds']:.1%} of the first (goal: at most 3 %)"
    )
    speedup = tutorial["seconds"] / ours["seconds"]
    print(f"goal: speed-up >= 2.0x: {'met' if speedup >= 2 else 'NOT met'} ({speedup:.2f}x)")
    return speedup >= 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS), help="default: both")
    parser.add_argument("--files", type=int, help="only this many files per dataset (those most questions cite)")
    parser.add_argument("--quick", action="store_true", help=f"a few files per dataset: {QUICK_FILES}")
    parser.add_argument("--child", choices=["ours", "tutorial"], help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from ingest import quiet_third_party_output

        quiet_third_party_output()
        if args.child == "ours":
            result = run_ours(args.paths, args.dataset[0], args.index_dir)
        else:
            result = run_tutorial(args.paths, args.dataset[0])
        print(json.dumps(result))
        return
    print(f"python {sys.version.split()[0]}, {_machine()}")
    for dataset in args.dataset or sorted(DATASETS):
        count = QUICK_FILES[dataset] if args.quick and args.files is None else args.files
        files = subset(dataset, count)
        ours = child("ours", dataset, files)
        tutorial = child("tutorial", dataset, files)
        report(dataset, files, ours, tutorial)


def _machine() -> str:
    import os
    import platform

    from ingest.onnx_backend import physical_cores

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return f"{model}, {physical_cores()} physical cores ({os.cpu_count()} logical), load {os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
