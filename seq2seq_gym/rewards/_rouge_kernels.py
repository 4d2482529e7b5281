"""Numba kernels for ROUGE-N, ROUGE-L and ROUGE-Lsum on token ids.

Each incremental metric keeps a per-row *state* (a tuple of arrays, first axis = row)
and has two kernels:

- ``*_run(st, rows, build, refs, rl, valid_in, toks, lens, ..., record, out, fin)``:
  for each item i, optionally (``build``) load references ``refs[i]`` into state row
  ``rows[i]`` and clear its hypothesis, then append ``toks[i, :lens[i]]`` (EOS-aware),
  writing per-token increments to ``out[i, t]`` if ``record`` and the final
  (precision, recall, F) to ``fin[i]`` if ``fin`` has rows. Batch scoring maps every
  item to one scratch row (``rows = 0``); prefix scorers use one row per sequence.
- ``*_lookahead(st, rows, iptr, iwords, ..., out)``: for state row ``rows[i]``, the
  increment of every next id, written to its output columns of ``out[i]`` (``_nb.put``);
- ``*_probe(st, rows, seqs, slens, ..., out)``: the increment of appending a short
  token sequence to a row (appended, then the row is restored).

The per-token code is written inline in the run kernels: calling a numba function
with many array arguments (or unpacking the state tuple) per token costs more than
the token's work (reference counting), so helpers called per token take few arrays.

Conventions: ``measure`` 0 = F, 1 = precision, 2 = recall; ``eos`` < 0 means none.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

from seq2seq_gym.rewards._nb import (
    U0,
    U1,
    UALL,
    fmeasure,
    has_column,
    popcount,
    put,
    rouge_select,
    rouge_select3,
    slot_of,
    tfind,
    tinsert,
)


@njit(cache=True, error_model="numpy")
def _best(score, rtot, valid, b, k, htot, measure, fin, i, col):
    """rouge-score ``score_multi`` choice for row b from per-reference hits ``score[b, k]``.

    Returns the chosen measure; writes (P, R, F) to ``fin[i, col:col + 3]`` if ``fin``
    has rows.
    """
    best = -1.0
    bp = 0.0
    br = 0.0
    for r in range(score.shape[2]):
        if valid[b, r]:
            m = score[b, k, r]
            p = m / max(htot, 1)
            rc = m / max(rtot[b, k, r], 1)
            f = fmeasure(p, rc)
            if f > best:
                best = f
                bp = p
                br = rc
    if best < 0.0:
        best = 0.0
    if fin.shape[0] > 0:
        fin[i, col] = bp
        fin[i, col + 1] = br
        fin[i, col + 2] = best
    if measure == 1:
        return bp
    if measure == 2:
        return br
    return best


@njit(cache=True, error_model="numpy")
def _best2(score, rtot, valid, b, htot, measure, fin, i):
    """:func:`_best` for ``[B, R]`` hit / length arrays (ROUGE-L); P, R, F to ``fin[i, 0:3]``."""
    best = -1.0
    bp = 0.0
    br = 0.0
    for r in range(score.shape[1]):
        if valid[b, r]:
            m = score[b, r]
            p = m / max(htot, 1)
            rc = m / max(rtot[b, r], 1)
            f = fmeasure(p, rc)
            if f > best:
                best = f
                bp = p
                br = rc
    if best < 0.0:
        best = 0.0
    if fin.shape[0] > 0:
        fin[i, 0] = bp
        fin[i, 1] = br
        fin[i, 2] = best
    if measure == 1:
        return bp
    if measure == 2:
        return br
    return best


# --------------------------------------------------------------------------------------
# ROUGE-N (Lin 2004, eq. 1): clipped n-gram overlap; F / P / R as in rouge-score.
# Every order k <= n is tracked (ROUGE-1..n from one pass; the metric is order n).
# state = (slots, epar, etok, nent, erc, ehc, rtot, valid, match, hlen, sid, done, cur)
#   the table holds the reference n-grams of orders 1..n; erc[b, e, r]: count of
#   n-gram e in reference r; ehc[b, e]: count in the hypothesis; rtot[b, k, r] /
#   match[b, k, r]: reference n-grams / clipped hits of order k + 1; sid[b, k]: entry
#   of the k-gram ending at the last hypothesis token (-1 if none).
# --------------------------------------------------------------------------------------


@njit(cache=True)
def rn_alloc(B, R, L, n, cap):
    E = max(n * R * L, 1)
    return (
        np.full((B, cap), -1, np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros(B, np.int64),
        np.zeros((B, E, R), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, n, R), np.int64),
        np.zeros((B, R), np.bool_),
        np.zeros((B, n, R), np.int64),
        np.zeros(B, np.int64),
        np.full((B, n + 1), -1, np.int64),
        np.zeros(B, np.bool_),
        np.zeros(B, np.float64),
    )


@njit(cache=True, error_model="numpy")
def rn_run(st, rows, build, refs, rl, valid_in, toks, lens, n, measure, eos, record, out, fin):
    """Run kernel; ``fin[i, 3k:3k + 3]`` = (P, R, F) of ROUGE-(k+1), k < n."""
    slots, epar, etok, nent, erc, ehc, rtot, valid, match, hlen, sid, done, cur = st
    R = match.shape[2]
    mask = slots.shape[1] - 1
    lvl = np.empty(max(refs.shape[2], 1), np.int64)
    for i in range(rows.shape[0]):
        b = rows[i]
        if build:
            slots[b, :] = -1
            nent[b] = 0
            erc[b, :, :] = 0  # bulk zeroing beats per-entry initialisation (branchy inserts)
            ehc[b, :] = 0
            for r in range(R):
                vr = valid_in[i, r]
                valid[b, r] = vr
                L = rl[i, r] if vr else 0
                for k in range(n):
                    match[b, k, r] = 0
                    rtot[b, k, r] = max(L - k, 0)
                for k in range(1, n + 1):
                    for j in range(L - k + 1):
                        par = -1 if k == 1 else lvl[j]
                        tok = refs[i, r, j + k - 1]
                        # insert (par, tok) in row b's table (the probe of _nb.tinsert, inline)
                        h = slot_of(par, tok, mask)
                        while True:
                            e = slots[b, h]
                            if e < 0:
                                e = nent[b]
                                nent[b] = e + 1
                                epar[b, e] = par
                                etok[b, e] = tok
                                slots[b, h] = e
                                break
                            if epar[b, e] == par and etok[b, e] == tok:
                                break
                            h = (h + 1) & mask
                        erc[b, e, r] += 1
                        lvl[j] = e
            hlen[b] = 0
            for k in range(n + 1):
                sid[b, k] = -1
            done[b] = False
            cur[b] = 0.0
        hl = hlen[b]  # scalars in registers (the arrays may alias as far as LLVM knows)
        fin_done = done[b]
        for t in range(lens[i]):
            if fin_done:
                break
            tok = toks[i, t]
            if tok == eos:
                fin_done = True
                break
            for k in range(n, 0, -1):
                par = -1 if k == 1 else sid[b, k - 1]
                res = -1
                if k == 1 or par >= 0:
                    # find (par, tok) (the probe of _nb.tfind, inline)
                    h = slot_of(par, tok, mask)
                    while True:
                        e = slots[b, h]
                        if e < 0:
                            break
                        if epar[b, e] == par and etok[b, e] == tok:
                            res = e
                            break
                        h = (h + 1) & mask
                sid[b, k] = res
            hl += 1
            for k in range(1, n + 1):
                e = sid[b, k]
                if e >= 0:
                    c = ehc[b, e]
                    for r in range(R):
                        if c < erc[b, e, r]:
                            match[b, k - 1, r] += 1
                    ehc[b, e] = c + 1
            if record:
                ht = max(hl - n + 1, 0)
                best = -1.0
                val = 0.0
                for r in range(R):
                    if valid[b, r]:
                        m = match[b, n - 1, r]
                        pr = m / max(ht, 1)
                        rc = m / max(rtot[b, n - 1, r], 1)
                        f = fmeasure(pr, rc)
                        if f > best:
                            best = f
                            val = f if measure == 0 else (pr if measure == 1 else rc)
                out[i, t] = val - cur[b]
                cur[b] = val
        hlen[b] = hl
        done[b] = fin_done
        if fin.shape[0] > 0:
            for k in range(n - 1):
                _best(match, rtot, valid, b, k, max(hlen[b] - k, 0), measure, fin, i, 3 * k)
        cur[b] = _best(match, rtot, valid, b, n - 1, max(hlen[b] - n + 1, 0), measure, fin, i, 3 * (n - 1))


@njit(cache=True, error_model="numpy")
def rn_lookahead(st, rows, iptr, iwords, n, measure, eos, out):
    """Exact increments: appending v adds one hypothesis n-gram, a match for reference r
    iff (context, v) is a reference n-gram with clip count left; every id that does not
    complete a reference n-gram shares one value. Token v's value goes to its columns
    (``_nb.put``); ``eos`` is a column index (< 0: none)."""
    _slots, epar, etok, nent, erc, ehc, rtot, valid, match, hlen, sid, done, cur = st
    B = rows.shape[0]
    R = match.shape[2]
    mm = np.zeros(R, np.int64)
    for i in range(B):
        b = rows[i]
        row = out[i]
        if done[b]:
            row[:] = 0.0
            continue
        ht = max(hlen[b] + 1 - n + 1, 0)
        c0 = cur[b]
        rt = rtot[b, n - 1]
        row[:] = rouge_select(match[b, n - 1], ht, rt, valid[b], measure) - c0
        ctx = -1 if n == 1 else sid[b, n - 1]
        if n == 1 or ctx >= 0:
            for e in range(nent[b]):
                if epar[b, e] != ctx:
                    continue
                v = etok[b, e]
                if not has_column(iptr, v):
                    continue
                hc = ehc[b, e]
                for r in range(R):
                    mm[r] = match[b, n - 1, r] + (1 if hc < erc[b, e, r] else 0)
                put(row, iptr, iwords, v, rouge_select(mm, ht, rt, valid[b], measure) - c0)
        if 0 <= eos < row.shape[0]:
            row[eos] = 0.0


# --------------------------------------------------------------------------------------
# ROUGE-L (Lin 2004, sec. 3.1, eqs. 2-4): sentence-level LCS, F / P / R.
# The LCS dynamic-programming row of each reference is kept in bit-parallel form
# (Hyyro 2004): bit j of bits[b, r] is 0 iff the DP row increases at reference
# position j, so the LCS is the number of zero bits and one hypothesis token costs one
# word operation per 64 reference tokens.
# state = (slots, epar, etok, nent, emask, bits, lcs, rlen, valid, hlen, rtok, done, cur)
#   entries: key (-(r+1), token) -> emask[b, e, :]: positions of token in reference r.
# --------------------------------------------------------------------------------------


@njit(cache=True)
def rl_alloc(B, R, L, cap):
    E = max(R * L, 1)
    W = max((L + 63) // 64, 1)
    return (
        np.full((B, cap), -1, np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros(B, np.int64),
        np.zeros((B, E, W), np.uint64),
        np.full((B, R, W), UALL, np.uint64),
        np.zeros((B, R), np.int64),
        np.zeros((B, R), np.int64),
        np.zeros((B, R), np.bool_),
        np.zeros(B, np.int64),
        np.zeros((B, R, max(L, 1)), np.int64),
        np.zeros(B, np.bool_),
        np.zeros(B, np.float64),
    )


@njit(cache=True, error_model="numpy")
def rl_run(st, rows, build, refs, rl, valid_in, toks, lens, measure, eos, record, out, fin):
    slots, epar, etok, nent, emask, bits, lcs, rlen, valid, hlen, rtok, done, cur = st
    R = lcs.shape[1]
    W = bits.shape[2]
    for i in range(rows.shape[0]):
        b = rows[i]
        if build:
            slots[b, :] = -1
            nent[b] = 0
            for r in range(R):
                vr = valid_in[i, r]
                valid[b, r] = vr
                L = rl[i, r] if vr else 0
                rlen[b, r] = L
                lcs[b, r] = 0
                for w in range(W):
                    bits[b, r, w] = UALL
                for j in range(L):
                    tok = refs[i, r, j]
                    rtok[b, r, j] = tok
                    e, new = tinsert(slots, epar, etok, nent, b, -(r + 1), tok)
                    if new:
                        for w in range(W):
                            emask[b, e, w] = U0
                    emask[b, e, j >> 6] |= U1 << np.uint64(j & 63)
            hlen[b] = 0
            done[b] = False
            cur[b] = 0.0
        for t in range(lens[i]):
            if done[b]:
                break
            tok = toks[i, t]
            if tok == eos:
                done[b] = True
                break
            hlen[b] += 1
            for r in range(R):
                L = rlen[b, r]
                if L == 0:
                    continue
                e = tfind(slots, epar, etok, b, -(r + 1), tok)
                if e < 0:
                    continue  # the token is not in this reference: the DP row is unchanged
                carry = U0
                zeros = 0
                for w in range((L + 63) >> 6):
                    x = bits[b, r, w]
                    m = emask[b, e, w]
                    s1 = x + (x & m)
                    c1 = s1 < x
                    s2 = s1 + carry
                    c2 = s2 < s1
                    carry = U1 if (c1 or c2) else U0
                    y = s2 | (x & ~m)
                    bits[b, r, w] = y
                    zeros += 64 - np.int64(popcount(y))
                lcs[b, r] = zeros
            if record:
                h = hlen[b]
                best = -1.0
                val = 0.0
                for r in range(R):
                    if valid[b, r]:
                        m2 = lcs[b, r]
                        pr = m2 / h
                        rc = m2 / max(rlen[b, r], 1)
                        f = fmeasure(pr, rc)
                        if f > best:
                            best = f
                            val = f if measure == 0 else (pr if measure == 1 else rc)
                out[i, t] = val - cur[b]
                cur[b] = val
        cur[b] = _best2(lcs, rlen, valid, b, hlen[b], measure, fin, i)


@njit(cache=True)
def _suffix_start(bits, b, r, L):
    """First reference position after the last increase of the DP row (0 if LCS is 0)."""
    for w in range(((L + 63) >> 6) - 1, -1, -1):
        z = ~bits[b, r, w]
        if z != U0:
            hb = 63
            while ((z >> np.uint64(hb)) & U1) == U0:
                hb -= 1
            return w * 64 + hb + 1
    return 0


@njit(cache=True)
def _has_bit_from(emask, b, e, p, L):
    """Whether reference positions >= p hold the token of entry e."""
    W = (L + 63) >> 6
    wp = p >> 6
    if wp >= W:
        return False
    if (emask[b, e, wp] >> np.uint64(p & 63)) != U0:
        return True
    for w in range(wp + 1, W):  # noqa: SIM110 (numba: no generator expressions)
        if emask[b, e, w] != U0:
            return True
    return False


@njit(cache=True, error_model="numpy")
def rl_lookahead(st, rows, iptr, iwords, measure, eos, out):
    """Exact increments from the last DP row of each reference.

    Appending v raises LCS(prefix + v, ref) by one iff v occurs in the reference after
    the position where the current DP row reaches its maximum; otherwise the LCS is
    unchanged. Cost O(L * R) per row plus the O(columns) fill.
    """
    slots, epar, etok, _nent, emask, bits, lcs, rlen, valid, hlen, rtok, done, cur = st
    B = rows.shape[0]
    R = rlen.shape[1]
    pstart = np.zeros(R, np.int64)
    mm = np.zeros(R, np.int64)
    for i in range(B):
        b = rows[i]
        row = out[i]
        if done[b]:
            row[:] = 0.0
            continue
        h1 = hlen[b] + 1
        c0 = cur[b]
        row[:] = rouge_select(lcs[b], h1, rlen[b], valid[b], measure) - c0
        for r in range(R):
            pstart[r] = _suffix_start(bits, b, r, rlen[b, r]) if rlen[b, r] > 0 else 0
        for r in range(R):
            for j in range(pstart[r], rlen[b, r]):
                v = rtok[b, r, j]
                if not has_column(iptr, v):
                    continue
                for r2 in range(R):
                    inc = 0
                    if rlen[b, r2] > 0:
                        e2 = tfind(slots, epar, etok, b, -(r2 + 1), v)
                        if e2 >= 0 and _has_bit_from(emask, b, e2, pstart[r2], rlen[b, r2]):
                            inc = 1
                    mm[r2] = lcs[b, r2] + inc
                put(row, iptr, iwords, v, rouge_select(mm, h1, rlen[b], valid[b], measure) - c0)
        if 0 <= eos < row.shape[0]:
            row[eos] = 0.0


# --------------------------------------------------------------------------------------
# ROUGE-Lsum (Lin 2004, sec. 3.2, eq. 5-7: summary-level union LCS), exactly as
# rouge-score's ``_summary_level_lcs`` (its LCS backtracking rule, union of LCS
# positions per reference sentence, hits clipped by token counts). No incremental
# form: prefix scores are recomputed (exact, O(T * L) per prefix).
# state = (refs, rlen, valid, hist, hlen, done, cur): references and hypothesis history.
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _split(seq, n, sep, starts, ends):
    """Sentence boundaries of seq[:n] split at ``sep``; empty sentences dropped."""
    k = 0
    s = 0
    for i in range(n + 1):
        if i == n or seq[i] == sep:
            if i > s:
                starts[k] = s
                ends[k] = i
                k += 1
            s = i + 1
    return k


@njit(cache=True)
def _lsum_one(hyp, hn, ref, rn, sep, tab, hs, he, rs, re_, mark, cnt_h, cnt_r, loc_h, loc_r):
    """(hits, hyp tokens, ref tokens) of rouge-score's summary-level LCS for one reference.

    ``loc_h`` / ``loc_r``: dense local ids of the tokens (equal ids <=> equal tokens).
    """
    nh = _split(hyp, hn, sep, hs, he)
    nr = _split(ref, rn, sep, rs, re_)
    m = 0
    for k in range(nr):
        m += re_[k] - rs[k]
    nn = 0
    for k in range(nh):
        nn += he[k] - hs[k]
    if nh == 0 or nr == 0 or m == 0 or nn == 0:
        return 0, nn, m
    cnt_h[:] = 0
    cnt_r[:] = 0
    for k in range(nh):
        for i in range(hs[k], he[k]):
            cnt_h[loc_h[i]] += 1
    for k in range(nr):
        for i in range(rs[k], re_[k]):
            cnt_r[loc_r[i]] += 1
    hits = 0
    for kr in range(nr):
        a0 = rs[kr]
        la = re_[kr] - a0
        mark[:la] = False
        for kh in range(nh):
            c0 = hs[kh]
            lc = he[kh] - c0
            for i in range(la + 1):
                tab[i, 0] = 0
            for j in range(lc + 1):
                tab[0, j] = 0
            for i in range(1, la + 1):
                ti = loc_r[a0 + i - 1]
                for j in range(1, lc + 1):
                    if ti == loc_h[c0 + j - 1]:
                        tab[i, j] = tab[i - 1, j - 1] + 1
                    else:
                        tab[i, j] = max(tab[i - 1, j], tab[i, j - 1])
            i = la
            j = lc
            while i > 0 and j > 0:
                if loc_r[a0 + i - 1] == loc_h[c0 + j - 1]:
                    mark[i - 1] = True
                    i -= 1
                    j -= 1
                elif tab[i, j - 1] > tab[i - 1, j]:
                    j -= 1
                else:
                    i -= 1
        for i in range(la):
            if mark[i]:
                t = loc_r[a0 + i]
                if cnt_h[t] > 0 and cnt_r[t] > 0:
                    hits += 1
                    cnt_h[t] -= 1
                    cnt_r[t] -= 1
    return hits, nn, m


@njit(cache=True)
def _local_ids(hyp, hn, refs_b, rl_b, loc_h, loc_r):
    """Map tokens of hyp[:hn] and every reference to dense ids; returns their count."""
    d = Dict.empty(key_type=types.int64, value_type=types.int64)
    for i in range(hn):
        t = hyp[i]
        if t not in d:
            d[t] = len(d)
        loc_h[i] = d[t]
    R, _L = refs_b.shape
    for r in range(R):
        for j in range(rl_b[r]):
            t = refs_b[r, j]
            if t not in d:
                d[t] = len(d)
            loc_r[r, j] = d[t]
    return len(d)


@njit(cache=True)
def lsum_score(hyp, hn, refs_b, rl_b, valid_b, sep, prf):
    """rouge-score ``score_multi`` ROUGE-Lsum of hyp[:hn]; writes (P, R, F) into prf."""
    R, L = refs_b.shape
    T = max(hn, 1)
    Lm = max(L, 1)
    loc_h = np.empty(T, np.int64)
    loc_r = np.empty((R, Lm), np.int64)
    nu = _local_ids(hyp, hn, refs_b, rl_b, loc_h, loc_r)
    cnt_h = np.zeros(max(nu, 1), np.int64)
    cnt_r = np.zeros(max(nu, 1), np.int64)
    tab = np.zeros((Lm + 1, T + 1), np.int64)
    hs = np.empty(T + 1, np.int64)
    he = np.empty(T + 1, np.int64)
    rs = np.empty(Lm + 1, np.int64)
    re_ = np.empty(Lm + 1, np.int64)
    mark = np.zeros(Lm, np.bool_)
    hits = np.zeros(R, np.int64)
    rtot = np.zeros(R, np.int64)
    htot = 0
    for r in range(R):
        if not valid_b[r]:
            continue
        h, nn, m = _lsum_one(hyp, hn, refs_b[r], rl_b[r], sep, tab, hs, he, rs, re_, mark,
                             cnt_h, cnt_r, loc_h, loc_r[r])
        hits[r] = h
        rtot[r] = m
        htot = nn
    rouge_select3(hits, htot, rtot, valid_b, prf)


@njit(cache=True)
def ls_alloc(B, R, L, Tcap):
    return (
        np.zeros((B, R, max(L, 1)), np.int64),
        np.zeros((B, R), np.int64),
        np.zeros((B, R), np.bool_),
        np.zeros((B, max(Tcap, 1)), np.int64),
        np.zeros(B, np.int64),
        np.zeros(B, np.bool_),
        np.zeros(B, np.float64),
    )


@njit(cache=True, error_model="numpy")
def ls_run(st, rows, build, refs_in, rl, valid_in, toks, lens, sep, measure, eos, record, out, fin):
    """Run kernel (see the module docstring); every recorded prefix is re-scored."""
    refs, rlen, valid, hist, hlen, done, cur = st
    R = rlen.shape[1]
    prf = np.zeros(3, np.float64)
    for i in range(rows.shape[0]):
        b = rows[i]
        if build:
            for r in range(R):
                vr = valid_in[i, r]
                valid[b, r] = vr
                L = rl[i, r] if vr else 0
                rlen[b, r] = L
                for j in range(L):
                    refs[b, r, j] = refs_in[i, r, j]
            hlen[b] = 0
            done[b] = False
            cur[b] = 0.0
        for t in range(lens[i]):
            if done[b]:
                break
            tok = toks[i, t]
            if tok == eos:
                done[b] = True
                break
            n = hlen[b]
            hist[b, n] = tok
            hlen[b] = n + 1
            if record and tok != sep:  # a trailing separator adds an empty sentence: same score
                lsum_score(hist[b], n + 1, refs[b], rlen[b], valid[b], sep, prf)
                new = prf[2] if measure == 0 else prf[measure - 1]
                out[i, t] = new - cur[b]
                cur[b] = new
        lsum_score(hist[b], hlen[b], refs[b], rlen[b], valid[b], sep, prf)
        cur[b] = prf[2] if measure == 0 else prf[measure - 1]
        if fin.shape[0] > 0:
            fin[i, 0] = prf[0]
            fin[i, 1] = prf[1]
            fin[i, 2] = prf[2]


@njit(cache=True)
def ls_lookahead(st, rows, iptr, iwords, sep, measure, eos, out):
    """Re-scores prefix + v for every distinct reference token v and once for a
    token matching no reference (shared by every other id); separator and EOS give 0."""
    refs, rlen, valid, hist, hlen, done, cur = st
    B = rows.shape[0]
    R = rlen.shape[1]
    prf = np.zeros(3, np.float64)
    for i in range(B):
        b = rows[i]
        row = out[i]
        if done[b]:
            row[:] = 0.0
            continue
        n = hlen[b]
        buf = np.empty(n + 1, np.int64)
        buf[:n] = hist[b, :n]
        c0 = cur[b]
        buf[n] = -1  # ids are non-negative: -1 matches no reference token
        lsum_score(buf, n + 1, refs[b], rlen[b], valid[b], sep, prf)
        row[:] = (prf[2] if measure == 0 else prf[measure - 1]) - c0
        for r in range(R):
            for j in range(rlen[b, r]):
                v = refs[b, r, j]
                if not has_column(iptr, v) or v == sep:
                    continue
                buf[n] = v
                lsum_score(buf, n + 1, refs[b], rlen[b], valid[b], sep, prf)
                put(row, iptr, iwords, v, (prf[2] if measure == 0 else prf[measure - 1]) - c0)
        put(row, iptr, iwords, sep, 0.0)
        if 0 <= eos < row.shape[0]:
            row[eos] = 0.0


# --------------------------------------------------------------------------------------
# Probes: the exact increment of appending a short token sequence to a row, computed by
# appending it (the run kernel) and restoring the row's state afterwards. Used for the
# lookahead of words that tokenize to several metric tokens.
# --------------------------------------------------------------------------------------

@njit(cache=True, error_model="numpy")
def rn_probe(st, rows, seqs, slens, n, measure, out):
    """``out[p]`` = score(row ``rows[p]`` + ``seqs[p, :slens[p]]``) - its current score."""
    _slots, _epar, _etok, nent, _erc, ehc, _rtot, _valid, match, hlen, sid, done, cur = st
    one = np.zeros(1, np.int64)
    dummy = np.zeros((1, 1), np.float64)
    nofin = np.zeros((0, 3 * n), np.float64)
    refs = np.zeros((1, 1, 1), np.int64)
    rl = np.zeros((1, 1), np.int64)
    vd = np.zeros((1, 1), np.bool_)
    for p in range(rows.shape[0]):
        b = rows[p]
        one[0] = b
        ne = nent[b]
        ehc0 = ehc[b, :ne].copy()
        sid0 = sid[b].copy()
        match0 = match[b].copy()
        h0, d0, c0 = hlen[b], done[b], cur[b]
        rn_run(st, one, False, refs, rl, vd, seqs[p:p + 1], slens[p:p + 1], n, measure, -1, False, dummy, nofin)
        out[p] = cur[b] - c0
        ehc[b, :ne] = ehc0
        sid[b] = sid0
        match[b] = match0
        hlen[b], done[b], cur[b] = h0, d0, c0


@njit(cache=True, error_model="numpy")
def rl_probe(st, rows, seqs, slens, measure, out):
    """As :func:`rn_probe`, for ROUGE-L."""
    _slots, _epar, _etok, _nent, _emask, bits, lcs, _rlen, _valid, hlen, _rtok, done, cur = st
    one = np.zeros(1, np.int64)
    dummy = np.zeros((1, 1), np.float64)
    nofin = np.zeros((0, 3), np.float64)
    refs = np.zeros((1, 1, 1), np.int64)
    rl = np.zeros((1, 1), np.int64)
    vd = np.zeros((1, 1), np.bool_)
    for p in range(rows.shape[0]):
        b = rows[p]
        one[0] = b
        bits0 = bits[b].copy()
        lcs0 = lcs[b].copy()
        h0, d0, c0 = hlen[b], done[b], cur[b]
        rl_run(st, one, False, refs, rl, vd, seqs[p:p + 1], slens[p:p + 1], measure, -1, False, dummy, nofin)
        out[p] = cur[b] - c0
        bits[b] = bits0
        lcs[b] = lcs0
        hlen[b], done[b], cur[b] = h0, d0, c0


@njit(cache=True, error_model="numpy")
def ls_probe(st, rows, seqs, slens, sep, measure, out):
    """As :func:`rn_probe`, for ROUGE-Lsum (the history must have room for the probe)."""
    _refs, _rlen, _valid, _hist, hlen, done, cur = st
    one = np.zeros(1, np.int64)
    dummy = np.zeros((1, 1), np.float64)
    nofin = np.zeros((0, 3), np.float64)
    refs = np.zeros((1, 1, 1), np.int64)
    rl = np.zeros((1, 1), np.int64)
    vd = np.zeros((1, 1), np.bool_)
    for p in range(rows.shape[0]):
        b = rows[p]
        one[0] = b
        h0, d0, c0 = hlen[b], done[b], cur[b]
        ls_run(st, one, False, refs, rl, vd, seqs[p:p + 1], slens[p:p + 1], sep, measure, -1, False, dummy, nofin)
        out[p] = cur[b] - c0
        hlen[b], done[b], cur[b] = h0, d0, c0
