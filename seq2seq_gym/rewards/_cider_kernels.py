"""Numba kernels for CIDEr-D on token ids, identical to pycocoevalcap's ``CiderScorer``.

CIDEr-D (Vedantam et al. 2015: CIDEr of sec. 3 with the "-D" changes): for
n = 1..N, TF-IDF vectors g^n of the n-grams (idf = log(N_docs) - log(max(1, df))),
clipped cosine sum_g min(h_g, r_g) r_g / (|h| |r|), a Gaussian length penalty
exp(-delta^2 / (2 sigma^2)), averaged over n and over the references, times 10.
As in pycocoevalcap, "length" is the number of *bigrams* (its ``if n == 1`` test on a
0-based order index), so delta = (len_h - 1) - (len_r - 1) for non-empty sequences.

Document-frequency table (``dft``): a one-row hash table of every n-gram of a corpus,
keyed ``(parent entry, token)`` with root -1, ``ddf[e]`` = number of documents
containing n-gram e and ``didf[e]`` = log(N) - log(max(1, ddf[e])) (an n-gram absent
from the table has idf log(N));containing n-gram e. ``cptr`` / ``clist`` list the children of each entry (CSR,
index ``parent + 1``; the root's children are the unigrams).

Kernels follow the run / lookahead layout of ``_rouge_kernels``.
Row state = (slots, epar, etok, nent, eord, egid, eidf, erc, ehc, normr, rbig, valid,
             nvalid, nh2, dot, hlen, sid, done, cur)
  the row table holds every reference and hypothesis n-gram of the row; eidf[b, e] its
  idf, erc[b, e, r] its count in reference r, ehc[b, e] in the hypothesis; normr[b, r, k]
  the reference vector norms; nh2[b, k] the squared hypothesis norm; dot[b, r, k] the
  clipped dot product.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from seq2seq_gym.rewards._nb import has_column, put, slot_of, tfind, tinsert

# ------------------------------------------------------------------ df table


@njit(cache=True)
def df_alloc(E):
    cap = 8
    while cap < 2 * max(E, 1):
        cap *= 2
    return (
        np.full((1, cap), -1, np.int64),
        np.zeros((1, E), np.int64),
        np.zeros((1, E), np.int64),
        np.zeros(1, np.int64),
        np.zeros(E, np.float64),
        np.full(E, -1, np.int64),
    )


@njit(cache=True)
def df_rehash(slots, epar, etok, nent):
    slots[0, :] = -1
    mask = slots.shape[1] - 1
    for e in range(nent[0]):
        i = slot_of(epar[0, e], etok[0, e], mask)
        while slots[0, i] >= 0:
            i = (i + 1) & mask
        slots[0, i] = e


@njit(cache=True)
def df_grow(tab, need):
    _slots, epar, etok, nent, ddf, stamp = tab
    E = epar.shape[1]
    ne = nent[0]
    E2 = max(E, 1)
    while ne + need > E2:
        E2 *= 2
    new = df_alloc(E2)
    new[1][0, :ne] = epar[0, :ne]
    new[2][0, :ne] = etok[0, :ne]
    new[3][0] = ne
    new[4][:ne] = ddf[:ne]
    new[5][:ne] = stamp[:ne]
    df_rehash(new[0], new[1], new[2], new[3])
    return new


@njit(cache=True)
def df_add_docs(tab, refs, rl, valid, n, doc0, gid_out):
    """Add documents (one per row of ``refs``: its valid references) to the df table.

    If ``gid_out`` has rows, ``gid_out[d, r, i, k - 1]`` receives the table entry of the
    order-k n-gram starting at position i of reference r of document d (so scoring
    these same references needs no table lookups).
    """
    D, R, L = refs.shape
    lvl = np.zeros(max(L, 1), np.int64)
    for d in range(D):
        need = 0
        for r in range(R):
            if valid[d, r]:
                need += n * rl[d, r]
        if tab[3][0] + need > tab[1].shape[1]:
            tab = df_grow(tab, need)
        slots, epar, etok, nent, ddf, stamp = tab
        doc = doc0 + d
        for r in range(R):
            if not valid[d, r]:
                continue
            Lr = rl[d, r]
            for k in range(1, n + 1):
                for i in range(Lr - k + 1):
                    par = -1 if k == 1 else lvl[i]
                    e, new = tinsert(slots, epar, etok, nent, 0, par, refs[d, r, i + k - 1])
                    if new:
                        ddf[e] = 0.0
                        stamp[e] = -1
                    if stamp[e] != doc:
                        stamp[e] = doc
                        ddf[e] += 1.0
                    lvl[i] = e
                    if gid_out.shape[0] > 0:
                        gid_out[d, r, i, k - 1] = e
    return tab


@njit(cache=True)
def df_children(epar, nent):
    """CSR of children per parent (index parent + 1; 0 is the root)."""
    ne = nent[0]
    cptr = np.zeros(ne + 2, np.int64)
    for e in range(ne):
        cptr[epar[0, e] + 2] += 1
    for i in range(1, ne + 2):
        cptr[i] += cptr[i - 1]
    fill = cptr.copy()
    clist = np.zeros(max(ne, 1), np.int64)
    for e in range(ne):
        p = epar[0, e] + 1
        clist[fill[p]] = e
        fill[p] += 1
    return cptr, clist


@njit(cache=True)
def df_unigram_idf2(dft, didf, logN, ids):
    """Squared idf of the unigram ``ids[c]`` for every c (0 where ``ids[c] < 0``)."""
    dslots, dpar, dtok, _dnent, _ddf, _dstamp = dft
    out = np.zeros(ids.shape[0], np.float64)
    for c in range(ids.shape[0]):
        v = ids[c]
        if v < 0:
            continue
        g = tfind(dslots, dpar, dtok, 0, -1, v)
        w = didf[g] if g >= 0 else logN
        out[c] = w * w
    return out


# ------------------------------------------------------------------ row state


@njit(cache=True)
def cd_alloc(B, R, L, T, n, cap):
    E = max(n * (R * L + T), 1)
    return (
        np.full((B, cap), -1, np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros(B, np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, E), np.float64),
        np.zeros((B, E, R), np.int64),
        np.zeros((B, E), np.int64),
        np.zeros((B, R, n), np.float64),
        np.zeros((B, R), np.int64),
        np.zeros((B, R), np.bool_),
        np.zeros(B, np.int64),
        np.zeros((B, n), np.float64),
        np.zeros((B, R, n), np.float64),
        np.zeros(B, np.int64),
        np.full((B, n + 1), -1, np.int64),
        np.zeros(B, np.bool_),
        np.zeros(B, np.float64),
    )


@njit(cache=True)
def gauss_table(m, sigma):
    """``[m + 1]``: pycocoevalcap's length penalty e ** (-(d ** 2) / (2 sigma ** 2)) for
    |delta| = d (the same expression, evaluated once per d)."""
    out = np.empty(m + 1, np.float64)
    for d in range(m + 1):
        delta = float(d)
        out[d] = math.e ** (-(delta * delta) / (2 * (sigma * sigma)))
    return out


@njit(cache=True, error_model="numpy", inline="always")
def cider_eval(nh2, dot, normr, rbig, valid, nvalid, b, hb, n, gtab):
    """pycocoevalcap's per-image score of row b from squared hypothesis norms ``nh2[b]``,
    clipped dot products ``dot[b]``, reference norms and bigram counts; ``hb``: the
    hypothesis bigram count; ``gtab``: :func:`gauss_table` (long enough)."""
    if nvalid[b] == 0:
        return 0.0
    R = rbig.shape[1]
    s = 0.0
    for k in range(n):
        nh = math.sqrt(nh2[b, k])
        acc = 0.0
        for r in range(R):
            if not valid[b, r]:
                continue
            nr = normr[b, r, k]
            v = dot[b, r, k]
            if nh != 0 and nr != 0:
                v /= nh * nr
            acc += v * gtab[abs(hb - rbig[b, r])]
        s += acc
    s /= n
    s /= nvalid[b]
    return s * 10.0


@njit(cache=True, error_model="numpy")
def cd_run(st, dft, didf, logN, ref_gid, rows, build, refs, rl, valid_in, toks, lens, n, sigma, eos, record, out,
           fin):
    """Run kernel (see ``_rouge_kernels``); ``fin[i, 0]`` = the final score.

    ``ref_gid``: df-table entries of the reference n-grams of ``refs`` (see
    :func:`df_add_docs`) when the table was built from these very references, else an
    empty array (the entries are looked up).
    """
    (slots, epar, etok, nent, eord, egid, eidf, erc, ehc, normr, rbig, valid,
     nvalid, nh2, dot, hlen, sid, done, cur) = st
    dslots, dpar, dtok, _dnent, _ddf, _dstamp = dft
    R = rbig.shape[1]
    ch = np.empty(n + 1, np.int64)
    gtab = gauss_table(64, sigma)
    use_gid = ref_gid.shape[0] > 0
    for i in range(rows.shape[0]):
        b = rows[i]
        if build:
            slots[b, :] = -1
            nent[b] = 0
            nv = 0
            for r in range(R):
                vr = valid_in[i, r]
                valid[b, r] = vr
                L = rl[i, r] if vr else 0
                rbig[b, r] = max(L - 1, 0)
                if vr:
                    nv += 1
                for k in range(n + 1):
                    ch[k] = -1
                for j in range(L):
                    tok = refs[i, r, j]
                    for k in range(n, 0, -1):
                        par = -1 if k == 1 else ch[k - 1]
                        if k > 1 and par < 0:
                            ch[k] = -1
                            continue
                        e, new = tinsert(slots, epar, etok, nent, b, par, tok)
                        if new:
                            eord[b, e] = k
                            g = -1
                            if use_gid:
                                g = ref_gid[i, r, j - k + 1, k - 1]
                            elif k == 1:
                                g = tfind(dslots, dpar, dtok, 0, -1, tok)
                            elif egid[b, par] >= 0:
                                g = tfind(dslots, dpar, dtok, 0, egid[b, par], tok)
                            egid[b, e] = g
                            eidf[b, e] = didf[g] if g >= 0 else logN
                            for q in range(R):
                                erc[b, e, q] = 0
                            ehc[b, e] = 0
                        erc[b, e, r] += 1
                        ch[k] = e
            for r in range(R):
                for k in range(n):
                    normr[b, r, k] = 0.0
            for e in range(nent[b]):
                k = eord[b, e] - 1
                w = eidf[b, e]
                for r in range(R):
                    c = erc[b, e, r]
                    if c > 0:
                        x = c * w
                        normr[b, r, k] += x * x
            for r in range(R):
                for k in range(n):
                    normr[b, r, k] = math.sqrt(normr[b, r, k])
                    dot[b, r, k] = 0.0
            for k in range(n):
                nh2[b, k] = 0.0
            for k in range(n + 1):
                sid[b, k] = -1
            nvalid[b] = nv
            hlen[b] = 0
            done[b] = False
            cur[b] = 0.0
        need = hlen[b] + lens[i] + 1  # |hypothesis bigrams - reference bigrams| stays below this
        for r in range(R):
            need = max(need, rbig[b, r] + 1)
        if need >= gtab.shape[0]:
            gtab = gauss_table(2 * need, sigma)
        for t in range(lens[i]):
            if done[b]:
                break
            tok = toks[i, t]
            if tok == eos:
                done[b] = True
                break
            for k in range(n, 0, -1):
                par = -1 if k == 1 else sid[b, k - 1]
                if k > 1 and par < 0:
                    sid[b, k] = -1
                    continue
                e, new = tinsert(slots, epar, etok, nent, b, par, tok)
                if new:
                    eord[b, e] = k
                    g = -1
                    if k == 1:
                        g = tfind(dslots, dpar, dtok, 0, -1, tok)
                    elif egid[b, par] >= 0:
                        g = tfind(dslots, dpar, dtok, 0, egid[b, par], tok)
                    egid[b, e] = g
                    eidf[b, e] = didf[g] if g >= 0 else logN
                    for q in range(R):
                        erc[b, e, q] = 0
                    ehc[b, e] = 0
                sid[b, k] = e
            hlen[b] += 1
            for k in range(1, n + 1):
                e = sid[b, k]
                if e < 0:
                    continue
                tf = ehc[b, e]
                w = eidf[b, e]
                old = tf * w
                new_w = (tf + 1) * w
                nh2[b, k - 1] += new_w * new_w - old * old
                for r in range(R):
                    c = erc[b, e, r]
                    if c > 0:
                        vr = c * w
                        dot[b, r, k - 1] += (min(new_w, vr) - min(old, vr)) * vr
                ehc[b, e] = tf + 1
            if record:
                sc = cider_eval(nh2, dot, normr, rbig, valid, nvalid, b, hlen[b] - 1, n, gtab)
                out[i, t] = sc - cur[b]
                cur[b] = sc
        cur[b] = cider_eval(nh2, dot, normr, rbig, valid, nvalid, b, max(hlen[b] - 1, 0), n, gtab)
        if fin.shape[0] > 0:
            fin[i, 0] = cur[b]


@njit(cache=True, error_model="numpy")
def cd_lookahead(st, rows, dft, didf, logN, cptr, clist, ucol, iptr, iwords, n, sigma, eos, out):
    """Exact increments of appending each id, written to its output columns.

    An id whose new n-grams (one per order) are all absent from the row's reference
    and hypothesis n-grams, and whose order >= 2 n-grams have df = 0, only changes the
    hypothesis norms: order 1 through its unigram idf (``ucol[c]``: squared idf of the
    id of column c), orders >= 2 by log(N)^2. Those ids share a closed form; every other
    id (children of the current contexts in the row table or in the df table) is
    re-scored from the state with the arithmetic of an append, and its value written to
    its columns (``_nb.put``). ``eos`` is a column index (< 0: none).
    """
    (slots, epar, etok, nent, _eord, egid, eidf, erc, ehc, normr, rbig, valid,
     nvalid, nh2, dot, hlen, sid, done, cur) = st
    dslots, dpar, dtok, _dnent, _ddf, _dstamp = dft
    B = rows.shape[0]
    R = rbig.shape[1]
    gr = np.zeros(R, np.float64)
    need = 1
    for i in range(B):
        b = rows[i]
        need = max(need, hlen[b] + 2)
        for r in range(R):
            need = max(need, rbig[b, r] + 1)
    gtab = gauss_table(need, sigma)
    nh2s = np.zeros((1, n), np.float64)
    dots = np.zeros((1, R, n), np.float64)
    one = np.zeros(1, np.int64)
    cand = np.empty(16, np.int64)
    lw2 = logN * logN
    for i in range(B):
        b = rows[i]
        row = out[i]
        if done[b] or nvalid[b] == 0:
            row[:] = 0.0
            continue
        hl1 = hlen[b] + 1
        hb1 = hl1 - 1
        c0 = cur[b]
        for r in range(R):
            gr[r] = gtab[abs(hb1 - rbig[b, r])]
        # ---- closed form for the ids that only change the hypothesis norms
        rest = 0.0
        for k in range(2, n + 1):
            nh = math.sqrt(nh2[b, k - 1] + (lw2 if hl1 >= k else 0.0))
            tk = 0.0
            for r in range(R):
                if not valid[b, r]:
                    continue
                x = dot[b, r, k - 1]
                nr = normr[b, r, k - 1]
                if nh != 0 and nr != 0:
                    x /= nh * nr
                tk += x * gr[r]
            rest += tk
        a1 = 0.0
        z1 = 0.0
        for r in range(R):
            if not valid[b, r]:
                continue
            nr = normr[b, r, 0]
            if nr != 0:
                a1 += gr[r] * dot[b, r, 0] / nr
            else:
                z1 += gr[r] * dot[b, r, 0]
        scale = 10.0 / n / nvalid[b]
        base1 = nh2[b, 0]
        for c in range(row.shape[0]):
            nh1 = math.sqrt(base1 + ucol[c])
            t1 = (a1 / nh1 if nh1 != 0 else a1) + z1
            row[c] = (t1 + rest) * scale - c0
        # ---- candidates: children of the current contexts in the row table and df table
        nc = 0
        for k in range(1, n + 1):
            if hl1 < k:
                break
            ctx = -1 if k == 1 else sid[b, k - 1]
            for e in range(nent[b]):
                if epar[b, e] == ctx and has_column(iptr, etok[b, e]):
                    if nc == cand.shape[0]:
                        cand = np.concatenate((cand, np.empty(nc, np.int64)))
                    cand[nc] = etok[b, e]
                    nc += 1
            if k >= 2 and egid[b, ctx] >= 0:
                g = egid[b, ctx]
                for ci in range(cptr[g + 1], cptr[g + 2]):
                    v = dtok[0, clist[ci]]
                    if has_column(iptr, v):
                        if nc == cand.shape[0]:
                            cand = np.concatenate((cand, np.empty(nc, np.int64)))
                        cand[nc] = v
                        nc += 1
        for ic in range(nc):
            v = cand[ic]
            for k in range(n):
                nh2s[0, k] = nh2[b, k]
                for r in range(R):
                    dots[0, r, k] = dot[b, r, k]
            for k in range(1, n + 1):
                if hl1 < k:
                    break
                ctx = -1 if k == 1 else sid[b, k - 1]
                e = tfind(slots, epar, etok, b, ctx, v)
                if e >= 0:
                    tf = ehc[b, e]
                    w = eidf[b, e]
                else:
                    tf = 0
                    g = -1
                    if k == 1:
                        g = tfind(dslots, dpar, dtok, 0, -1, v)
                    elif egid[b, ctx] >= 0:
                        g = tfind(dslots, dpar, dtok, 0, egid[b, ctx], v)
                    w = didf[g] if g >= 0 else logN
                old = tf * w
                new_w = (tf + 1) * w
                nh2s[0, k - 1] += new_w * new_w - old * old
                if e >= 0:
                    for r in range(R):
                        c = erc[b, e, r]
                        if c > 0:
                            vr = c * w
                            dots[0, r, k - 1] += (min(new_w, vr) - min(old, vr)) * vr
            one[0] = nvalid[b]
            sc = cider_eval(nh2s, dots, normr[b:b + 1], rbig[b:b + 1], valid[b:b + 1], one, 0, hb1, n, gtab)
            put(row, iptr, iwords, v, sc - c0)
        if 0 <= eos < row.shape[0]:
            row[eos] = 0.0


@njit(cache=True, error_model="numpy")
def cd_probe(st, dft, didf, logN, rows, seqs, slens, n, sigma, out):
    """``out[p]`` = score(row ``rows[p]`` + ``seqs[p, :slens[p]]``) - its current score.

    The sequence is appended with the run kernel and the row restored: the new table
    entries are unlinked (newest first, so linear probing stays valid) and the counts,
    norms, dot products and contexts put back. The row table must have room for
    ``n * slens[p]`` more entries (the prefix scorer's capacity).
    """
    (slots, epar, etok, nent, _eord, _egid, _eidf, _erc, ehc, _normr, _rbig, _valid,
     _nvalid, nh2, dot, hlen, sid, done, cur) = st
    one = np.zeros(1, np.int64)
    dummy = np.zeros((1, 1), np.float64)
    nofin = np.zeros((0, 1), np.float64)
    refs = np.zeros((1, 1, 1), np.int64)
    rl = np.zeros((1, 1), np.int64)
    vd = np.zeros((1, 1), np.bool_)
    nogid = np.zeros((0, 1, 1, 1), np.int64)
    mask = slots.shape[1] - 1
    for p in range(rows.shape[0]):
        b = rows[p]
        one[0] = b
        ne = nent[b]
        ehc0 = ehc[b, :ne].copy()
        nh20 = nh2[b].copy()
        dot0 = dot[b].copy()
        sid0 = sid[b].copy()
        h0, d0, c0 = hlen[b], done[b], cur[b]
        cd_run(st, dft, didf, logN, nogid, one, False, refs, rl, vd, seqs[p:p + 1], slens[p:p + 1], n, sigma, -1,
               False, dummy, nofin)
        out[p] = cur[b] - c0
        for e in range(nent[b] - 1, ne - 1, -1):
            i = slot_of(epar[b, e], etok[b, e], mask)
            while slots[b, i] != e:
                i = (i + 1) & mask
            slots[b, i] = -1
        nent[b] = ne
        ehc[b, :ne] = ehc0
        nh2[b] = nh20
        dot[b] = dot0
        sid[b] = sid0
        hlen[b], done[b], cur[b] = h0, d0, c0


@njit(cache=True, error_model="numpy")
def cd_fresh(st, dft, didf, logN, rows, cols, V, offs, toks, ooffs, otoks, kind, n, sigma, out):
    """Exact increments of appending a word's tokens ``u_1..u_k`` when none of them is in the
    row table (kind 2 of ``tokens.plan_columns``): the dot products with the references
    do not change, the hypothesis norms grow by the squared idf of the new n-grams (df
    from the corpus table, through the context's entries for n-grams that start in the
    prefix; repeated n-grams counted as tf 2, 3, ...) and the length by k. Entries where
    a token is in the row table (a hypothesis token) are returned for probing:
    ``(pi, pj, seqs, slens)``.
    """
    (slots, epar, etok, nent, _eord, egid, _eidf, _erc, _ehc, normr, rbig, valid,
     nvalid, nh2, dot, hlen, sid, done, cur) = st
    dslots, dpar, dtok, _dnent, _ddf, _dstamp = dft
    R = rbig.shape[1]
    nrow, kc = kind.shape
    shared = cols.shape[0] == 1
    Kc = ooffs.shape[1] - 1
    kmax = 1
    for w in range(V):
        kmax = max(kmax, offs[w + 1] - offs[w])
    for b in range(ooffs.shape[0]):
        for q in range(Kc):
            kmax = max(kmax, ooffs[b, q + 1] - ooffs[b, q])
    need = 1
    for i in range(nrow):
        b = rows[i]
        need = max(need, hlen[b] + kmax + 1)
        for r in range(R):
            need = max(need, rbig[b, r] + 1)
    gtab = gauss_table(need, sigma)
    u = np.zeros(kmax, np.int64)
    ng = np.zeros((kmax, n), np.int64)  # df entry of the new n-gram (order m) ending at u_p, -2: none
    nh2s = np.zeros((1, n), np.float64)
    one = np.zeros(1, np.int64)
    cap = 16
    pi = np.empty(cap, np.int64)
    pj = np.empty(cap, np.int64)
    seqs = np.zeros((cap, kmax), np.int64)
    slens = np.empty(cap, np.int64)
    np_ = 0
    for i in range(nrow):
        b = rows[i]
        for j in range(kc):
            if kind[i, j] != 2:
                continue
            w = cols[0, j] if shared else cols[i, j]
            L = 0
            if w < V:
                for q in range(offs[w], offs[w + 1]):
                    u[L] = toks[q]
                    L += 1
            else:
                c = w - V
                for q in range(ooffs[b, c], ooffs[b, c + 1]):
                    u[L] = otoks[b, q]
                    L += 1
            if done[b] or nvalid[b] == 0:
                out[i, j] = 0.0
                continue
            inrow = False
            for p in range(L):
                if tfind(slots, epar, etok, b, -1, u[p]) >= 0:
                    inrow = True
                    break
            if inrow:  # a token of the prefix: its n-grams may exist already, probe exactly
                if np_ == cap:
                    cap *= 2
                    pi2 = np.empty(cap, np.int64)
                    pj2 = np.empty(cap, np.int64)
                    seqs2 = np.zeros((cap, kmax), np.int64)
                    slens2 = np.empty(cap, np.int64)
                    pi2[:np_] = pi[:np_]
                    pj2[:np_] = pj[:np_]
                    seqs2[:np_] = seqs[:np_]
                    slens2[:np_] = slens[:np_]
                    pi, pj, seqs, slens = pi2, pj2, seqs2, slens2
                pi[np_] = i
                pj[np_] = j
                seqs[np_, :L] = u[:L]
                slens[np_] = L
                np_ += 1
                continue
            hl = hlen[b]
            for m in range(1, n + 1):
                nh2s[0, m - 1] = nh2[b, m - 1]
            for p in range(L):  # the new n-grams ending at u_p, and their df entries
                for m in range(1, n + 1):
                    ng[p, m - 1] = -2
                    if hl + p + 1 < m:
                        continue
                    if p + 1 >= m:  # inside the word: u_{p-m+1..p}
                        g = tfind(dslots, dpar, dtok, 0, -1, u[p - m + 1])
                        for q in range(p - m + 2, p + 1):
                            if g < 0:
                                break
                            g = tfind(dslots, dpar, dtok, 0, g, u[q])
                    else:  # the last m-p-1 prefix tokens, then u_0..u_p
                        e = sid[b, m - p - 1]
                        g = egid[b, e] if e >= 0 else -1
                        for q in range(p + 1):
                            if g < 0:
                                break
                            g = tfind(dslots, dpar, dtok, 0, g, u[q])
                    ng[p, m - 1] = g
            for m in range(1, n + 1):
                for p in range(L):
                    if ng[p, m - 1] == -2:
                        continue
                    # count this n-gram once, at its first occurrence (identical inside the word)
                    first = True
                    cnt = 1
                    for p2 in range(L):
                        if p2 == p or ng[p2, m - 1] == -2:
                            continue
                        if p2 + 1 < m or p + 1 < m:
                            continue  # an n-gram starting in the prefix is unique (see the docstring)
                        same = True
                        for q in range(m):
                            if u[p - q] != u[p2 - q]:
                                same = False
                                break
                        if same:
                            cnt += 1
                            if p2 < p:
                                first = False
                    if not first:
                        continue
                    g = ng[p, m - 1]
                    wi = didf[g] if g >= 0 else logN
                    x = cnt * wi
                    nh2s[0, m - 1] += x * x
            one[0] = nvalid[b]
            hb = hl + L - 1
            sc = cider_eval(nh2s, dot[b:b + 1], normr[b:b + 1], rbig[b:b + 1], valid[b:b + 1], one, 0, max(hb, 0), n,
                            gtab)
            out[i, j] = sc - cur[b]
    return pi[:np_].copy(), pj[:np_].copy(), seqs[:np_].copy(), slens[:np_].copy()
