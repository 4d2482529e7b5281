"""Speed of seq2seq_gym.rewards against the reference implementations. Prints JSON.

One CPU thread, batches of 256 pairs of real text from ../shared/data:

- ``summaries``: AESLC-like ~60-token summaries: hypothesis = words 0-59 of an AESLC
  email body, reference = words 25-84 of the same body (real text, partial overlap);
- ``captions``: Multi30k English captions (~12 tokens): hypothesis = a word-dropout /
  substitution copy of caption i, reference = caption i.

Every score follows the field's convention, as the library computes it: ROUGE as
rouge-score with ``use_stemmer=True``, BLEU as sacrebleu's ``sentence_bleu`` (13a), CIDEr-D
as pycocoevalcap's ``Cider`` on PTB tokens (the reference is timed on text already
PTB-tokenized: its Java tokenizer is not counted, which favours the reference).

For each metric: pairs/s of (a) our id-level kernels (metric tokens prepared once,
outside the timing: the hot path), (b) the word-level :class:`Reward` on word ids of a
vocabulary (what environments and agents call: the words' tokens are gathered from the
vocabulary map; "encoded": references encoded once per batch with ``Reward.encode``, as
an environment does at reset and an agent for its baseline and samples; "warm":
references encoded in the call, their texts seen before (they recur every epoch);
"cold": every memo cleared), and (c) the
reference library on the text, with the ratios (a)/(c) and (b)/(c). Also our text
layer, the cost of ``dense`` over ``terminal`` (id-level and word-level), and one
``lookahead`` step for B = 256 prefixes of 30 tokens: id-level at V = 50,000 columns, and
word-level over a 50,000-word AESLC vocabulary of the library's word tokenizer (dense
``[B, V]`` and 64 candidates per row).
Times are CPU time (``time.process_time``; one thread), medians of ``--repeats`` repeats
of ~50 ms loops after a warm-up (numba compilation); ours and the reference (and dense
and terminal) are measured alternately and the ratio is the median per-repeat ratio.
Tokenizer memos (sacrebleu's and ours) are cleared before each text-level call: RL
hypotheses are new text.

Usage: python benchmarks/bench_rewards.py [--data ../shared/data] [--repeats 7]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numba
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seq2seq_gym.rewards import Bleu, CiderD, Reward, Rouge, RougeL
from seq2seq_gym.rewards import text as text_mod
from seq2seq_gym.rewards.text import Interner, bleu_tokens, pack, pack_refs, ptb_tokenize, rouge_tokenize

B = 256
V = 50_000


def _per_call(fn, loops: int) -> float:
    t0 = time.process_time()
    for _ in range(loops):
        fn()
    return (time.process_time() - t0) / loops


def _loops(fn, min_s: float) -> int:
    fn()  # warm-up (numba compilation, caches)
    return max(1, int(min_s / max(_per_call(fn, 1), 1e-7)))


def median_time(fn, repeats: int, min_s: float = 0.05) -> float:
    """Median over ``repeats`` of the CPU time of one call (``time.process_time``: the
    process runs one thread, and time spent descheduled on a shared machine is not
    counted); each repeat loops for about ``min_s`` seconds."""
    loops = _loops(fn, min_s)
    return statistics.median(_per_call(fn, loops) for _ in range(repeats))


def paired_times(fa, fb, repeats: int, min_s: float = 0.05) -> tuple[float, float, float]:
    """(median time of fa, median time of fb, median of the per-repeat ratios fb / fa),
    the two measured alternately so that slow phases of a shared machine hit both."""
    la, lb = _loops(fa, min_s), _loops(fb, min_s)
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_per_call(fa, la))
        tb.append(_per_call(fb, lb))
    return statistics.median(ta), statistics.median(tb), statistics.median(b / a for a, b in zip(ta, tb))


def summaries(root: Path) -> tuple[list[str], list[str]]:
    with open(root / "aeslc" / "test.jsonl", encoding="utf-8") as f:
        bodies = [json.loads(line)["source"].split() for line in f]
    bodies = [b for b in bodies if len(b) >= 85][:B]
    if len(bodies) < B:
        raise SystemExit(f"need {B} AESLC bodies of >= 85 words, found {len(bodies)}")
    return [" ".join(b[:60]) for b in bodies], [" ".join(b[25:85]) for b in bodies]


def captions(root: Path) -> tuple[list[str], list[str]]:
    with gzip.open(root / "multi30k" / "raw" / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as f:
        en = f.read().splitlines()[:B]
    rng = random.Random(0)
    filler = " ".join(en).split()
    hyps = []
    for s in en:
        words = []
        for w in s.split():
            u = rng.random()
            if u < 0.15:
                continue
            words.append(rng.choice(filler) if u < 0.3 else w)
        hyps.append(" ".join(words))
    return hyps, en


def id_batch(hyps: list[str], refs: list[str], tokenize) -> tuple[torch.Tensor, ...]:
    intern = Interner(start=1)
    h, hl = pack([intern(tokenize(x)) for x in hyps])
    r, rl, _ = pack_refs([[intern(tokenize(x))] for x in refs])
    return torch.from_numpy(h), torch.from_numpy(hl), torch.from_numpy(r), torch.from_numpy(rl)


def _clear_text_memos(reward: Reward | None = None) -> None:
    text_mod._rouge_tokenize.cache_clear()
    text_mod.tokenize_13a.cache_clear()
    text_mod.ptb_word.cache_clear()
    if reward is not None:
        for tm in reward.maps.values():
            tm._texts.clear()


def word_batch(hyps: list[str], refs: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A vocabulary of the words of the texts, and the hypotheses as word ids ``[B, T]``."""
    words = ["<pad>", "<unk>", "<s>", "</s>", *sorted({w for x in hyps + refs for w in x.split()})]
    index = {w: i for i, w in enumerate(words)}
    seqs = [[index[w] for w in h.split()] for h in hyps]
    lens = np.array([len(x) for x in seqs], np.int64)
    ids = np.zeros((len(seqs), max(lens.max(), 1)), np.int64)
    for i, x in enumerate(seqs):
        ids[i, : len(x)] = x
    return words, ids, lens


def bench_set(hyps: list[str], refs: list[str], repeats: int) -> dict:
    from pycocoevalcap.cider.cider import Cider
    from rouge_score import rouge_scorer
    from sacrebleu import sentence_bleu
    from sacrebleu.metrics import BLEU
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

    stem = lambda x: rouge_tokenize(x, True)  # noqa: E731
    rouge_ids = id_batch(hyps, refs, stem)
    bleu_ids = id_batch(hyps, refs, bleu_tokens)
    cider_ids = id_batch(hyps, refs, ptb_tokenize)
    words, w_ids, w_lens = word_batch(hyps, refs)
    n = len(hyps)
    out: dict = {
        "pairs": n,
        "mean_hyp_tokens": float(rouge_ids[1].float().mean()),
        "mean_ref_tokens": float(rouge_ids[3].float().mean()),
        "vocabulary_words": len(words),
        "metrics": {},
    }

    rs12 = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    rsl = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    sb = BLEU(effective_order=True)  # what sentence_bleu builds, reused (variant below)

    def sb_reused():
        # sacrebleu memoises its tokenizer; RL hypotheses are new text, so start cold
        Tokenizer13a.__call__.cache_clear()
        TokenizerRegexp.__call__.cache_clear()
        return [sb.sentence_score(h, [r]) for h, r in zip(hyps, refs)]

    ptb = lambda x: " ".join(ptb_tokenize(x))  # noqa: E731
    gts = {i: [ptb(r)] for i, r in enumerate(refs)}
    res = {i: [ptb(h)] for i, h in enumerate(hyps)}
    r1, r2, rl_, bl, cd = Rouge(1), Rouge(2), RougeL(), Bleu(), CiderD()
    wr = {name: Reward(name, words, eos_id=3) for name in ("rouge2", "rougeL", "bleu", "cider")}
    wrefs = [[r] for r in refs]
    cases = {
        "rouge1/2": (lambda: r2.terminal_prf(*rouge_ids, all_orders=True),
                     lambda: [rs12.score(r, h) for h, r in zip(hyps, refs)],
                     "rouge-score RougeScorer(['rouge1','rouge2'], use_stemmer=True).score",
                     lambda: r2.score_prf(hyps, refs, all_orders=True), None),
        "rouge1": (lambda: r1.terminal(*rouge_ids), None, None, None, None),
        "rouge2": (lambda: r2.terminal(*rouge_ids), None, None, None, "rouge2"),
        "rougeL": (lambda: rl_.terminal(*rouge_ids), lambda: [rsl.score(r, h) for h, r in zip(hyps, refs)],
                   "rouge-score RougeScorer(['rougeL'], use_stemmer=True).score", lambda: rl_.score(hyps, refs),
                   "rougeL"),
        "bleu": (lambda: bl.terminal(*bleu_ids), lambda: [sentence_bleu(h, [r]) for h, r in zip(hyps, refs)],
                 "sacrebleu.sentence_bleu", lambda: bl.score(hyps, refs), "bleu"),
        "cider": (lambda: cd.terminal(*cider_ids), lambda: Cider().compute_score(gts, res),
                  "pycocoevalcap Cider().compute_score on the batch (PTB tokens given)", lambda: cd.score(hyps, refs),
                  "cider"),
    }

    def cold(fn, reward=None):  # our tokenizers are memoised too: time on unseen text
        def run():
            _clear_text_memos(reward)
            return fn()
        return run

    for name, (ours, ref, ref_name, text, word) in cases.items():
        entry: dict = {}
        if ref is None:
            entry["ours_pairs_per_s"] = n / median_time(ours, repeats)
        else:
            t_ours, t_ref, ratio = paired_times(ours, ref, repeats)
            entry.update({"ours_pairs_per_s": n / t_ours, "reference": ref_name, "reference_pairs_per_s": n / t_ref,
                          "ratio": ratio, "ours_text_layer_pairs_per_s": n / median_time(cold(text), repeats)})
        if word is not None:
            rw = wr[word]
            fw = lambda rw=rw: rw.terminal(w_ids, w_lens, wrefs)  # noqa: E731
            enc = rw.encode(wrefs)
            fe = lambda rw=rw, enc=enc: rw.terminal(w_ids, w_lens, enc)  # noqa: E731
            entry["word_level_encoded_pairs_per_s"] = n / median_time(fe, repeats)
            entry["word_level_warm_pairs_per_s"] = n / median_time(fw, repeats)
            entry["word_level_cold_pairs_per_s"] = n / median_time(cold(fw, rw), repeats)
            if ref is not None:
                entry["word_level_encoded_ratio"] = paired_times(fe, ref, repeats)[2]
                entry["word_level_warm_ratio"] = paired_times(fw, ref, repeats)[2]
                entry["word_level_cold_ratio"] = paired_times(cold(fw, rw), ref, repeats)[2]
        out["metrics"][name] = entry
    # the same BLEU with one reused sacrebleu object (no per-call construction)
    t_ours, t_ref, ratio = paired_times(cases["bleu"][0], sb_reused, repeats)
    out["metrics"]["bleu"].update({"reference_reused_object_pairs_per_s": n / t_ref, "ratio_reused_object": ratio})
    dense = {}
    for name, m, ids in (("rouge1", r1, rouge_ids), ("rouge2", r2, rouge_ids), ("rougeL", rl_, rouge_ids),
                         ("bleu", bl, bleu_ids), ("cider", cd, cider_ids)):
        dense[name] = paired_times(lambda m=m, ids=ids: m.terminal(*ids), lambda m=m, ids=ids: m.dense(*ids),
                                   repeats)[2]
    out["dense_over_terminal"] = dense
    out["dense_over_terminal_word_level"] = {
        name: paired_times(lambda rw=rw: rw.terminal(w_ids, w_lens, wrefs),
                           lambda rw=rw: rw.dense(w_ids, w_lens, wrefs), repeats)[2] for name, rw in wr.items()}
    return out


def bench_lookahead(hyps: list[str], refs: list[str], repeats: int, root: Path, prefix_len: int = 30) -> dict:
    ids = id_batch(hyps, refs, lambda x: rouge_tokenize(x, True))
    h, hl, r, rl = ids
    if int(r.max()) >= V:
        raise SystemExit("vocabulary of the benchmark text exceeds V")
    steps = torch.clamp(hl, max=prefix_len)
    out = {"B": h.shape[0], "V": V, "prefix_len": prefix_len, "ms_per_step": {}}
    fill = median_time(lambda: np.full((h.shape[0], V), 0.5), repeats, min_s=0.1)
    out["fill_only_ms"] = 1e3 * fill  # allocating and writing the [B, V] float64 output alone
    for name, m in (("rouge1", Rouge(1)), ("rouge2", Rouge(2)), ("rougeL", RougeL()), ("bleu", Bleu()),
                    ("cider", CiderD())):
        ps = m.prefix_scorer(r, rl)
        for t in range(prefix_len):
            ps.append(h[:, t], t < steps)
        out["ms_per_step"][name] = 1e3 * median_time(lambda ps=ps: ps.lookahead(V), repeats, min_s=0.1)
    # word level: a 50,000-word vocabulary of AESLC training text split by the library's
    # word tokenizer (words of several metric tokens, punctuation without tokens, ...)
    from seq2seq_gym.data import word_tokenize

    counts: dict[str, int] = {}
    with open(root / "aeslc" / "train.jsonl", encoding="utf-8") as f:
        for line in f:
            for w in word_tokenize(json.loads(line)["source"]):
                counts[w] = counts.get(w, 0) + 1
    hyps = [" ".join(word_tokenize(x)) for x in hyps]
    refs = [" ".join(word_tokenize(x)) for x in refs]
    mine = {w for x in hyps + refs for w in x.split()}
    ranked = sorted(counts, key=lambda w: -counts[w])
    words = ["<pad>", "<unk>", "<s>", "</s>", *sorted(mine)]
    words += [w for w in ranked if w not in mine][: V - len(words)]
    index = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(0)
    cand = rng.integers(0, len(words), size=(len(hyps), 64))
    out["word_level"] = {"words": len(words), "candidates_per_row": cand.shape[1], "ms_per_step": {},
                         "ms_per_step_candidates": {}}
    for name in ("rouge2", "rougeL", "bleu", "cider"):
        rw = Reward(name, words, eos_id=3)
        tab = rw._tables[rw.components_[0][3]]
        out["word_level"].setdefault("multi_token_words", {})[rw.components_[0][3]] = int(tab.multi.size)
        ps = rw.prefix_scorer([[x] for x in refs])
        for t in range(prefix_len):
            ps.append(np.array([index[x.split()[t]] if t < len(x.split()) else 0 for x in hyps]),
                      np.array([t < len(x.split()) for x in hyps]))
        out["word_level"]["ms_per_step"][name] = 1e3 * median_time(lambda ps=ps: ps.lookahead(), repeats, min_s=0.1)
        out["word_level"]["ms_per_step_candidates"][name] = 1e3 * median_time(lambda ps=ps: ps.lookahead(cand),
                                                                               repeats, min_s=0.1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    root = Path(args.data)
    if not root.is_dir():
        raise SystemExit(f"shared data not found at {root} (pass --data)")
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    sh, sr = summaries(root)
    ch, cr = captions(root)
    result = {
        "config": {"batch": B, "threads": 1, "repeats": args.repeats, "python": platform.python_version(),
                   "numba": numba.__version__, "torch": torch.__version__, "machine": platform.machine(),
                   "processor": platform.processor() or None},
        "summaries": bench_set(sh, sr, args.repeats),
        "captions": bench_set(ch, cr, args.repeats),
        "lookahead": bench_lookahead(sh, sr, args.repeats, root),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
