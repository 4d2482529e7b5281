"""Decoder input policies against exposure bias: what the decoder reads at step ``t > 0`` during training.

With teacher forcing the decoder always reads the reference token ``y*_{t-1}``;
at test time it reads its own output, a mismatch known as exposure bias. Each
policy here replaces the reference input in :meth:`Seq2SeqModel.score` and
:meth:`Seq2SeqModel.mle_loss` (argument ``input_policy``):

- :class:`TeacherForcing`: ``emb(y*_{t-1})``, the reference token;
- :class:`ScheduledSampling` (Bengio et al. 2015): the reference token with
  probability ``eps_i``, else the model's own sample or argmax (no gradient
  through the choice);
- :class:`SoftArgmax` (Goyal et al. 2017): ``sum_w softmax(alpha log P_{t-1})_w emb(w)``,
  optionally with Gumbel noise and straight-through; gradients flow through the input;
- :class:`TopKEmbedding` (Ranzato et al. 2016, end-to-end backprop): the
  renormalised top-k weighted embedding; gradients flow through the weights.

``P_{t-1}`` is the model's full output distribution at the previous step (the
pointer-generator's final distribution over the extended vocabulary). Copy
columns have no embedding of their own: their mass is given to ``<unk>``, the
embedding that copied words are fed with.

A policy may depend on training progress (``set_step``, called by
:func:`~seq2seq_gym.models.training.train_mle` before each update).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from seq2seq_gym.data import UNK_ID

if TYPE_CHECKING:
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

SCHEDULES = ("constant", "linear", "exponential", "inverse_sigmoid")


def uniform(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform(0, 1) noise from ``generator`` (on the generator's device, moved to ``device``)."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, device=generator.device, generator=generator).to(device)


def gumbel(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """Standard Gumbel noise ``-log(-log U)``; ``argmax(logits + noise)`` samples ``softmax(logits)``."""
    u = uniform(shape, device, generator).clamp(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def fold_copy_mass(weights: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """``[B, V + n_ext]`` weights to ``[B, V]``: the copy columns' mass goes to ``<unk>``."""
    if weights.shape[-1] == vocab_size:
        return weights
    extra = weights[:, vocab_size:].sum(-1, keepdim=True)  # [B, 1]
    return weights[:, :vocab_size] + extra * F.one_hot(torch.tensor(UNK_ID), vocab_size).to(weights)


class InputPolicy:
    """Base class: chooses the decoder input embedding at steps ``t > 0`` of a training pass."""

    def set_step(self, step: int) -> None:
        """Tell the policy how many updates have been made (for schedules). The base ignores it."""

    def next_input(
        self,
        model: Seq2SeqModel,
        gold: torch.Tensor,
        log_probs: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The input embedding ``[B, M]`` for the next step.

        Args:
            model: the model being trained (for ``embed_tokens`` and ``embedding``).
            gold: ``[B]`` the reference (or given action) token of the previous step, extended ids.
            log_probs: ``[B, V + n_ext]`` the model's distribution at the previous step (with gradients).
            generator: random source for stochastic policies.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class TeacherForcing(InputPolicy):
    """Always feed the reference token (the default; :meth:`Seq2SeqModel.score` then takes its fast path)."""

    def next_input(self, model, gold, log_probs, generator=None):  # type: ignore[no-untyped-def]
        return model.embed_tokens(gold)


class ScheduledSampling(InputPolicy):
    """Scheduled sampling (Bengio et al. 2015, "Scheduled Sampling for Sequence Prediction with RNNs").

    At update ``i`` each row is fed the reference token with probability
    ``eps_i`` (Bengio's epsilon, the teacher-forcing probability) and the
    model's own token otherwise. ``eps_i`` decays with the schedule (sec. 2.4):

    - ``"linear"``: ``eps_i = max(eps_min, k - c * i)``;
    - ``"exponential"``: ``eps_i = max(eps_min, k ** i)`` with ``k < 1``;
    - ``"inverse_sigmoid"``: ``eps_i = max(eps_min, k / (k + exp(i / k)))`` with ``k >= 1``;
    - ``"constant"``: ``eps_i = k``.

    The model's token does not carry gradients (it is a discrete choice).

    Args:
        schedule: one of ``"constant"``, ``"linear"``, ``"exponential"``, ``"inverse_sigmoid"``.
        k: the schedule's ``k`` (default: 1.0 linear, 0.9999 exponential, 1000 inverse-sigmoid, 1.0 constant).
        c: slope of the linear schedule (per update).
        eps_min: lower bound of the teacher-forcing probability.
        mode: feed the model's ``"sample"`` (Bengio et al.) or its ``"argmax"``.
    """

    def __init__(
        self,
        schedule: str = "inverse_sigmoid",
        k: float | None = None,
        c: float = 1e-4,
        eps_min: float = 0.0,
        mode: str = "sample",
    ) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        if mode not in ("sample", "argmax"):
            raise ValueError(f"mode must be 'sample' or 'argmax', got {mode!r}")
        default_k = {"constant": 1.0, "linear": 1.0, "exponential": 0.9999, "inverse_sigmoid": 1000.0}[schedule]
        k = default_k if k is None else float(k)
        if schedule == "exponential" and not 0.0 < k < 1.0:
            raise ValueError(f"exponential schedule needs 0 < k < 1, got k={k}")
        if schedule == "inverse_sigmoid" and k < 1.0:
            raise ValueError(f"inverse_sigmoid schedule needs k >= 1, got k={k}")
        if schedule == "constant" and not 0.0 <= k <= 1.0:
            raise ValueError(f"constant schedule needs 0 <= k <= 1 (the teacher-forcing probability), got k={k}")
        if c < 0 or not 0.0 <= eps_min <= 1.0:
            raise ValueError(f"need c >= 0 and 0 <= eps_min <= 1, got c={c}, eps_min={eps_min}")
        self.schedule, self.k, self.c, self.eps_min, self.mode = schedule, k, float(c), float(eps_min), mode
        self.step = 0

    def set_step(self, step: int) -> None:
        self.step = int(step)

    def teacher_prob(self, step: int | None = None) -> float:
        """``eps_i``: the probability of feeding the reference token at update ``step`` (default: the current one)."""
        i = self.step if step is None else int(step)
        if self.schedule == "constant":
            return self.k
        if self.schedule == "linear":
            eps = self.k - self.c * i
        elif self.schedule == "exponential":
            eps = self.k**i
        else:
            eps = self.k / (self.k + math.exp(min(i / self.k, 700.0)))
        return float(min(1.0, max(self.eps_min, eps)))

    def next_input(self, model, gold, log_probs, generator=None):  # type: ignore[no-untyped-def]
        logp = log_probs.detach()
        if self.mode == "argmax":
            own = logp.argmax(-1)
        else:
            own = (logp + gumbel(tuple(logp.shape), logp.device, generator)).argmax(-1)
        use_gold = uniform((gold.shape[0],), gold.device, generator) < self.teacher_prob()
        return model.embed_tokens(torch.where(use_gold, gold, own))


class SoftArgmax(InputPolicy):
    """Differentiable relaxation of greedy decoding (Goyal et al. 2017, "Differentiable Scheduled Sampling").

    Feeds the expected embedding under a peaked distribution,
    ``e_t = sum_w softmax(alpha * log P_{t-1})_w emb(w)`` ("soft argmax"; ``alpha -> inf``
    approaches the argmax token). With ``gumbel=True`` Gumbel noise is added
    first (a Gumbel-softmax sample with temperature ``1 / alpha``); with
    ``straight_through=True`` the forward pass feeds the one-hot (arg)max token
    and the backward pass uses the soft weights' gradient.

    Args:
        alpha: peakedness (inverse temperature), ``> 0``.
        gumbel: add Gumbel noise (soft sampling instead of soft argmax).
        straight_through: hard token forward, soft gradient backward.
    """

    def __init__(self, alpha: float = 1.0, gumbel: bool = False, straight_through: bool = False) -> None:
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.alpha, self.gumbel, self.straight_through = float(alpha), bool(gumbel), bool(straight_through)

    def next_input(self, model, gold, log_probs, generator=None):  # type: ignore[no-untyped-def]
        scores = self.alpha * log_probs  # -inf columns stay -inf
        if self.gumbel:
            scores = scores + self.alpha * gumbel(tuple(scores.shape), scores.device, generator)
        weights = torch.softmax(scores, dim=-1)  # [B, V + n_ext]
        if self.straight_through:
            hard = F.one_hot(weights.argmax(-1), weights.shape[-1]).to(weights)
            weights = hard - weights.detach() + weights
        return fold_copy_mass(weights, model.vocab_size) @ model.embedding.weight  # [B, M]


class TopKEmbedding(InputPolicy):
    """End-to-end backprop (Ranzato et al. 2016, "Sequence Level Training with RNNs", sec. 3.2).

    Feeds ``sum_{w in top-k} (P_{t-1}(w) / sum_{w' in top-k} P_{t-1}(w')) emb(w)``: the
    embeddings of the model's ``k`` most likely tokens weighted by their
    renormalised probabilities; gradients flow through the weights.

    Args:
        k: number of tokens (``k = 1`` feeds the argmax token, with a zero gradient).
    """

    def __init__(self, k: int = 10) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        self.k = k

    def next_input(self, model, gold, log_probs, generator=None):  # type: ignore[no-untyped-def]
        k = min(self.k, log_probs.shape[-1])
        top, idx = log_probs.topk(k, dim=-1)  # [B, k]
        w = torch.softmax(top, dim=-1)  # renormalised probabilities
        return (w[:, :, None] * model.embed_tokens(idx)).sum(1)  # [B, M]
