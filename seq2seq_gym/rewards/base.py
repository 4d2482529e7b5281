"""The :class:`Metric` interface and the stateful :class:`PrefixScorer`.

A metric scores token-id sequences against padded references in three modes:

- ``terminal``: one score per sequence;
- ``dense``: r_t = score(y_1..t) - score(y_1..t-1), summing to the terminal score
  (the intermediate rewards of Bahdanau et al. 2017, "An Actor-Critic Algorithm for
  Sequence Prediction");
- ``lookahead``: the exact increment of appending each vocabulary id to a prefix,
  the "true Q" targets that critic pre-training needs (same paper);

and a :class:`PrefixScorer` keeps the running state of B sequences generated token
by token (what a vectorised environment needs).

Shapes (token-id layer): ``hyps [B, T]`` int, ``hyp_lens [B]`` (None: up to the first
``pad_id``); ``refs [B, R, L]`` int (or ``[B, L]`` for one reference), ``ref_lens [B, R]``
(None: up to the first ``pad_id``); ``ref_mask [B, R]`` bool (default ``ref_lens > 0``:
a slot of length 0 holds no reference; pass a mask to count empty references, which
matters for BLEU's closest reference length and CIDEr-D's average over references).
Ids may be any non-negative integers (pointer-generator extended ids included).
With ``eos_id`` set, tokens from the first EOS on are ignored (EOS is not scored),
in hypotheses and references. Outputs are float64 tensors on the device of the input.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from seq2seq_gym.rewards._inputs import (
    Refs,
    as_bool_array,
    as_int_array,
    check_token_id,
    check_vocab_size,
    prepare_hyps,
    prepare_refs,
    to_tensor,
)

_MEASURES = {"f": 0, "p": 1, "r": 2}


class ColumnMap:
    """Where ``lookahead`` writes the increment of each token id.

    Token ``v`` goes to the output columns ``iwords[iptr[v]:iptr[v + 1]]`` (ids at or
    beyond ``len(iptr) - 1`` have no column); ``single[c]`` is the token of column ``c``
    (-1 if none). The id-level API uses the identity map of ``vocab_size`` columns; the
    word-level :class:`~seq2seq_gym.rewards.reward.Reward` maps each metric token to the
    vocabulary words that tokenize to exactly that token.

    Args:
        iptr: ``[M + 1]`` int64 offsets.
        iwords: ``[iptr[-1]]`` int64 column indices.
        single: ``[W]`` int64 token of each column, -1 for none.
    """

    __slots__ = ("__weakref__", "_cache", "iptr", "iwords", "single")

    def __init__(self, iptr: np.ndarray, iwords: np.ndarray, single: np.ndarray) -> None:
        self.iptr = np.ascontiguousarray(iptr, np.int64)
        self.iwords = np.ascontiguousarray(iwords, np.int64)
        self.single = np.ascontiguousarray(single, np.int64)
        self._cache: dict = {}

    @property
    def width(self) -> int:
        return int(self.single.shape[0])

    @classmethod
    def identity(cls, width: int) -> ColumnMap:
        """Column v for token v < width (cached)."""
        cm = _IDENTITY.get(width)
        if cm is None:
            ar = np.arange(width, dtype=np.int64)
            cm = cls(np.arange(width + 1, dtype=np.int64), ar, ar)
            if len(_IDENTITY) > 8:
                _IDENTITY.clear()
            _IDENTITY[width] = cm
        return cm


_IDENTITY: dict[int, ColumnMap] = {}


class _State:
    """Kernel state of a batch of rows: ``st`` (tuple of arrays) and metric extras."""

    __slots__ = ("T", "extra", "st")

    def __init__(self, st: tuple, T: int = 0, extra: Any = None) -> None:
        self.st = st
        self.T = T
        self.extra = extra


class Metric(abc.ABC):
    """A sequence metric on token ids (batched) and on text.

    Subclasses implement the sequence metrics used as rewards in the survey
    "Deep Reinforcement Learning for Sequence-to-Sequence Models" (Keneshloo et al.):
    ROUGE, BLEU, CIDEr-D; each names its paper and equation.

    Args:
        pad_id: id that ends a sequence when its length is not given (default 0).
        eos_id: if set, tokens from the first ``eos_id`` on are ignored (EOS itself
            is not scored); ``lookahead`` gives 0 to appending EOS and a finished
            prefix gets 0 for every id.
    """

    name: str = "metric"
    #: True when one row's score depends on the other rows' references (CIDEr-D with
    #: df computed from the batch), so a prefix scorer re-scores every row on reset.
    _refs_global: bool = False
    #: True when the kernel state grows with the hypothesis length.
    _needs_T: bool = False

    def __init__(self, *, pad_id: int = 0, eos_id: int | None = None) -> None:
        self.pad_id = check_token_id(pad_id, "pad_id", allow_none=False)
        self.eos_id = check_token_id(eos_id, "eos_id")
        self._scratch = threading.local()  # reusable one-row kernel state for batch scoring

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_scratch", None)  # a thread-local cache: not picklable, rebuilt on demand
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._scratch = threading.local()

    @property
    def _eos(self) -> int:
        return -1 if self.eos_id is None else self.eos_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def text_tokenizer(self) -> str:
        """Name (in :data:`seq2seq_gym.rewards.text.TEXT_TOKENIZERS`) of the tokenizer this
        metric applies to text: the reference library's."""
        return "whitespace"

    @property
    def convention(self) -> str:
        """One line saying what is computed, on which tokens, on which scale."""
        return f"{self.name} on whitespace tokens"

    # ------------------------------------------------------------ token-id layer

    def _inputs(self, hyps: Any, hyp_lens: Any, refs: Any, ref_lens: Any, ref_mask: Any, *,
                hyps_name: str = "hyps", lens_name: str = "hyp_lens"):
        h = prepare_hyps(hyps, hyp_lens, self.pad_id, self.eos_id, hyps_name, lens_name)
        r = prepare_refs(refs, ref_lens, ref_mask, h.ids.shape[0], self.pad_id, self.eos_id)
        return h, r

    def terminal(self, hyps: Any, hyp_lens: Any, refs: Any, ref_lens: Any = None, *,
                 ref_mask: Any = None) -> torch.Tensor:
        """Score of each whole hypothesis. Returns ``[B]`` float64.

        Args:
            hyps: ``[B, T]`` integer token ids.
            hyp_lens: ``[B]`` lengths, or None (up to the first ``pad_id``).
            refs: ``[B, R, L]`` (or ``[B, L]``) integer reference ids, padded.
            ref_lens: ``[B, R]`` (or ``[B]``) lengths, or None (up to the first ``pad_id``).
            ref_mask: optional ``[B, R]`` bool, which slots hold a reference.
        """
        h, r = self._inputs(hyps, hyp_lens, refs, ref_lens, ref_mask)
        scores, _, _ = self._batch(h.ids, h.eff, r.ids, r.lens, r.valid, record=False)
        return to_tensor(scores, h.device)

    def dense(self, hyps: Any, hyp_lens: Any, refs: Any, ref_lens: Any = None, *,
              ref_mask: Any = None) -> torch.Tensor:
        """Per-step increments ``score(y[:t+1]) - score(y[:t])``. Returns ``[B, T]`` float64,
        zero past each (EOS-truncated) length; rows sum to :meth:`terminal`. Same arguments."""
        h, r = self._inputs(hyps, hyp_lens, refs, ref_lens, ref_mask)
        _, dense, _ = self._batch(h.ids, h.eff, r.ids, r.lens, r.valid, record=True)
        return to_tensor(dense, h.device)

    def lookahead(self, prefix: Any, prefix_lens: Any, refs: Any, ref_lens: Any, vocab_size: int, *,
                  ref_mask: Any = None) -> torch.Tensor:
        """Exact increment ``score(prefix + [v]) - score(prefix)`` for every ``v < vocab_size``.

        Returns ``[B, vocab_size]`` float64. ``prefix [B, T]`` / ``prefix_lens [B]`` as
        ``hyps`` / ``hyp_lens``; other arguments as :meth:`terminal`. A prefix that
        contains ``eos_id`` is finished: every increment is 0.
        """
        V = check_vocab_size(vocab_size)
        h, r = self._inputs(prefix, prefix_lens, refs, ref_lens, ref_mask, hyps_name="prefix",
                            lens_name="prefix_lens")
        B, T = h.ids.shape
        state = self._fresh_state(B, r, max(T, 1))
        if T:
            self._feed(state, np.arange(B, dtype=np.int64), h.ids, h.lens, False, np.zeros((B, 1)))
        out = np.empty((B, V), np.float64)
        self._lookahead(state, ColumnMap.identity(V), out, np.arange(B, dtype=np.int64))
        return to_tensor(out, h.device)

    def prefix_scorer(self, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None) -> PrefixScorer:
        """A :class:`PrefixScorer` for ``B = refs.shape[0]`` sequences against these references."""
        r = prepare_refs(refs, ref_lens, ref_mask, None, self.pad_id, self.eos_id)
        return PrefixScorer(self, r)

    # ------------------------------------------------------------ text layer

    def score(self, hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> torch.Tensor:
        """Per-example scores of text, tokenized exactly as the reference library.

        Args:
            hypotheses: N strings.
            references: N strings (one reference each) or N lists of strings.
        Returns ``[N]`` float64 (CPU).
        """
        scores, _ = self._score_text(hypotheses, references)
        return torch.from_numpy(scores)

    @abc.abstractmethod
    def _score_text(self, hypotheses: Sequence[str], references: Any) -> tuple[np.ndarray, Any]:
        """Text-layer scores ``[N]`` and metric-specific extras."""

    # ------------------------------------------------------------ kernel hooks
    #
    # A metric provides a state allocator, a "run" kernel (optionally load references
    # into state rows, then append tokens) and a lookahead kernel; everything else is
    # generic. ``fin`` receives per-item final values (``_fin_cols`` columns, the score
    # in column ``_score_col``).

    _fin_cols: int = 1
    _score_col: int = 0

    @abc.abstractmethod
    def _alloc(self, B: int, R: int, L: int, T: int, refs: Refs) -> _State:
        """A state for B rows (R references of width L, hypotheses up to T tokens)."""

    @abc.abstractmethod
    def _run(self, state: _State, rows: np.ndarray, build: bool, refs: np.ndarray, rlens: np.ndarray,
             valid: np.ndarray, toks: np.ndarray, lens: np.ndarray, eos: int, record: bool, out: np.ndarray,
             fin: np.ndarray) -> None:
        """Run kernel: see ``_rouge_kernels``."""

    @abc.abstractmethod
    def _lookahead(self, state: _State, cmap: ColumnMap, out: np.ndarray, rows: np.ndarray) -> None:
        """Fill ``out[i]`` (``[len(rows), cmap.width]``) with the one-step increments of state
        row ``rows[i]`` (through ``cmap``)."""

    def _refine_lookahead(self, state: _State, rows: np.ndarray, cols: np.ndarray, V: int, offs: np.ndarray,  # noqa: B027
                          toks: np.ndarray, ooffs: np.ndarray, otoks: np.ndarray, kind: np.ndarray, kmax: int,
                          out: np.ndarray) -> None:
        """Word-level lookahead hook (see :func:`seq2seq_gym.rewards.tokens.plan_columns`):
        turn probes (kind 3) that cannot change a match into kind 2, or write values of
        kind 2 itself into ``out`` and mark them kind 5. Default: nothing."""

    @abc.abstractmethod
    def _probe(self, state: _State, rows: np.ndarray, seqs: np.ndarray, slens: np.ndarray, out: np.ndarray) -> None:
        """``out[p]``: exact increment of appending ``seqs[p, :slens[p]]`` to row ``rows[p]``
        (the state is left as it was; the state must have room for the tokens)."""

    def _batch(self, hyps: np.ndarray, hlens: np.ndarray, refs: np.ndarray, rlens: np.ndarray,
               valid: np.ndarray, record: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(scores [B], dense increments [B, T] if record, fin [B, _fin_cols]) on int64 arrays;
        ``hlens`` already EOS-truncated. Rows are scored one by one in a scratch state."""
        B, T = hyps.shape
        out = np.zeros((B, T if record else 1), np.float64)
        fin = np.zeros((B, self._fin_cols), np.float64)
        self._batch_run(hyps, hlens, refs, rlens, valid, record, out, fin)
        return fin[:, self._score_col].copy(), (out if record else None), fin

    def _batch_run(self, hyps: np.ndarray, hlens: np.ndarray, refs: np.ndarray, rlens: np.ndarray,
                   valid: np.ndarray, record: bool, out: np.ndarray, fin: np.ndarray) -> None:
        """Run every item through a one-row scratch state, kept between calls of the same
        shape (per thread)."""
        R, L, T = refs.shape[1], refs.shape[2], hyps.shape[1]
        refs_obj = Refs(refs, rlens, valid, None)
        cache = self._scratch.__dict__
        state = cache.get("state")
        if state is None or cache.get("key") != (R, L, T):
            state = self._alloc(1, R, L, T, refs_obj)
            cache["state"], cache["key"] = state, (R, L, T)
        else:
            self._refresh(state, refs_obj)
        self._run(state, np.zeros(hyps.shape[0], np.int64), True, refs, rlens, valid, hyps, hlens, -1, record, out,
                  fin)

    def _refresh(self, state: _State, refs: Refs) -> None:  # noqa: B027 (optional hook)
        """Prepare a reused state for new references (CIDEr-D: its df)."""

    def _build(self, state: _State, rows: np.ndarray, refs: np.ndarray, rlens: np.ndarray,
               valid: np.ndarray) -> None:
        """Load references into ``rows`` and clear their hypotheses."""
        n = rows.shape[0]
        self._run(state, rows, True, refs, rlens, valid, np.zeros((n, 1), np.int64), np.zeros(n, np.int64),
                  self._eos, False, np.zeros((1, 1)), np.zeros((0, self._fin_cols)))

    def _feed(self, state: _State, rows: np.ndarray, toks: np.ndarray, lens: np.ndarray, record: bool,
              out: np.ndarray) -> None:
        """Append ``toks[i, :lens[i]]`` to row ``rows[i]`` (EOS-aware); increments in ``out``."""
        self._run(state, rows, False, *_NO_REFS, toks, lens, self._eos, record, out,
                  np.zeros((0, self._fin_cols)))

    def _append(self, state: _State, toks: np.ndarray, active: np.ndarray, out: np.ndarray) -> None:
        """Append one token to every active row; increments in ``out [B]``."""
        B = toks.shape[0]
        inc = np.zeros((B, 1), np.float64)
        self._run(state, np.arange(B, dtype=np.int64), False, *_NO_REFS, np.ascontiguousarray(toks[:, None]),
                  active.astype(np.int64), self._eos, True, inc, np.zeros((0, self._fin_cols)))
        out[:] = inc[:, 0]

    def _current(self, state: _State) -> np.ndarray:
        return state.st[-1]

    def _done(self, state: _State) -> np.ndarray:
        return state.st[-2]

    def _fresh_state(self, B: int, refs: Refs, T: int) -> _State:
        state = self._alloc(B, refs.ids.shape[1], refs.ids.shape[2], T, refs)
        self._build(state, np.arange(B, dtype=np.int64), refs.ids, refs.lens, refs.valid)
        return state


_NO_REFS = (np.zeros((1, 1, 1), np.int64), np.zeros((1, 1), np.int64), np.zeros((1, 1), np.bool_))


class PrefixScorer:
    """Running scores of B sequences generated token by token.

    Holds, per row, the metric's incremental state (n-gram counts, the last LCS DP row
    of each reference, ...), so :meth:`append` costs one step of the metric, not a
    re-score. Rows restart independently with :meth:`reset_rows` (a vector env
    autoresets its sub-environments one by one). Every method validates its input
    before changing anything: a rejected call leaves the state as it was.

    Args:
        metric: the :class:`Metric`.
        refs: prepared references (see :meth:`Metric.prefix_scorer`).
    """

    def __init__(self, metric: Metric, refs: Refs) -> None:
        self.metric = metric
        self._refs = refs.ids.copy()
        self._rlens = refs.lens.copy()
        self._valid = refs.valid.copy()
        self.device = refs.device
        B = self._refs.shape[0]
        self._hist = np.zeros((B, 16), np.int64)
        self._hlen = np.zeros(B, np.int64)
        self._state = self._rebuild_state()

    # ---------------------------------------------------------------- internals

    @property
    def batch_size(self) -> int:
        return self._refs.shape[0]

    def _refs_obj(self) -> Refs:
        return Refs(self._refs, self._rlens, self._valid, self.device)

    def _rebuild_state(self) -> _State:
        """Fresh state from the stored references, replaying every row's history."""
        B = self.batch_size
        T = self._hist.shape[1]
        state = self.metric._fresh_state(B, self._refs_obj(), T)
        if self._hlen.any():
            self.metric._feed(state, np.arange(B, dtype=np.int64), self._hist, self._hlen, False, np.zeros((B, 1)))
        return state

    def _t(self, a: np.ndarray) -> torch.Tensor:
        return to_tensor(a, self.device)

    # ---------------------------------------------------------------- API

    @property
    def scores(self) -> torch.Tensor:
        """``[B]`` float64: the score of each current prefix."""
        return self._t(self.metric._current(self._state).copy())

    @property
    def lengths(self) -> torch.Tensor:
        """``[B]`` int64: number of tokens appended to each row since its reset."""
        return self._t(self._hlen.copy())

    @property
    def finished(self) -> torch.Tensor:
        """``[B]`` bool: rows whose prefix contains ``eos_id``."""
        return self._t(self.metric._done(self._state).copy())

    def append(self, tokens: Any, active: Any = None) -> torch.Tensor:
        """Append ``tokens [B]`` to the active rows; returns the ``[B]`` float64 increments.

        Args:
            tokens: ``[B]`` integer ids (values of inactive rows are ignored).
            active: optional ``[B]`` bool; inactive rows are unchanged (increment 0).
        """
        B = self.batch_size
        toks, _ = as_int_array(tokens, "tokens", (1,))
        if toks.shape[0] != B:
            raise ValueError(f"tokens has {toks.shape[0]} entries but the scorer has {B} rows")
        act = np.ones(B, np.bool_) if active is None else as_bool_array(active, "active", (B,))
        if (toks[act] < 0).any():
            raise ValueError("tokens contains negative ids in active rows")
        live = act & ~self.metric._done(self._state)
        if live.any() and (self._hlen[live] >= self._hist.shape[1]).any():
            newT = self._hist.shape[1] * 2
            hist = np.zeros((B, newT), np.int64)
            hist[:, : self._hist.shape[1]] = self._hist
            self._hist = hist
            if self.metric._needs_T:
                self._state = self._rebuild_state()
        rows = np.nonzero(live)[0]
        self._hist[rows, self._hlen[rows]] = toks[rows]
        self._hlen[rows] += 1
        out = np.zeros(B, np.float64)
        self.metric._append(self._state, toks, act, out)
        return self._t(out)

    def lookahead(self, vocab_size: int) -> torch.Tensor:
        """``[B, vocab_size]`` float64: exact increment of appending each id to each row."""
        V = check_vocab_size(vocab_size)
        out = np.empty((self.batch_size, V), np.float64)
        self.metric._lookahead(self._state, ColumnMap.identity(V), out, np.arange(self.batch_size, dtype=np.int64))
        return self._t(out)

    def _extend(self, toks: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """Append ``toks[i, :lens[i]]`` (int64, validated) to row i; ``[B]`` summed increments."""
        B = self.batch_size
        live = (lens > 0) & ~self.metric._done(self._state)
        if live.any():
            self._ensure_room(int(lens.max()))
            rows = np.nonzero(live)[0]
            for i in rows:
                n = int(lens[i])
                self._hist[i, self._hlen[i]: self._hlen[i] + n] = toks[i, :n]
            self._hlen[rows] += lens[rows]
        k = max(toks.shape[1], 1)
        inc = np.zeros((B, k), np.float64)
        self.metric._run(self._state, np.arange(B, dtype=np.int64), False, *_NO_REFS, np.ascontiguousarray(toks),
                         np.ascontiguousarray(lens, np.int64), self.metric._eos, True, inc,
                         np.zeros((0, self.metric._fin_cols)))
        return inc.sum(axis=1)

    def _ensure_room(self, extra: int) -> None:
        """Make the state hold ``extra`` more tokens per row (for probes)."""
        need = int(self._hlen.max(initial=0)) + int(extra)
        if need > self._hist.shape[1]:
            newT = self._hist.shape[1]
            while newT < need:
                newT *= 2
            hist = np.zeros((self.batch_size, newT), np.int64)
            hist[:, : self._hist.shape[1]] = self._hist
            self._hist = hist
            if self.metric._needs_T:
                self._state = self._rebuild_state()

    def _probe(self, rows: np.ndarray, seqs: np.ndarray, slens: np.ndarray) -> np.ndarray:
        """``[P]`` exact increments of appending ``seqs[p, :slens[p]]`` to row ``rows[p]``."""
        out = np.zeros(rows.shape[0], np.float64)
        if rows.shape[0]:
            self._ensure_room(int(slens.max()))
            self.metric._probe(self._state, np.ascontiguousarray(rows, np.int64), np.ascontiguousarray(seqs, np.int64),
                               np.ascontiguousarray(slens, np.int64), out)
        return out

    def reset_rows(self, idx: Any, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None) -> None:
        """Start new (empty) sequences in rows ``idx`` with new references.

        Args:
            idx: ``[n]`` distinct row indices (ints or a bool mask of length B).
            refs: ``[n, R', L']`` (or ``[n, L']``) references of those rows; R' and L' may
                differ from the scorer's (the state grows as needed).
            ref_lens, ref_mask: as in :meth:`Metric.terminal`, for these rows.
        """
        B = self.batch_size
        is_mask = (idx.dtype == torch.bool) if isinstance(idx, torch.Tensor) else (np.asarray(idx).dtype == np.bool_)
        if is_mask:
            rows = np.nonzero(as_bool_array(idx, "idx", (B,)))[0].astype(np.int64)
        else:
            rows, _ = as_int_array(idx, "idx", (1,))
        if rows.size and (rows.min() < 0 or rows.max() >= B):
            raise ValueError(f"idx must hold row indices in [0, {B}), got {rows.tolist()}")
        if np.unique(rows).size != rows.size:
            raise ValueError("idx must not repeat a row")
        m = self.metric
        r = prepare_refs(refs, ref_lens, ref_mask, rows.size, m.pad_id, m.eos_id)
        if rows.size == 0:
            return
        _, R, L = self._refs.shape
        R2, L2 = max(R, r.ids.shape[1]), max(L, r.ids.shape[2])
        grown = (R2, L2) != (R, L)
        if grown:
            refs_new = np.zeros((B, R2, L2), np.int64)
            refs_new[:, :R, :L] = self._refs
            rl_new = np.zeros((B, R2), np.int64)
            rl_new[:, :R] = self._rlens
            va_new = np.zeros((B, R2), np.bool_)
            va_new[:, :R] = self._valid
            self._refs, self._rlens, self._valid = refs_new, rl_new, va_new
        nr, nl = r.ids.shape[1], r.ids.shape[2]
        self._refs[rows] = 0
        self._refs[rows, :nr, :nl] = r.ids
        self._rlens[rows] = 0
        self._rlens[rows, :nr] = r.lens
        self._valid[rows] = False
        self._valid[rows, :nr] = r.valid
        self._hlen[rows] = 0
        if grown or m._refs_global:
            self._state = self._rebuild_state()
        else:
            m._build(self._state, rows, self._refs[rows], self._rlens[rows], self._valid[rows])
