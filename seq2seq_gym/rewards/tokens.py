"""Words to metric tokens: each vocabulary word mapped once to the reference tokenizer's tokens.

A metric scores the tokens its reference library extracts from the text (rouge-score's
lowercased, stemmed alphanumeric runs; sacrebleu's 13a tokens; pycocoevalcap's PTB
tokens). A generator writes *words* (vocabulary ids, plus copied source words). Every
tokenizer of :data:`~seq2seq_gym.rewards.text.TEXT_TOKENIZERS` is compositional over
whitespace, so the tokens of the decoded text ``" ".join(words)`` are the
concatenation of the tokens of each word: a :class:`TokenMap` interns metric-token
strings as integer ids and maps each vocabulary word once (:meth:`TokenMap.table`) to
zero, one or several of them (dropped punctuation, lowercased, stemmed, split
contractions). Hypotheses are then mapped by an array gather (:func:`map_words`) and
scored by the id-level kernels. References are tokenized as text (the reference
library's own way), so they need no compositionality at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, types
from numba.typed import Dict

from seq2seq_gym.rewards._nb import tfind
from seq2seq_gym.rewards.base import ColumnMap
from seq2seq_gym.rewards.text import TEXT_TOKENIZERS

#: a metric token id that no text produces (interned ids are small): probes append it
#: for "a word none of whose tokens is in the references"
FRESH = 1 << 62


class VocabTable:
    """The metric tokens of every word of a vocabulary, under one tokenizer.

    Attributes:
        offs: ``[V + 1]`` int64, word ``w`` has tokens ``toks[offs[w]:offs[w + 1]]``.
        toks: int64 metric-token ids.
        ntok: ``[V]`` int64 number of tokens of each word.
        cmap: :class:`~seq2seq_gym.rewards.base.ColumnMap` of the single-token words
            (metric token -> the words that tokenize to exactly it).
        zero: word ids with no token (pure punctuation under rouge-score, ...).
        multi: word ids with two tokens or more.
        minv_ptr, minv_words: metric token -> the multi-token words containing it (CSR).
        kmax: the largest number of tokens of a word (at least 1).
    """

    def __init__(self, seqs: list[tuple[int, ...]], num_tokens: int) -> None:
        V = len(seqs)
        ntok = np.fromiter((len(s) for s in seqs), np.int64, V)
        offs = np.zeros(V + 1, np.int64)
        np.cumsum(ntok, out=offs[1:])
        toks = np.fromiter((t for s in seqs for t in s), np.int64, int(offs[-1]))
        self.offs, self.toks, self.ntok = offs, toks, ntok
        self.zero = np.nonzero(ntok == 0)[0].astype(np.int64)
        self.multi = np.nonzero(ntok >= 2)[0].astype(np.int64)
        self.kmax = max(int(ntok.max(initial=1)), 1)
        M = int(num_tokens)
        single = np.full(V, -1, np.int64)
        one = np.nonzero(ntok == 1)[0]
        single[one] = toks[offs[one]]
        self.cmap = ColumnMap(*_csr(single[one], one, M), single)
        mt, mw = [], []
        for w in self.multi:
            for t in set(toks[offs[w]: offs[w + 1]].tolist()):
                mt.append(t)
                mw.append(w)
        self.minv_ptr, self.minv_words = _csr(np.asarray(mt, np.int64), np.asarray(mw, np.int64), M)

    @property
    def size(self) -> int:
        return int(self.ntok.shape[0])


def _csr(keys: np.ndarray, values: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray]:
    """``ptr [M + 1]`` and ``vals`` grouping ``values`` by ``keys`` (each key < M)."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(M + 1, np.int64)
    np.add.at(ptr, keys + 1, 1)
    np.cumsum(ptr, out=ptr)
    return ptr, np.ascontiguousarray(values[order], np.int64)


class TokenMap:
    """Interned metric tokens of one text tokenizer, and the word -> tokens maps built on them.

    Args:
        tokenizer: a name of :data:`~seq2seq_gym.rewards.text.TEXT_TOKENIZERS`
            (``"rouge-stem"``, ``"13a"``, ``"ptb"``, ...).

    Ids start at 1 and grow as new token strings are seen (references, copied words);
    a table built for a vocabulary stays valid (tokens interned later are produced by no
    vocabulary word).
    """

    def __init__(self, tokenizer: str) -> None:
        if tokenizer not in TEXT_TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {sorted(TEXT_TOKENIZERS)}, got {tokenizer!r}")
        self.tokenizer = tokenizer
        self._fn = TEXT_TOKENIZERS[tokenizer]
        self._ids: dict[str, int] = {}
        self._words: dict[str, tuple[int, ...]] = {}
        self._texts: dict[str, tuple[int, ...]] = {}  # memo of text(): references recur across epochs
        self._tables: dict[int, tuple[tuple[str, ...], VocabTable]] = {}

    def __len__(self) -> int:
        """One more than the largest id handed out (ids are ``1 .. len - 1``)."""
        return len(self._ids) + 1

    def __repr__(self) -> str:
        return f"TokenMap({self.tokenizer!r}, {len(self._ids)} tokens)"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_fn")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._fn = TEXT_TOKENIZERS[self.tokenizer]

    def intern(self, tokens: Sequence[str]) -> tuple[int, ...]:
        """Ids of token strings (new strings get new ids)."""
        ids = self._ids
        out = []
        for t in tokens:
            i = ids.get(t)
            if i is None:
                i = ids[t] = len(ids) + 1
            out.append(i)
        return tuple(out)

    def text(self, text: str) -> tuple[int, ...]:
        """Metric-token ids of a text (tokenized as a whole, as the reference library does; memoised)."""
        hit = self._texts.get(text)
        if hit is None:
            if len(self._texts) >= 1 << 17:
                self._texts.clear()
            hit = self._texts[text] = self.intern(self._fn(text))
        return hit

    def word(self, word: str) -> tuple[int, ...]:
        """Metric-token ids of one word (memoised)."""
        hit = self._words.get(word)
        if hit is None:
            hit = self._words[word] = self.intern(self._fn(word))
        return hit

    def table(self, words: Sequence[str]) -> VocabTable:
        """The :class:`VocabTable` of a vocabulary (word of each id), built once per vocabulary."""
        key = tuple(words)
        h = hash(key)
        hit = self._tables.get(h)
        if hit is not None and hit[0] == key:
            return hit[1]
        seqs = [self.word(w) for w in key]
        tab = VocabTable(seqs, len(self))
        if len(self._tables) >= 4:
            self._tables.clear()
        self._tables[h] = (key, tab)
        return tab


def pack_words(seqs_per_row: Sequence[Sequence[tuple[int, ...]]]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the token sequences of its copy words: ``offs [B, K + 1]`` and ``toks [B, L]``."""
    B = len(seqs_per_row)
    K = max((len(r) for r in seqs_per_row), default=0)
    L = max((sum(len(s) for s in r) for r in seqs_per_row), default=0)
    offs = np.zeros((B, K + 1), np.int64)
    toks = np.zeros((B, max(L, 1)), np.int64)
    for b, row in enumerate(seqs_per_row):
        o = 0
        for k, s in enumerate(row):
            toks[b, o: o + len(s)] = s
            o += len(s)
            offs[b, k + 1] = o
        offs[b, len(row) + 1:] = o
    return offs, toks


@njit(cache=True)
def map_words(hyps, hlens, V, offs, toks, ooffs, otoks):
    """Metric tokens of word sequences.

    ``hyps [B, T]`` word ids (``id >= V``: copy word ``id - V`` of the row, from
    ``ooffs [B, K + 1]`` / ``otoks``), ``hlens [B]``. Returns ``mt [B, T2]`` tokens,
    ``mlen [B]`` their counts and ``pos [B, T2]`` the word position of each token.
    """
    B = hyps.shape[0]
    K = ooffs.shape[1] - 1
    mlen = np.zeros(B, np.int64)
    for b in range(B):
        c = 0
        for t in range(hlens[b]):
            w = hyps[b, t]
            if w < V:
                c += offs[w + 1] - offs[w]
            else:
                k = w - V
                if k < K:
                    c += ooffs[b, k + 1] - ooffs[b, k]
        mlen[b] = c
    T2 = max(1, mlen.max()) if B else 1
    mt = np.zeros((B, T2), np.int64)
    pos = np.zeros((B, T2), np.int64)
    for b in range(B):
        c = 0
        for t in range(hlens[b]):
            w = hyps[b, t]
            if w < V:
                for j in range(offs[w], offs[w + 1]):
                    mt[b, c] = toks[j]
                    pos[b, c] = t
                    c += 1
            else:
                k = w - V
                if k < K:
                    for j in range(ooffs[b, k], ooffs[b, k + 1]):
                        mt[b, c] = otoks[b, j]
                        pos[b, c] = t
                        c += 1
    return mt, mlen, pos


@njit(cache=True)
def _word_tokens(w, b, V, offs, toks, ooffs, otoks, buf):
    """Tokens of word ``w`` of row ``b`` into ``buf``; returns their count (-1: empty copy slot)."""
    L = 0
    if w < V:
        for q in range(offs[w], offs[w + 1]):
            buf[L] = toks[q]
            L += 1
        return L
    c = w - V
    if c >= ooffs.shape[1] - 1:
        return -1
    for q in range(ooffs[b, c], ooffs[b, c + 1]):
        buf[L] = otoks[b, q]
        L += 1
    return L


@njit(cache=True)
def token_kmax(offs, ooffs):
    """The largest token count of a vocabulary word or copy word."""
    kmax = 1
    for w in range(offs.shape[0] - 1):
        kmax = max(kmax, offs[w + 1] - offs[w])
    for b in range(ooffs.shape[0]):
        for q in range(ooffs.shape[1] - 1):
            kmax = max(kmax, ooffs[b, q + 1] - ooffs[b, q])
    return kmax


@njit(cache=True)
def plan_columns(rows, cols, V, offs, toks, ooffs, otoks, nvalid, rptr, rtok, M, kmax):
    """How to get the lookahead value of each (row, word) pair ``cols[i, j]`` (row ``rows[i]``;
    a ``cols`` of one row is shared by every row).

    Returns ``kind [n, k]`` int8 (0: the value is 0 (no word, or a word without tokens);
    1: a one-token vocabulary word, read from the kernel's columns; 2: a word none of
    whose tokens is in the row's references, worth the same as any such word of its
    token count ``glen[i, j]``; 3: to probe exactly (a metric may first show it is a kind
    2); 4: a copy slot with no word) and ``glen [n, k]`` (token counts).
    ``rtok[rptr[i]:rptr[i + 1]]`` are the distinct reference tokens of row ``rows[i]``.
    """
    n = rows.shape[0]
    k = cols.shape[1]
    shared = cols.shape[0] == 1
    kind = np.zeros((n, k), np.int8)
    glen = np.zeros((n, k), np.int32)
    stamp = np.full(max(M, 1), -1, np.int64)
    buf = np.zeros(kmax, np.int64)
    for i in range(n):
        b = rows[i]
        for q in range(rptr[i], rptr[i + 1]):
            v = rtok[q]
            if v < M:
                stamp[v] = i
        for j in range(k):
            w = cols[0, j] if shared else cols[i, j]
            if w < 0:
                continue
            if w >= V and w - V >= nvalid[b]:
                kind[i, j] = 4
                continue
            L = _word_tokens(w, b, V, offs, toks, ooffs, otoks, buf)
            if L < 0:
                kind[i, j] = 4
                continue
            if L == 0:
                continue
            if L == 1 and w < V:
                kind[i, j] = 1
                continue
            glen[i, j] = L
            kind[i, j] = 2
            for q in range(L):
                v = buf[q]
                if v < M and stamp[v] == i:
                    kind[i, j] = 3
                    break
    return kind, glen


@njit(cache=True)
def ngram_refine(slots, epar, etok, sid, avail, rows, cols, V, offs, toks, ooffs, otoks, N, lo, kind, kmax):
    """Turn probes (kind 3) into kind 2 where no new n-gram of order ``lo..N`` is a reference
    n-gram with clip count left (``avail[b, e]``): then no match count changes (ROUGE-N,
    BLEU). The new n-grams follow the prefix's contexts ``sid[b]`` as the run kernels do."""
    n, k = kind.shape
    shared = cols.shape[0] == 1
    buf = np.zeros(kmax, np.int64)
    s = np.zeros(N + 1, np.int64)
    for i in range(n):
        b = rows[i]
        for j in range(k):
            if kind[i, j] != 3:
                continue
            w = cols[0, j] if shared else cols[i, j]
            L = _word_tokens(w, b, V, offs, toks, ooffs, otoks, buf)
            for m in range(N + 1):
                s[m] = sid[b, m]
            rel = False
            for p in range(L):
                for m in range(N, 0, -1):
                    par = -1 if m == 1 else s[m - 1]
                    if m > 1 and par < 0:
                        s[m] = -1
                        continue
                    e = tfind(slots, epar, etok, b, par, buf[p])
                    s[m] = e
                    if e >= 0 and m >= lo and avail[b, e]:
                        rel = True
                if rel:
                    break
            if not rel:
                kind[i, j] = 2


@njit(cache=True)
def collect_probes(kind, cols, rows, V, offs, toks, ooffs, otoks, kmax, rptr, rtok, M, mask_fresh):
    """The probes of a plan (kind 3), one per distinct token sequence of a row.

    With ``mask_fresh`` (ROUGE, BLEU: a token outside the row's references never takes
    part in a match, so only the count of such tokens matters) tokens that are not in
    the row's references (``rtok[rptr[i]:rptr[i + 1]]``) are replaced by ``FRESH`` first,
    so that the many words which differ only there share one probe. Returns ``prow [P]``
    (state rows), ``seqs [P, kmax]``, ``slens [P]`` and ``pidx [n, k]`` (the probe of
    each kind-3 entry).
    """
    n, k = kind.shape
    shared = cols.shape[0] == 1
    cap = 64
    prow = np.empty(cap, np.int64)
    seqs = np.zeros((cap, kmax), np.int64)
    slens = np.empty(cap, np.int64)
    pidx = np.full((n, k), -1, np.int32)
    buf = np.zeros(kmax, np.int64)
    stamp = np.full(max(M, 1), -1, np.int64)
    P = 0
    for i in range(n):
        b = rows[i]
        if mask_fresh:
            for q in range(rptr[i], rptr[i + 1]):
                v = rtok[q]
                if v < M:
                    stamp[v] = i
        seen = Dict.empty(key_type=types.int64, value_type=types.int64)
        for j in range(k):
            if kind[i, j] != 3:
                continue
            w = cols[0, j] if shared else cols[i, j]
            L = _word_tokens(w, b, V, offs, toks, ooffs, otoks, buf)
            h = np.int64(L)
            for q in range(L):
                if mask_fresh and not (buf[q] < M and stamp[buf[q]] == i):
                    buf[q] = FRESH
                h = h * np.int64(1000003) + buf[q]
            got = np.int64(-1)
            if h in seen:
                got = seen[h]
            if got >= 0 and slens[got] == L:
                same = True
                for q in range(L):
                    if seqs[got, q] != buf[q]:
                        same = False
                        break
                if same:
                    pidx[i, j] = got
                    continue
            if cap == P:
                cap *= 2
                prow2 = np.empty(cap, np.int64)
                seqs2 = np.zeros((cap, kmax), np.int64)
                slens2 = np.empty(cap, np.int64)
                prow2[:P] = prow[:P]
                seqs2[:P] = seqs[:P]
                slens2[:P] = slens[:P]
                prow, seqs, slens = prow2, seqs2, slens2
            prow[P] = b
            seqs[P, :L] = buf[:L]
            slens[P] = L
            seen[h] = P
            pidx[i, j] = P
            P += 1
    return prow[:P].copy(), seqs[:P].copy(), slens[:P].copy(), pidx


@njit(cache=True)
def fill_columns(kind, glen, cols, kernel, G, pidx, probed, out):
    """``out[i, j]`` from a :func:`plan_columns` plan: the kernel's column (kind 1), the shared
    value of ``glen`` fresh tokens ``G[i, glen]`` (kind 2), its probe ``probed[pidx[i, j]]``
    (kind 3), left as it is (kind 5), else 0."""
    n, k = kind.shape
    shared = cols.shape[0] == 1
    for i in range(n):
        for j in range(k):
            c = kind[i, j]
            if c == 1:
                out[i, j] = kernel[i, cols[0, j] if shared else cols[i, j]]
            elif c == 2:
                out[i, j] = G[i, glen[i, j]]
            elif c == 3:
                out[i, j] = probed[pidx[i, j]]
            elif c != 5:  # 5: already written by the caller
                out[i, j] = 0.0
