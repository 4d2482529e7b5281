"""Registration of the ``Seq2Seq/*`` environment ids (imported by ``import seq2seq_gym``).

Only strings are registered here, so importing the package stays cheap: the
environment modules (and torch) load on the first ``gymnasium.make``.
"""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = {
    "Seq2Seq/Summarization-v0": {"task": "summarization", "reward": "rougeL"},
    "Seq2Seq/Captioning-v0": {"task": "captioning", "reward": "cider"},
    "Seq2Seq/Translation-v0": {"task": "translation", "reward": "bleu"},
}


def register_envs() -> None:
    """Register every id of :data:`ENV_IDS` (idempotent)."""
    for env_id, kwargs in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="seq2seq_gym.envs.text_gen:TextGenEnv",
            vector_entry_point="seq2seq_gym.envs.text_gen:TextGenVectorEnv",
            kwargs=dict(kwargs),
            disable_env_checker=False,
        )


register_envs()
