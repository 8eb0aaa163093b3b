"""Benchmark: quote mode's constrained decoding against unconstrained generation on the same prompts.

    python scripts/bench_quote.py --questions 6

For each SQuAD question (the eval's squad-dev-wiki collection must exist: run the eval once), the quote prompt is
built once; then, on a fresh llama.cpp context each time (no prefix cache), (a) the constrained quote is decoded and
(b) the same model generates unconstrained, greedy, the same number of tokens from the same messages. Both sides
alternate which goes first. Printed: the time of each, their ratio, and the share of the quote's time spent
outside the model working out the allowed tokens.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.modes import QUOTE_INSTRUCTION, QUOTE_PROMPT  # noqa: E402
from assistant.prompt import Prompt, build_messages  # noqa: E402
from assistant.scoring import load_questions  # noqa: E402
from ingest import Settings, quiet_third_party_output  # noqa: E402

SQUAD = ROOT.parent / "shared" / "eval" / "data" / "squad-dev-wiki"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--index-dir", type=Path, default=ROOT / "data" / "eval-index")
    args = parser.parse_args()
    quiet_third_party_output()
    settings = Settings(index_dir=args.index_dir, collection="squad-dev-wiki")
    assistant = Assistant.from_settings(settings)
    model = assistant.chat_model
    llm = model._llm  # type: ignore[attr-defined]  # a fresh context for each side: no prefix cache
    questions = random.Random(3).sample(load_questions(SQUAD / "questions_sample300.jsonl"), args.questions)
    rows = []
    for number, question in enumerate(questions):
        retrieval = assistant.search(question.question)
        prompt = build_messages(
            question.question,
            retrieval.hits,
            count_tokens=model.count_tokens,
            context_size=model.context_size,
            max_answer_tokens=settings.max_answer_tokens,
            system=QUOTE_PROMPT,
            instruction=QUOTE_INSTRUCTION,
        )

        def constrained(prompt: Prompt = prompt) -> tuple[float, int, float]:
            llm.reset()
            started = time.perf_counter()
            quote = model.quote(prompt.messages, prompt.texts, max_tokens=settings.max_quote_tokens)
            return time.perf_counter() - started, quote.steps, quote.constraint_seconds  # type: ignore[union-attr]

        def free(tokens: int, prompt: Prompt = prompt) -> float:
            llm.reset()
            started = time.perf_counter()
            for _ in model.stream(prompt.messages, max_tokens=tokens, temperature=0.0):
                pass
            return time.perf_counter() - started

        if number % 2:
            quoted, steps, overhead = constrained()
            plain = free(steps)
        else:
            steps = constrained()[1]  # how many tokens the quote takes, then time both in the other order
            plain = free(steps)
            quoted, steps, overhead = constrained()
        rows.append((quoted, plain, steps, overhead))
        print(f"  {question.question[:60]!r}: quote {quoted:.2f} s, free {plain:.2f} s, {steps} tokens", flush=True)
    quote_total, free_total = sum(r[0] for r in rows), sum(r[1] for r in rows)
    print(f"\n{len(rows)} prompts, {statistics.fmean(r[2] for r in rows):.1f} tokens each on average")
    print(f"quote (constrained): {quote_total / len(rows):.2f} s per answer; free: {free_total / len(rows):.2f} s")
    print(f"ratio constrained / unconstrained: {quote_total / free_total:.2f}")
    print(f"allowed-token work outside the model: {sum(r[3] for r in rows) / quote_total:.1%} of the quote's time")


if __name__ == "__main__":
    main()
