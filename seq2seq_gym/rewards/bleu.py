"""Sentence and corpus BLEU, identical to ``sacrebleu`` (scores on a 0-1 scale).

Papineni et al., "BLEU: a Method for Automatic Evaluation of Machine Translation",
2002, sec. 2.3: BLEU = BP * exp(sum_n w_n log p_n), clipped n-gram precisions p_n
(clipping by the maximum count over the references), brevity penalty with the
closest reference length. Smoothing (Chen & Cherry, "A Systematic Comparison of
Smoothing Techniques for Sentence-Level BLEU", 2014) and effective order as
sacrebleu's ``sentence_bleu`` / ``corpus_bleu``; the text layer uses sacrebleu's
default ``13a`` tokenizer. Scores are sacrebleu's divided by 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from seq2seq_gym.rewards import _bleu_kernels as K
from seq2seq_gym.rewards._inputs import Refs
from seq2seq_gym.rewards._nb import table_capacity
from seq2seq_gym.rewards.base import Metric, _State
from seq2seq_gym.rewards.text import (
    TEXT_TOKENIZERS,
    Interner,
    check_hypotheses,
    normalize_references,
    pack,
    pack_refs,
)
from seq2seq_gym.rewards.tokens import ngram_refine

#: smoothing method -> (kernel code, default smooth_value) as sacrebleu's SMOOTH_DEFAULTS
SMOOTH_METHODS: dict[str, tuple[int, float]] = {"none": (0, 0.0), "floor": (1, 0.1), "add-k": (2, 1.0), "exp": (3, 0.0)}


class Bleu(Metric):
    """Sentence BLEU (sacrebleu ``sentence_bleu``) per sequence; :meth:`corpus_score` for corpus BLEU.

    ``dense`` and the prefix scorer keep running clipped counts; ``lookahead`` is exact:
    only ids completing a reference n-gram with clip count left change a match count,
    every other id shares one value.

    Args:
        smooth_method: ``"exp"`` (default), ``"floor"``, ``"add-k"`` or ``"none"``.
        smooth_value: for floor (default 0.1) and add-k (default 1).
        max_ngram_order: N (default 4).
        effective_order: drop orders without any n-gram from the mean (sacrebleu's
            ``use_effective_order``; default True as in ``sentence_bleu``).
        lowercase: lowercase before tokenizing (sacrebleu's ``lowercase``; text layer and
            word-level :class:`~seq2seq_gym.rewards.reward.Reward`).
        tokenize: ``"13a"`` (default, sacrebleu's default tokenizer) or ``"none"``
            (whitespace split, sacrebleu's ``tokenize="none"``).
        pad_id, eos_id: see :class:`~seq2seq_gym.rewards.base.Metric`.
    """

    def __init__(self, smooth_method: str = "exp", smooth_value: float | None = None, max_ngram_order: int = 4,
                 effective_order: bool = True, *, lowercase: bool = False, tokenize: str = "13a", pad_id: int = 0,
                 eos_id: int | None = None) -> None:
        super().__init__(pad_id=pad_id, eos_id=eos_id)
        if tokenize not in ("13a", "none"):
            raise ValueError(f"tokenize must be '13a' or 'none', got {tokenize!r}")
        self.tokenize = tokenize
        if smooth_method not in SMOOTH_METHODS:
            raise ValueError(f"smooth_method must be one of {sorted(SMOOTH_METHODS)}, got {smooth_method!r}")
        if isinstance(max_ngram_order, bool) or not isinstance(max_ngram_order, (int, np.integer)) \
                or max_ngram_order < 1:
            raise ValueError(f"max_ngram_order must be a positive integer, got {max_ngram_order!r}")
        code, default = SMOOTH_METHODS[smooth_method]
        if smooth_value is not None and not isinstance(smooth_value, (int, float, np.floating, np.integer)):
            raise ValueError(f"smooth_value must be a number or None, got {smooth_value!r}")
        self.smooth_method = smooth_method
        self.smooth_value = default if smooth_value is None else float(smooth_value)
        self.max_ngram_order = int(max_ngram_order)
        self.effective_order = bool(effective_order)
        self.lowercase = bool(lowercase)
        self._code = code
        self.name = "bleu"

    @property
    def text_tokenizer(self) -> str:  # type: ignore[override]
        base = "13a" if self.tokenize == "13a" else "whitespace"
        return f"{base}-lower" if self.lowercase else base

    @property
    def convention(self) -> str:  # type: ignore[override]
        value = "" if self.smooth_method in ("exp", "none") else f", smooth_value={self.smooth_value:g}"
        return (f"bleu: sacrebleu sentence_bleu(tokenize='{self.tokenize}', smooth_method='{self.smooth_method}'"
                f"{value}, lowercase={self.lowercase}, use_effective_order={self.effective_order}) / 100 on the text")

    @property
    def _args(self) -> tuple:
        return self.max_ngram_order, self._code, self.smooth_value, self.effective_order

    # ---------------------------------------------------------------- kernels

    @property
    def _fin_cols(self) -> int:  # type: ignore[override]
        return 3 + 2 * self.max_ngram_order  # score, then sacrebleu's statistics

    def _alloc(self, B: int, R: int, L: int, T: int, refs: Refs) -> _State:
        N = self.max_ngram_order
        return _State(K.bl_alloc(B, R, L, N, table_capacity(N * R * L)), T)

    def _run(self, state, rows, build, refs, rlens, valid, toks, lens, eos, record, out, fin):
        K.bl_run(state.st, rows, build, refs, rlens, valid, toks, lens, *self._args, eos, record, out, fin)

    def _lookahead(self, state, cmap, out, rows):
        K.bl_lookahead(state.st, rows, cmap.iptr, cmap.iwords, *self._args, self._eos, out)

    def _probe(self, state, rows, seqs, slens, out):
        K.bl_probe(state.st, rows, seqs, slens, *self._args, out)

    def _refine_lookahead(self, state, rows, cols, V, offs, toks, ooffs, otoks, kind, kmax, out):
        slots, epar, etok, _nent, emax, _etmp, ehc, _rlen, _valid, _correct, _hlen, sid, _done, _cur = state.st
        ngram_refine(slots, epar, etok, sid, ehc < emax, rows, cols, V, offs, toks, ooffs, otoks,
                     self.max_ngram_order, 1, kind, kmax)

    @staticmethod
    def _stats(fin: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(fin[:, 1:].astype(np.int64))

    # ---------------------------------------------------------------- corpus BLEU

    def _corpus(self, stats: np.ndarray, valid: np.ndarray, use_effective_order: bool) -> float:
        if not valid.any(axis=1).all():
            bad = int(np.nonzero(~valid.any(axis=1))[0][0])
            raise ValueError(f"corpus BLEU needs a reference for every example; example {bad} has none")
        N, code, sv, _ = self._args
        return float(K.bleu_from_stats(stats, N, code, sv, use_effective_order))

    def corpus_score(self, hyps: Any, hyp_lens: Any = None, refs: Any = None, ref_lens: Any = None, *,
                     ref_mask: Any = None, use_effective_order: bool = False) -> float:
        """Corpus BLEU (sacrebleu ``corpus_bleu``, 0-1 scale): statistics summed over the batch.

        Token ids: ``corpus_score(hyps, hyp_lens, refs, ref_lens)`` as :meth:`terminal`.
        Text: ``corpus_score(hypotheses, references)`` (see :meth:`text_corpus_score`).
        ``use_effective_order`` as sacrebleu (default False).
        """
        if isinstance(hyps, (list, tuple)) and all(isinstance(x, str) for x in hyps):
            if refs is not None or ref_lens is not None:
                raise ValueError("text corpus_score takes (hypotheses, references) only")
            return self.text_corpus_score(hyps, hyp_lens, use_effective_order=use_effective_order)
        if refs is None:
            raise ValueError("refs is required")
        h, r = self._inputs(hyps, hyp_lens, refs, ref_lens, ref_mask)
        _, _, fin = self._batch(h.ids, h.eff, r.ids, r.lens, r.valid, record=False)
        return self._corpus(self._stats(fin), r.valid, use_effective_order)

    # ---------------------------------------------------------------- text layer

    def _text_ids(self, hypotheses: Any, references: Any):
        hyps = check_hypotheses(hypotheses)
        refs = normalize_references(references, len(hyps))
        intern = Interner(start=1)
        fn = TEXT_TOKENIZERS[self.text_tokenizer]
        tok = lambda s: intern(fn(s))  # noqa: E731
        h_ids, h_lens = pack([tok(h) for h in hyps])
        r_ids, r_lens, valid = pack_refs([[None if s is None else tok(s) for s in r] for r in refs])
        return h_ids, h_lens, r_ids, r_lens, valid

    def _score_text(self, hypotheses, references):
        h, hl, r, rl, valid = self._text_ids(hypotheses, references)
        scores, _, fin = self._batch(h, hl, r, rl, valid, record=False)
        return scores, (self._stats(fin), valid)

    def text_corpus_score(self, hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]], *,
                          use_effective_order: bool = False) -> float:
        """Corpus BLEU of text, equal to sacrebleu ``corpus_bleu`` (0-1 scale).

        ``references`` are per example (N strings or N lists), not sacrebleu's
        reference streams: ``corpus_bleu(hyps, list(zip(*references)))`` is the same.
        """
        h, hl, r, rl, valid = self._text_ids(hypotheses, references)
        _, _, fin = self._batch(h, hl, r, rl, valid, record=False)
        return self._corpus(self._stats(fin), valid, use_effective_order)

    def score_stats(self, hypotheses: Sequence[str], references: Any) -> torch.Tensor:
        """Text layer: sacrebleu's sufficient statistics per example, ``[N, 2 + 2N]`` int64:
        hyp length, closest ref length, matches per order, totals per order."""
        _, (stats, _) = self._score_text(hypotheses, references)
        return torch.from_numpy(stats)
