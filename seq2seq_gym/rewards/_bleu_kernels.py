"""Numba kernels for sentence / corpus BLEU on token ids, identical to sacrebleu.

BLEU (Papineni et al. 2002, sec. 2.3): brevity penalty times the geometric mean of
clipped n-gram precisions, n = 1..N. Smoothing as sacrebleu (Chen & Cherry 2014):
``method`` 0 = none, 1 = floor, 2 = add-k, 3 = exp. ``eff`` = effective order.

Kernels follow the run / lookahead layout of ``_rouge_kernels``.
state = (slots, epar, etok, nent, emax, etmp, ehc, rlen, valid, correct, hlen, sid, done, cur)
  emax[b, e]: max count of n-gram e over the references (sacrebleu's merged counts);
  ehc[b, e]: its count in the hypothesis; correct[b, k]: clipped matches of order k+1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from seq2seq_gym.rewards._nb import has_column, put, tfind, tinsert


@njit(cache=True)
def bleu_compute(correct, total, sys_len, ref_len, N, method, sv, eff, prec):
    """sacrebleu ``BLEU.compute_bleu`` (score on the 0-100 scale); ``prec``: scratch [N]."""
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    anyc = False
    for k in range(N):
        if correct[k] != 0:
            anyc = True
    if not anyc:
        return 0.0
    smooth = 1.0
    eff_order = N
    for k in range(N):
        prec[k] = 0.0
    for n in range(1, N + 1):
        c = correct[n - 1] * 1.0
        t = total[n - 1] * 1.0
        if method == 2 and n > 1:
            c += sv
            t += sv
        if t == 0:
            break
        if eff:
            eff_order = n
        if c == 0:
            if method == 3:
                smooth *= 2
                prec[n - 1] = 100.0 / (smooth * t)
            elif method == 1:
                prec[n - 1] = 100.0 * sv / t
        else:
            prec[n - 1] = 100.0 * c / t
    acc = 0.0
    for k in range(eff_order):
        acc += math.log(prec[k]) if prec[k] != 0.0 else -9999999999.0
    return bp * math.exp(acc / eff_order)


@njit(cache=True, error_model="numpy")
def bleu_sentence(correct, b, hl, ref_len, N, method, sv, eff):
    """sacrebleu ``compute_bleu`` / 100 for row b: matches ``correct[b]``, totals from the
    hypothesis length ``hl`` (same arithmetic, in the same order, as sacrebleu)."""
    if ref_len < 0:
        return 0.0
    bp = 1.0
    if hl < ref_len:
        bp = math.exp(1 - ref_len / hl) if hl > 0 else 0.0
    anyc = False
    for k in range(N):
        if correct[b, k] != 0:
            anyc = True
    if not anyc:
        return 0.0
    smooth = 1.0
    eff_order = N
    acc = 0.0
    done = 0
    for n in range(1, N + 1):
        c = correct[b, n - 1] * 1.0
        t = max(hl - n + 1, 0) * 1.0
        if method == 2 and n > 1:
            c += sv
            t += sv
        if t == 0:
            break
        if eff:
            eff_order = n
        p = 0.0
        if c == 0:
            if method == 3:
                smooth *= 2
                p = 100.0 / (smooth * t)
            elif method == 1:
                p = 100.0 * sv / t
        else:
            p = 100.0 * c / t
        acc += math.log(p) if p != 0.0 else -9999999999.0
        done = n
    for _ in range(done, eff_order):
        acc += -9999999999.0
    return bp * math.exp(acc / eff_order) / 100.0


_LOG100 = math.log(100.0)
_LOG2 = math.log(2.0)


@njit(cache=True, error_model="numpy", inline="always")
def bleu_sentence_tab(correct, b, hl, ref_len, N, method, sv, eff, logk, log100sv):
    """:func:`bleu_sentence` with log(100 c / t) = log 100 + log c - log t from a table
    ``logk[k] = log k``: the same value up to rounding (~1e-16), without N logarithms
    per call. Used for the per-token prefix scores of ``dense`` / prefix scorers;
    terminal scores use the exact sacrebleu arithmetic."""
    if ref_len < 0 or hl == 0:
        return 0.0
    anyc = False
    m = 0
    eff_order = N
    acc = 0.0
    done = 0
    for n in range(1, N + 1):
        ci = correct[b, n - 1]
        if ci != 0:
            anyc = True
        if done < n - 1:
            continue  # past the first order without hypothesis n-grams: only anyc matters
        ti = hl - n + 1
        if method == 2 and n > 1:
            c = ci + sv
            t = max(ti, 0) + sv
            if t == 0:
                continue
            if eff:
                eff_order = n
            acc += math.log(100.0 * c / t) if c != 0 else -9999999999.0
            done = n
            continue
        if ti <= 0:
            continue
        if eff:
            eff_order = n
        if ci == 0:
            if method == 3:
                m += 1
                acc += _LOG100 - m * _LOG2 - logk[ti]
            elif method == 1:
                acc += log100sv - logk[ti]
            else:
                acc += -9999999999.0
        else:
            acc += _LOG100 + logk[ci] - logk[ti]
        done = n
    if not anyc:
        return 0.0
    for _ in range(done, eff_order):
        acc += -9999999999.0
    lbp = (1 - ref_len / hl) if hl < ref_len else 0.0  # log of the brevity penalty
    return math.exp(lbp + acc / eff_order) / 100.0


@njit(cache=True, inline="always")
def closest_ref_len(hl, rlen, valid, b):
    """sacrebleu's closest reference length (ties: the shorter); -1 without references."""
    best_d = -1
    best = -1
    for r in range(rlen.shape[1]):
        if not valid[b, r]:
            continue
        d = abs(hl - rlen[b, r])
        if best_d == -1 or d < best_d:
            best_d = d
            best = rlen[b, r]
        elif d == best_d and rlen[b, r] < best:
            best = rlen[b, r]
    return best


@njit(cache=True)
def _log_table(n):
    """``[n]`` with log k at k >= 1 (entry 0 unused)."""
    out = np.zeros(max(n, 2), np.float64)
    for k in range(1, out.shape[0]):
        out[k] = math.log(k)
    return out


@njit(cache=True)
def bl_alloc(B, R, L, N, cap):
    E = max(N * R * L, 1)
    return (
        np.full((B, cap), -1, np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros(B, np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, R), np.int64),
        np.zeros((B, R), np.bool_),
        np.zeros((B, N), np.int64),
        np.zeros(B, np.int64),
        np.full((B, N + 1), -1, np.int64),
        np.zeros(B, np.bool_),
        np.zeros(B, np.float64),
    )


@njit(cache=True, error_model="numpy")
def bl_run(st, rows, build, refs, rl, valid_in, toks, lens, N, method, sv, eff, eos, record, out, fin):
    """Run kernel (see ``_rouge_kernels``); ``fin[i]`` = [score, hyp_len, ref_len,
    correct_1..N, total_1..N] (sacrebleu's sufficient statistics)."""
    slots, epar, etok, nent, emax, etmp, ehc, rlen, valid, correct, hlen, sid, done, cur = st
    R = rlen.shape[1]
    L = refs.shape[2]
    lvl = np.empty(max(L, 1), np.int64)
    touched = np.empty(max(N * L, 1), np.int64)
    logk = _log_table(toks.shape[1] + 2 if record else 1)
    log100sv = math.log(100.0 * sv) if sv > 0 else 0.0
    for i in range(rows.shape[0]):
        b = rows[i]
        if build:
            slots[b, :] = -1
            nent[b] = 0
            for r in range(R):
                vr = valid_in[i, r]
                valid[b, r] = vr
                Lr = rl[i, r] if vr else 0
                rlen[b, r] = Lr
                nt = 0
                for k in range(1, N + 1):
                    for j in range(Lr - k + 1):
                        e, new = tinsert(slots, epar, etok, nent, b, -1 if k == 1 else lvl[j], refs[i, r, j + k - 1])
                        if new:
                            emax[b, e] = 0
                            etmp[b, e] = 0
                            ehc[b, e] = 0
                        lvl[j] = e
                        etmp[b, e] += 1
                        touched[nt] = e
                        nt += 1
                for j in range(nt):
                    e = touched[j]
                    if etmp[b, e] > emax[b, e]:
                        emax[b, e] = etmp[b, e]
                for j in range(nt):
                    etmp[b, touched[j]] = 0
            for k in range(N):
                correct[b, k] = 0
            for k in range(N + 1):
                sid[b, k] = -1
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
            for k in range(N, 1, -1):
                p = sid[b, k - 1]
                sid[b, k] = tfind(slots, epar, etok, b, p, tok) if p >= 0 else -1
            sid[b, 1] = tfind(slots, epar, etok, b, -1, tok)
            hlen[b] += 1
            for k in range(1, N + 1):
                e = sid[b, k]
                if e >= 0:
                    if ehc[b, e] < emax[b, e]:
                        correct[b, k - 1] += 1
                    ehc[b, e] += 1
            if record:
                h = hlen[b]
                if h >= logk.shape[0]:
                    logk = _log_table(2 * h)
                new = bleu_sentence_tab(correct, b, h, closest_ref_len(h, rlen, valid, b), N, method, sv, eff, logk,
                                        log100sv)
                out[i, t] = new - cur[b]
                cur[b] = new
        h = hlen[b]
        ref_len = closest_ref_len(h, rlen, valid, b)
        cur[b] = bleu_sentence(correct, b, h, ref_len, N, method, sv, eff)
        if fin.shape[0] > 0:
            fin[i, 0] = cur[b]
            fin[i, 1] = h
            fin[i, 2] = ref_len
            for k in range(N):
                fin[i, 3 + k] = correct[b, k]
                fin[i, 3 + N + k] = max(h - k, 0)


@njit(cache=True, error_model="numpy")
def bl_lookahead(st, rows, iptr, iwords, N, method, sv, eff, eos, out):
    """Exact increments: only ids completing a reference n-gram (for some order) with
    clip count left change a match count; every other id shares one value. Values go to
    the token's columns (``_nb.put``); ``eos`` is a column index (< 0: none)."""
    slots, epar, etok, nent, emax, _etmp, ehc, rlen, valid, correct, hlen, sid, done, cur = st
    B = rows.shape[0]
    cc = np.zeros((1, N), np.int64)
    for i in range(B):
        b = rows[i]
        row = out[i]
        if done[b]:
            row[:] = 0.0
            continue
        h1 = hlen[b] + 1
        rl1 = closest_ref_len(h1, rlen, valid, b)
        c0 = cur[b]
        row[:] = bleu_sentence(correct, b, h1, rl1, N, method, sv, eff) - c0
        for k in range(1, N + 1):
            ctx = -1 if k == 1 else sid[b, k - 1]
            if k > 1 and ctx < 0:
                continue
            for e in range(nent[b]):
                if epar[b, e] != ctx:
                    continue
                v = etok[b, e]
                if not has_column(iptr, v):
                    continue
                for j in range(1, N + 1):
                    cc[0, j - 1] = correct[b, j - 1]
                    cj = -1 if j == 1 else sid[b, j - 1]
                    if j > 1 and cj < 0:
                        continue
                    e2 = tfind(slots, epar, etok, b, cj, v)
                    if e2 >= 0 and ehc[b, e2] < emax[b, e2]:
                        cc[0, j - 1] += 1
                put(row, iptr, iwords, v, bleu_sentence(cc, 0, h1, rl1, N, method, sv, eff) - c0)
        if 0 <= eos < row.shape[0]:
            row[eos] = 0.0


@njit(cache=True, error_model="numpy")
def bl_probe(st, rows, seqs, slens, N, method, sv, eff, out):
    """``out[p]`` = score(row ``rows[p]`` + ``seqs[p, :slens[p]]``) - its current score
    (appended with the run kernel, then the row is restored)."""
    _slots, _epar, _etok, nent, _emax, _etmp, ehc, _rlen, _valid, correct, hlen, sid, done, cur = st
    one = np.zeros(1, np.int64)
    dummy = np.zeros((1, 1), np.float64)
    nofin = np.zeros((0, 3 + 2 * N), np.float64)
    refs = np.zeros((1, 1, 1), np.int64)
    rl = np.zeros((1, 1), np.int64)
    vd = np.zeros((1, 1), np.bool_)
    for p in range(rows.shape[0]):
        b = rows[p]
        one[0] = b
        ne = nent[b]
        ehc0 = ehc[b, :ne].copy()
        sid0 = sid[b].copy()
        cor0 = correct[b].copy()
        h0, d0, c0 = hlen[b], done[b], cur[b]
        bl_run(st, one, False, refs, rl, vd, seqs[p:p + 1], slens[p:p + 1], N, method, sv, eff, -1, False, dummy,
               nofin)
        out[p] = cur[b] - c0
        ehc[b, :ne] = ehc0
        sid[b] = sid0
        correct[b] = cor0
        hlen[b], done[b], cur[b] = h0, d0, c0


@njit(cache=True)
def bleu_from_stats(stats, N, method, sv, eff):
    """Corpus BLEU (sacrebleu ``corpus_score``) from summed per-row statistics, 0-1 scale."""
    sys_len = 0
    ref_len = 0
    correct = np.zeros(N, np.int64)
    total = np.zeros(N, np.int64)
    for b in range(stats.shape[0]):
        sys_len += stats[b, 0]
        ref_len += stats[b, 1]
        for k in range(N):
            correct[k] += stats[b, 2 + k]
            total[k] += stats[b, 2 + N + k]
    prec = np.zeros(N, np.float64)
    return bleu_compute(correct, total, sys_len, ref_len, N, method, sv, eff, prec) / 100.0
