"""A minimal supervised (maximum-likelihood) training loop.

Used to pre-train the small generators shipped with the package and as the
warm start that reinforcement learning fine-tunes (the survey's "pre-train
with cross-entropy, then RL" recipe). The agents package builds a fuller
supervised learner (logging, checkpoints, schedulers) on the same
:meth:`Seq2SeqModel.mle_loss`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import torch
from tqdm.auto import tqdm

from seq2seq_gym.data import Batch, Task
from seq2seq_gym.models.input_policies import InputPolicy
from seq2seq_gym.models.seq2seq import Seq2SeqModel


@dataclass
class TrainHistory:
    """What :func:`train_mle` measured.

    Attributes:
        train: one row per update: ``step``, ``loss``, ``nll``, ``coverage_loss``,
            ``tokens``, ``grad_norm``.
        eval: one row per evaluation: ``step``, ``nll`` (per token) and ``accuracy``
            (share of target tokens that are the argmax), teacher-forced on the evaluation batches, and ``tokens``.
        stopped_early: a callback asked to stop.
    """

    train: list[dict[str, float]] = field(default_factory=list)
    eval: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"train": self.train, "eval": self.eval, "stopped_early": self.stopped_early}


def _epochs(task: Task, split: str, batch_size: int, seed: int):  # type: ignore[no-untyped-def]
    """Endless shuffled, length-bucketed batches; epoch ``e`` uses seed ``seed + e``."""
    epoch = 0
    while True:
        n = 0
        for batch in task.batches(split, batch_size=batch_size, shuffle=True, seed=seed + epoch, bucket=True):
            n += 1
            yield batch
        if n == 0:
            raise ValueError(f"split {split!r} of task {task.name!r} is empty")
        epoch += 1


@torch.no_grad()
def evaluate_mle(model: Seq2SeqModel, batches: list[Batch]) -> dict[str, float]:
    """Teacher-forced NLL and token accuracy over ``batches`` (token-weighted means), in eval mode."""
    was_training = model.training
    model.eval()
    total = nll = correct = 0.0
    for batch in batches:
        targets = model.mle_targets(batch)
        out = model.score(batch, targets, lengths=batch.tgt_lens, return_full=True, with_entropy=False)
        total += float(out.mask.sum())
        nll -= float(out.log_probs.sum())
        correct += float(((out.full_log_probs.argmax(-1) == targets) & out.mask).sum())
    model.train(was_training)
    n = max(total, 1.0)
    return {"nll": nll / n, "accuracy": correct / n, "tokens": total}


def train_mle(
    model: Seq2SeqModel,
    task: Task,
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 1e-3,
    input_policy: InputPolicy | None = None,
    eval_every: int = 0,
    eval_batches: int = 4,
    max_grad_norm: float = 2.0,
    split: str = "train",
    eval_split: str = "validation",
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    callback: Callable[[int, Seq2SeqModel, dict[str, float]], bool | None] | None = None,
) -> TrainHistory:
    """Train ``model`` on ``task`` by maximum likelihood with Adam and gradient clipping.

    The loss is :meth:`Seq2SeqModel.mle_loss`: the per-token negative
    log-likelihood of the reference plus the weighted coverage loss (See et
    al. 2017, eq. 13), with the decoder inputs chosen by ``input_policy``
    (teacher forcing by default; scheduled sampling, soft argmax or top-k
    embeddings against exposure bias). Deterministic for a given ``seed``,
    model initialisation and device. The model is left in eval mode.

    Args:
        model: the model to train (moved to ``device``).
        task: a :class:`~seq2seq_gym.data.Task` (text or image sources).
        steps: number of updates.
        batch_size: examples per update (shuffled, length-bucketed epochs).
        lr: Adam learning rate.
        input_policy: decoder input policy; its ``set_step`` is called before each update.
        eval_every: evaluate every this many updates (and after the last); 0 never.
        eval_batches: number of (unshuffled) batches of ``eval_split`` evaluated.
        max_grad_norm: clip the global gradient norm to this (``inf``: no clipping).
        split: the training split.
        eval_split: the evaluation split.
        seed: seeds batch order, dropout and stochastic input policies.
        device: where to train (default: the model's device).
        progress: show a tqdm progress bar.
        callback: ``callback(step, model, row)`` after each update (``row`` the
            train history row, with ``eval_nll`` / ``eval_accuracy`` on evaluation
            steps); returning ``False`` stops training.

    Returns:
        A :class:`TrainHistory`.
    """
    if not isinstance(model, Seq2SeqModel):
        raise TypeError(f"model must be a Seq2SeqModel, got {type(model).__name__}")
    if not isinstance(task, Task):
        raise TypeError(f"task must be a seq2seq_gym.data.Task, got {type(task).__name__}")
    if len(task.vocab) != model.vocab_size:
        raise ValueError(
            f"task vocabulary has {len(task.vocab)} words but the model's vocab_size is {model.vocab_size}"
        )
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_batches", eval_batches)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(eval_every, int) or eval_every < 0:
        raise ValueError(f"eval_every must be an int >= 0, got {eval_every!r}")
    if not lr > 0 or not max_grad_norm > 0:
        raise ValueError(f"lr and max_grad_norm must be > 0, got lr={lr}, max_grad_norm={max_grad_norm}")
    if input_policy is not None and not isinstance(input_policy, InputPolicy):
        raise TypeError(f"input_policy must be an InputPolicy, got {type(input_policy).__name__}")
    device = torch.device(device) if device is not None else model.device
    model.to(device)
    eval_set = list(islice(task.batches(eval_split, batch_size=batch_size), eval_batches)) if eval_every else []

    history = TrainHistory()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator(device=device).manual_seed(seed)
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        batches = _epochs(task, split, batch_size, seed)
        bar = tqdm(total=steps, disable=not progress, desc="train_mle", leave=False)
        model.train()
        for step in range(1, steps + 1):
            if input_policy is not None:
                input_policy.set_step(step - 1)
            batch = next(batches).to(device)
            loss, stats = model.mle_loss(batch, input_policy=input_policy, generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            if not math.isfinite(stats["loss"]):
                raise FloatingPointError(f"train_mle: non-finite loss {stats['loss']} at step {step}")
            optimizer.step()
            row: dict[str, float] = {"step": step, **stats, "grad_norm": float(grad_norm)}
            history.train.append(row)
            if eval_every and (step % eval_every == 0 or step == steps):
                ev = evaluate_mle(model, eval_set)
                history.eval.append({"step": step, **ev})
                row = {**row, "eval_nll": ev["nll"], "eval_accuracy": ev["accuracy"]}
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss']:.3f}")
            if callback is not None and callback(step, model, row) is False:
                history.stopped_early = True
                break
        bar.close()
    model.eval()
    return history
