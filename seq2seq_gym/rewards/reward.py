"""The reward of a task: a metric (or mixture) on word ids, equal to the reference library on the text.

A generator writes word ids of its vocabulary, plus pointer-generator copy ids
``V + k`` (the k-th out-of-vocabulary word of that example's source). Its *decoded
text* is those words, up to the first end-of-sequence id (not included), joined by
single spaces (special tokens such as ``<unk>`` are written as they are); references
are joined the same way. :class:`Reward` scores exactly that text as the reference
library does (rouge-score with the Porter stemmer, sacrebleu with its 13a tokenizer,
pycocoevalcap's CIDEr-D on its PTB tokens by default: see :attr:`Reward.conventions`),
while running the batched id-level kernels: each vocabulary word is mapped once to its
metric tokens (:mod:`seq2seq_gym.rewards.tokens`), one map per tokenizer of the
mixture, copy words when an episode starts.

Modes, for ``B`` sequences (Bahdanau et al. 2017, "An Actor-Critic Algorithm for
Sequence Prediction", for dense rewards and lookahead targets):

- :meth:`Reward.terminal` / :meth:`Reward.components`: the score of each sequence;
- :meth:`Reward.dense`: per-word increments that sum to it (0 on the end-of-sequence
  id and past it);
- :meth:`Reward.prefix_scorer`: running state of ``B`` sequences written word by word,
  with :meth:`RewardPrefixScorer.lookahead`, the exact increment of every next action
  (``[B, V + K]``) or of given candidate actions (``[B, k]``).

Every mode agrees with the others and with :meth:`Reward.score` on the decoded text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from seq2seq_gym.rewards._inputs import as_bool_array, as_int_array, check_token_id, first_index, to_tensor
from seq2seq_gym.rewards.base import Metric, PrefixScorer
from seq2seq_gym.rewards.cider import CiderD, DocumentFrequency
from seq2seq_gym.rewards.mixed import MixedReward, make_reward
from seq2seq_gym.rewards.text import check_hypotheses, pack, pack_refs
from seq2seq_gym.rewards.tokens import (
    FRESH,
    TokenMap,
    VocabTable,
    collect_probes,
    fill_columns,
    map_words,
    pack_words,
    plan_columns,
    token_kmax,
)

References = Sequence[Any]  # per example: a string, or a list of references (each a string or a list of words)


def _flatten(reward: Metric | MixedReward, weight: float = 1.0) -> list[tuple[Metric, float]]:
    if isinstance(reward, MixedReward):
        return [x for m, w in reward.components for x in _flatten(m, weight * w)]
    return [(reward, weight)]


def _as_text(ref: Any, where: str) -> str:
    if isinstance(ref, str):
        return ref
    if isinstance(ref, Sequence) and all(isinstance(w, str) for w in ref):
        return " ".join(ref)
    raise ValueError(f"{where} must be a string or a list of words, got {type(ref).__name__}")


def reference_texts(references: References, n: int | None = None) -> list[list[str]]:
    """Per example, its references as text (a list of words is joined by single spaces).

    ``references[b]`` is a string (one reference), or a list whose items are strings or
    word lists (several references; :attr:`Example.references` has this form).
    """
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise ValueError("references must be a list with, per example, its reference(s)")
    if n is not None and len(references) != n:
        raise ValueError(f"references has {len(references)} entries but there are {n} sequences")
    out = []
    for b, r in enumerate(references):
        if isinstance(r, str):
            out.append([r])
        elif isinstance(r, Sequence) and len(r) > 0:
            out.append([_as_text(x, f"references[{b}][{j}]") for j, x in enumerate(r)])
        else:
            raise ValueError(f"references[{b}] must be a string or a non-empty list of references")
    return out


class _Encoded:
    """References and copy words of ``B`` examples in one tokenizer's metric tokens."""

    __slots__ = ("ids", "ooffs", "otoks", "refs", "rlens", "valid")

    def __init__(self, tmap: TokenMap, refs_text: list[list[str]], oovs: Sequence[Sequence[str]]) -> None:
        self.ids = [[tmap.text(s) for s in r] for r in refs_text]
        self.refs, self.rlens, self.valid = pack_refs(self.ids)
        if any(oovs):
            self.ooffs, self.otoks = pack_words([[tmap.word(w) for w in o] for o in oovs])
        else:
            self.ooffs, self.otoks = np.zeros((len(oovs), 1), np.int64), np.zeros((len(oovs), 1), np.int64)

    def rsets(self) -> list[np.ndarray]:
        """Per example, its distinct reference tokens (for lookahead)."""
        return [np.unique(np.fromiter((t for s in r for t in s), np.int64)) for r in self.ids]


class EncodedReferences:
    """References and copy words of ``B`` sequences, encoded once for a :class:`Reward`.

    Pass it as ``references`` to :meth:`Reward.components`, :meth:`Reward.terminal` or
    :meth:`Reward.dense` to score several hypotheses per batch (a greedy baseline and
    samples) without re-encoding. Build with :meth:`Reward.encode`.
    """

    def __init__(self, reward: Reward, references: References, oovs: Any = None) -> None:
        texts = reference_texts(references)
        self.reward = reward
        self.oovs = _check_oovs(oovs, len(texts))
        self.enc = {t: _Encoded(tm, texts, self.oovs) for t, tm in reward.maps.items()}

    def __len__(self) -> int:
        return len(self.oovs)


def _check_oovs(oovs: Any, B: int) -> list[list[str]]:
    if oovs is None:
        return [[] for _ in range(B)]
    if isinstance(oovs, str) or not isinstance(oovs, Sequence) or len(oovs) != B:
        raise ValueError(f"oovs must be None or a list of {B} lists of copy words (one per sequence)")
    out = []
    for b, o in enumerate(oovs):
        if isinstance(o, str) or not isinstance(o, Sequence) or not all(isinstance(w, str) for w in o):
            raise ValueError(f"oovs[{b}] must be a list of words")
        out.append(list(o))
    return out


class Reward:
    """A task's reward on word ids, equal to the reference library on the decoded text.

    The one reward definition of the package: environments, the ``evaluate`` command
    and agents build it with :func:`seq2seq_gym.envs.build_reward` (which passes the
    task's vocabulary and end-of-sequence id). Metrics and their conventions: ROUGE as
    rouge-score (Lin 2004) with the Porter stemmer, BLEU as sacrebleu's
    ``sentence_bleu`` (Papineni et al. 2002) with the 13a tokenizer, CIDEr-D as
    pycocoevalcap (Vedantam et al. 2015) on PTB tokens; :attr:`conventions` states them.

    Args:
        spec: a metric name (``"rougeL"``), a mixture (``"rougeL:0.7,bleu:0.3"`` or a
            dict), or a :class:`~seq2seq_gym.rewards.base.Metric` /
            :class:`~seq2seq_gym.rewards.mixed.MixedReward` (its options, e.g.
            ``RougeL(use_stemmer=False)``, are kept).
        words: the vocabulary: ``words[i]`` is the text of id ``i`` (special tokens
            included, as they appear in the decoded text).
        eos_id: the end-of-sequence id: it ends the text and is never scored (None: no
            such id).
        pad_id: where the length of a sequence is not given, it ends at the first
            ``eos_id`` or ``pad_id``.
        cider_df: document frequencies of CIDEr-D components: ``"corpus"`` (the
            references being scored, as pycocoevalcap's ``Cider``) or a corpus to fit
            them on once (per document, its references: strings or word lists), e.g. the
            training references (the self-critical convention, Rennie et al. 2017).
    """

    def __init__(self, spec: str | Mapping[str, float] | Metric | MixedReward, words: Sequence[str], *,
                 eos_id: int | None = None, pad_id: int = 0, cider_df: str | Sequence[Any] = "corpus") -> None:
        if isinstance(words, str) or not isinstance(words, Sequence) or not words:
            raise ValueError("words must be a non-empty list of strings (the text of each vocabulary id)")
        for i, w in enumerate(words):
            if not isinstance(w, str):
                raise ValueError(f"words[{i}] must be a string, got {type(w).__name__}")
        self.words = list(words)
        self.vocab_size = len(self.words)
        self.eos_id = check_token_id(eos_id, "eos_id")
        self.pad_id = check_token_id(pad_id, "pad_id", allow_none=False)
        built = make_reward(spec)
        self.spec = built
        self.name = built.name
        comps = []
        for m, w in _flatten(built):
            m = copy.copy(m)
            m.eos_id = None  # the end of the text is handled here, on word ids
            m.__setstate__(m.__getstate__())  # a fresh scratch cache for the copy
            comps.append((m, w))
        self.maps: dict[str, TokenMap] = {}
        for m, _ in comps:
            t = m.text_tokenizer
            if t not in self.maps:
                self.maps[t] = TokenMap(t)
        #: ``(name, weight, metric, tokenizer)`` of each component
        self.components_: list[tuple[str, float, Metric, str]] = [(m.name, w, m, m.text_tokenizer) for m, w in comps]
        self._fit_cider(cider_df)
        self._tables = {t: tm.table(self.words) for t, tm in self.maps.items()}

    def _fit_cider(self, cider_df: Any) -> None:
        ciders = [m for _, _, m, _ in self.components_ if isinstance(m, CiderD)]
        if isinstance(cider_df, str):
            if cider_df != "corpus":
                raise ValueError(f"cider_df must be 'corpus' or a corpus of reference documents, got {cider_df!r}")
            for m in ciders:
                if isinstance(m.df, DocumentFrequency):
                    raise ValueError("a CiderD with a fitted df cannot be used by a Reward (its df is in another "
                                     "token space); pass the training references as cider_df= instead")
            return
        docs = reference_texts(cider_df)
        for m in ciders:
            tm = self.maps[m.text_tokenizer]
            m._set_df(DocumentFrequency.from_ids([[list(tm.text(s)) for s in d] for d in docs], n=m.n))

    # ------------------------------------------------------------------ description
    def __repr__(self) -> str:
        return f"Reward({self.name!r}, vocabulary of {self.vocab_size} words, eos_id={self.eos_id})"

    @property
    def names(self) -> list[str]:
        """The component names (the keys of :meth:`components`)."""
        return [n for n, *_ in self.components_]

    @property
    def conventions(self) -> dict[str, str]:
        """Per component, what is computed: the reference library call and its tokenization."""
        return {n: m.convention for n, _, m, _ in self.components_}

    def decode(self, hyps: Any, hyp_lens: Any = None, oovs: Any = None) -> list[str]:
        """The decoded text of each sequence (the words up to the first ``eos_id``, joined
        by single spaces). Arguments as :meth:`terminal`."""
        ids, lens, oov = self._hyps(hyps, hyp_lens, oovs)
        words = self.words
        V = self.vocab_size
        return [" ".join(words[i] if i < V else oov[b][i - V] for i in ids[b, : lens[b]].tolist())
                for b in range(ids.shape[0])]

    # ------------------------------------------------------------------ inputs
    def _hyps(self, hyps: Any, hyp_lens: Any, oovs: Any, name: str = "hyps"):
        h, _ = as_int_array(hyps, name, (2,))
        B, T = h.shape
        oov = _check_oovs(oovs, B)
        if hyp_lens is None:
            stop = np.full(B, T, np.int64)
            if self.eos_id is not None:
                stop = first_index(h, self.eos_id, stop)
            lens = np.minimum(stop, first_index(h, self.pad_id, np.full(B, T, np.int64))).astype(np.int64)
        else:
            lens, _ = as_int_array(hyp_lens, f"{name[:-1]}_lens" if name.endswith("s") else "lens", (1,))
            if lens.shape[0] != B:
                raise ValueError(f"hyp_lens has {lens.shape[0]} entries but {name} has {B} rows")
            if lens.size and (lens.min() < 0 or lens.max() > T):
                raise ValueError(f"hyp_lens must lie in [0, {T}] (the width of {name})")
            if self.eos_id is not None:
                lens = np.minimum(lens, first_index(h, self.eos_id, np.full(B, T, np.int64))).astype(np.int64)
        inside = np.arange(T)[None, :] < lens[:, None]
        limit = self.vocab_size + np.fromiter((len(o) for o in oov), np.int64, B)
        bad = inside & ((h < 0) | (h >= limit[:, None]))
        if bad.any():
            b, t = (int(x) for x in np.argwhere(bad)[0])
            raise ValueError(f"{name}[{b}, {t}] = {int(h[b, t])} names no word: ids are in [0, {self.vocab_size}) "
                             f"plus {len(oov[b])} copy id(s) of that sequence")
        return h, lens, oov

    def encode(self, references: References, oovs: Any = None) -> EncodedReferences:
        """References (per sequence) and copy words encoded once, for repeated scoring."""
        return EncodedReferences(self, references, oovs)

    def _prepare(self, hyps: Any, hyp_lens: Any, references: Any, oovs: Any):
        """(ids, lens, oovs, encoded references) of a scoring call."""
        if isinstance(references, EncodedReferences):
            if references.reward is not self:
                raise ValueError("references were encoded for another Reward")
            if oovs is not None and [list(o) for o in oovs] != references.oovs:
                raise ValueError("oovs differ from the copy words the references were encoded with")
            ids, lens, oov = self._hyps(hyps, hyp_lens, references.oovs)
            if ids.shape[0] != len(references):
                raise ValueError(f"hyps has {ids.shape[0]} rows but the references {len(references)}")
            return ids, lens, oov, references.enc
        ids, lens, oov = self._hyps(hyps, hyp_lens, oovs)
        texts = reference_texts(references, len(oov))
        return ids, lens, oov, {t: _Encoded(tm, texts, oov) for t, tm in self.maps.items()}

    def _metric_tokens(self, t: str, ids: np.ndarray, lens: np.ndarray, enc: _Encoded):
        tab = self._tables[t]
        return map_words(ids, lens, self.vocab_size, tab.offs, tab.toks, enc.ooffs, enc.otoks)

    # ------------------------------------------------------------------ batch scoring
    def components(self, hyps: Any, hyp_lens: Any, references: References, oovs: Any = None) -> dict[str, torch.Tensor]:
        """``{name: [B] float64}``: the score of each component (the metric's own scale).

        Args:
            hyps: ``[B, T]`` word ids (``V + k``: copy word k of that sequence).
            hyp_lens: ``[B]`` lengths, or None (up to the first ``eos_id`` / ``pad_id``);
                tokens from the first ``eos_id`` on are never scored.
            references: per sequence, its references (see :func:`reference_texts`), or an
                :class:`EncodedReferences` (:meth:`encode`).
            oovs: per sequence, its copy words (None: no copy ids, or those of the
                encoded references).
        """
        ids, lens, oov, enc = self._prepare(hyps, hyp_lens, references, oovs)
        device = hyps.device if isinstance(hyps, torch.Tensor) else None
        mapped = {t: self._metric_tokens(t, ids, lens, e) for t, e in enc.items()}
        out = {}
        for name, _, m, t in self.components_:
            mt, ml, _ = mapped[t]
            e = enc[t]
            scores, _, _ = m._batch(mt, ml, e.refs, e.rlens, e.valid, record=False)
            out[name] = to_tensor(scores, device)
        return out

    def terminal(self, hyps: Any, hyp_lens: Any, references: References, oovs: Any = None) -> torch.Tensor:
        """``[B]`` float64: the reward of each sequence (the weighted sum of :meth:`components`)."""
        comps = self.components(hyps, hyp_lens, references, oovs)
        return self.combine(comps)

    def combine(self, comps: dict[str, torch.Tensor]) -> torch.Tensor:
        """The reward from the per-component scores of :meth:`components` (their weighted sum)."""
        total = None
        for name, w, _, _ in self.components_:
            x = comps[name] * w
            total = x if total is None else total + x
        return total

    def dense(self, hyps: Any, hyp_lens: Any, references: References, oovs: Any = None) -> torch.Tensor:
        """``[B, T]`` float64 per-word increments of the reward; each row sums to :meth:`terminal`
        (0 on words without metric tokens, on ``eos_id`` and after). Arguments as :meth:`components`."""
        ids, lens, oov, enc = self._prepare(hyps, hyp_lens, references, oovs)
        device = hyps.device if isinstance(hyps, torch.Tensor) else None
        B, T = ids.shape
        out = np.zeros((B, T), np.float64)
        for _, w, m, t in self.components_:
            mt, ml, pos = self._metric_tokens(t, ids, lens, enc[t])
            e = enc[t]
            _, dense, _ = m._batch(mt, ml, e.refs, e.rlens, e.valid, record=True)
            inside = np.arange(mt.shape[1])[None, :] < ml[:, None]
            rows = np.broadcast_to(np.arange(B)[:, None], mt.shape)
            np.add.at(out, (rows[inside], pos[inside]), w * dense[inside])
        return to_tensor(out, device)

    def score(self, hypotheses: Sequence[str], references: References) -> torch.Tensor:
        """``[N]`` float64 reward of texts, tokenized as a whole by each reference library
        (what :meth:`terminal` equals on the decoded text)."""
        hyps = check_hypotheses(hypotheses)
        texts = reference_texts(references, len(hyps))
        total = np.zeros(len(hyps), np.float64)
        for _, w, m, t in self.components_:
            tm = self.maps[t]
            h_ids, h_lens = pack([tm.text(h) for h in hyps])
            r_ids, r_lens, valid = pack_refs([[tm.text(s) for s in r] for r in texts])
            scores, _, _ = m._batch(h_ids, h_lens, r_ids, r_lens, valid, record=False)
            total += w * scores
        return torch.from_numpy(total)

    # ------------------------------------------------------------------ prefixes
    def prefix_scorer(self, references: References, oovs: Any = None, *, copy_slots: int = 0) -> RewardPrefixScorer:
        """Running state of ``B = len(references)`` sequences against these references.

        Args:
            references: per sequence, its references.
            oovs: per sequence, its copy words (None: none).
            copy_slots: ``K``, the copy columns of the action space (``V + K`` actions);
                at least the longest ``oovs`` list.
        """
        return RewardPrefixScorer(self, references, oovs, copy_slots)

    def lookahead(self, prefix: Any, prefix_lens: Any, references: References, oovs: Any = None, *,
                  copy_slots: int = 0, candidates: Any = None, invalid: float = float("-inf")) -> torch.Tensor:
        """Exact increment of every next action after each prefix (see
        :meth:`RewardPrefixScorer.lookahead`); ``prefix`` / ``prefix_lens`` as ``hyps`` /
        ``hyp_lens`` of :meth:`components`."""
        ids, lens, oov = self._hyps(prefix, prefix_lens, oovs, name="prefix")
        sc = self.prefix_scorer(references, oov, copy_slots=max(copy_slots, max((len(o) for o in oov), default=0)))
        T = ids.shape[1]
        for t in range(T):
            act = lens > t
            if not act.any():
                break
            sc.append(ids[:, t], act)
        if self.eos_id is not None:  # a prefix that contains eos_id is finished
            width = np.full(ids.shape[0], T, np.int64)
            if prefix_lens is not None:
                width, _ = as_int_array(prefix_lens, "prefix_lens", (1,))
            sc._done |= first_index(ids, self.eos_id, np.full(ids.shape[0], T, np.int64)) < width
        out = sc.lookahead(candidates, invalid=invalid)
        if isinstance(prefix, torch.Tensor) and prefix.device.type != "cpu":
            out = out.to(prefix.device)
        return out


class RewardPrefixScorer:
    """Running reward of ``B`` sequences written word by word (what an environment keeps).

    :meth:`append` costs one step of each metric (the words' metric tokens appended to
    the kernels' state); :meth:`lookahead` gives exact one-step increments; rows restart
    independently (:meth:`reset_rows`). Every method checks its input before changing
    anything.

    Args:
        reward: the :class:`Reward`.
        references: per row, its references.
        oovs: per row, its copy words.
        copy_slots: ``K``, the copy columns of the action space.
    """

    def __init__(self, reward: Reward, references: References, oovs: Any, copy_slots: int = 0) -> None:
        self.reward = reward
        texts = reference_texts(references)
        B = len(texts)
        if B == 0:
            raise ValueError("references must hold at least one sequence's references")
        oov = _check_oovs(oovs, B)
        if isinstance(copy_slots, bool) or not isinstance(copy_slots, (int, np.integer)) or copy_slots < 0:
            raise ValueError(f"copy_slots must be a non-negative integer, got {copy_slots!r}")
        longest = max((len(o) for o in oov), default=0)
        if longest > copy_slots and copy_slots:
            raise ValueError(f"a row has {longest} copy words but copy_slots is {copy_slots}")
        self.copy_slots = int(max(copy_slots, 0))
        self._n_oovs = np.fromiter((len(o) for o in oov), np.int64, B)
        self._done = np.zeros(B, np.bool_)
        self._len = np.zeros(B, np.int64)
        self._enc: dict[str, dict[str, Any]] = {}
        self._scorers: list[PrefixScorer] = []
        enc = {t: _Encoded(tm, texts, oov) for t, tm in reward.maps.items()}
        for t, e in enc.items():
            self._enc[t] = {"ooffs": e.ooffs, "otoks": e.otoks, "rsets": e.rsets()}
        for _, _, m, t in reward.components_:
            e = enc[t]
            self._scorers.append(m.prefix_scorer(e.refs, e.rlens, ref_mask=e.valid))

    @property
    def batch_size(self) -> int:
        return int(self._done.shape[0])

    @property
    def num_actions(self) -> int:
        """``V + K``: the width of a dense :meth:`lookahead`."""
        return self.reward.vocab_size + self.copy_slots

    @property
    def finished(self) -> np.ndarray:
        """``[B]`` bool: rows that appended ``eos_id``."""
        return self._done.copy()

    @property
    def lengths(self) -> np.ndarray:
        """``[B]`` int64: words appended to each row since its reset (``eos_id`` excluded)."""
        return self._len.copy()

    def component_scores(self) -> dict[str, np.ndarray]:
        """``{name: [B] float64}``: each component's score of the current prefixes."""
        return {n: sc.scores.cpu().numpy() for (n, *_), sc in zip(self.reward.components_, self._scorers)}

    @property
    def scores(self) -> np.ndarray:
        """``[B]`` float64: the reward of each current prefix."""
        total = np.zeros(self.batch_size, np.float64)
        for (_, w, _, _), sc in zip(self.reward.components_, self._scorers):
            total += w * sc.scores.cpu().numpy()
        return total

    # ------------------------------------------------------------------ append
    def _check_tokens(self, tokens: Any, active: Any) -> tuple[np.ndarray, np.ndarray]:
        B = self.batch_size
        toks, _ = as_int_array(tokens, "tokens", (1,))
        if toks.shape[0] != B:
            raise ValueError(f"tokens has {toks.shape[0]} entries but the scorer has {B} rows")
        act = np.ones(B, np.bool_) if active is None else as_bool_array(active, "active", (B,))
        limit = self.reward.vocab_size + self._n_oovs
        bad = act & ((toks < 0) | (toks >= limit))
        if bad.any():
            b = int(np.flatnonzero(bad)[0])
            raise ValueError(f"tokens[{b}] = {int(toks[b])} names no word of row {b} (ids in [0, "
                             f"{self.reward.vocab_size}) plus its {int(self._n_oovs[b])} copy id(s))")
        return toks, act

    def append(self, tokens: Any, active: Any = None) -> np.ndarray:
        """Append one word to each active row; returns the ``[B]`` float64 increments.

        Args:
            tokens: ``[B]`` word ids (entries of inactive rows are ignored); ``eos_id``
                ends the row (increment 0, later appends are ignored).
            active: optional ``[B]`` bool.
        """
        toks, act = self._check_tokens(tokens, active)
        r = self.reward
        live = act & ~self._done
        if r.eos_id is not None:
            eos = live & (toks == r.eos_id)
            self._done |= eos
            live &= ~eos
        B = self.batch_size
        lens = live.astype(np.int64)
        ids = np.where(live, toks, 0)[:, None]
        mapped = {}
        for t in r.maps:
            e = self._enc[t]
            tab = r._tables[t]
            mapped[t] = map_words(ids, lens, r.vocab_size, tab.offs, tab.toks, e["ooffs"], e["otoks"])
        out = np.zeros(B, np.float64)
        for (_, w, _, t), sc in zip(r.components_, self._scorers):
            mt, ml, _ = mapped[t]
            out += w * sc._extend(mt, ml)
        self._len += lens
        return out

    # ------------------------------------------------------------------ lookahead
    def lookahead(self, candidates: Any = None, *, invalid: float = float("-inf"),
                  rows_per_chunk: int = 32) -> torch.Tensor:
        """Exact increment ``score(prefix + a) - score(prefix)`` of next actions.

        Args:
            candidates: None for every action (``[B, V + K]``), or ``[B, k]`` action ids
                (``[B, k]``: the 50,000-word case needs no dense ``[B, V]`` array; rows are
                processed ``rows_per_chunk`` at a time).
            invalid: the value of a copy action with no word behind it (its row has fewer
                copy words), which an environment rejects.
            rows_per_chunk: rows whose dense kernel output is held at once (candidates).

        ``eos_id`` gets 0 (ending adds nothing; the reward of the text is already
        counted), a finished row gets 0 everywhere; copy actions get the increment of
        their word. Returns float64 (CPU).
        """
        r = self.reward
        B, V = self.batch_size, r.vocab_size
        if candidates is None:
            W = self.num_actions
            out = np.zeros((B, W), np.float64)
            rows = np.arange(B, dtype=np.int64)
            self._dense(rows, out)
        else:
            cand, _ = as_int_array(candidates, "candidates", (2,))
            if cand.shape[0] != B:
                raise ValueError(f"candidates has {cand.shape[0]} rows but the scorer has {B}")
            if cand.size and (cand.min() < 0 or cand.max() >= self.num_actions):
                raise ValueError(f"candidates must hold action ids in [0, {self.num_actions})")
            out = np.zeros(cand.shape, np.float64)
            step = max(int(rows_per_chunk), 1)
            for a in range(0, B, step):
                rows = np.arange(a, min(B, a + step), dtype=np.int64)
                out[rows] = self._candidates(rows, cand[rows])
        if candidates is None:
            if r.eos_id is not None and r.eos_id < out.shape[1]:
                out[:, r.eos_id] = 0.0
            out[self._done] = 0.0
            if self.copy_slots:
                out[:, V:][np.arange(self.copy_slots)[None, :] >= self._n_oovs[:, None]] = invalid
        else:
            if r.eos_id is not None:
                out[cand == r.eos_id] = 0.0
            out[self._done] = 0.0
            out[(cand >= V) & (cand - V >= self._n_oovs[:, None])] = invalid
        return torch.from_numpy(out)

    def _rsets(self, t: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sets = [self._enc[t]["rsets"][b] for b in rows]
        ptr = np.zeros(len(sets) + 1, np.int64)
        np.cumsum([len(s) for s in sets], out=ptr[1:])
        return ptr, (np.concatenate(sets) if sets else np.zeros(0, np.int64)).astype(np.int64)

    def _component_values(self, k: int, rows: np.ndarray, cols: np.ndarray, kernel: np.ndarray | None) -> np.ndarray:
        """Values of component k at word columns ``cols [n, c]`` (or ``[1, c]`` for every row) of
        ``rows``; ``kernel [n, V]`` holds the kernel's single-token values (None: computed here)."""
        r = self.reward
        _, _, m, t = r.components_[k]
        sc = self._scorers[k]
        tab: VocabTable = r._tables[t]
        e = self._enc[t]
        V = r.vocab_size
        rptr, rtok = self._rsets(t, rows)
        cols = np.ascontiguousarray(cols, np.int64)
        kmax = token_kmax(tab.offs, e["ooffs"])
        kind, glen = plan_columns(rows, cols, V, tab.offs, tab.toks, e["ooffs"], e["otoks"], self._n_oovs, rptr, rtok,
                                  len(r.maps[t]), kmax)
        n = rows.shape[0]
        vals = np.empty((n, cols.shape[1]), np.float64)
        sc._ensure_room(kmax)
        # the metric turns probes it can show to be "fresh" into kind 2, or computes kind 2 itself (kind 5)
        m._refine_lookahead(sc._state, rows, cols, V, tab.offs, tab.toks, e["ooffs"], e["otoks"], kind, kmax, vals)
        if kernel is None:
            if (kind == 1).any():
                kernel = np.empty((n, V), np.float64)
                m._lookahead(sc._state, tab.cmap, kernel, rows)
            else:
                kernel = np.zeros((n, 1), np.float64)
        Ls = np.nonzero(np.bincount(glen[kind == 2], minlength=1))[0]  # token counts of fresh-token values
        prow, seqs, slens, pidx = collect_probes(kind, cols, rows, V, tab.offs, tab.toks, e["ooffs"], e["otoks"], kmax,
                                                 rptr, rtok, len(r.maps[t]), not isinstance(m, CiderD))
        P = prow.shape[0]
        width = max(seqs.shape[1], int(Ls.max(initial=1)))
        all_rows = np.concatenate([prow, np.repeat(rows, Ls.size)]).astype(np.int64)
        all_seqs = np.empty((all_rows.shape[0], width), np.int64)
        all_seqs[:P, : seqs.shape[1]] = seqs
        all_seqs[P:] = FRESH
        all_lens = np.concatenate([slens, np.tile(Ls, n)]).astype(np.int64)
        probed = sc._probe(all_rows, all_seqs, all_lens)
        G = np.zeros((n, int(Ls.max(initial=0)) + 1), np.float64)  # [n, L]: the value of L fresh tokens
        if Ls.size:
            G[:, Ls] = probed[P:].reshape(n, Ls.size)
        fill_columns(kind, glen, cols, kernel, G, pidx, probed[:P].copy(), vals)
        return vals

    def _dense(self, rows: np.ndarray, out: np.ndarray) -> None:
        r = self.reward
        V, K = r.vocab_size, self.copy_slots
        n = rows.shape[0]
        copies = V + np.arange(K, dtype=np.int64)
        for k, (_, w, m, t) in enumerate(r.components_):
            tab: VocabTable = r._tables[t]
            kernel = np.empty((n, V), np.float64)
            m._lookahead(self._scorers[k]._state, tab.cmap, kernel, rows)
            special = np.concatenate([tab.zero, tab.multi, copies])
            if special.size:
                vals = self._component_values(k, rows, special[None, :], kernel)
                nv = tab.zero.size + tab.multi.size
                kernel[:, special[:nv]] = vals[:, :nv]
                out[:, V:] += w * vals[:, nv:]
            if w != 1.0:
                kernel *= w
            out[:, :V] += kernel

    def _candidates(self, rows: np.ndarray, cand: np.ndarray) -> np.ndarray:
        out = np.zeros(cand.shape, np.float64)
        for k, (_, w, _, _) in enumerate(self.reward.components_):
            out += w * self._component_values(k, rows, cand, None)
        return out

    # ------------------------------------------------------------------ reset
    def reset_rows(self, idx: Any, references: References, oovs: Any = None) -> None:
        """Start new (empty) sequences in rows ``idx`` (ints) with new references and copy words."""
        B = self.batch_size
        rows, _ = as_int_array(idx, "idx", (1,))
        if rows.size and (rows.min() < 0 or rows.max() >= B):
            raise ValueError(f"idx must hold row indices in [0, {B}), got {rows.tolist()}")
        if np.unique(rows).size != rows.size:
            raise ValueError("idx must not repeat a row")
        texts = reference_texts(references, rows.size)
        oov = _check_oovs(oovs, rows.size)
        longest = max((len(o) for o in oov), default=0)
        if self.copy_slots and longest > self.copy_slots:
            raise ValueError(f"a row has {longest} copy words but copy_slots is {self.copy_slots}")
        if rows.size == 0:
            return
        r = self.reward
        enc = {t: _Encoded(tm, texts, oov) for t, tm in r.maps.items()}
        for (_, _, _, t), sc in zip(r.components_, self._scorers):
            e = enc[t]
            sc.reset_rows(rows, e.refs, e.rlens, ref_mask=e.valid)
        for t, e in enc.items():
            st = self._enc[t]
            K1 = max(st["ooffs"].shape[1], e.ooffs.shape[1])
            L1 = max(st["otoks"].shape[1], e.otoks.shape[1])
            oo = np.zeros((B, K1), np.int64)
            oo[:, : st["ooffs"].shape[1]] = st["ooffs"]
            oo[:, st["ooffs"].shape[1]:] = st["ooffs"][:, -1:]
            ot = np.zeros((B, L1), np.int64)
            ot[:, : st["otoks"].shape[1]] = st["otoks"]
            oo[rows] = 0
            oo[rows, : e.ooffs.shape[1]] = e.ooffs
            oo[rows, e.ooffs.shape[1]:] = e.ooffs[:, -1:]
            ot[rows] = 0
            ot[rows, : e.otoks.shape[1]] = e.otoks
            st["ooffs"], st["otoks"] = oo, ot
            for j, rs in zip(rows, e.rsets()):
                st["rsets"][j] = rs
        self._n_oovs[rows] = [len(o) for o in oov]
        self._done[rows] = False
        self._len[rows] = 0
