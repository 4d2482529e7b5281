r"""Baselines, returns, advantages and bootstrap targets: what multiplies a log-probability
in a policy-gradient loss, or what a critic regresses onto.

Pure torch functions (no state, no global RNG) plus one small stateful baseline.
Shapes: ``B`` sequences, ``T`` steps; ``mask [B, T]`` marks the real steps of each
row and is a prefix (``1 ... 1 0 ... 0``: a row ends at its EOS or at the length
limit). Rewards are sequence-level ``[B]`` (the metric of the whole output) or dense
per-step ``[B, T]`` (the increments of ``Metric.dense``, which sum to it).

Unbiasedness. For the REINFORCE estimator ``g = (R(y) - b) grad log p(y)``,
``E[g] = grad E[R]`` holds whenever ``b`` does not depend on ``y`` (Williams 1992):
a constant, a moving average of *earlier* batches, the reward of the greedy output
(Rennie et al. 2017), or the mean reward of the *other* samples of the same source
(Kool et al. 2019). The plain batch mean includes ``y`` itself and scales the
expected gradient by ``1 - 1/N`` (see :func:`batch_mean_baseline`).
"""

from __future__ import annotations

from typing import Any

import torch

from seq2seq_gym.agents._checks import float_tensor, mask_like, positive_int, real_number, same_shape

__all__ = [
    "MovingAverageBaseline",
    "batch_mean_baseline",
    "double_q_value",
    "expected_q_value",
    "gae_advantages",
    "greedy_q_value",
    "leave_one_out_baseline",
    "n_step_returns",
    "normalize_advantages",
    "reward_to_go",
    "self_critical_advantages",
    "td_targets",
]


# ----------------------------------------------------------------------------- baselines


def self_critical_advantages(sample_rewards: torch.Tensor, greedy_rewards: torch.Tensor) -> torch.Tensor:
    r"""Self-critical advantage (Rennie et al. 2017, "Self-critical Sequence Training for
    Image Captioning"): ``A = r(w^s) - r(\hat w)``, the sample's reward minus the
    reward of the model's own greedy output for the same source.

    Rennie et al.'s gradient is ``grad L = -(r(w^s) - r(\hat w)) grad log p(w^s)``:
    samples scoring above the greedy output are made more likely, those below less
    likely. The greedy output is a deterministic function of the parameters, so the
    estimator stays unbiased.

    Args:
        sample_rewards: ``[B]`` (one sample per source) or ``[B, n]`` (``n`` samples per source).
        greedy_rewards: ``[B]``, the reward of each source's greedy decode (same metric,
            same masking as the samples).
    Returns: the advantages, shaped as ``sample_rewards``.
    """
    r = float_tensor(sample_rewards, "sample_rewards", (1, 2))
    g = float_tensor(greedy_rewards, "greedy_rewards", 1)
    if g.shape[0] != r.shape[0]:
        raise ValueError(f"greedy_rewards must have shape [B]={r.shape[0]}, got {tuple(g.shape)}")
    return r - (g if r.dim() == 1 else g[:, None])


def batch_mean_baseline(rewards: torch.Tensor, *, exclude_self: bool = False) -> torch.Tensor:
    r"""Mean reward of the batch as the baseline, ``[N]``.

    With ``exclude_self=False`` (the common implementation) ``b_i = mean_j r_j``
    includes ``r_i``, so ``E[(r_i - b_i) grad log p(y_i)] = (1 - 1/N) grad E[R]``: the
    direction is right, the length shrinks by ``1 - 1/N``. With ``exclude_self=True``
    ``b_i = (sum_j r_j - r_i) / (N - 1)`` (unbiased; the leave-one-out baseline over the
    whole batch, needs ``N >= 2``). Use :func:`leave_one_out_baseline` when the batch
    holds ``n`` samples of each of several sources.

    Args:
        rewards: ``[N]`` sequence rewards.
        exclude_self: leave each row's own reward out of its baseline.
    """
    r = float_tensor(rewards, "rewards", 1)
    N = r.shape[0]
    if not exclude_self:
        return r.mean().expand(N) if N else r.clone()
    if N < 2:
        raise ValueError(f"exclude_self needs at least 2 rewards, got {N}")
    return (r.sum() - r) / (N - 1)


def leave_one_out_baseline(rewards: torch.Tensor, n: int | None = None) -> torch.Tensor:
    r"""Leave-one-out baseline over ``n`` samples per source (Kool et al. 2019, "Buy 4
    REINFORCE Samples, Get a Baseline for Free!"; Luo 2020, "A Better Variant of
    Self-Critical Sequence Training"):

    ``b_{ij} = 1/(n-1) sum_{k != j} r_{ik}``, so ``A_{ij} = r_{ij} - b_{ij}
    = n/(n-1) (r_{ij} - mean_k r_{ik})``. Unbiased: ``b_{ij}`` does not depend on sample
    ``j``.

    Args:
        rewards: ``[B, n]``, or flat ``[B * n]`` with rows grouped source by source
            (row ``i * n + j`` is sample ``j`` of source ``i``) and ``n`` given.
        n: samples per source; required for flat input, checked for ``[B, n]``.
    Returns: the baselines, shaped as ``rewards``.
    """
    r = float_tensor(rewards, "rewards", (1, 2))
    if r.dim() == 1:
        if n is None:
            raise ValueError("n is required when rewards is flat [B * n]")
        n = positive_int(n, "n", 2)
        if r.shape[0] % n:
            raise ValueError(f"rewards has {r.shape[0]} rows, not a multiple of n={n}")
        return leave_one_out_baseline(r.view(-1, n)).reshape(-1)
    if n is not None and positive_int(n, "n", 2) != r.shape[1]:
        raise ValueError(f"n={n} does not match rewards of shape {tuple(r.shape)}")
    if r.shape[1] < 2:
        raise ValueError(f"leave-one-out needs at least 2 samples per source, got shape {tuple(r.shape)}")
    return (r.sum(1, keepdim=True) - r) / (r.shape[1] - 1)


class MovingAverageBaseline:
    r"""Exponential moving average of the mean reward of past batches (the baseline of
    Williams 1992's REINFORCE in its simplest form; the survey's sec. III-A).

    Use :attr:`value` for the current batch *before* calling :meth:`update` with it, so
    that the baseline does not depend on the samples it is subtracted from (unbiased).
    The first update sets the average to that batch's mean; later ones
    ``m <- decay * m + (1 - decay) * mean(rewards)``.

    Args:
        decay: weight of the past, in ``[0, 1)``.
        initial: :attr:`value` before the first update.
    """

    def __init__(self, decay: float = 0.9, initial: float = 0.0) -> None:
        self.decay = real_number(decay, "decay", 0.0, 1.0)
        if self.decay >= 1.0:
            raise ValueError(f"decay must be < 1, got {decay}")
        self.initial = real_number(initial, "initial")
        self._value = self.initial
        self.count = 0

    @property
    def value(self) -> float:
        """The current baseline."""
        return self._value

    def update(self, rewards: torch.Tensor | float) -> float:
        """Fold the mean of ``rewards`` (a tensor of any shape, or a number) into the average; returns the new value."""
        if isinstance(rewards, torch.Tensor):
            if rewards.numel() == 0:
                raise ValueError("rewards must not be empty")
            mean = float(rewards.detach().double().mean())
        else:
            mean = real_number(rewards, "rewards")
        if mean != mean or abs(mean) == float("inf"):
            raise ValueError(f"rewards must be finite, got mean {mean}")
        self._value = mean if self.count == 0 else self.decay * self._value + (1.0 - self.decay) * mean
        self.count += 1
        return self._value

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: decay, initial, value, count (JSON-able)."""
        return {"decay": self.decay, "initial": self.initial, "value": self._value, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; a bad state is rejected without changing anything."""
        missing = {"decay", "initial", "value", "count"} - set(state)
        if missing:
            raise ValueError(f"state is missing {sorted(missing)}")
        fresh = MovingAverageBaseline(state["decay"], state["initial"])
        fresh._value = real_number(state["value"], "value")
        fresh.count = positive_int(state["count"], "count", 0)
        self.__dict__.update(fresh.__dict__)

    def __repr__(self) -> str:
        return f"MovingAverageBaseline(decay={self.decay}, value={self._value}, count={self.count})"


def normalize_advantages(advantages: torch.Tensor, mask: torch.Tensor | None = None,
                         eps: float = 1e-8) -> torch.Tensor:
    """Whiten advantages to mean 0 and standard deviation 1 over the (unmasked) entries,
    as PPO implementations do (this rescales the gradient by a batch statistic).
    Masked entries become 0."""
    a = float_tensor(advantages, "advantages", (1, 2))
    m = torch.ones_like(a) if mask is None else mask_like(mask, a)
    n = m.sum().clamp(min=1.0)
    mean = (a * m).sum() / n
    var = (((a - mean) * m) ** 2).sum() / (n - 1).clamp(min=1.0)
    return (a - mean) / (var.sqrt() + eps) * m


# ----------------------------------------------------------------------------- returns


def _bt(rewards: Any, mask: Any) -> tuple[torch.Tensor, torch.Tensor]:
    r = float_tensor(rewards, "rewards", 2)
    return r, mask_like(mask, r)


def reward_to_go(rewards: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    r"""Discounted reward-to-go ``G_t = sum_{k >= t} gamma^(k-t) r_k`` over each row's steps, ``[B, T]``.

    With dense rewards (``Metric.dense`` increments) and ``gamma = 1``, REINFORCE with
    ``G_t`` in place of the sequence reward has the same expectation (an action cannot
    change earlier rewards; Sutton & Barto 2018, sec. 13.3) and lower variance. With
    ``gamma < 1`` it is the usual discounted estimator, which favours early rewards.
    Masked steps get 0.

    Args:
        rewards: ``[B, T]`` per-step rewards.
        mask: ``[B, T]`` real steps (a prefix per row).
        gamma: discount in ``[0, 1]``.
    """
    r, m = _bt(rewards, mask)
    gamma = real_number(gamma, "gamma", 0.0, 1.0)
    out = torch.zeros_like(r)
    running = torch.zeros_like(r[:, 0])
    for t in range(r.shape[1] - 1, -1, -1):
        running = (r[:, t] + gamma * running) * m[:, t]
        out[:, t] = running
    return out


def _next_is_end(m: torch.Tensor) -> torch.Tensor:
    """``[B, T]``: 1 where step t is the last real step of its row."""
    following = torch.cat([m[:, 1:], torch.zeros_like(m[:, :1])], dim=1)
    return m * (1.0 - following)


def gae_advantages(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, *, gamma: float = 1.0,
                   lam: float = 0.95, last_values: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Generalised advantage estimation (Schulman et al. 2016, "High-Dimensional Continuous
    Control Using Generalized Advantage Estimation", eq. 16).

    ``delta_t = r_t + gamma V(s_{t+1}) - V(s_t)``,
    ``A_t = sum_l (gamma lam)^l delta_{t+l}`` (within the row), returns ``A_t + V(s_t)``.
    ``lam = 0`` gives the one-step TD advantage (A2C; survey eqs. 21-24), ``lam = 1``
    the Monte-Carlo return minus the value. After a row's last step the next value is
    ``last_values`` (a row cut at the length limit: the value of the state it stopped
    in) or 0 (a row that ended with EOS, or ``last_values=None``).

    Args:
        rewards: ``[B, T]`` per-step rewards (a sequence reward sits on the last step).
        values: ``[B, T]`` critic values ``V(s_t)`` (treated as constants).
        mask: ``[B, T]`` real steps (a prefix per row).
        gamma: discount in ``[0, 1]``.
        lam: GAE's lambda in ``[0, 1]``.
        last_values: optional ``[B]`` bootstrap value after each row's last step (pass 0
            for terminated rows).
    Returns: ``(advantages [B, T], returns [B, T])``, 0 on masked steps.
    """
    r, m = _bt(rewards, mask)
    v = float_tensor(values, "values", 2).detach()
    same_shape(v, r, "values", "rewards")
    gamma = real_number(gamma, "gamma", 0.0, 1.0)
    lam = real_number(lam, "lam", 0.0, 1.0)
    B, T = r.shape
    last = torch.zeros_like(r[:, 0]) if last_values is None else float_tensor(last_values, "last_values", 1).detach()
    if last.shape[0] != B:
        raise ValueError(f"last_values must have shape [B]={B}, got {tuple(last.shape)}")
    end = _next_is_end(m)
    v_next = torch.cat([v[:, 1:], torch.zeros_like(v[:, :1])], dim=1) * (1.0 - end) + last[:, None] * end
    delta = (r + gamma * v_next - v) * m
    adv = torch.zeros_like(r)
    running = torch.zeros_like(r[:, 0])
    for t in range(T - 1, -1, -1):
        running = delta[:, t] + gamma * lam * running * (1.0 - end[:, t])
        running = running * m[:, t]
        adv[:, t] = running
    return adv, (adv + v) * m


def n_step_returns(rewards: torch.Tensor, next_values: torch.Tensor, mask: torch.Tensor, *, n: int,
                   gamma: float = 1.0, terminated: torch.Tensor | None = None) -> torch.Tensor:
    r"""n-step bootstrapped targets (Sutton & Barto 2018, eq. 7.1; the n-step Q-learning
    targets of the survey's DQN section and of Rainbow, Hessel et al. 2018):

    ``y_t = sum_{k<m} gamma^k r_{t+k} + gamma^m U_{t+m-1}`` with ``m = min(n, L - t)``
    (``L`` the row's length) and ``U_j`` the bootstrap value of the state after step
    ``j`` (``next_values[:, j]``): ``max_a Q'(s_{j+1}, a)`` for DQN
    (:func:`greedy_q_value`), :func:`double_q_value` for Double DQN, ``V(s_{j+1})`` for
    a state-value critic. The bootstrap after the row's last step is 0 when the row
    terminated (EOS) and ``next_values[:, L-1]`` when it was cut at the length limit.
    ``n = 1`` is the one-step TD target; ``n >= T`` the Monte-Carlo return.

    Args:
        rewards: ``[B, T]`` per-step rewards.
        next_values: ``[B, T]`` bootstrap values ``U_t`` of the state after step ``t``
            (treated as constants).
        mask: ``[B, T]`` real steps (a prefix per row).
        n: steps before bootstrapping (>= 1).
        gamma: discount in ``[0, 1]``.
        terminated: ``[B]`` bool, rows that ended with EOS (default: all of them).
    Returns: ``[B, T]`` targets, 0 on masked steps.
    """
    r, m = _bt(rewards, mask)
    nv = float_tensor(next_values, "next_values", 2).detach()
    same_shape(nv, r, "next_values", "rewards")
    n = positive_int(n, "n")
    gamma = real_number(gamma, "gamma", 0.0, 1.0)
    B, T = r.shape
    if terminated is None:
        term = torch.ones(B, dtype=r.dtype, device=r.device)
    else:
        if not isinstance(terminated, torch.Tensor) or terminated.shape != (B,):
            raise ValueError(f"terminated must be a [B]={B} tensor")
        term = terminated.to(r.dtype)
    lengths = m.sum(1, keepdim=True)  # [B, 1]
    steps = torch.arange(T, device=r.device, dtype=r.dtype)[None, :]  # [1, T]
    horizon = (lengths - steps).clamp(min=0.0, max=float(n))  # m_t: [B, T]
    out = torch.zeros_like(r)
    for k in range(min(n, T)):
        r_k = torch.cat([r[:, k:], torch.zeros_like(r[:, :k])], dim=1)  # r_{t+k}
        out = out + gamma**k * r_k * (horizon > k)
    j = (steps + horizon - 1).clamp(min=0).long().expand(B, T)  # where the bootstrap state comes from
    boot = nv.gather(1, j) * (1.0 - term[:, None] * (j == (lengths.long() - 1)))
    out = out + torch.pow(torch.full_like(r, gamma), horizon) * boot
    return out * (horizon > 0) * m


def td_targets(rewards: torch.Tensor, next_values: torch.Tensor, dones: torch.Tensor,
               gamma: float | torch.Tensor = 1.0) -> torch.Tensor:
    r"""One-step TD targets for a batch of transitions (Mnih et al. 2015, "Human-level control
    through deep reinforcement learning", Algorithm 1): ``y = r + gamma (1 - done) U(s')``.

    For n-step transitions from a replay buffer pass the n-step reward sum and
    ``gamma = gamma^n`` per transition (a tensor).

    Args:
        rewards: ``[N]`` rewards (or n-step sums).
        next_values: ``[N]`` bootstrap values (treated as constants).
        dones: ``[N]`` bool or 0/1, whether ``s'`` is terminal.
        gamma: a discount in ``[0, 1]`` or an ``[N]`` tensor of discounts.
    """
    r = float_tensor(rewards, "rewards")
    nv = float_tensor(next_values, "next_values").detach()
    same_shape(nv, r, "next_values", "rewards")
    d = mask_like(dones, r, "dones")
    if isinstance(gamma, torch.Tensor):
        g = float_tensor(gamma, "gamma")
        same_shape(g, r, "gamma", "rewards")
    else:
        g = real_number(gamma, "gamma", 0.0, 1.0)
    return r + g * (1.0 - d) * nv


# ----------------------------------------------------------------------------- Q bootstrap values


def _masked_q(q: torch.Tensor, action_mask: torch.Tensor | None, name: str) -> torch.Tensor:
    if action_mask is None:
        return q
    if not isinstance(action_mask, torch.Tensor) or action_mask.shape != q.shape:
        raise ValueError(f"action_mask must be a bool tensor of the shape of {name} {tuple(q.shape)}")
    return q.masked_fill(~action_mask.bool(), float("-inf"))


def greedy_q_value(next_q: torch.Tensor, action_mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""DQN's bootstrap value ``max_a Q'(s', a)`` over the allowed actions (Mnih et al. 2015).

    Args:
        next_q: ``[..., A]`` target-network Q-values at ``s'`` (all actions, or the top-k
            candidates).
        action_mask: optional ``[..., A]`` bool, allowed actions (at least one per row).
    Returns: ``[...]``, detached.
    """
    q = float_tensor(next_q, "next_q").detach()
    return _masked_q(q, action_mask, "next_q").amax(-1)


def double_q_value(next_q_online: torch.Tensor, next_q_target: torch.Tensor,
                   action_mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Double DQN's bootstrap value (van Hasselt et al. 2016, "Deep Reinforcement Learning
    with Double Q-learning"): the *online* network picks the action at ``s'``,
    the *target* network evaluates it,
    ``Q'(s', argmax_a Q(s', a))``. Less over-optimistic than :func:`greedy_q_value`.

    Args:
        next_q_online: ``[..., A]`` online-network Q-values at ``s'``.
        next_q_target: ``[..., A]`` target-network Q-values at ``s'``.
        action_mask: optional ``[..., A]`` bool, allowed actions.
    Returns: ``[...]``, detached.
    """
    qo = float_tensor(next_q_online, "next_q_online").detach()
    qt = float_tensor(next_q_target, "next_q_target").detach()
    same_shape(qt, qo, "next_q_target", "next_q_online")
    best = _masked_q(qo, action_mask, "next_q_online").argmax(-1, keepdim=True)
    return qt.gather(-1, best).squeeze(-1)


def expected_q_value(next_q_target: torch.Tensor, next_probs: torch.Tensor) -> torch.Tensor:
    r"""Expected-SARSA bootstrap value ``sum_a pi(a|s') Q'(s', a)`` (Bahdanau et al. 2017,
    "An Actor-Critic Algorithm for Sequence Prediction"; van Seijen et al. 2009).

    Args:
        next_q_target: ``[..., A]`` target-critic Q-values at ``s'``.
        next_probs: ``[..., A]`` the actor's probabilities at ``s'`` (treated as constants).
    Returns: ``[...]``, detached.
    """
    q = float_tensor(next_q_target, "next_q_target").detach()
    p = float_tensor(next_probs, "next_probs").detach()
    same_shape(p, q, "next_probs", "next_q_target")
    return (p * q).sum(-1)
