"""Gymnasium environments: text generation as reinforcement learning.

Registered ids (on ``import seq2seq_gym``): ``Seq2Seq/Summarization-v0``
(ROUGE-L), ``Seq2Seq/Captioning-v0`` (CIDEr-D), ``Seq2Seq/Translation-v0``
(BLEU). ``gymnasium.make(id)`` gives a :class:`TextGenEnv`;
``gymnasium.make_vec(id, num_envs=N)`` the native batched
:class:`TextGenVectorEnv` (``NEXT_STEP`` autoreset by default; ``SAME_STEP``
and ``DISABLED`` too); :class:`~seq2seq_gym.envs.sb3.SB3VecEnv` presents
the latter, in any mode, to Stable-Baselines3.

Per-step ``info`` is numeric with the same keys on every step
(``example_index``, ``length``); the record of a finished episode (text,
scores, references, return) is ``env.last_episode`` /
``venv.last_episodes[i]``.
:func:`build_reward` is the one reward definition of a task (environments,
``seq2seq-gym evaluate`` and agents use it).

The classes load lazily so that ``import seq2seq_gym`` does not import torch.
"""

from __future__ import annotations

from typing import Any

from seq2seq_gym.envs.registration import ENV_IDS, register_envs

__all__ = [
    "ENV_IDS",
    "GenerationEngine",
    "SB3VecEnv",
    "TextGenEnv",
    "TextGenVectorEnv",
    "build_reward",
    "register_envs",
    "score_batch",
]

_LAZY = {
    "TextGenEnv": "seq2seq_gym.envs.text_gen",
    "TextGenVectorEnv": "seq2seq_gym.envs.text_gen",
    "GenerationEngine": "seq2seq_gym.envs.core",
    "SB3VecEnv": "seq2seq_gym.envs.sb3",
    "build_reward": "seq2seq_gym.envs.reward",
    "score_batch": "seq2seq_gym.envs.reward",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seq2seq_gym.envs' has no attribute {name!r}")
