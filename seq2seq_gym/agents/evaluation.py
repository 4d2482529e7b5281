"""Bootstrap confidence intervals of corpus scores and the paired bootstrap test.

Two kinds of corpus score are supported:

- *averaged* scores, the mean of per-example values (ROUGE, sentence BLEU, CIDEr-D):
  pass ``values [N]``;
- *statistics-based* scores, a function of per-example sufficient statistics summed
  over the corpus (corpus BLEU: lengths, matches and totals per n-gram order): pass
  ``values [N, K]`` and ``combine``, a vectorised function from summed statistics
  ``[S, K]`` to ``S`` scores. Every resample re-sums the statistics of its examples
  and re-combines them, as corpus BLEU must be resampled (Koehn 2004).

Resampling (Efron & Tibshirani 1993): ``n_resamples`` corpora of ``N`` examples drawn
with replacement; the interval is the percentile interval of the resampled scores.
The paired test (Koehn 2004, "Statistical Significance Tests for Machine Translation
Evaluation") resamples the same examples for both systems. Everything is seeded with
a local ``numpy.random.Generator`` (no global RNG is touched) and vectorised: each
chunk of resamples is an ``[S, N]`` count matrix times the ``[N, K]`` statistics.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["PairedBootstrapResult", "ScoreInterval", "bootstrap_ci", "paired_bootstrap"]

Combine = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ScoreInterval:
    """A corpus score with its bootstrap percentile interval.

    Attributes:
        score: the score of the whole corpus.
        low, high: the interval's ends.
        confidence: its level (0.95: a 95 % interval).
        n: examples in the corpus.
        n_resamples: bootstrap resamples drawn.
    """

    score: float
    low: float
    high: float
    confidence: float
    n: int
    n_resamples: int

    def __float__(self) -> float:
        return float(self.score)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class PairedBootstrapResult:
    """System A against system B on the same examples.

    Attributes:
        score_a, score_b: the corpus scores.
        delta: ``score_a - score_b``.
        low, high: percentile interval of the resampled deltas.
        p_value: two-sided p-value of "no difference": the share of resampled deltas at
            least ``|delta|`` away from the observed one, ``(1 + #) / (1 + n_resamples)``
            (the bootstrap distribution shifted to the null; Efron & Tibshirani 1993, ch. 16).
        win_rate: share of resamples where A scores above B (ties count one half);
            Koehn 2004 calls A better at the 95 % level when it is >= 0.95.
        confidence, n, n_resamples: as :class:`ScoreInterval`.
    """

    score_a: float
    score_b: float
    delta: float
    low: float
    high: float
    p_value: float
    win_rate: float
    confidence: float
    n: int
    n_resamples: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _stats(values: Any, combine: Combine | None, name: str) -> np.ndarray:
    arr = np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if combine is None and arr.ndim != 1:
        raise ValueError(f"{name} must be [N] per-example values (or pass combine for [N, K] statistics), "
                         f"got shape {arr.shape}")
    if combine is not None:
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise ValueError(f"{name} must be [N, K] statistics, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr if arr.ndim == 2 else arr[:, None]


def _score(summed: np.ndarray, n: int, combine: Combine | None) -> np.ndarray:
    """Scores ``[S]`` of summed statistics ``[S, K]``."""
    if combine is None:
        return summed[:, 0] / n
    out = np.asarray(combine(summed), dtype=np.float64)
    if out.shape != (summed.shape[0],):
        raise ValueError(f"combine must map summed statistics [S, K] to [S] scores; "
                         f"got shape {out.shape} for S={summed.shape[0]}")
    return out


def _check(n_resamples: Any, confidence: Any) -> tuple[int, float]:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive int, got {n_resamples!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return int(n_resamples), float(confidence)


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, None or a numpy Generator, got {seed!r}")


def _resampled_counts(n: int, n_resamples: int, rng: np.random.Generator,
                      chunk_elems: int = 1 << 22) -> Iterator[np.ndarray]:
    """Chunks of ``[S, n]`` float64 counts: how often each example is drawn in each resample."""
    per_chunk = max(1, chunk_elems // n)
    done = 0
    while done < n_resamples:
        S = min(per_chunk, n_resamples - done)
        idx = rng.integers(0, n, size=(S, n)) + (np.arange(S) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=S * n).reshape(S, n).astype(np.float64)
        done += S


def _interval(x: np.ndarray, confidence: float) -> tuple[float, float]:
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(x, [a, 1.0 - a])
    return float(lo), float(hi)


def bootstrap_ci(values: Any, *, combine: Combine | None = None, n_resamples: int = 1000,
                 confidence: float = 0.95, seed: int | np.random.Generator | None = 0) -> ScoreInterval:
    """Bootstrap percentile interval of a corpus score.

    Args:
        values: ``[N]`` per-example values (score = their mean), or ``[N, K]`` sufficient
            statistics with ``combine``.
        combine: vectorised ``summed [S, K] -> scores [S]`` for statistics-based scores.
        n_resamples: bootstrap resamples (1000 is customary; 10000 for a steadier tail).
        confidence: interval level in (0, 1).
        seed: an int, None (fresh entropy) or a ``numpy.random.Generator``.
    """
    n_resamples, confidence = _check(n_resamples, confidence)
    stats = _stats(values, combine, "values")
    n = stats.shape[0]
    score = float(_score(stats.sum(0, keepdims=True), n, combine)[0])
    rng = _rng(seed)
    boot = np.concatenate([_score(c @ stats, n, combine) for c in _resampled_counts(n, n_resamples, rng)])
    low, high = _interval(boot, confidence)
    return ScoreInterval(score, low, high, confidence, n, n_resamples)


def paired_bootstrap(a: Any, b: Any, *, combine: Combine | None = None, n_resamples: int = 1000,
                     confidence: float = 0.95, seed: int | np.random.Generator | None = 0) -> PairedBootstrapResult:
    """Paired bootstrap test of system A against system B on the same examples (Koehn 2004).

    Args:
        a, b: per-example values ``[N]`` (or statistics ``[N, K]`` with ``combine``) of the
            two systems, example ``i`` of ``a`` and ``b`` being the same source.
        combine, n_resamples, confidence, seed: as :func:`bootstrap_ci`.
    """
    n_resamples, confidence = _check(n_resamples, confidence)
    sa, sb = _stats(a, combine, "a"), _stats(b, combine, "b")
    if sa.shape != sb.shape:
        raise ValueError(f"a and b must hold the same examples: shapes {sa.shape} and {sb.shape}")
    n = sa.shape[0]
    score_a = float(_score(sa.sum(0, keepdims=True), n, combine)[0])
    score_b = float(_score(sb.sum(0, keepdims=True), n, combine)[0])
    delta = score_a - score_b
    rng = _rng(seed)
    deltas = np.concatenate([_score(c @ sa, n, combine) - _score(c @ sb, n, combine)
                             for c in _resampled_counts(n, n_resamples, rng)])
    low, high = _interval(deltas, confidence)
    tol = 1e-12 * max(1.0, abs(delta))
    extreme = int((np.abs(deltas - delta) >= abs(delta) - tol).sum())
    p_value = (1 + extreme) / (1 + n_resamples)
    win_rate = float((deltas > tol).mean() + 0.5 * (np.abs(deltas) <= tol).mean())
    return PairedBootstrapResult(score_a, score_b, delta, low, high, p_value, win_rate, confidence, n, n_resamples)
