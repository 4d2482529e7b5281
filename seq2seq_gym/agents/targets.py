r"""Target networks and Q-learning targets, with guards against RLSeq2Seq's defects.

- :class:`TargetNetwork`: a frozen copy of a critic head, refreshed by a hard copy
  every ``interval`` updates (Mnih et al. 2015) or by Polyak averaging
  ``theta' <- tau theta + (1 - tau) theta'`` (Lillicrap et al. 2016, "Continuous control
  with deep reinforcement learning", sec. 7). Exactly one of the two ever runs.
- :func:`q_targets`: the TD target ``y = R + gamma^m (1 - done) U(s')`` with ``U`` from
  DQN (``max_a Q'``), Double DQN (online argmax, target value) or expected SARSA,
  refusing a Double DQN call that lacks the online network's values.
- :func:`check_targets` and :class:`ZeroTargetGuard`: a critic never trains silently
  on zero or non-finite targets (RLSeq2Seq wrote its targets as ``q_values`` and read
  ``q_value``, and trained on zeros).

The copy keeps the generator modules a head only reads (:meth:`CriticHead.shared_modules`,
e.g. the tied embedding) shared: a target network adds the head's parameters, never
another encoder-decoder. With a shared trunk, target Q-values are the target head on
the online trunk's features (computed without gradient).
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import torch
from torch import nn

from seq2seq_gym.agents import advantages
from seq2seq_gym.agents._checks import float_tensor, positive_int, real_number

__all__ = ["TARGET_KINDS", "TargetNetwork", "ZeroTargetGuard", "check_targets", "q_targets"]

TARGET_KINDS = ("dqn", "double", "expected")


def _named(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [*module.named_parameters(), *module.named_buffers()]


class TargetNetwork:
    r"""A target copy of ``online`` refreshed by hard copies or Polyak averaging.

    Call :meth:`step` once after every gradient update of ``online``. With
    ``update="hard"`` the target equals ``online`` right after updates ``interval, 2
    interval, ...`` and does not change in between (DQN, Mnih et al. 2015, Algorithm 1:
    "every C steps reset Q' = Q"). With ``update="polyak"`` every ``interval``-th update
    sets ``theta' <- tau theta + (1 - tau) theta'`` and no hard copy ever happens
    (Lillicrap et al. 2016). Buffers (e.g. normalisation statistics) are copied in both
    modes. The target's parameters never require gradients.

    Args:
        online: the online head (a :class:`~seq2seq_gym.agents.heads.CriticHead` or any
            module); modules listed by its ``shared_modules()`` stay shared, not copied.
        update: ``"hard"`` or ``"polyak"``.
        interval: updates between refreshes (>= 1).
        tau: the Polyak coefficient in ``(0, 1]``; only with ``update="polyak"`` (it is an
            error to give it with ``"hard"``).
    """

    def __init__(self, online: nn.Module, *, update: str = "hard", interval: int = 1,
                 tau: float | None = None) -> None:
        if not isinstance(online, nn.Module):
            raise TypeError(f"online must be an nn.Module, got {type(online).__name__}")
        if update not in ("hard", "polyak"):
            raise ValueError(f"update must be 'hard' or 'polyak', got {update!r}")
        if update == "hard" and tau is not None:
            raise ValueError("tau is the Polyak coefficient: give it with update='polyak' only")
        self.update, self.interval = update, positive_int(interval, "interval")
        self.tau = None if update == "hard" else real_number(0.005 if tau is None else tau, "tau", 0.0, 1.0)
        if self.tau == 0.0:
            raise ValueError("tau must be > 0 (tau = 0 never moves the target)")
        self.online = online
        shared = list(online.shared_modules()) if hasattr(online, "shared_modules") else []
        self.target = copy.deepcopy(online, memo={id(m): m for m in shared})
        keep = {id(t) for m in shared for t in (*m.parameters(), *m.buffers())}  # the online trunk's own tensors
        self._pairs = [(n, t, o) for (n, t), (_, o) in zip(_named(self.target), _named(online)) if id(o) not in keep]
        for _, t, _ in self._pairs:
            t.requires_grad_(False)
        self.updates = 0  # calls to step()

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """The target network's output, without gradient."""
        with torch.no_grad():
            return self.target(*args, **kwargs)

    @torch.no_grad()
    def hard_update(self) -> None:
        """``theta' <- theta`` (parameters and buffers)."""
        for _, t, o in self._pairs:
            t.copy_(o)

    @torch.no_grad()
    def polyak_update(self, tau: float) -> None:
        """``theta' <- tau theta + (1 - tau) theta'`` (buffers are copied)."""
        for _, t, o in self._pairs:
            if t.is_floating_point() and isinstance(t, nn.Parameter):
                t.lerp_(o.to(t.dtype), tau)
            else:
                t.copy_(o)

    def num_parameters(self) -> int:
        """Number of parameters the target owns (shared generator modules excluded)."""
        return sum(t.numel() for _, t, _ in self._pairs if isinstance(t, nn.Parameter))

    def step(self) -> bool:
        """Count one gradient update; refresh the target when due. Returns True if it changed."""
        self.updates += 1
        if self.updates % self.interval:
            return False
        if self.update == "hard":
            self.hard_update()
        else:
            self.polyak_update(self.tau)  # type: ignore[arg-type]
        return True

    def state_dict(self) -> dict[str, Any]:
        """The target's own weights (not the shared modules') and the update counter."""
        return {"target": {n: t.detach().clone() for n, t, _ in self._pairs}, "updates": self.updates,
                "update": self.update, "interval": self.interval, "tau": self.tau}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the same ``update``/``interval``/``tau``); a bad state changes nothing."""
        mine = {"update": self.update, "interval": self.interval, "tau": self.tau}
        if {k: state.get(k) for k in mine} != mine:
            raise ValueError(f"state is of a target network with {({k: state.get(k) for k in mine})}, "
                             f"this one has {mine}")
        updates = positive_int(state.get("updates"), "updates", 0)
        got = state.get("target")
        if not isinstance(got, dict) or set(got) != {n for n, _, _ in self._pairs} or any(
                tuple(got[n].shape) != tuple(t.shape) for n, t, _ in self._pairs):
            raise ValueError("state['target'] does not match the target network's parameters")
        with torch.no_grad():
            for n, t, _ in self._pairs:
                t.copy_(got[n])
        self.updates = updates


def q_targets(rewards: torch.Tensor, discounts: torch.Tensor | float, dones: torch.Tensor,
              next_q_target: torch.Tensor, *, kind: str = "dqn", next_q_online: torch.Tensor | None = None,
              next_probs: torch.Tensor | None = None, action_mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""TD targets ``y = R + gamma^m (1 - done) U(s')`` for sampled (n-step) transitions
    (the survey's eqs. 29-35), checked by :func:`check_targets`.

    - ``"dqn"`` (Mnih et al. 2015): ``U = max_a Q'(s', a)`` (``advantages.greedy_q_value``);
    - ``"double"`` (van Hasselt et al. 2016, eq. 4): ``U = Q'(s', argmax_a Q(s', a))``: the
      *online* values ``next_q_online`` pick, the target values evaluate
      (``advantages.double_q_value``); required, never replaced by the target's own argmax;
    - ``"expected"`` (expected SARSA; Bahdanau et al. 2017): ``U = sum_a pi(a|s') Q'(s', a)``.

    Q-values may cover every action ``[N, A]`` or the next state's candidates ``[N, k]``.

    Args:
        rewards: ``[N]`` the (n-step) rewards ``R``.
        discounts: ``[N]`` ``gamma^m`` per transition, or one number.
        dones: ``[N]`` bool, ``s'`` terminal.
        next_q_target: ``[N, A]`` target-network Q-values at ``s'``.
        kind: ``"dqn"``, ``"double"`` or ``"expected"``.
        next_q_online: ``[N, A]`` online-network Q-values at ``s'`` (``"double"``).
        next_probs: ``[N, A]`` the policy at ``s'`` (``"expected"``).
        action_mask: ``[N, A]`` bool, allowed actions at ``s'`` (``"dqn"``/``"double"``).
    Returns: ``[N]`` detached targets.
    """
    if kind not in TARGET_KINDS:
        raise ValueError(f"kind must be one of {TARGET_KINDS}, got {kind!r}")
    if kind == "double":
        if next_q_online is None:
            raise ValueError("kind='double' needs next_q_online: the online network picks the next action")
        boot = advantages.double_q_value(next_q_online, next_q_target, action_mask)
    elif kind == "expected":
        if next_probs is None:
            raise ValueError("kind='expected' needs next_probs (the policy at s')")
        boot = advantages.expected_q_value(next_q_target, next_probs)
    else:
        boot = advantages.greedy_q_value(next_q_target, action_mask)
    r = float_tensor(rewards, "rewards", 1)
    boot = torch.where(dones.to(torch.bool), torch.zeros_like(boot), boot).to(r.dtype)  # -inf-safe at terminals
    g = discounts.to(r.dtype) if isinstance(discounts, torch.Tensor) else discounts
    y = advantages.td_targets(r, boot, dones, g)
    check_targets(y, rewards=r, bootstrap=boot)
    return y


def check_targets(targets: torch.Tensor, *, rewards: torch.Tensor | None = None,
                  bootstrap: torch.Tensor | None = None, name: str = "targets") -> None:
    """Raise ``ValueError`` on non-finite targets, and on all-zero targets while the rewards
    or bootstrap values they are built from are not all zero (targets read from the wrong
    place: RLSeq2Seq's ``q_values`` / ``q_value`` slip)."""
    y = float_tensor(targets, name)
    if not bool(torch.isfinite(y).all()):
        raise ValueError(f"{name} hold non-finite values (a -inf Q-value of a masked action bootstrapped?)")
    if y.numel() and not bool(y.any()):
        for src_name, src in (("rewards", rewards), ("bootstrap", bootstrap)):
            if src is not None and bool(src.any()):
                raise ValueError(f"{name} are all zero but the {src_name} are not: the critic would train on zeros")


class ZeroTargetGuard:
    """Stops a critic that keeps training on all-zero targets.

    Call it on every batch of targets; after ``patience`` consecutive batches of exactly zero
    targets it warns (``warn=True``) or raises ``RuntimeError``. A zero batch can be
    legitimate (zero rewards at terminal steps); a long run of them is a bug.

    Args:
        patience: consecutive all-zero batches tolerated (>= 1).
        warn: warn instead of raising.
    """

    def __init__(self, patience: int = 10, warn: bool = False) -> None:
        self.patience, self.warn = positive_int(patience, "patience"), bool(warn)
        self.zero_batches = 0

    def __call__(self, targets: torch.Tensor) -> torch.Tensor:
        """Check ``targets`` and return them unchanged."""
        y = float_tensor(targets, "targets")
        self.zero_batches = self.zero_batches + 1 if (y.numel() and not bool(y.any())) else 0
        if self.zero_batches >= self.patience:
            msg = f"the critic has trained on {self.zero_batches} consecutive batches of all-zero targets"
            if not self.warn:
                raise RuntimeError(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
        return targets
