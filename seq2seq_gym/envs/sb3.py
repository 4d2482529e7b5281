"""Present a :class:`~seq2seq_gym.envs.TextGenVectorEnv` as a Stable-Baselines3 ``VecEnv``.

Stable-Baselines3 wraps ordinary environments in ``DummyVecEnv``, which steps
its copies one after another. :class:`SB3VecEnv` hands SB3 the native batched
environment instead, so ``PPO("MlpPolicy", SB3VecEnv(venv))`` collects its
rollouts with one decoder step for all sequences.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

try:
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "seq2seq_gym.envs.sb3 needs Stable-Baselines3: pip install 'seq2seq-gym[sb3]'"
    ) from e

from seq2seq_gym.envs.text_gen import TextGenVectorEnv


class SB3VecEnv(VecEnv):
    """Stable-Baselines3 ``VecEnv`` view of a native :class:`TextGenVectorEnv`.

    SB3's conventions are kept: ``reset()`` returns only the observations,
    ``step_wait()`` returns ``(obs, rewards, dones, infos)`` with ``infos`` a
    list of dicts, finished sub-environments are reset in the same step and
    their last observation is in ``infos[i]["terminal_observation"]``, and
    truncation is flagged by ``infos[i]["TimeLimit.truncated"]``. The
    same-step reset is emulated over any ``autoreset_mode`` of ``venv`` (with
    ``NEXT_STEP`` and ``DISABLED`` the finished rows are restarted by
    ``venv.reset(options={"reset_mask": dones})``), so every mode gives the
    same episodes.

    Like SB3's ``Monitor``, the step where an episode ends adds
    ``infos[i]["episode"] = {"r": return, "l": steps, "t": seconds}``, so
    SB3 logs ``rollout/ep_rew_mean`` and ``evaluate_policy`` reads returns
    without a warning (``env_is_wrapped(Monitor)`` answers True); that step
    also carries the episode record (``"text"``, ``"scores"``, ...; see
    :attr:`TextGenEnv.last_episode`). Seeds set by ``seed()`` and options by
    ``set_options()`` apply at the next ``reset()``.
    ``env_method("action_masks")`` returns each sub-environment's mask, which
    is what sb3-contrib's MaskablePPO asks for.

    Args:
        venv: a :class:`TextGenVectorEnv` (any autoreset mode).
    """

    def __init__(self, venv: TextGenVectorEnv) -> None:
        if not isinstance(venv, TextGenVectorEnv):
            raise TypeError(f"SB3VecEnv wraps a TextGenVectorEnv, got {type(venv).__name__}")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self.render_mode = venv.render_mode
        self._actions: np.ndarray | None = None
        self.t_start = time.time()

    def reset(self) -> Any:
        seeds = self._seeds
        seed = None if all(s is None for s in seeds) else [int(s if s is not None else i) for i, s in enumerate(seeds)]
        opts = self._options[0] if self._options and self._options[0] else None
        obs, info = self.venv.reset(seed=seed, options=opts)
        self.reset_infos = [{"example_index": int(info["example_index"][i])} for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict]]:
        if self._actions is None:
            raise RuntimeError("step_async() must come before step_wait()")
        venv = self.venv
        obs, rewards, term, trunc, info = venv.step(self._actions)
        self._actions = None
        dones = term | trunc
        rows = np.flatnonzero(dones)
        infos: list[dict[str, Any]] = [{"example_index": int(info["example_index"][i])} for i in range(self.num_envs)]
        if len(rows):
            if venv.autoreset_mode == AutoresetMode.SAME_STEP:
                terminal = {int(i): info["final_obs"][i] for i in rows}
                started = info["example_index"]
            else:  # emulate SB3's same-step reset
                terminal = {int(i): _take(obs, i) for i in rows}
                obs, reset_info = venv.reset(options={"reset_mask": dones})
                started = reset_info["example_index"]
            elapsed = round(time.time() - self.t_start, 6)
            for i in rows:
                self.reset_infos[i] = {"example_index": int(started[i])}
                record = venv.last_episodes[i]
                d = infos[i]
                d.update(record)  # the finished episode's example_index, text, scores, ...
                d["episode"] = {"r": record["episode_return"], "l": record["steps"], "t": elapsed}
                d["terminal_observation"] = terminal[int(i)]
                d["TimeLimit.truncated"] = bool(trunc[i] and not term[i])
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            return [None] * self.num_envs
        return list(self.venv.render())

    def _targets(self, indices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        values = self.venv.get_attr(attr_name)
        return [values[i] for i in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        if sorted(self._targets(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"set_attr({attr_name!r}, indices={indices!r}): the sub-environments share one generator and its "
                "settings; set it for all of them (indices=None)"
            )
        self.venv.set_attr(attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        results = self.venv.call(method_name, *method_args, **method_kwargs)
        return [results[i] for i in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices=None) -> list[bool]:
        # the episode statistics are emitted as Monitor's, so answer as a Monitor-wrapped env would
        wrapped = wrapper_class is Monitor
        return [wrapped for _ in self._targets(indices)]


def _take(obs: Any, i: int) -> Any:
    """Row ``i`` of a batched (Box or Dict) observation, copied."""
    if isinstance(obs, dict):
        return {k: np.array(v[i]) for k, v in obs.items()}
    return np.array(obs[i])


def make_sb3_vec_env(env_id: str, num_envs: int = 8, **kwargs: Any) -> SB3VecEnv:
    """``gymnasium.make_vec(env_id, num_envs, **kwargs)`` presented as an SB3 ``VecEnv``."""
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    return SB3VecEnv(venv.unwrapped if hasattr(venv, "unwrapped") else venv)
