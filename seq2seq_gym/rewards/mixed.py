"""Weighted sums of metrics and the metric registry (``make_reward``).

Mixed rewards such as 0.5 ROUGE-L + 0.5 BLEU are common in RL fine-tuning of
sequence models (e.g. Paulus et al. 2018 optimise ROUGE-L; Keneshloo et al.
list the metrics used as rewards). Every mode is the weighted sum of the components'
modes, so dense increments still sum to the terminal score and lookahead stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from seq2seq_gym.rewards.base import Metric, PrefixScorer
from seq2seq_gym.rewards.bleu import Bleu
from seq2seq_gym.rewards.cider import CiderD, DocumentFrequency
from seq2seq_gym.rewards.rouge import Rouge, RougeL, RougeLsum


class MixedReward:
    """sum_i w_i * metric_i, in every mode of :class:`~seq2seq_gym.rewards.base.Metric`.

    Args:
        components: ``(metric, weight)`` pairs (at least one). Each metric appears once
            (its name is the key of its score, e.g. in an environment's
            ``info["scores"]``: give one metric a weight instead of repeating it), and
            at least one weight is non-zero (else the reward is constant 0).
    """

    def __init__(self, components: Sequence[tuple[Metric, float]]) -> None:
        comps = list(components)
        if not comps:
            raise ValueError("components must hold at least one (metric, weight) pair")
        for i, c in enumerate(comps):
            if not (isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], (Metric, MixedReward))):
                raise ValueError(f"components[{i}] must be a (Metric, weight) pair, got {c!r}")
            w = c[1]
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not np.isfinite(w):
                raise ValueError(f"components[{i}] has a non-numeric or non-finite weight {w!r}")
        self.components = [(m, float(w)) for m, w in comps]
        seen: dict[str, int] = {}
        for i, (m, _) in enumerate(self.components):
            if m.name in seen:
                raise ValueError(
                    f"metric {m.name!r} appears twice in the reward (components {seen[m.name]} and {i}); "
                    f"give it once with the summed weight, e.g. '{m.name}:2'")
            seen[m.name] = i
        if all(w == 0 for _, w in self.components):
            raise ValueError(f"every weight of the reward {[(m.name, w) for m, w in self.components]} is 0, so the "
                             "reward would always be 0; give at least one metric a non-zero weight")
        self.name = ",".join(f"{m.name}:{w:g}" for m, w in self.components)

    def __repr__(self) -> str:
        return f"MixedReward({self.name!r})"

    def _sum(self, fn: Callable[[Any], torch.Tensor]) -> torch.Tensor:
        total = None
        for m, w in self.components:
            x = fn(m) * w
            total = x if total is None else total + x
        return total

    def terminal(self, hyps: Any, hyp_lens: Any, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None):
        """Weighted sum of the components' :meth:`Metric.terminal` (``[B]`` float64)."""
        return self._sum(lambda m: m.terminal(hyps, hyp_lens, refs, ref_lens, ref_mask=ref_mask))

    def dense(self, hyps: Any, hyp_lens: Any, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None):
        """Weighted sum of the components' :meth:`Metric.dense` (``[B, T]`` float64)."""
        return self._sum(lambda m: m.dense(hyps, hyp_lens, refs, ref_lens, ref_mask=ref_mask))

    def lookahead(self, prefix: Any, prefix_lens: Any, refs: Any, ref_lens: Any, vocab_size: int, *,
                  ref_mask: Any = None):
        """Weighted sum of the components' :meth:`Metric.lookahead` (``[B, V]`` float64)."""
        return self._sum(lambda m: m.lookahead(prefix, prefix_lens, refs, ref_lens, vocab_size, ref_mask=ref_mask))

    def score(self, hypotheses: Sequence[str], references: Any) -> torch.Tensor:
        """Weighted sum of the components' text-layer scores (each with its own tokenizer)."""
        return self._sum(lambda m: m.score(hypotheses, references))

    def prefix_scorer(self, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None) -> MixedPrefixScorer:
        """A prefix scorer whose increments are the weighted sums of the components'."""
        return MixedPrefixScorer([(m.prefix_scorer(refs, ref_lens, ref_mask=ref_mask), w) for m, w in self.components])


class MixedPrefixScorer:
    """Weighted sum of component :class:`PrefixScorer` objects (same interface)."""

    def __init__(self, scorers: Sequence[tuple[PrefixScorer | MixedPrefixScorer, float]]) -> None:
        self.scorers = list(scorers)

    def _sum(self, fn: Callable[[Any], torch.Tensor]) -> torch.Tensor:
        total = None
        for s, w in self.scorers:
            x = fn(s) * w
            total = x if total is None else total + x
        return total

    @property
    def batch_size(self) -> int:
        return self.scorers[0][0].batch_size

    @property
    def scores(self) -> torch.Tensor:
        return self._sum(lambda s: s.scores)

    @property
    def lengths(self) -> torch.Tensor:
        return self.scorers[0][0].lengths

    @property
    def finished(self) -> torch.Tensor:
        return self.scorers[0][0].finished

    def append(self, tokens: Any, active: Any = None) -> torch.Tensor:
        # every component applies the same checks, so a rejected call fails on the first
        incs = [s.append(tokens, active) for s, _ in self.scorers]
        total = None
        for x, (_, w) in zip(incs, self.scorers):
            total = x * w if total is None else total + x * w
        return total

    def lookahead(self, vocab_size: int) -> torch.Tensor:
        return self._sum(lambda s: s.lookahead(vocab_size))

    def reset_rows(self, idx: Any, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None) -> None:
        for s, _ in self.scorers:
            s.reset_rows(idx, refs, ref_lens, ref_mask=ref_mask)


# ------------------------------------------------------------------------ registry

_ROUGE_NAME = re.compile(r"(?P<base>rouge(?:[1-9][0-9]*|L|Lsum))(?:_(?P<m>[fpr]))?")
_CIDER_ALIASES = ("cider", "ciderD", "cider-d", "cider_d", "CIDEr", "CIDEr-D")


def list_metrics() -> list[str]:
    """Names accepted by :func:`make_reward` (ROUGE names take a ``_f`` / ``_p`` / ``_r``
    suffix for the measure; ``rougeN`` works for any n >= 1)."""
    return ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "cider", "ciderD"]


def _make_one(name: str, *, pad_id: int, eos_id: int | None, sep_id: int | None,
              cider_df: str | DocumentFrequency) -> Metric:
    name = name.strip()
    common = {"pad_id": pad_id, "eos_id": eos_id}
    if name == "bleu":
        return Bleu(**common)
    if name in _CIDER_ALIASES:
        return CiderD(df=cider_df, **common)
    mt = _ROUGE_NAME.fullmatch(name)
    if mt:
        base, measure = mt.group("base"), mt.group("m") or "f"
        if base == "rougeL":
            return RougeL(measure, **common)
        if base == "rougeLsum":
            return RougeLsum(sep_id, measure, **common)
        return Rouge(int(base[5:]), measure, **common)
    raise ValueError(f"unknown metric name {name!r}; known: {', '.join(list_metrics())} "
                     "(ROUGE names accept _f/_p/_r, e.g. rougeL_p)")


def make_reward(spec: str | Mapping[str, float] | Metric | MixedReward, *, pad_id: int = 0,
                eos_id: int | None = None, sep_id: int | None = None,
                cider_df: str | DocumentFrequency = "corpus") -> Metric | MixedReward:
    """Build a reward from a spec.

    Args:
        spec: a metric name (``"rougeL"``), a weighted list ``"rougeL:0.5,bleu:0.5"``
            (a name without weight has weight 1), a dict ``{"rougeL": 0.5, ...}``, or a
            ready :class:`Metric` / :class:`MixedReward` (returned as is).
        pad_id, eos_id: passed to every metric built here.
        sep_id: sentence separator for ``rougeLsum``.
        cider_df: ``"corpus"`` or a fitted :class:`DocumentFrequency` for ``cider``.

    Returns a single metric for a single unweighted name, else a :class:`MixedReward`.
    """
    if isinstance(spec, (Metric, MixedReward)):
        return spec
    kw = {"pad_id": pad_id, "eos_id": eos_id, "sep_id": sep_id, "cider_df": cider_df}
    if isinstance(spec, Mapping):
        if not spec:
            raise ValueError("spec must name at least one metric")
        return MixedReward([(_make_one(str(k), **kw), v) for k, v in spec.items()])
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be a metric name, a 'name:weight,...' string, a dict or a Metric, got {spec!r}")
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if len(parts) == 1 and ":" not in parts[0]:
        return _make_one(parts[0], **kw)
    comps = []
    for p in parts:
        name, _, w = p.partition(":")
        try:
            weight = float(w) if w.strip() else 1.0
        except ValueError:
            raise ValueError(f"bad weight {w!r} for {name!r} in spec {spec!r}") from None
        comps.append((_make_one(name, **kw), weight))
    return MixedReward(comps)
