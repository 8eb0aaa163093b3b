"""Command line: `python -m assistant ask "QUESTION"` answers from the index; `models` lists chat models."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from pathlib import Path

from ingest import quiet_third_party_output

from . import Assistant, AssistantError, Reply, Settings, available_models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant", description="Ask your local documents.")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer a question from the index, with cited sources")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--index-dir", type=Path, help="where the index lives (default: data/index)")
    ask.add_argument("--collection", help="collection to search (default: default)")
    ask.add_argument("--model", help="GGUF path, hf:OWNER/REPO/FILE.gguf, or packaged:NAME")
    ask.add_argument("--top-k", type=int, help="chunks to retrieve")
    commands.add_parser("models", help="list the chat models available on this machine")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_third_party_output()
    try:
        if args.command == "models":
            settings = Settings()
            for name, description in available_models(settings.model_dir).items():
                print(f"{name}\n    {description}")
            return 0
        overrides = {
            "index_dir": args.index_dir,
            "collection": args.collection,
            "chat_model": args.model,
            "top_k": args.top_k,
        }
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
        assistant = Assistant.from_settings(settings)
        reply = assistant.ask(" ".join(args.question))
        for piece in reply.stream():
            sys.stdout.write(piece)
            sys.stdout.flush()
        print()
        print_sources(reply)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n(stopped)", file=sys.stderr)
        return 130
    return 0


def print_sources(reply: Reply) -> None:
    if not reply.sources:
        closest = reply.retrieval.candidates[:1]
        if closest:
            print(
                f"\n(closest passage: {closest[0].citation()}, similarity {closest[0].score:.2f}, "
                "below the relevance threshold)"
            )
        return
    cited = {n for n, _ in reply.cited}
    print("\nSources:" if cited else "\nSources given to the model (the answer cites none):")
    for number, hit in enumerate(reply.sources, start=1):
        if cited and number not in cited:
            continue
        snippet = textwrap.shorten(" ".join(hit.chunk.text.split()), width=220, placeholder=" ...")
        print(f"  [{number}] {hit.citation()}  (similarity {hit.score:.2f})\n      {snippet}")


if __name__ == "__main__":
    sys.exit(main())
