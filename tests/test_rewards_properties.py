"""Property tests of the token-id layer on random token sequences (hypothesis).

- terminal equals the reference libraries on the same sequences written as words;
- dense increments sum to the terminal score, and are zero past each length;
- lookahead equals re-scoring prefix + token, for every id of a small vocabulary;
- a prefix scorer fed token by token (with inactive rows) reproduces dense, scores and
  lookahead, and rows restarted with reset_rows behave like a fresh scorer;
- with eos_id, everything from the first EOS on is ignored.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2seq_gym.rewards import Bleu, CiderD, DocumentFrequency, Rouge, RougeL, RougeLsum

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
sacrebleu = pytest.importorskip("sacrebleu")
cider_mod = pytest.importorskip("pycocoevalcap.cider.cider")

ALPHA = 6  # token ids 1..ALPHA in hypotheses; references also use ALPHA+1, ALPHA+2
SEP = 1  # sentence separator for ROUGE-Lsum
V = ALPHA + 4  # lookahead vocabulary: includes ids absent from everything
GARBAGE = 99  # padding value beyond the lengths (must be ignored)
SETTINGS = {"deadline": None, "derandomize": True, "suppress_health_check": [HealthCheck.too_slow]}

_CORPUS = [[[1, 2, 3], [2, 3, 4, 5]], [[3, 4], [1, 1, 2]], [[5, 6, 7, 2, 3]], [[2, 3, 4]], [[6, 6, 6, 1]]]


def _metrics():
    return [
        Rouge(1), Rouge(2), Rouge(3, "r"), RougeL(), RougeL("p"), RougeLsum(sep_id=SEP),
        Bleu(), Bleu("floor"), Bleu("add-k", 2), Bleu("none", effective_order=False),
        CiderD(), CiderD.from_corpus(_CORPUS),
    ]


METRICS = _metrics()
IDS = [m.name + ("" if not isinstance(m, (Bleu, CiderD)) else f"#{i}") for i, m in enumerate(METRICS)]


@st.composite
def batches(draw, max_b=4, max_t=12, max_r=3, max_l=12):
    B = draw(st.integers(1, max_b))
    hyps = [draw(st.lists(st.integers(1, ALPHA), max_size=max_t)) for _ in range(B)]
    refs = []
    for _ in range(B):
        R = draw(st.integers(1, max_r))
        refs.append([draw(st.lists(st.integers(1, ALPHA + 2), min_size=1 if j == 0 else 0, max_size=max_l))
                     for j in range(R)])
    return hyps, refs


def _tensors(hyps, refs, extra_t=2):
    """Padded tensors (garbage beyond the lengths) and the mask of existing references."""
    B = len(hyps)
    T = max(len(h) for h in hyps) + extra_t
    R = max(len(r) for r in refs)
    L = max(len(s) for r in refs for s in r) + 1
    h = torch.full((B, T), GARBAGE, dtype=torch.int64)
    hl = torch.tensor([len(x) for x in hyps])
    rr = torch.full((B, R, L), GARBAGE, dtype=torch.int64)
    rl = torch.zeros((B, R), dtype=torch.int64)
    mask = torch.zeros((B, R), dtype=torch.bool)
    for i, x in enumerate(hyps):
        h[i, : len(x)] = torch.tensor(x, dtype=torch.int64)
    for i, r in enumerate(refs):
        for j, s in enumerate(r):
            rr[i, j, : len(s)] = torch.tensor(s, dtype=torch.int64)
            rl[i, j] = len(s)
            mask[i, j] = True
    return h, hl, rr, rl, mask


def _words(ids, lsum=False):
    if lsum:
        sents, cur = [], []
        for t in ids:
            if t == SEP:
                sents.append(cur)
                cur = []
            else:
                cur.append(t)
        sents.append(cur)
        return "\n".join(" ".join(f"w{t}" for t in s) for s in sents)
    return " ".join(f"w{t}" for t in ids)


def _reference_scores(metric, hyps, refs):
    """Scores of the reference library on the sequences written as words."""
    if isinstance(metric, (Rouge, RougeL, RougeLsum)):
        typ = metric.name.split("_")[0]
        field = {"f": "fmeasure", "p": "precision", "r": "recall"}[metric.measure]
        sc = rouge_scorer.RougeScorer([typ])
        lsum = isinstance(metric, RougeLsum)
        return np.array([getattr(sc.score_multi([_words(s, lsum) for s in r], _words(h, lsum))[typ], field)
                         for h, r in zip(hyps, refs)])
    if isinstance(metric, Bleu):
        return np.array([sacrebleu.sentence_bleu(_words(h), [_words(s) for s in r],
                                                 smooth_method=metric.smooth_method,
                                                 smooth_value=metric.smooth_value,
                                                 use_effective_order=metric.effective_order).score / 100
                         for h, r in zip(hyps, refs)])
    gts = {i: [_words(s) for s in r] for i, r in enumerate(refs)}
    res = {i: [_words(h)] for i, h in enumerate(hyps)}
    return np.asarray(cider_mod.Cider().compute_score(gts, res)[1])


@settings(max_examples=60, **SETTINGS)
@given(data=batches())
def test_terminal_matches_reference_libraries(data):
    hyps, refs = data
    h, hl, rr, rl, mask = _tensors(hyps, refs)
    for m in METRICS:
        if isinstance(m, CiderD) and not isinstance(m.df, str):
            continue  # pycocoevalcap has no external document frequencies
        got = m.terminal(h, hl, rr, rl, ref_mask=mask).numpy()
        want = _reference_scores(m, hyps, refs)
        assert np.abs(got - want).max() <= 1e-9, (m.name, got, want)


@pytest.mark.parametrize("metric", METRICS, ids=IDS)
@settings(max_examples=50, **SETTINGS)
@given(data=batches())
def test_dense_sums_to_terminal_and_lookahead_is_exact(metric, data):
    hyps, refs = data
    h, hl, rr, rl, mask = _tensors(hyps, refs)
    B, T = h.shape
    term = metric.terminal(h, hl, rr, rl, ref_mask=mask)
    dense = metric.dense(h, hl, rr, rl, ref_mask=mask)
    assert dense.shape == (B, T) and dense.dtype == torch.float64
    assert torch.allclose(dense.sum(1), term, rtol=0, atol=1e-12)
    past = torch.arange(T)[None, :] >= hl[:, None]
    assert torch.all(dense[past] == 0)
    # lookahead == re-scoring prefix + v, at every prefix length. The B * V continuations
    # are scored in one batch; CIDEr-D with df="corpus" takes df (and N) from the
    # batch, so re-score those with the df of the original B rows.
    rescorer = metric
    if isinstance(metric, CiderD) and isinstance(metric.df, str):
        rescorer = CiderD(df=DocumentFrequency.from_ids(rr, rl, ref_mask=mask))
        assert torch.allclose(rescorer.terminal(h, hl, rr, rl, ref_mask=mask), term, rtol=0, atol=1e-12)
    for t in range(int(hl.max()) + 1):
        pl = torch.clamp(hl, max=t)
        la = metric.lookahead(h, pl, rr, rl, V, ref_mask=mask)
        assert la.shape == (B, V)
        cur = metric.terminal(h, pl, rr, rl, ref_mask=mask)
        # all B * V continuations in one batch
        hv = h.repeat_interleave(V, 0)
        hv[torch.arange(B * V), pl.repeat_interleave(V)] = torch.arange(V).repeat(B)
        plus = rescorer.terminal(hv, pl.repeat_interleave(V) + 1, rr.repeat_interleave(V, 0),
                               rl.repeat_interleave(V, 0), ref_mask=mask.repeat_interleave(V, 0))
        want = plus.view(B, V) - cur[:, None]
        assert torch.allclose(la, want, rtol=0, atol=1e-10), (metric.name, t, (la - want).abs().max())


@pytest.mark.parametrize("metric", METRICS, ids=IDS)
@settings(max_examples=40, **SETTINGS)
@given(data=batches(), new=batches(max_b=4), pattern=st.lists(st.booleans(), min_size=4, max_size=4))
def test_prefix_scorer_reproduces_dense_lookahead_and_resets(metric, data, new, pattern):
    hyps, refs = data
    h, hl, rr, rl, mask = _tensors(hyps, refs)
    B, T = h.shape
    dense = metric.dense(h, hl, rr, rl, ref_mask=mask)
    ps = metric.prefix_scorer(rr, rl, ref_mask=mask)
    assert torch.all(ps.scores == 0)
    for t in range(T):
        active = t < hl
        inc = ps.append(torch.where(active, h[:, t], torch.full_like(h[:, t], 12345)), active)
        assert torch.allclose(inc, dense[:, t], rtol=0, atol=1e-12)
        pl = torch.clamp(hl, max=t + 1)
        assert torch.allclose(ps.scores, metric.terminal(h, pl, rr, rl, ref_mask=mask), rtol=0, atol=1e-12)
        if t % 3 == 0:
            want = metric.lookahead(h, pl, rr, rl, V, ref_mask=mask)
            assert torch.allclose(ps.lookahead(V), want, rtol=0, atol=1e-12)
    assert torch.equal(ps.lengths, hl)
    # restart some rows with new references (possibly more / longer); continue every row
    nh, nrefs = new
    rows = [i for i in range(B) if pattern[i % 4]]
    if not rows:
        return
    nrefs = [nrefs[k % len(nrefs)] for k in range(len(rows))]
    _, _, nrr, nrl, nmask = _tensors([[]] * len(rows), nrefs)
    ps.reset_rows(torch.tensor(rows), nrr, nrl, ref_mask=nmask)
    assert torch.all(ps.lengths[rows] == 0)
    assert torch.all(ps.scores[rows] == 0)
    cont = torch.tensor([[*(nh[k % len(nh)] + [3])[:1], 2] for k in range(B)], dtype=torch.int64)  # two more tokens
    cur_refs = [nrefs[rows.index(i)] if i in rows else refs[i] for i in range(B)]
    _, _, arr, arl, amask = _tensors([[]] * B, cur_refs)
    for t in range(2):
        before = ps.scores
        inc = ps.append(cont[:, t])
        seqs = [([] if i in rows else hyps[i]) + cont[i, : t + 1].tolist() for i in range(B)]
        sh, shl, _, _, _ = _tensors(seqs, cur_refs)
        want = metric.terminal(sh, shl, arr, arl, ref_mask=amask)
        assert torch.allclose(ps.scores, want, rtol=0, atol=1e-12)
        assert torch.allclose(inc, want - before, rtol=0, atol=1e-12)


EOS = ALPHA + 3  # never in references
_EOS_PAIRS = {
    "rouge2": (Rouge(2), Rouge(2, eos_id=EOS)),
    "rougeL": (RougeL(), RougeL(eos_id=EOS)),
    "rougeLsum": (RougeLsum(sep_id=SEP), RougeLsum(sep_id=SEP, eos_id=EOS)),
    "bleu": (Bleu(), Bleu(eos_id=EOS)),
    "cider": (CiderD(), CiderD(eos_id=EOS)),
}


@pytest.mark.parametrize("name", list(_EOS_PAIRS))
@settings(max_examples=30, **SETTINGS)
@given(data=batches(), cut=st.integers(0, 9))
def test_eos_ignores_the_rest(name, data, cut):
    hyps, refs = data
    metric, m = _EOS_PAIRS[name]
    with_eos = [[*x[:cut], EOS, *x[cut:]] for x in hyps]
    h, hl, rr, rl, mask = _tensors(with_eos, refs)
    h0, hl0, _, _, _ = _tensors([x[:cut] for x in hyps], refs)
    assert torch.equal(m.terminal(h, hl, rr, rl, ref_mask=mask), metric.terminal(h0, hl0, rr, rl, ref_mask=mask))
    d = m.dense(h, hl, rr, rl, ref_mask=mask)
    eos_pos = torch.tensor([min(cut, len(x)) for x in hyps])
    assert torch.all(d[torch.arange(d.shape[1])[None, :] >= eos_pos[:, None]] == 0)
    la = m.lookahead(h, eos_pos, rr, rl, V, ref_mask=mask)
    assert torch.all(la[:, EOS] == 0)
    assert torch.all(m.lookahead(h, hl, rr, rl, V, ref_mask=mask) == 0)  # finished prefixes
    ps = m.prefix_scorer(rr, rl, ref_mask=mask)
    for t in range(h.shape[1]):
        ps.append(h[:, t], t < hl)
    assert torch.all(ps.finished)
    assert torch.allclose(ps.scores, metric.terminal(h0, hl0, rr, rl, ref_mask=mask), rtol=0, atol=1e-12)
