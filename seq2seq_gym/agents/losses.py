r"""Losses of the agents: pure torch functions, one equation each (CleanRL-style).

Every function takes per-token tensors from one teacher-forced pass of the generator
over its own (or the reference's) tokens and returns a scalar to minimise:

- ``log_probs [B, T]``: ``log pi(y_t | y_<t, x)`` of the tokens that were taken;
- ``mask [B, T]``: the real steps of each row (bool, or 0/1 float weights);
- advantages ``[B]`` (one per sequence) or ``[B, T]`` (one per step), from
  :mod:`seq2seq_gym.agents.advantages`. Advantages, old log-probabilities, returns and
  targets are treated as constants (detached); gradients flow through ``log_probs``,
  ``entropy``, ``values`` and ``q`` only.

``reduction`` says how per-token terms become a scalar:

- ``"sequence"`` (default for the policy-gradient family): sum over each row's tokens,
  mean over rows. The gradient is then exactly the REINFORCE estimate of
  ``grad E[R]``, one sample per row (what the estimator tests check);
- ``"token"``: mean over all unmasked tokens of the batch (the sequence estimate times
  ``B / #tokens``, a batch-dependent step size; PPO / TRL's convention);
- ``"length"``: mean over each row's tokens, then over rows (a length-normalised
  objective: it weights short outputs' tokens more).

The paper and equation of each loss are in its docstring; "the survey" is Keneshloo
et al., "Deep Reinforcement Learning for Sequence-to-Sequence Models" (2019).
"""

from __future__ import annotations

from typing import Any

import torch

from seq2seq_gym.agents._checks import float_tensor, mask_like, per_token, real_number, reduce, same_shape

__all__ = [
    "cross_entropy_loss",
    "dueling_q",
    "entropy_from_log_probs",
    "entropy_loss",
    "kl_estimate",
    "kl_penalty_loss",
    "kl_shaped_rewards",
    "mixed_loss",
    "mixer_loss",
    "mixer_masks",
    "ppo_clip_loss",
    "reinforce_loss",
    "td_loss",
    "value_loss",
]


def _lp(log_probs: Any, mask: Any, name: str = "log_probs") -> tuple[torch.Tensor, torch.Tensor]:
    lp = float_tensor(log_probs, name, 2)
    return lp, mask_like(mask, lp)


# ----------------------------------------------------------------------------- policy gradient


def reinforce_loss(log_probs: torch.Tensor, mask: torch.Tensor, advantages: torch.Tensor, *,
                   reduction: str = "sequence") -> torch.Tensor:
    r"""REINFORCE with a baseline (Williams 1992, "Simple statistical gradient-following
    algorithms for connectionist reinforcement learning"; the survey's sec. III-A):

    ``L = -(1/B) sum_b sum_t A_{b,t} log pi(y_{b,t} | y_{b,<t}, x_b)``

    so that ``-grad L = (1/B) sum_b sum_t A_{b,t} grad log pi(y_{b,t} | ...)``, the
    policy-gradient estimate of ``grad E[R]`` with ``A = R - b`` (a sequence advantage,
    broadcast over the row's steps) or ``A_t = G_t - b_t`` (a per-step advantage, e.g.
    the reward-to-go of dense rewards). Self-critical training (Rennie et al. 2017) is
    this loss with ``A = r(w^s) - r(\hat w)``
    (:func:`~seq2seq_gym.agents.advantages.self_critical_advantages`).

    Args:
        log_probs: ``[B, T]`` log-probabilities of the sampled tokens (with gradient).
        mask: ``[B, T]`` real steps.
        advantages: ``[B]`` or ``[B, T]`` (detached here).
        reduction: ``"sequence"``, ``"token"`` or ``"length"`` (see the module docstring).
    """
    lp, m = _lp(log_probs, mask)
    adv = per_token(advantages, lp).detach()
    return reduce(-adv * lp, m, reduction)


def cross_entropy_loss(log_probs: torch.Tensor, mask: torch.Tensor, *, reduction: str = "sequence") -> torch.Tensor:
    r"""Maximum-likelihood (teacher-forced cross-entropy) loss on reference tokens
    (Sutskever et al. 2014): ``L_CE = -(1/B) sum_b sum_t log pi(y*_{b,t} | y*_{b,<t}, x_b)``.

    Args:
        log_probs: ``[B, T]`` log-probabilities of the reference tokens.
        mask: ``[B, T]`` real steps.
        reduction: see the module docstring (``"token"`` is the per-token NLL).
    """
    lp, m = _lp(log_probs, mask)
    return reduce(-lp, m, reduction)


def mixer_masks(mask: torch.Tensor, xent_steps: int | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``mask [B, T]`` into MIXER's cross-entropy steps ``t < xent_steps`` and
    REINFORCE steps ``t >= xent_steps``. ``xent_steps`` is an int or ``[B]`` (e.g.
    ``(lengths - delta).clamp(min=0)`` with ``delta`` from
    :class:`~seq2seq_gym.agents.schedules.MixerDelta`). Returns two float masks."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        raise ValueError("mask must be a [B, T] tensor")
    B, T = mask.shape
    m = mask.to(torch.get_default_dtype()) if not mask.is_floating_point() else mask
    steps = torch.arange(T, device=mask.device)[None, :]
    if isinstance(xent_steps, torch.Tensor):
        if xent_steps.shape != (B,) or xent_steps.is_floating_point():
            raise ValueError(f"xent_steps must be an int or an integer [B]={B} tensor, got {xent_steps!r}")
        s = xent_steps.to(mask.device)[:, None]
    elif isinstance(xent_steps, int) and not isinstance(xent_steps, bool) and xent_steps >= 0:
        s = xent_steps
    else:
        raise ValueError(f"xent_steps must be a non-negative int or an integer [B] tensor, got {xent_steps!r}")
    xent = (steps < s).to(m.dtype) * m
    return xent, m - xent


def mixer_loss(log_probs: torch.Tensor, mask: torch.Tensor, advantages: torch.Tensor,
               xent_steps: int | torch.Tensor, *, reduction: str = "sequence") -> torch.Tensor:
    r"""MIXER (Ranzato et al. 2016, "Sequence Level Training with Recurrent Neural
    Networks", Algorithm 1; the survey's sec. IV-A).

    Each row is the reference's first ``s = T - delta`` tokens (teacher-forced) followed
    by the model's own samples; the loss is cross-entropy on the first part and
    REINFORCE on the second:

    ``L = -(1/B) sum_b [ sum_{t < s_b} log pi(y*_t) + sum_{t >= s_b} A_{b,t} log pi(y_t) ]``

    ``delta`` grows from 0 to ``T`` during training
    (:class:`~seq2seq_gym.agents.schedules.MixerDelta`).

    Args:
        log_probs: ``[B, T]`` log-probabilities of the row's tokens (reference prefix, then samples).
        mask: ``[B, T]`` real steps.
        advantages: ``[B]`` or ``[B, T]``; used on the REINFORCE steps only.
        xent_steps: ``s``, an int or ``[B]`` integer tensor.
        reduction: see the module docstring (applied to both parts alike).
    """
    lp, m = _lp(log_probs, mask)
    xent, rl = mixer_masks(m, xent_steps)
    return cross_entropy_loss(lp, xent, reduction=reduction) + reinforce_loss(lp, rl, advantages,
                                                                              reduction=reduction)


def mixed_loss(rl_loss: torch.Tensor, ce_loss: torch.Tensor, eta: float) -> torch.Tensor:
    r"""The mixed objective (Paulus et al. 2018, "A Deep Reinforced Model for Abstractive
    Summarization"; the survey's eq. 34): ``L = eta * L_RL + (1 - eta) * L_CE``.

    Paulus et al. use ``eta = 0.9984``; ramp it with a schedule from
    :mod:`seq2seq_gym.agents.schedules` and pass the current value.

    Args:
        rl_loss: scalar RL loss (e.g. :func:`reinforce_loss` with self-critical advantages).
        ce_loss: scalar cross-entropy loss on the references (:func:`cross_entropy_loss`).
        eta: weight of the RL term, in ``[0, 1]``.
    """
    rl = float_tensor(rl_loss, "rl_loss", 0)
    ce = float_tensor(ce_loss, "ce_loss", 0)
    eta = real_number(eta, "eta", 0.0, 1.0)
    return eta * rl + (1.0 - eta) * ce


# ----------------------------------------------------------------------------- entropy and KL


def entropy_from_log_probs(log_probs: torch.Tensor) -> torch.Tensor:
    r"""Entropy ``H = -sum_a p(a) log p(a)`` of each distribution over the last dimension.

    Args:
        log_probs: ``[..., V]`` full log-distributions; ``-inf`` entries (masked actions)
            contribute 0.
    Returns: ``[...]``.
    """
    lp = float_tensor(log_probs, "log_probs")
    p = lp.exp()
    return -(p * lp.masked_fill(p == 0, 0.0)).sum(-1)


def entropy_loss(entropy: torch.Tensor, mask: torch.Tensor, *, reduction: str = "token") -> torch.Tensor:
    r"""Negative mean entropy, the bonus of Williams & Peng 1991 / Mnih et al. 2016 (A3C):
    add ``ent_coef * entropy_loss`` to a loss to reward spread-out policies.

    Args:
        entropy: ``[B, T]`` per-step policy entropies (with gradient; see :func:`entropy_from_log_probs`).
        mask: ``[B, T]`` real steps.
        reduction: default ``"token"`` (the mean entropy per step, what is logged as ``train/entropy``).
    """
    h, m = _lp(entropy, mask, "entropy")
    return -reduce(h, m, reduction)


_KL_ESTIMATORS = ("k1", "k2", "k3")


def kl_estimate(log_probs: torch.Tensor, ref_log_probs: torch.Tensor, *, estimator: str = "k3") -> torch.Tensor:
    r"""Per-token sample estimates of ``KL(pi || pi_ref)`` at the sampled tokens (Schulman
    2020, "Approximating KL Divergence"), with ``log r = log pi_ref(y_t) - log pi(y_t)`` and
    ``y_t ~ pi``:

    - ``"k1"``: ``-log r``. Unbiased, can be negative, high variance. The per-token
      penalty of RL4LMs and TRL (``kl = logprob - ref_logprob``).
    - ``"k2"``: ``(log r)^2 / 2``. Biased (low bias near ``pi_ref``), non-negative.
    - ``"k3"``: ``(r - 1) - log r``. Unbiased, non-negative, low variance (the default; GRPO's).

    Args:
        log_probs: ``[...]`` log-probabilities of the sampled tokens under the policy.
        ref_log_probs: ``[...]`` the same tokens under the reference (start) policy.
        estimator: ``"k1"``, ``"k2"`` or ``"k3"``.
    Returns: ``[...]`` per-token estimates (differentiable in ``log_probs``).
    """
    lp = float_tensor(log_probs, "log_probs")
    ref = float_tensor(ref_log_probs, "ref_log_probs").detach()
    same_shape(ref, lp, "ref_log_probs", "log_probs")
    if estimator not in _KL_ESTIMATORS:
        raise ValueError(f"estimator must be one of {_KL_ESTIMATORS}, got {estimator!r}")
    log_r = ref - lp
    if estimator == "k1":
        return -log_r
    if estimator == "k2":
        return 0.5 * log_r**2
    return torch.expm1(log_r) - log_r


def kl_penalty_loss(log_probs: torch.Tensor, ref_log_probs: torch.Tensor, mask: torch.Tensor, *,
                    estimator: str = "k2", reduction: str = "sequence") -> torch.Tensor:
    r"""A KL penalty to a reference policy as a differentiable loss term (add
    ``beta * kl_penalty_loss``), on on-policy samples ``y ~ pi``.

    What the *gradient* of each estimator is in expectation, per step with the prefix
    held fixed (``g_t = grad log pi(y_t)``):

    - ``"k2"`` (default): ``E[log(pi/pi_ref) g_t] = grad KL(pi(.|s_t) || pi_ref(.|s_t))``,
      the forward per-step KL's gradient;
    - ``"k3"``: ``E[(1 - pi_ref/pi) g_t] = grad KL(pi_ref(.|s_t) || pi(.|s_t))``, the
      reverse per-step KL's gradient (GRPO's term);
    - ``"k1"``: ``E[g_t] = 0``: no expected gradient; use k1 as a reward penalty instead
      (:func:`kl_shaped_rewards`), which also accounts for how the prefix distribution moves.

    Keeping the reference policy costs one frozen copy of the generator's weights and
    one extra teacher-forced forward pass (no activations kept for backward).

    Args:
        log_probs: ``[B, T]`` policy log-probabilities of the sampled tokens.
        ref_log_probs: ``[B, T]`` reference log-probabilities of the same tokens.
        mask: ``[B, T]`` real steps.
        estimator: ``"k1"``, ``"k2"`` or ``"k3"`` (see :func:`kl_estimate`).
        reduction: see the module docstring.
    """
    lp, m = _lp(log_probs, mask)
    return reduce(kl_estimate(lp, ref_log_probs, estimator=estimator), m, reduction)


def kl_shaped_rewards(rewards: torch.Tensor, log_probs: torch.Tensor, ref_log_probs: torch.Tensor,
                      mask: torch.Tensor, beta: float) -> torch.Tensor:
    r"""Per-step rewards with a KL penalty, ``r_t - beta * (log pi(y_t) - log pi_ref(y_t))``
    (Jaques et al. 2017; Ziegler et al. 2019; as RL4LMs and TRL do).

    REINFORCE on the reward-to-go of these rewards estimates
    ``grad (E[R] - beta KL(pi(y|x) || pi_ref(y|x)))``, the sequence-level KL, without bias.
    The result is detached (rewards carry no gradient).

    Args:
        rewards: ``[B, T]`` per-step rewards (a sequence reward on the last step).
        log_probs, ref_log_probs: ``[B, T]`` log-probabilities of the sampled tokens.
        mask: ``[B, T]`` real steps.
        beta: the KL coefficient (>= 0).
    """
    r, m = _lp(rewards, mask, "rewards")
    lp = float_tensor(log_probs, "log_probs", 2)
    same_shape(lp, r, "log_probs", "rewards")
    beta = real_number(beta, "beta", 0.0)
    return ((r - beta * kl_estimate(lp, ref_log_probs, estimator="k1")) * m).detach()


# ----------------------------------------------------------------------------- actor-critic


def ppo_clip_loss(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
                  mask: torch.Tensor, *, clip_range: float = 0.2, reduction: str = "token") -> torch.Tensor:
    r"""PPO's clipped surrogate (Schulman et al. 2017, "Proximal Policy Optimization
    Algorithms", eq. 7), negated to minimise:

    ``L = -E_t[ min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t) ]``,
    ``rho_t = exp(log pi(y_t) - log pi_old(y_t))``.

    Args:
        log_probs: ``[B, T]`` current log-probabilities of the rollout's tokens.
        old_log_probs: ``[B, T]`` behaviour log-probabilities at collection time.
        advantages: ``[B]`` or ``[B, T]`` (e.g. GAE).
        mask: ``[B, T]`` real steps.
        clip_range: ``eps`` (> 0).
        reduction: default ``"token"`` (the mean over tokens).
    """
    lp, m = _lp(log_probs, mask)
    old = float_tensor(old_log_probs, "old_log_probs", 2).detach()
    same_shape(old, lp, "old_log_probs", "log_probs")
    adv = per_token(advantages, lp).detach()
    eps = real_number(clip_range, "clip_range", 0.0)
    if eps <= 0:
        raise ValueError(f"clip_range must be > 0, got {clip_range}")
    ratio = torch.exp(lp - old)
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1.0 - eps, 1.0 + eps) * adv)
    return reduce(-surrogate, m, reduction)


def value_loss(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, *,
               old_values: torch.Tensor | None = None, clip_range: float | None = None,
               reduction: str = "token") -> torch.Tensor:
    r"""Critic regression ``L_V = E_t[ (V(s_t) - R_t)^2 / 2 ]`` (the critic of the survey's A2C, eqs. 21-24), with
    PPO2's optional value clipping
    ``max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2) / 2``.

    Args:
        values: ``[B, T]`` critic outputs (with gradient).
        returns: ``[B, T]`` targets (reward-to-go, GAE returns, n-step targets).
        mask: ``[B, T]`` real steps.
        old_values: ``[B, T]`` values at collection time (for clipping).
        clip_range: value clipping range, or None for no clipping.
        reduction: default ``"token"``.
    """
    v, m = _lp(values, mask, "values")
    ret = float_tensor(returns, "returns", 2).detach()
    same_shape(ret, v, "returns", "values")
    err = (v - ret) ** 2
    if clip_range is not None:
        if old_values is None:
            raise ValueError("clip_range needs old_values")
        eps = real_number(clip_range, "clip_range", 0.0)
        old = float_tensor(old_values, "old_values", 2).detach()
        same_shape(old, v, "old_values", "values")
        clipped = old + (v - old).clamp(-eps, eps)
        err = torch.maximum(err, (clipped - ret) ** 2)
    return reduce(0.5 * err, m, reduction)


# ----------------------------------------------------------------------------- value-based


def dueling_q(value: torch.Tensor, advantages: torch.Tensor, *, mode: str = "mean",
              action_mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Dueling aggregation (Wang et al. 2016, "Dueling Network Architectures for Deep
    Reinforcement Learning", eqs. 8-9):

    - ``"mean"`` (eq. 9): ``Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')``;
    - ``"max"`` (eq. 8): ``Q(s, a) = V(s) + A(s, a) - max_a' A(s, a')``.

    With ``action_mask`` the mean / max run over the allowed actions only (the Q-values
    of disallowed actions are still returned but meaningless).

    Args:
        value: ``[...]`` or ``[..., 1]`` state values.
        advantages: ``[..., A]`` advantage stream (for text: e.g. the policy's log-probabilities).
        mode: ``"mean"`` or ``"max"``.
        action_mask: optional ``[..., A]`` bool.
    Returns: ``[..., A]``.
    """
    a = float_tensor(advantages, "advantages")
    v = float_tensor(value, "value")
    if v.shape == a.shape[:-1]:
        v = v.unsqueeze(-1)
    lead = tuple(a.shape[:-1])
    if tuple(v.shape) != (*lead, 1):
        raise ValueError(f"value must have shape {lead} or {(*lead, 1)}, got {tuple(v.shape)}")
    if mode not in ("mean", "max"):
        raise ValueError(f"mode must be 'mean' or 'max', got {mode!r}")
    if action_mask is not None and (not isinstance(action_mask, torch.Tensor) or action_mask.shape != a.shape):
        raise ValueError(f"action_mask must be a bool tensor of shape {tuple(a.shape)}")
    allowed = None if action_mask is None else action_mask.bool()
    if mode == "max":
        ref = (a if allowed is None else a.masked_fill(~allowed, float("-inf"))).amax(-1, keepdim=True)
    elif allowed is None:
        ref = a.mean(-1, keepdim=True)
    else:
        w = allowed.to(a.dtype)
        ref = (a * w).sum(-1, keepdim=True) / w.sum(-1, keepdim=True).clamp(min=1.0)
    return v + a - ref


def td_loss(q_taken: torch.Tensor, targets: torch.Tensor, *, weights: torch.Tensor | None = None,
            kind: str = "huber", delta: float = 1.0) -> torch.Tensor:
    r"""Q-regression loss ``mean_i w_i l(Q(s_i, a_i) - y_i)`` (Mnih et al. 2015; Huber loss
    as DQN's error clipping), ``w_i`` the importance-sampling weights of prioritized replay
    (Schaul et al. 2016, "Prioritized Experience Replay", sec. 3.4; default 1).
    The TD errors for new priorities are ``targets - q_taken``.

    Args:
        q_taken: ``[N]`` Q-values of the taken actions (with gradient).
        targets: ``[N]`` targets (detached here; :func:`~seq2seq_gym.agents.advantages.td_targets`).
        weights: optional ``[N]`` importance-sampling weights.
        kind: ``"huber"`` (smooth L1 with threshold ``delta``) or ``"mse"`` (``err^2 / 2``).
        delta: the Huber threshold (> 0).
    """
    q = float_tensor(q_taken, "q_taken", 1)
    y = float_tensor(targets, "targets", 1).detach()
    same_shape(y, q, "targets", "q_taken")
    err = q - y
    if kind == "huber":
        d = real_number(delta, "delta", 0.0)
        if d <= 0:
            raise ValueError(f"delta must be > 0, got {delta}")
        per = torch.where(err.abs() <= d, 0.5 * err**2, d * (err.abs() - 0.5 * d))
    elif kind == "mse":
        per = 0.5 * err**2
    else:
        raise ValueError(f"kind must be 'huber' or 'mse', got {kind!r}")
    if weights is not None:
        w = float_tensor(weights, "weights", 1).detach()
        same_shape(w, q, "weights", "q_taken")
        per = per * w
    return per.mean() if per.numel() else per.sum()
