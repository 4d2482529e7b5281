"""Schedules: callables from training progress (or an update count) to a value.

Used for the learning rate, the mixed-loss weight ``eta`` (Paulus et al. 2018),
MIXER's ``delta`` (Ranzato et al. 2016), an exploration ``epsilon`` and the
scheduled-sampling probability (Bengio et al. 2015).

Every schedule is a frozen dataclass: state-free (the same input always gives
the same value), comparable, printable and picklable, so an agent stores the
object itself in its checkpoint. A schedule is called with ``t >= 0``: a
fraction of training done in ``[0, 1]`` when ``horizon = 1`` (the default), or
an update / timestep count when ``horizon`` is that many updates / timesteps.
Past ``horizon`` the value stays at ``end``. Note the direction: ``t`` counts
progress *done*; Stable-Baselines3's schedules receive ``progress_remaining``
(``1 - t``).

>>> Linear(1e-3, 0.0)(0.25)
0.00075
>>> Linear(1.0, 0.0, horizon=1000)(250)
0.75
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Constant",
    "Cosine",
    "Exponential",
    "InverseSigmoid",
    "Linear",
    "MixerDelta",
    "Schedule",
    "as_schedule",
]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(value: Any, name: str) -> float:
    value = _number(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def _check_t(t: Any) -> float:
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"a schedule takes a number t >= 0, got {t!r}")
    t = float(t)
    if not t >= 0.0:  # also rejects NaN
        raise ValueError(f"a schedule takes t >= 0 (progress or a step count), got {t!r}")
    return t


class Schedule:
    """Base class: ``schedule(t) -> float`` for ``t >= 0`` (see the module docstring)."""

    def __call__(self, t: float) -> float:
        return self._at(_check_t(t))

    def _at(self, t: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Schedule):
    """``value`` for every ``t``.

    Args:
        value: the constant.
    """

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _number(self.value, "value"))

    def _at(self, t: float) -> float:
        return self.value


@dataclass(frozen=True)
class _Ramp(Schedule):
    """A ramp from ``start`` (at ``t = 0``) to ``end`` (at ``t >= horizon``) of shape ``_shape(s)``, ``s`` in [0, 1]."""

    start: float
    end: float
    horizon: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _number(self.start, "start"))
        object.__setattr__(self, "end", _number(self.end, "end"))
        object.__setattr__(self, "horizon", _positive(self.horizon, "horizon"))

    def _at(self, t: float) -> float:
        s = min(t / self.horizon, 1.0)
        if s >= 1.0:
            return self.end
        return self._shape(s)

    def _shape(self, s: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Linear(_Ramp):
    """Linear ramp: ``start + (end - start) * min(t / horizon, 1)``.

    Args:
        start: value at ``t = 0``.
        end: value from ``t = horizon`` on.
        horizon: where the ramp ends (1 for progress, or a step count).
    """

    def _shape(self, s: float) -> float:
        return self.start + (self.end - self.start) * s


@dataclass(frozen=True)
class Exponential(_Ramp):
    """Geometric ramp: ``start * (end / start) ** min(t / horizon, 1)``.

    The exponential decay ``eps_i = k ** i`` of scheduled sampling (Bengio et al.
    2015, sec. 2.4) is ``Exponential(1, k ** H, horizon=H)`` up to step ``H``.

    Args:
        start: value at ``t = 0`` (non-zero).
        end: value from ``t = horizon`` on (non-zero, same sign as ``start``).
        horizon: where the ramp ends.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.start == 0 or self.end == 0 or (self.start > 0) != (self.end > 0):
            raise ValueError(f"Exponential needs start and end non-zero and of the same sign, "
                             f"got start={self.start}, end={self.end}")

    def _shape(self, s: float) -> float:
        return self.start * (self.end / self.start) ** s


@dataclass(frozen=True)
class Cosine(_Ramp):
    """Half-cosine ramp (Loshchilov & Hutter 2017, SGDR, without restarts):
    ``end + (start - end) * (1 + cos(pi * min(t / horizon, 1))) / 2``.

    Args:
        start: value at ``t = 0``.
        end: value from ``t = horizon`` on.
        horizon: where the ramp ends.
    """

    def _shape(self, s: float) -> float:
        return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * s))


@dataclass(frozen=True)
class InverseSigmoid(Schedule):
    """Inverse-sigmoid decay of scheduled sampling (Bengio et al. 2015, sec. 2.4):
    ``end + (start - end) * k / (k + exp(t / k))``.

    With ``start = 1, end = 0`` this is Bengio's ``eps_i = k / (k + exp(i / k))``:
    ``k / (k + 1)`` at ``t = 0``, one half at ``t = k ln k``, tending to ``end``.
    ``t`` is a step count here (there is no horizon); ``k`` sets the speed.

    Args:
        k: speed of the decay (``k >= 1``).
        start: the value the curve decays from (default 1).
        end: the limit (default 0).
    """

    k: float
    start: float = 1.0
    end: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", _number(self.k, "k"))
        if self.k < 1:
            raise ValueError(f"InverseSigmoid needs k >= 1, got k={self.k}")
        object.__setattr__(self, "start", _number(self.start, "start"))
        object.__setattr__(self, "end", _number(self.end, "end"))

    def _at(self, t: float) -> float:
        x = t / self.k
        w = 0.0 if x > 700.0 else self.k / (self.k + math.exp(x))  # exp overflows past ~709
        return self.end + (self.start - self.end) * w


@dataclass(frozen=True)
class MixerDelta(Schedule):
    """MIXER's number of REINFORCE steps (Ranzato et al. 2016, Algorithm 1), an integer.

    MIXER trains with cross-entropy on the first ``T - delta`` steps of each target and
    with REINFORCE on the last ``delta``. Algorithm 1 trains ``warmup`` updates of pure
    cross-entropy (``delta = 0``), then increases ``delta`` by ``step`` every ``every``
    updates, up to ``max_delta`` (the whole sequence once ``delta >= T``):
    ``delta(t) = 0`` for ``t < warmup``, else
    ``min(max_delta, step * (1 + (t - warmup) // every))``.
    Use with :func:`seq2seq_gym.agents.losses.mixer_loss`.

    Args:
        step: MIXER's ``Delta``, the growth of ``delta`` per stage (>= 1).
        every: updates per stage (Ranzato et al.'s ``N_XE+R``; >= 1).
        max_delta: the cap (typically the maximum output length).
        warmup: updates of pure cross-entropy before the first stage (``N_XENT``).
    """

    step: int
    every: int
    max_delta: int
    warmup: int = 0

    def __post_init__(self) -> None:
        for name in ("step", "every", "max_delta", "warmup"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name} must be an int, got {v!r}")
            if v < (0 if name == "warmup" else 1):
                raise ValueError(f"{name} must be >= {0 if name == 'warmup' else 1}, got {v}")

    def __call__(self, t: float) -> int:  # type: ignore[override]
        return self._at(_check_t(t))

    def _at(self, t: float) -> int:  # type: ignore[override]
        if t < self.warmup:
            return 0
        return min(self.max_delta, self.step * (1 + int((t - self.warmup) // self.every)))


def as_schedule(value: float | Callable[[float], float], name: str = "schedule") -> Callable[[float], float]:
    """A number becomes :class:`Constant`; a callable (a :class:`Schedule` or any function) is returned as is.

    Args:
        value: a number or a callable ``t -> value``.
        name: the argument's name, for the error message.
    """
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number or a callable schedule, got {value!r}")
    return Constant(value)
