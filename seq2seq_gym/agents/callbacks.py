"""Callbacks in Stable-Baselines3's shape, for the agents' ``learn`` loop.

What a callback may use of the agent (the protocol :class:`~seq2seq_gym.agents` agents
satisfy, and any object with these members does):

- ``agent.num_timesteps: int``: tokens generated so far (a timestep is one token);
- ``agent.logger``: a :class:`~seq2seq_gym.agents.logger.Logger` (``record``, ``dump``);
- ``agent.save(path)``: writes a checkpoint exactly at ``path`` (a file or a folder),
  atomically;
- ``agent.evaluate(split, **kwargs) -> Mapping[str, float | ScoreInterval]``: corpus
  scores by metric name (only :class:`EvalCallback` needs it).

How ``learn`` drives a callback (one *call* of ``on_step`` is one update, not one token:
rollouts are generated in batches, without a Python step per token)::

    callback = as_callback(callback, progress_bar)
    callback.init_callback(agent)
    callback.on_training_start(locals(), globals())    # locals() holds total_timesteps
    while agent.num_timesteps < total_timesteps:
        callback.on_rollout_start()
        rollout = collect(...)                          # agent.num_timesteps grows here
        callback.update_locals(locals())
        callback.on_rollout_end()
        train(rollout)                                  # one update
        if not callback.on_step():                      # False: stop training
            break
    callback.on_training_end()

``total_timesteps`` there is the absolute target (with ``reset_num_timesteps=False`` the
agent adds the timesteps it already has, as SB3 does).
"""

from __future__ import annotations

import json
import numbers
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym.agents.evaluation import ScoreInterval

__all__ = [
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "ConvertCallback",
    "EvalCallback",
    "EventCallback",
    "EveryNTimesteps",
    "ProgressBarCallback",
    "StopTrainingOnMaxUpdates",
    "StopTrainingOnMetricThreshold",
    "as_callback",
]


def _positive_int(x: Any, name: str, minimum: int = 1) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {x!r}")
    return int(x)


class BaseCallback:
    """Base class of callbacks (SB3's ``BaseCallback``): override the ``_on_*`` hooks.

    Attributes:
        agent: the agent (set by :meth:`init_callback`; ``model`` is an alias, as in SB3).
        n_calls: how many times :meth:`on_step` ran (updates since training started).
        num_timesteps: the agent's ``num_timesteps`` at the last hook.
        locals, globals: the ``learn`` loop's variables (``update_locals`` refreshes them).
        parent: the :class:`EventCallback` that owns this one, if any.

    Args:
        verbose: 0 silent, 1 messages through the agent's logger.
    """

    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose
        self.agent: Any = None
        self.n_calls = 0
        self.num_timesteps = 0
        self.locals: dict[str, Any] = {}
        self.globals: dict[str, Any] = {}
        self.parent: BaseCallback | None = None

    @property
    def model(self) -> Any:
        return self.agent

    @property
    def logger(self) -> Any:
        return self.agent.logger

    def _sync(self) -> None:
        self.num_timesteps = int(self.agent.num_timesteps)

    def _say(self, message: str) -> None:
        if self.verbose:
            self.logger.log(message)

    # the public hooks, called by learn()
    def init_callback(self, agent: Any) -> None:
        for member in ("num_timesteps", "logger"):
            if not hasattr(agent, member):
                raise TypeError(f"a callback's agent must have .{member}; got {type(agent).__name__}")
        self.agent = agent
        self._init_callback()

    def on_training_start(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        self.locals = locals_
        self.globals = globals_
        self._sync()
        self._on_training_start()

    def on_rollout_start(self) -> None:
        self._sync()
        self._on_rollout_start()

    def on_rollout_end(self) -> None:
        self._sync()
        self._on_rollout_end()

    def on_step(self) -> bool:
        """One update finished. Returns False to stop training."""
        self.n_calls += 1
        self._sync()
        return bool(self._on_step())

    def on_training_end(self) -> None:
        self._sync()
        self._on_training_end()

    def update_locals(self, locals_: dict[str, Any]) -> None:
        self.locals.update(locals_)
        self.update_child_locals(locals_)

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        """Forward ``update_locals`` to child callbacks (none here)."""

    # the hooks to override
    def _init_callback(self) -> None:
        pass

    def _on_training_start(self) -> None:
        pass

    def _on_rollout_start(self) -> None:
        pass

    def _on_rollout_end(self) -> None:
        pass

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        pass


class EventCallback(BaseCallback):
    """A callback that runs a child callback when its event fires (``_on_event``).

    Args:
        callback: the child, or None.
        verbose: as :class:`BaseCallback`.
    """

    def __init__(self, callback: BaseCallback | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.callback = callback
        if callback is not None:
            callback.parent = self

    def init_callback(self, agent: Any) -> None:
        super().init_callback(agent)
        if self.callback is not None:
            self.callback.init_callback(agent)

    def _on_training_start(self) -> None:
        if self.callback is not None:
            self.callback.on_training_start(self.locals, self.globals)

    def _on_event(self) -> bool:
        return self.callback.on_step() if self.callback is not None else True

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        if self.callback is not None:
            self.callback.update_locals(locals_)


class CallbackList(BaseCallback):
    """Several callbacks run in order; training stops if any ``_on_step`` returns False
    (all of them still run that step).

    Args:
        callbacks: the callbacks.
    """

    def __init__(self, callbacks: Sequence[BaseCallback]) -> None:
        super().__init__()
        for cb in callbacks:
            if not isinstance(cb, BaseCallback):
                raise TypeError(f"CallbackList takes BaseCallback instances, got {type(cb).__name__}")
        self.callbacks = list(callbacks)

    def _init_callback(self) -> None:
        for cb in self.callbacks:
            cb.init_callback(self.agent)

    def _on_training_start(self) -> None:
        for cb in self.callbacks:
            cb.on_training_start(self.locals, self.globals)

    def _on_rollout_start(self) -> None:
        for cb in self.callbacks:
            cb.on_rollout_start()

    def _on_rollout_end(self) -> None:
        for cb in self.callbacks:
            cb.on_rollout_end()

    def _on_step(self) -> bool:
        results = [cb.on_step() for cb in self.callbacks]
        return all(results)

    def _on_training_end(self) -> None:
        for cb in self.callbacks:
            cb.on_training_end()

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.update_locals(locals_)


class ConvertCallback(BaseCallback):
    """A plain function as a callback: ``fn(locals, globals)`` each step; returning False stops.

    Args:
        fn: the function (its return value None means "continue").
        verbose: as :class:`BaseCallback`.
    """

    def __init__(self, fn: Callable[[dict[str, Any], dict[str, Any]], bool | None], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.fn = fn

    def _on_step(self) -> bool:
        result = self.fn(self.locals, self.globals)
        return True if result is None else bool(result)


class EveryNTimesteps(EventCallback):
    """Run ``callback`` each time another ``n_steps`` tokens have been generated.

    Args:
        n_steps: timesteps (tokens) between two triggers.
        callback: the callback to run.
    """

    def __init__(self, n_steps: int, callback: BaseCallback) -> None:
        super().__init__(callback)
        self.n_steps = _positive_int(n_steps, "n_steps")
        self.last_trigger = 0

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self.last_trigger = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last_trigger >= self.n_steps:
            self.last_trigger = self.num_timesteps
            return self._on_event()
        return True


class StopTrainingOnMaxUpdates(BaseCallback):
    """Stop after ``max_updates`` updates (calls of ``on_step``) of this ``learn`` call.

    Args:
        max_updates: the number of updates (>= 1).
        verbose: 1 to log when it stops.
    """

    def __init__(self, max_updates: int, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.max_updates = _positive_int(max_updates, "max_updates")

    def _on_step(self) -> bool:
        if self.n_calls >= self.max_updates:
            self._say(f"Stopping training: reached max_updates={self.max_updates}")
            return False
        return True


def _path_exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif _path_exists(path):
        path.unlink()


class CheckpointCallback(BaseCallback):
    """Save the agent every ``save_freq`` updates through ``agent.save`` (SB3's
    ``CheckpointCallback``) at ``save_path / f"{name_prefix}_{num_timesteps}_steps"``.

    Args:
        save_freq: updates between two saves (>= 1).
        save_path: the folder (created).
        name_prefix: checkpoint name prefix.
        keep_last: keep only the newest ``keep_last`` checkpoints (None: keep all);
            older ones written by this callback are deleted after a successful save.
        verbose: 1 to log each save.
    """

    def __init__(self, save_freq: int, save_path: str | os.PathLike, name_prefix: str = "agent",
                 keep_last: int | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.save_freq = _positive_int(save_freq, "save_freq")
        self.save_path = Path(save_path)
        if not isinstance(name_prefix, str) or not name_prefix or os.sep in name_prefix:
            raise ValueError(f"name_prefix must be a non-empty file name, got {name_prefix!r}")
        self.name_prefix = name_prefix
        self.keep_last = None if keep_last is None else _positive_int(keep_last, "keep_last")
        self.saved: list[Path] = []

    def _init_callback(self) -> None:
        if not callable(getattr(self.agent, "save", None)):
            raise TypeError("CheckpointCallback needs an agent with a save(path) method")
        self.save_path.mkdir(parents=True, exist_ok=True)

    def checkpoint_path(self) -> Path:
        return self.save_path / f"{self.name_prefix}_{self.num_timesteps}_steps"

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            path = self.checkpoint_path()
            self.agent.save(path)
            if path in self.saved:
                self.saved.remove(path)
            self.saved.append(path)
            self._say(f"Saved checkpoint {path}")
            if self.keep_last is not None:
                while len(self.saved) > self.keep_last:
                    _remove(self.saved.pop(0))
        return True


class StopTrainingOnMetricThreshold(BaseCallback):
    """Use as ``EvalCallback(callback_on_new_best=...)``: stop once the evaluated metric
    reaches ``threshold`` (``>=``, or ``<=`` when the parent minimises).

    Args:
        threshold: the target score.
        verbose: 1 to log when it stops.
    """

    def __init__(self, threshold: float, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.threshold = float(threshold)

    def _on_step(self) -> bool:
        parent = self.parent
        if not isinstance(parent, EvalCallback):
            raise TypeError("StopTrainingOnMetricThreshold must be used inside an EvalCallback")
        best = parent.best_score
        reached = best is not None and (best >= self.threshold if parent.higher_is_better else best <= self.threshold)
        if reached:
            self._say(f"Stopping training: {parent.metric} = {best:.4g} reached the threshold {self.threshold}")
        return not reached


def _as_float(name: str, value: Any) -> tuple[float, ScoreInterval | None]:
    if isinstance(value, ScoreInterval):
        return float(value.score), value
    if isinstance(value, Mapping) and "score" in value:
        return float(value["score"]), None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value), None
    raise TypeError(f"agent.evaluate() returned {type(value).__name__} for {name!r}; "
                    "expected a number or a ScoreInterval")


def _write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class EvalCallback(EventCallback):
    """Evaluate the agent every ``eval_freq`` updates, log ``eval/<metric>``, keep the best
    checkpoint, optionally stop early (SB3's ``EvalCallback`` on corpus metrics).

    Each evaluation calls ``agent.evaluate(split, **eval_kwargs)``, records every metric
    as ``eval/<name>`` (with ``eval/<name>_low`` / ``_high`` when it comes with a
    bootstrap interval) and ``time/total_timesteps``, and dumps the logger at
    ``num_timesteps``. When ``metric`` improves by more than ``min_delta`` the agent is
    saved to ``best_model_save_path / "best"`` and ``callback_on_new_best`` runs.

    Args:
        split: the data split to evaluate on.
        eval_freq: updates between evaluations (>= 1).
        metric: the metric that decides "best" (default: the first one returned).
        higher_is_better: False for losses.
        best_model_save_path: folder for the best checkpoint (None: do not save).
        callback_on_new_best: run after each new best (may stop training).
        callback_after_eval: run after every evaluation (may stop training).
        patience: stop after this many evaluations in a row without improvement (None: never).
        min_delta: the improvement that counts.
        eval_at_start: also evaluate when training starts (the starting score, and the
            best checkpoint if nothing beats it).
        log_path: a JSON file that receives the history of evaluations after each one.
        eval_kwargs: extra keyword arguments for ``agent.evaluate``.
        verbose: 1 to log each evaluation.
    """

    def __init__(self, split: str = "validation", eval_freq: int = 1000, metric: str | None = None, *,
                 higher_is_better: bool = True, best_model_save_path: str | os.PathLike | None = None,
                 callback_on_new_best: BaseCallback | None = None, callback_after_eval: BaseCallback | None = None,
                 patience: int | None = None, min_delta: float = 0.0, eval_at_start: bool = False,
                 log_path: str | os.PathLike | None = None, eval_kwargs: Mapping[str, Any] | None = None,
                 verbose: int = 1) -> None:
        super().__init__(callback_after_eval, verbose)
        self.split = split
        self.eval_freq = _positive_int(eval_freq, "eval_freq")
        self.metric = metric
        self.higher_is_better = bool(higher_is_better)
        self.best_model_save_path = None if best_model_save_path is None else Path(best_model_save_path)
        self.callback_on_new_best = callback_on_new_best
        if callback_on_new_best is not None:
            callback_on_new_best.parent = self
        self.patience = None if patience is None else _positive_int(patience, "patience")
        if not isinstance(min_delta, numbers.Real) or min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.min_delta = float(min_delta)
        self.eval_at_start = bool(eval_at_start)
        self.log_path = None if log_path is None else Path(log_path)
        self.eval_kwargs = dict(eval_kwargs or {})
        self.best_score: float | None = None
        self.last_scores: dict[str, float] = {}
        self.evaluations: list[dict[str, Any]] = []
        self.evals_without_improvement = 0

    @property
    def best_path(self) -> Path | None:
        return None if self.best_model_save_path is None else self.best_model_save_path / "best"

    def _init_callback(self) -> None:
        if not callable(getattr(self.agent, "evaluate", None)):
            raise TypeError("EvalCallback needs an agent with an evaluate(split, ...) method")
        if self.best_model_save_path is not None:
            if not callable(getattr(self.agent, "save", None)):
                raise TypeError("best_model_save_path needs an agent with a save(path) method")
            self.best_model_save_path.mkdir(parents=True, exist_ok=True)
        if self.callback_on_new_best is not None:
            self.callback_on_new_best.init_callback(self.agent)

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if self.callback_on_new_best is not None:
            self.callback_on_new_best.on_training_start(self.locals, self.globals)
        if self.eval_at_start:
            self.evaluate()

    def _improved(self, score: float) -> bool:
        if self.best_score is None:
            return True
        if self.higher_is_better:
            return score > self.best_score + self.min_delta
        return score < self.best_score - self.min_delta

    def evaluate(self) -> bool:
        """Run one evaluation now; returns False when training should stop."""
        result = self.agent.evaluate(self.split, **self.eval_kwargs)
        if not isinstance(result, Mapping) or not result:
            raise TypeError(f"agent.evaluate() must return a non-empty mapping of metric -> score, got {result!r}")
        scores: dict[str, float] = {}
        for name, value in result.items():
            score, interval = _as_float(str(name), value)
            scores[str(name)] = score
            self.logger.record(f"eval/{name}", score)
            if interval is not None:
                self.logger.record(f"eval/{name}_low", interval.low)
                self.logger.record(f"eval/{name}_high", interval.high)
        if self.metric is None:
            self.metric = next(iter(scores))
        if self.metric not in scores:
            raise ValueError(f"metric {self.metric!r} is not among the evaluated metrics {sorted(scores)}")
        self.last_scores = scores
        score = scores[self.metric]
        improved = self._improved(score)
        self.evaluations.append({"num_timesteps": self.num_timesteps, "n_calls": self.n_calls, **scores,
                                 "best": improved})
        self.logger.record("time/total_timesteps", self.num_timesteps)
        self.logger.dump(self.num_timesteps)
        self._say(f"Eval at {self.num_timesteps} timesteps: {self.metric} = {score:.4g}"
                  + (" (new best)" if improved else ""))
        if self.log_path is not None:
            _write_json_atomic(self.log_path, self.evaluations)
        keep_going = True
        if improved:
            self.best_score = score
            self.evals_without_improvement = 0
            if self.best_path is not None:
                self.agent.save(self.best_path)
            if self.callback_on_new_best is not None:
                keep_going = self.callback_on_new_best.on_step()
        else:
            self.evals_without_improvement += 1
            if self.patience is not None and self.evals_without_improvement >= self.patience:
                self._say(f"Stopping training: no improvement of {self.metric} in {self.patience} evaluations")
                keep_going = False
        return self._on_event() and keep_going

    def _on_step(self) -> bool:
        if self.n_calls % self.eval_freq == 0:
            return self.evaluate()
        return True

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        super().update_child_locals(locals_)
        if self.callback_on_new_best is not None:
            self.callback_on_new_best.update_locals(locals_)


class ProgressBarCallback(BaseCallback):
    """A tqdm progress bar over the timesteps (tokens) of a ``learn`` call (it stops at
    ``total_timesteps`` when the last update overshoots).

    Args:
        tqdm_kwargs: extra arguments for ``tqdm`` (e.g. ``file``, ``disable``).
    """

    def __init__(self, **tqdm_kwargs: Any) -> None:
        super().__init__()
        self.tqdm_kwargs = tqdm_kwargs
        self.pbar: Any = None
        self._start = self._last = 0

    def _on_training_start(self) -> None:
        from tqdm.auto import tqdm

        if "total_timesteps" not in self.locals:
            raise KeyError("ProgressBarCallback needs total_timesteps among learn()'s locals")
        total = int(self.locals["total_timesteps"]) - self.num_timesteps
        self.pbar = tqdm(total=max(total, 0), unit="tok", **self.tqdm_kwargs)
        self._start = self._last = self.num_timesteps

    def _on_step(self) -> bool:
        now = min(self.num_timesteps, self._start + self.pbar.total)  # the last update may overshoot
        self.pbar.update(now - self._last)
        self._last = now
        return True

    def _on_training_end(self) -> None:
        if self.pbar is not None:
            self.pbar.refresh()
            self.pbar.close()


CallbackLike = BaseCallback | Sequence[BaseCallback] | Callable[[dict[str, Any], dict[str, Any]], Any] | None


def as_callback(callback: CallbackLike, progress_bar: bool = False) -> BaseCallback:
    """What ``learn(callback=..., progress_bar=...)`` accepts, as one callback: None, a
    callback, a list of callbacks or a function ``fn(locals, globals)``; with
    ``progress_bar`` a :class:`ProgressBarCallback` is added."""
    if callback is None:
        cb: BaseCallback = CallbackList([])
    elif isinstance(callback, BaseCallback):
        cb = callback
    elif isinstance(callback, (list, tuple)):
        cb = CallbackList(list(callback))
    elif callable(callback):
        cb = ConvertCallback(callback)
    else:
        raise TypeError(f"callback must be None, a BaseCallback, a list of them or a function, "
                        f"got {type(callback).__name__}")
    if progress_bar:
        cb = CallbackList([cb, ProgressBarCallback()])
    return cb
