"""The one reward definition of a task, shared by the environments, the CLI and the agents.

:func:`build_reward` turns a task and a metric spec into a
:class:`seq2seq_gym.rewards.Reward` on the task's vocabulary, with the task's
end-of-sequence id: everything that scores generated token ids (an environment's
episodes, ``seq2seq-gym evaluate``, an agent's rollouts and baselines) calls it, so
``</s>`` is handled in one place and every score equals the reference library on the
decoded text. :func:`score_batch` scores generator output for a
:class:`~seq2seq_gym.data.Batch` (its references and copy words).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from seq2seq_gym.data import EOS_ID, PAD_ID, Batch, Task
from seq2seq_gym.rewards import Metric, MixedReward, Reward, make_reward

_CIDER = ("cider", "ciderd")


def _needs_cider(spec: Any) -> bool:
    metric = make_reward(spec)
    parts = metric.components if isinstance(metric, MixedReward) else [(metric, 1.0)]
    for m, _ in parts:
        if isinstance(m, MixedReward):
            if _needs_cider(m):
                return True
        elif m.name.lower().replace("-", "").replace("_", "") in _CIDER:
            return True
    return False


def build_reward(task: Task, spec: str | Mapping[str, float] | Metric | MixedReward | Reward | None = None) -> Reward:
    """The reward of ``task``: ``spec`` (default ``task.metric``) on its vocabulary, ``</s>`` ending the text.

    CIDEr-D components take their document frequencies from the references of the
    task's training split, fitted once (pycocoevalcap computes them from the set being
    scored; a reward scores one sequence at a time, so, as self-critical training does,
    the training references stand in for that set). String specs are cached on the task.

    Args:
        task: the task (its vocabulary's words are the text of the ids).
        spec: a metric name or mixture (``"rougeL"``, ``"rougeL:0.7,bleu:0.3"``, a dict),
            a :class:`~seq2seq_gym.rewards.Metric` / ``MixedReward`` (its options kept),
            or a ready :class:`~seq2seq_gym.rewards.Reward` for this vocabulary.
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a seq2seq_gym.data.Task, got {type(task).__name__}")
    words = task.vocab.words
    if isinstance(spec, Reward):
        if spec.words != words:
            raise ValueError(f"the reward {spec.name!r} was built for another vocabulary ({spec.vocab_size} words) "
                             f"than task {task.name!r}'s ({len(words)} words)")
        if spec.eos_id != EOS_ID:
            raise ValueError(f"the reward {spec.name!r} has eos_id={spec.eos_id}; the task's is {EOS_ID}")
        return spec
    spec = task.metric if spec is None else spec
    cache = task.__dict__.setdefault("_rewards", {})
    key = spec if isinstance(spec, str) else None
    if key is not None and key in cache and cache[key].words == words:
        return cache[key]
    cider_df: Any = "corpus"
    if _needs_cider(spec):
        train = task.splits.get("train") or []
        if not train:
            raise ValueError(f"task {task.name!r} has no training split to fit CIDEr-D's document frequencies on")
        cider_df = [ex.references for ex in train]
    reward = Reward(spec, words, eos_id=EOS_ID, pad_id=PAD_ID, cider_df=cider_df)
    if key is not None:
        cache[key] = reward
    return reward


def score_batch(reward: Reward, batch: Batch, tokens: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
    """Scores of generated ids for a batch: ``{"reward": [B], <component>: [B], ...}`` float64.

    Args:
        reward: from :func:`build_reward`.
        batch: the batch the ids were generated for (its references and copy words).
        tokens: ``[B, T]`` ids, e.g. ``model.generate(batch).tokens`` (``</s>`` and what
            follows are not scored).
        lengths: ``[B]`` lengths, or None (up to the first ``</s>`` or ``<pad>``).
    """
    refs = [ex.references for ex in batch.examples]
    comps = reward.components(tokens, lengths, refs, batch.oovs)
    return {"reward": reward.combine(comps), **comps}
