"""Data pipeline speed, printed as JSON.

1. AESLC (from ``../shared/data/aeslc``; skipped with a message when absent):
   examples per second for tokenize + vocabulary lookup (extended ids) +
   collate into padded batches of 32, over the training set; and, in the
   same run, the default word tokenizer's throughput as a ratio to
   ``nltk.wordpunct_tokenize`` (a regex tokenizer of the same family) and
   to ``str.split`` (the floor).
2. Built-in generated tasks: seconds to generate each at its default size
   (cache cleared before every repeat), and the cost of a cached call.

Every figure is the median of ``--repeats`` runs. Usage::

    PYTHONPATH=$PWD python benchmarks/bench_data.py [--repeats 5] [--shared-data PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from seq2seq_gym.data import GENERATORS, Vocab, WordTokenizer, collate
from seq2seq_gym.data.vocab import BOS_ID

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_aeslc(path: Path, repeats: int, batch_size: int = 32) -> dict:
    rows = [json.loads(line) for line in (path / "train.jsonl").open(encoding="utf-8")]
    texts = [(r["source"], r["target"]) for r in rows]
    tok = WordTokenizer(lower=True)
    vocab = Vocab.build((t for s, g in texts for t in (tok.tokenize(s) + tok.tokenize(g))), max_size=30_000,
                        min_count=2)
    from seq2seq_gym.data import Example

    def pipeline() -> None:
        exs = [Example(str(i), tok.tokenize(s), [tok.tokenize(g)]) for i, (s, g) in enumerate(texts)]
        for i in range(0, len(exs), batch_size):
            b = collate(exs[i : i + batch_size], vocab, max_source_len=400, max_target_len=32, max_oovs=50)
            assert b.tgt_in[0, 0].item() == BOS_ID

    exs = [Example(str(i), tok.tokenize(s), [tok.tokenize(g)]) for i, (s, g) in enumerate(texts)]

    def collate_only() -> None:
        for i in range(0, len(exs), batch_size):
            collate(exs[i : i + batch_size], vocab, max_source_len=400, max_target_len=32, max_oovs=50)

    sources = [s for s, _ in texts]
    n_tokens = sum(len(tok.tokenize(s)) for s in sources)
    t_ours = median_time(lambda: [tok.tokenize(s) for s in sources], repeats)
    t_split = median_time(lambda: [s.lower().split() for s in sources], repeats)
    out = {
        "examples": len(texts),
        "source_tokens": n_tokens,
        "pipeline_examples_per_s": round(len(texts) / median_time(pipeline, repeats), 1),
        "collate_only_examples_per_s": round(len(texts) / median_time(collate_only, repeats), 1),
        "word_tokenizer_tokens_per_s": round(n_tokens / t_ours),
        "word_tokenizer_time_vs_str_split": round(t_ours / t_split, 2),
    }
    try:
        from nltk.tokenize import wordpunct_tokenize

        t_nltk = median_time(lambda: [wordpunct_tokenize(s.lower()) for s in sources], repeats)
        out["word_tokenizer_time_vs_nltk_wordpunct"] = round(t_ours / t_nltk, 2)
    except ImportError:
        out["word_tokenizer_time_vs_nltk_wordpunct"] = "nltk not installed"
    return out


def bench_generators(repeats: int) -> dict:
    out = {}
    for name, fn in GENERATORS.items():
        def gen(fn=fn) -> None:
            fn.cache_clear()
            fn()

        t = median_time(gen, repeats)
        task = fn()
        t_cached = median_time(fn, 50)
        out[name] = {
            "seconds_default_size": round(t, 3),
            "cached_call_seconds": t_cached,
            "sizes": task.sizes,
            "vocab": len(task.vocab),
            "generator_version": task.info["generator_version"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    result: dict = {"benchmark": "bench_data", "repeats": args.repeats, "python": sys.version.split()[0]}
    aeslc = args.shared_data / "aeslc"
    if (aeslc / "train.jsonl").is_file():
        result["aeslc"] = bench_aeslc(aeslc, args.repeats)
    else:
        result["aeslc"] = f"skipped: {aeslc / 'train.jsonl'} not found"
        print(f"bench_data: AESLC not found at {aeslc}, skipping that part", file=sys.stderr)
    result["generators"] = bench_generators(args.repeats)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
