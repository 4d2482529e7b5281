"""Present a :class:`~seq2seq_gym.envs.TextGenVectorEnv` as a Stable-Baselines3 ``VecEnv``.

Stable-Baselines3 wraps ordinary environments in ``DummyVecEnv``, which steps
its copies one after another. :class:`SB3VecEnv` hands SB3 the native batched
environment instead, so ``PPO("MlpPolicy", SB3VecEnv(venv))`` collects its
rollouts with one decoder step for all sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

try:
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
    truncation is flagged by ``infos[i]["TimeLimit.truncated"]``. Seeds set by
    ``seed()`` and options by ``set_options()`` apply at the next ``reset()``.
    ``env_method("action_masks")`` returns each sub-environment's mask, which
    is what sb3-contrib's MaskablePPO asks for.

    Args:
        venv: a :class:`TextGenVectorEnv` with ``autoreset_mode`` SAME_STEP.
    """

    def __init__(self, venv: TextGenVectorEnv) -> None:
        if not isinstance(venv, TextGenVectorEnv):
            raise TypeError(f"SB3VecEnv wraps a TextGenVectorEnv, got {type(venv).__name__}")
        if venv.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError("SB3VecEnv needs autoreset_mode=SAME_STEP (SB3 resets finished envs in the same step)")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self.render_mode = venv.render_mode
        self._actions: np.ndarray | None = None

    def reset(self) -> Any:
        seeds = self._seeds
        seed = None if all(s is None for s in seeds) else [int(s if s is not None else i) for i, s in enumerate(seeds)]
        opts = self._options[0] if self._options and self._options[0] else None
        obs, info = self.venv.reset(seed=seed, options=opts)
        self.reset_infos = [{"example_id": info["example_id"][i]} for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict]]:
        if self._actions is None:
            raise RuntimeError("step_async() must come before step_wait()")
        obs, rewards, term, trunc, info = self.venv.step(self._actions)
        self._actions = None
        dones = term | trunc
        infos: list[dict[str, Any]] = [{"example_id": info["example_id"][i]} for i in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            d = infos[i]
            d.update(self.venv.last_episode_infos[i])
            d["terminal_observation"] = info["final_obs"][i]
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
        value = getattr(self.venv, attr_name)
        return [value for _ in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        targets = self._targets(indices)
        if method_name == "action_masks":
            masks = self.venv.action_masks()
            return [masks[i] for i in targets]
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in targets]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices=None) -> list[bool]:
        return [False for _ in self._targets(indices)]


def make_sb3_vec_env(env_id: str, num_envs: int = 8, **kwargs: Any) -> SB3VecEnv:
    """``gymnasium.make_vec(env_id, num_envs, **kwargs)`` presented as an SB3 ``VecEnv``."""
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    return SB3VecEnv(venv.unwrapped if hasattr(venv, "unwrapped") else venv)
