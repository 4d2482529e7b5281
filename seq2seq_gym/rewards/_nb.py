"""Numba building blocks shared by the metric kernels.

Every metric keeps, per batch row, a small open-addressing hash table of n-grams.
An n-gram is identified by the pair ``(parent, token)``: ``parent`` is the entry
index of its (n-1)-gram prefix in the same table, or a negative "root" for
unigrams. Keys are therefore exact (no hashing of token content into a lossy
fingerprint), whatever the size of the token ids, and each entry index names one
distinct n-gram of the row.

Tables are stored row-wise in 2-D arrays so the same helpers serve a one-row
scratch table (batch kernels) and a ``[B, ...]`` table (prefix scorers):

- ``slots[b, cap]``: entry index or -1 (``cap`` is a power of two);
- ``epar[b, E]``, ``etok[b, E]``: the key of each entry; ``nent[b]``: entries used.

All kernels take contiguous int64 / float64 / uint64 / bool arrays only, so each
compiles to a single signature (cached on disk with ``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1 = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed 64-bit integer
_M2 = -4658895280553007687  # 0xBF58476D1CE4E5B9 as a signed 64-bit integer

U1 = np.uint64(1)
U0 = np.uint64(0)
UALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_C55 = np.uint64(0x5555555555555555)
_C33 = np.uint64(0x3333333333333333)
_C0F = np.uint64(0x0F0F0F0F0F0F0F0F)
_C01 = np.uint64(0x0101010101010101)


def next_pow2(x: int, minimum: int = 8) -> int:
    """Smallest power of two >= max(x, minimum)."""
    p = minimum
    while p < x:
        p *= 2
    return p


def table_capacity(entries: int) -> int:
    """Slot count for a table holding up to ``entries`` keys (load factor <= 1/2)."""
    return next_pow2(2 * max(entries, 1))


@njit(cache=True)
def slot_of(par, tok, mask):
    """Home slot of key (par, tok): high bits of two multiplicative hashes (tables hold
    fewer than 2**32 slots)."""
    return (((par * _M1) ^ (tok * _M2)) >> 32) & mask


@njit(cache=True, inline="always")
def tfind(slots, epar, etok, b, par, tok):
    """Entry index of key ``(par, tok)`` in row ``b``, or -1."""
    mask = slots.shape[1] - 1
    i = slot_of(par, tok, mask)
    while True:
        e = slots[b, i]
        if e < 0:
            return -1
        if epar[b, e] == par and etok[b, e] == tok:
            return e
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def tinsert(slots, epar, etok, nent, b, par, tok):
    """Entry index of key ``(par, tok)`` in row ``b``, created if absent.

    Returns ``(entry, is_new)``. The caller initialises the payload of new entries.
    """
    mask = slots.shape[1] - 1
    i = slot_of(par, tok, mask)
    while True:
        e = slots[b, i]
        if e < 0:
            e = nent[b]
            nent[b] = e + 1
            epar[b, e] = par
            etok[b, e] = tok
            slots[b, i] = e
            return e, True
        if epar[b, e] == par and etok[b, e] == tok:
            return e, False
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def popcount(x):
    x = x - ((x >> U1) & _C55)
    x = (x & _C33) + ((x >> np.uint64(2)) & _C33)
    x = (x + (x >> np.uint64(4))) & _C0F
    return (x * _C01) >> np.uint64(56)


@njit(cache=True, inline="always")
def fmeasure(p, r):
    """rouge-score's ``scoring.fmeasure``: harmonic mean, 0 when p + r == 0."""
    if p + r > 0:
        return 2 * p * r / (p + r)
    return 0.0


@njit(cache=True, inline="always")
def rouge_select(match, htot, rtot, valid, measure):
    """ROUGE of the reference with the highest F (first one on ties).

    This is rouge-score's ``score_multi`` rule (``np.argmax`` over the F-measures of
    the references, in order). ``match[r]``: hits against reference r; ``htot``:
    hypothesis count (n-grams or tokens); ``rtot[r]``: reference count. Precision is
    ``match / max(htot, 1)`` and recall ``match / max(rtot, 1)`` as in rouge-score.
    ``measure``: 0 = F, 1 = precision, 2 = recall. 0.0 when no reference is valid.
    """
    best_f = -1.0
    best_p = 0.0
    best_r = 0.0
    for r in range(match.shape[0]):
        if not valid[r]:
            continue
        m = match[r]
        p = m / max(htot, 1)
        rc = m / max(rtot[r], 1)
        f = fmeasure(p, rc)
        if f > best_f:
            best_f = f
            best_p = p
            best_r = rc
    if best_f < 0.0:
        return 0.0
    if measure == 1:
        return best_p
    if measure == 2:
        return best_r
    return best_f


@njit(cache=True)
def rouge_select3(match, htot, rtot, valid, out):
    """Like :func:`rouge_select` but writes (precision, recall, F) into ``out[0:3]``."""
    best_f = -1.0
    out[0] = 0.0
    out[1] = 0.0
    out[2] = 0.0
    for r in range(match.shape[0]):
        if not valid[r]:
            continue
        m = match[r]
        p = m / max(htot, 1)
        rc = m / max(rtot[r], 1)
        f = fmeasure(p, rc)
        if f > best_f:
            best_f = f
            out[0] = p
            out[1] = rc
            out[2] = f


@njit(cache=True, inline="always")
def put(row, iptr, iwords, v, val):
    """Write ``val`` into every output column of token ``v`` (lookahead column maps).

    A column map sends token id ``v < len(iptr) - 1`` to the columns
    ``iwords[iptr[v]:iptr[v + 1]]`` (the identity map for id-level lookahead, the
    vocabulary words that tokenize to ``v`` for word-level lookahead); other ids have
    no column.
    """
    if 0 <= v < iptr.shape[0] - 1:
        for j in range(iptr[v], iptr[v + 1]):
            row[iwords[j]] = val


@njit(cache=True, inline="always")
def has_column(iptr, v):
    """Whether token ``v`` has at least one output column."""
    return 0 <= v < iptr.shape[0] - 1 and iptr[v + 1] > iptr[v]
