"""Bootstrap intervals and the paired bootstrap test on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seq2seq_gym.agents.evaluation import PairedBootstrapResult, ScoreInterval, bootstrap_ci, paired_bootstrap
from seq2seq_gym.rewards import Bleu


def test_interval_of_a_mean():
    x = np.random.default_rng(0).normal(0.4, 0.2, size=500)
    ci = bootstrap_ci(x, seed=1)
    assert isinstance(ci, ScoreInterval)
    assert ci.score == pytest.approx(x.mean()) and float(ci) == ci.score
    assert ci.low < ci.score < ci.high
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert (ci.high - ci.low) == pytest.approx(2 * 1.96 * se, rel=0.15)  # the normal-theory width
    assert bootstrap_ci(x, seed=1) == ci  # seeded
    assert bootstrap_ci(x, seed=2) != ci
    assert bootstrap_ci(torch.tensor(x), seed=1) == ci  # tensors accepted
    assert ci.to_dict()["n"] == 500 and ci.n_resamples == 1000
    wide = bootstrap_ci(x[:50], seed=1)
    assert wide.high - wide.low > 2 * (ci.high - ci.low)  # ~ sqrt(10) times wider


def test_statistics_path_recombines_sums():
    """[x, 1] statistics with combine = sum x / sum 1 is the mean: the same interval, draw for draw."""
    x = np.random.default_rng(3).random(300)
    stats = np.stack([x, np.ones_like(x)], 1)
    ratio = lambda s: s[:, 0] / s[:, 1]  # noqa: E731
    a = bootstrap_ci(x, seed=7)
    b = bootstrap_ci(stats, combine=ratio, seed=7)
    assert (a.score, a.low, a.high) == pytest.approx((b.score, b.low, b.high), abs=1e-12)


def test_coverage_of_the_95_interval():
    """Over 400 synthetic corpora the 95 % interval holds the true value about 95 % of the time,
    for an averaged score and for a ratio of summed statistics."""
    rng = np.random.default_rng(11)
    trials, n = 400, 200
    hit_mean = hit_ratio = 0
    for t in range(trials):
        x = (rng.random(n) < 0.3).astype(float)  # per-example scores, true mean 0.3
        ci = bootstrap_ci(x, n_resamples=500, seed=t)
        hit_mean += ci.low <= 0.3 <= ci.high
        lengths = rng.integers(1, 21, size=n)  # corpus precision: matches / lengths, true ratio 0.4
        matches = rng.binomial(lengths, 0.4)
        ci = bootstrap_ci(np.stack([matches, lengths], 1), combine=lambda s: s[:, 0] / s[:, 1],
                          n_resamples=500, seed=t)
        hit_ratio += ci.low <= 0.4 <= ci.high
    assert 0.91 <= hit_mean / trials <= 0.98
    assert 0.91 <= hit_ratio / trials <= 0.98


def _corpus_bleu(summed: np.ndarray, order: int = 4) -> np.ndarray:
    """sacrebleu's corpus BLEU ('exp' smoothing, 0-1 scale) from summed statistics, vectorised."""
    sys_len, ref_len = summed[:, 0], summed[:, 1]
    correct, total = summed[:, 2:2 + order], summed[:, 2 + order:2 + 2 * order]
    smooth = np.cumprod(np.where(correct == 0, 2.0, 1.0), axis=1)
    prec = np.where(correct > 0, correct / np.maximum(total, 1), 1.0 / (smooth * np.maximum(total, 1)))
    prec = np.where(total > 0, prec, 0.0)
    with np.errstate(divide="ignore"):
        logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1.0)), -9999999999.0)
    bp = np.where(sys_len < ref_len, np.exp(1 - ref_len / np.maximum(sys_len, 1)), 1.0)
    return np.where(sys_len > 0, bp * np.exp(logs.mean(1)), 0.0)


def test_corpus_bleu_resamples_recombine_statistics():
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(30)]
    refs, hyps = [], []
    for _ in range(120):
        ref = list(rng.choice(words, size=rng.integers(5, 15)))
        hyp = [w if rng.random() < 0.7 else str(rng.choice(words)) for w in ref][: len(ref) - rng.integers(0, 3)]
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    bleu = Bleu()
    stats = bleu.score_stats(hyps, refs).numpy()  # [N, 2 + 2 * 4]
    assert _corpus_bleu(stats.sum(0, keepdims=True))[0] == pytest.approx(bleu.text_corpus_score(hyps, refs), abs=1e-12)
    ci = bootstrap_ci(stats, combine=_corpus_bleu, seed=0)
    assert ci.score == pytest.approx(bleu.text_corpus_score(hyps, refs), abs=1e-12)
    assert ci.low < ci.score < ci.high
    for _ in range(3):  # a resample's summed statistics give the corpus BLEU of the resampled corpus
        idx = rng.integers(0, len(hyps), size=len(hyps))
        want = bleu.text_corpus_score([hyps[i] for i in idx], [refs[i] for i in idx])
        assert _corpus_bleu(stats[idx].sum(0, keepdims=True))[0] == pytest.approx(want, abs=1e-12)


def test_paired_test_extremes():
    x = np.random.default_rng(0).random(100)
    same = paired_bootstrap(x, x, seed=0)
    assert isinstance(same, PairedBootstrapResult)
    assert same.delta == 0 and same.p_value == 1.0 and same.win_rate == 0.5 and same.low == same.high == 0
    far = paired_bootstrap(x + 0.5, x, n_resamples=999, seed=0)
    assert far.delta == pytest.approx(0.5) and far.p_value == pytest.approx(1 / 1000) and far.win_rate == 1.0
    worse = paired_bootstrap(x, x + 0.5, seed=0)
    assert worse.delta == pytest.approx(-0.5) and worse.win_rate == 0.0 and worse.p_value < 0.01


def test_paired_test_is_calibrated_under_the_null_and_powerful_when_paired():
    rng = np.random.default_rng(21)
    trials, n = 300, 150
    p_null = []
    for t in range(trials):
        base = rng.random(n)
        a = base + rng.normal(0, 0.1, n)  # two systems, same quality, correlated through the examples
        b = base + rng.normal(0, 0.1, n)
        p_null.append(paired_bootstrap(a, b, n_resamples=400, seed=t).p_value)
    p_null = np.array(p_null)
    assert 0.01 <= (p_null < 0.05).mean() <= 0.10  # about 5 % false positives
    assert 0.4 <= np.median(p_null) <= 0.6  # roughly uniform
    # a small, consistent gain hidden by large between-example variation
    base = rng.random(n)
    a = base + 0.02 + rng.normal(0, 0.02, n)
    res = paired_bootstrap(a, base, seed=0)
    ci_a, ci_b = bootstrap_ci(a, seed=0), bootstrap_ci(base, seed=0)
    assert ci_a.low < ci_b.high  # the separate intervals overlap ...
    assert res.p_value < 0.01 and res.win_rate > 0.99 and res.low > 0  # ... the paired test sees the gain


def test_paired_test_with_statistics():
    rng = np.random.default_rng(2)
    lengths = rng.integers(5, 20, size=200)
    a = np.stack([rng.binomial(lengths, 0.5), lengths], 1)
    b = np.stack([rng.binomial(lengths, 0.3), lengths], 1)
    res = paired_bootstrap(a, b, combine=lambda s: s[:, 0] / s[:, 1], seed=0)
    assert res.score_a == pytest.approx(a[:, 0].sum() / lengths.sum())
    assert res.delta > 0.1 and res.p_value < 0.01


def test_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, float("nan")])
    with pytest.raises(ValueError, match="combine"):
        bootstrap_ci(np.ones((4, 2)))
    with pytest.raises(TypeError, match="numeric"):
        bootstrap_ci(["a", "b"])
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0, 2.0], n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=95)
    with pytest.raises(TypeError, match="seed"):
        bootstrap_ci([1.0, 2.0], seed="x")
    with pytest.raises(ValueError, match="combine must map"):
        bootstrap_ci(np.ones((4, 2)), combine=lambda s: s)
    with pytest.raises(ValueError, match="same examples"):
        paired_bootstrap([1.0, 2.0], [1.0, 2.0, 3.0])


def test_no_global_rng_is_touched():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    bootstrap_ci(np.arange(10.0), seed=None)
    paired_bootstrap(np.arange(10.0), np.arange(10.0)[::-1], seed=np.random.default_rng(0))
    assert (np.random.get_state()[1] == state).all()
