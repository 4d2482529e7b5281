"""ROUGE-N, ROUGE-L and ROUGE-Lsum, identical to Google's ``rouge-score``.

Lin, "ROUGE: A Package for Automatic Evaluation of Summaries", 2004: ROUGE-N is the
clipped n-gram overlap (eq. 1), ROUGE-L the LCS-based F-measure (sec. 3.1, eqs. 2-4),
ROUGE-Lsum the summary-level union-LCS F-measure (sec. 3.2, eqs. 5-7). Precision,
recall and F follow rouge-score (which reproduces ROUGE-1.5.5 with ``-n 2`` and,
with stemming, ``-m``); several references follow its ``score_multi``: the reference
with the highest F is used (first one on ties) and its precision / recall reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from seq2seq_gym.rewards import _rouge_kernels as K
from seq2seq_gym.rewards._inputs import Refs, check_token_id, to_tensor
from seq2seq_gym.rewards._nb import table_capacity
from seq2seq_gym.rewards.base import _MEASURES, Metric, _State
from seq2seq_gym.rewards.text import (
    Interner,
    check_hypotheses,
    normalize_references,
    pack,
    pack_refs,
    rouge_sentences,
    rouge_tokenize,
)
from seq2seq_gym.rewards.tokens import ngram_refine


def _measure_code(measure: str) -> int:
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of 'f', 'p', 'r', got {measure!r}")
    return _MEASURES[measure]


class _RougeBase(Metric):
    """Shared text layer of the ROUGE metrics (rouge-score tokenization)."""

    def __init__(self, measure: str = "f", *, use_stemmer: bool = True, pad_id: int = 0,
                 eos_id: int | None = None) -> None:
        super().__init__(pad_id=pad_id, eos_id=eos_id)
        self.measure = measure
        self._m = _measure_code(measure)
        self.use_stemmer = bool(use_stemmer)

    def _suffix(self) -> str:
        return "" if self.measure == "f" else f"_{self.measure}"

    @property
    def text_tokenizer(self) -> str:  # type: ignore[override]
        return "rouge-stem" if self.use_stemmer else "rouge"

    @property
    def convention(self) -> str:  # type: ignore[override]
        kind = self.name.split("_")[0]
        field = {"f": "fmeasure", "p": "precision", "r": "recall"}[self.measure]
        return (f"{self.name}: rouge-score RougeScorer(['{kind}'], use_stemmer={self.use_stemmer}).score_multi "
                f"{field} on the text (lowercased, runs of non-[a-z0-9] as spaces"
                f"{', Porter stemmer' if self.use_stemmer else ''}), 0-1")

    def _text_ids(self, hypotheses: Any, references: Any):
        hyps = check_hypotheses(hypotheses)
        refs = normalize_references(references, len(hyps))
        intern = Interner(start=1)
        tok = lambda s: intern(rouge_tokenize(s, self.use_stemmer))  # noqa: E731
        h_ids, h_lens = pack([tok(h) for h in hyps])
        r_ids, r_lens, valid = pack_refs([[None if s is None else tok(s) for s in r] for r in refs])
        return h_ids, h_lens, r_ids, r_lens, valid

    _fin_cols = 3  # (precision, recall, F) of the chosen reference; ROUGE-N: per order

    @property
    def _score_col(self) -> int:  # type: ignore[override]
        return self._fin_cols - 3 + (2, 0, 1)[self._m]

    def _base_names(self) -> list[str]:
        return [self.name.split("_")[0]]

    def _prf_dict(self, fin: np.ndarray, device: Any, all_orders: bool) -> dict[str, dict[str, torch.Tensor]]:
        names = self._base_names()
        first = 0 if all_orders else len(names) - 1
        cols = to_tensor(np.ascontiguousarray(fin.T), device).unbind(0)  # one copy, then row views
        return {names[j]: {key: cols[3 * j + c] for c, key in enumerate(("precision", "recall", "fmeasure"))}
                for j in range(first, len(names))}

    def _score_text(self, hypotheses: Sequence[str], references: Any) -> tuple[np.ndarray, Any]:
        h, hl, r, rl, valid = self._text_ids(hypotheses, references)
        _, _, fin = self._batch(h, hl, r, rl, valid, record=False)
        return fin[:, self._score_col].copy(), fin

    def terminal_prf(self, hyps: Any, hyp_lens: Any, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None,
                     all_orders: bool = False) -> dict[str, dict[str, torch.Tensor]]:
        """Token-id layer: ``{name: {"precision", "recall", "fmeasure"}}``, each ``[B]``
        float64 (rouge-score's ``Score`` fields, ``score_multi`` rule). Arguments as
        :meth:`terminal`; with ``all_orders`` a :class:`Rouge` of order n reports ROUGE-1
        to ROUGE-n from the same pass (what ``RougeScorer(["rouge1", "rouge2"])`` returns)."""
        h, r = self._inputs(hyps, hyp_lens, refs, ref_lens, ref_mask)
        _, _, fin = self._batch(h.ids, h.eff, r.ids, r.lens, r.valid, record=False)
        return self._prf_dict(fin, h.device, all_orders)

    def score_prf(self, hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]], *,
                  all_orders: bool = False) -> dict[str, dict[str, torch.Tensor]]:
        """Text layer: as :meth:`terminal_prf` (rouge-score tokenization, CPU tensors)."""
        _, fin = self._score_text(hypotheses, references)
        return self._prf_dict(fin, None, all_orders)


class Rouge(_RougeBase):
    """ROUGE-N (Lin 2004, eq. 1): clipped n-gram co-occurrence, as rouge-score ``rougeN``.

    precision = matches / max(#hyp n-grams, 1), recall = matches / max(#ref n-grams, 1),
    F = 2PR / (P + R). ``dense`` and the prefix scorer use running n-gram counts;
    ``lookahead`` is exact in O(#reference n-grams) per row plus the O(V) fill.

    Args:
        n: n-gram order (>= 1).
        measure: ``"f"`` (default), ``"p"`` or ``"r"``.
        use_stemmer: Porter-stem tokens as rouge-score's ``use_stemmer`` (default True, the
            convention of summarization papers); applies to the text layer and to the
            word-level :class:`~seq2seq_gym.rewards.reward.Reward` (the id layer scores the
            ids it is given).
        pad_id, eos_id: see :class:`~seq2seq_gym.rewards.base.Metric`.
    """

    def __init__(self, n: int = 1, measure: str = "f", *, use_stemmer: bool = True, pad_id: int = 0,
                 eos_id: int | None = None) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        super().__init__(measure, use_stemmer=use_stemmer, pad_id=pad_id, eos_id=eos_id)
        self.n = int(n)
        self.name = f"rouge{self.n}{self._suffix()}"

    @property
    def _fin_cols(self) -> int:  # type: ignore[override]
        return 3 * self.n

    def _base_names(self) -> list[str]:
        return [f"rouge{k}" for k in range(1, self.n + 1)]

    def _alloc(self, B: int, R: int, L: int, T: int, refs: Refs) -> _State:
        return _State(K.rn_alloc(B, R, L, self.n, table_capacity(self.n * R * L)), T)

    def _run(self, state, rows, build, refs, rlens, valid, toks, lens, eos, record, out, fin):
        K.rn_run(state.st, rows, build, refs, rlens, valid, toks, lens, self.n, self._m, eos, record, out, fin)

    def _lookahead(self, state, cmap, out, rows):
        K.rn_lookahead(state.st, rows, cmap.iptr, cmap.iwords, self.n, self._m, self._eos, out)

    def _probe(self, state, rows, seqs, slens, out):
        K.rn_probe(state.st, rows, seqs, slens, self.n, self._m, out)

    def _refine_lookahead(self, state, rows, cols, V, offs, toks, ooffs, otoks, kind, kmax, out):
        slots, epar, etok, _nent, erc, ehc, *_ = state.st
        sid = state.st[10]
        avail = (ehc[:, :, None] < erc).any(axis=2)  # clip count left for some reference
        ngram_refine(slots, epar, etok, sid, avail, rows, cols, V, offs, toks, ooffs, otoks, self.n, self.n, kind,
                     kmax)


class RougeL(_RougeBase):
    """ROUGE-L (Lin 2004, sec. 3.1, eqs. 2-4): sentence-level LCS, as rouge-score ``rougeL``.

    precision = LCS / |hyp|, recall = LCS / |ref|, F = 2PR / (P + R) (0 if either is
    empty). One bit-parallel LCS pass (Hyyro 2004) gives every prefix score, so
    ``dense`` costs what ``terminal`` costs; ``lookahead`` reads the last DP row:
    appending v raises the LCS with a reference iff v occurs after the last increase of
    that row, O(L) per reference plus the O(V) fill.

    Args:
        measure: ``"f"`` (default), ``"p"`` or ``"r"``.
        use_stemmer: Porter stemming as rouge-score (default True), see :class:`Rouge`.
        pad_id, eos_id: see :class:`~seq2seq_gym.rewards.base.Metric`.
    """

    def __init__(self, measure: str = "f", *, use_stemmer: bool = True, pad_id: int = 0,
                 eos_id: int | None = None) -> None:
        super().__init__(measure, use_stemmer=use_stemmer, pad_id=pad_id, eos_id=eos_id)
        self.name = f"rougeL{self._suffix()}"

    def _alloc(self, B, R, L, T, refs):
        return _State(K.rl_alloc(B, R, L, table_capacity(R * L)), T)

    def _run(self, state, rows, build, refs, rlens, valid, toks, lens, eos, record, out, fin):
        K.rl_run(state.st, rows, build, refs, rlens, valid, toks, lens, self._m, eos, record, out, fin)

    def _lookahead(self, state, cmap, out, rows):
        K.rl_lookahead(state.st, rows, cmap.iptr, cmap.iwords, self._m, self._eos, out)

    def _probe(self, state, rows, seqs, slens, out):
        K.rl_probe(state.st, rows, seqs, slens, self._m, out)


class RougeLsum(_RougeBase):
    """ROUGE-Lsum (Lin 2004, sec. 3.2, eqs. 5-7): summary-level union LCS, as rouge-score.

    Sentences are separated by ``sep_id`` on the id layer and by newlines on the text
    layer (rouge-score's ``rougeLsum`` without ``split_summaries``); empty sentences are
    dropped. Hits use rouge-score's LCS backtracking and token-count clipping. The
    union LCS has no cheap incremental form: ``dense``, the prefix scorer and
    ``lookahead`` re-score prefixes exactly (``lookahead``: once per distinct reference
    token, once for all other ids).

    Args:
        sep_id: sentence separator id on the token-id layer (None: one sentence).
        measure: ``"f"`` (default), ``"p"`` or ``"r"``.
        use_stemmer: Porter stemming as rouge-score (default True), see :class:`Rouge`.
        pad_id, eos_id: see :class:`~seq2seq_gym.rewards.base.Metric`.
    """

    _needs_T = True

    def __init__(self, sep_id: int | None = None, measure: str = "f", *, use_stemmer: bool = True,
                 pad_id: int = 0, eos_id: int | None = None) -> None:
        super().__init__(measure, use_stemmer=use_stemmer, pad_id=pad_id, eos_id=eos_id)
        self.sep_id = check_token_id(sep_id, "sep_id")
        self.name = f"rougeLsum{self._suffix()}"

    @property
    def _sep(self) -> int:
        return -3 if self.sep_id is None else self.sep_id

    def _text_ids(self, hypotheses, references):
        hyps = check_hypotheses(hypotheses)
        refs = normalize_references(references, len(hyps))
        intern = Interner(start=1)

        def tok(s: str) -> list[int]:
            out: list[int] = []
            for sent in rouge_sentences(s):
                ids = intern(rouge_tokenize(sent, self.use_stemmer))
                if ids:
                    if out:
                        out.append(0)  # id 0 separates sentences on the text layer
                    out.extend(ids)
            return out

        h_ids, h_lens = pack([tok(h) for h in hyps])
        r_ids, r_lens, valid = pack_refs([[None if s is None else tok(s) for s in r] for r in refs])
        return h_ids, h_lens, r_ids, r_lens, valid

    def _alloc(self, B, R, L, T, refs):
        return _State(K.ls_alloc(B, R, L, T), T)

    def _run(self, state, rows, build, refs, rlens, valid, toks, lens, eos, record, out, fin):
        K.ls_run(state.st, rows, build, refs, rlens, valid, toks, lens, self._sep, self._m, eos, record, out, fin)

    def _score_text(self, hypotheses, references):
        h, hl, r, rl, valid = self._text_ids(hypotheses, references)
        # the text layer separates sentences with id 0 (see _text_ids)
        _, _, fin = RougeLsum(0, self.measure)._batch(h, hl, r, rl, valid, record=False)
        return fin[:, self._score_col].copy(), fin

    def _lookahead(self, state, cmap, out, rows):
        K.ls_lookahead(state.st, rows, cmap.iptr, cmap.iwords, self._sep, self._m, self._eos, out)

    def _probe(self, state, rows, seqs, slens, out):
        K.ls_probe(state.st, rows, seqs, slens, self._sep, self._m, out)
