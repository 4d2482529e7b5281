"""A minimal supervised (maximum-likelihood) training loop, with checkpoints, resume and a time budget.

Used to pre-train the small generators shipped with the package and as the
warm start that reinforcement learning fine-tunes (the survey's "pre-train
with cross-entropy, then RL" recipe). The agents package builds a fuller
supervised learner (logging, schedulers) on the same
:meth:`Seq2SeqModel.mle_loss` and the same training-state checkpoints
(:mod:`seq2seq_gym.models.training_state`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import torch
from tqdm.auto import tqdm

from seq2seq_gym.data import Batch, Task
from seq2seq_gym.models.input_policies import InputPolicy
from seq2seq_gym.models.seq2seq import Seq2SeqModel
from seq2seq_gym.models.training_state import (
    has_training_state,
    load_training_state,
    read_training_state_info,
    save_training_state,
)

CURVES_FILE = "curves.csv"
CURVE_COLUMNS = (
    "step", "loss", "nll", "coverage_loss", "tokens", "grad_norm", "time_s", "eval_nll", "eval_accuracy", "eval_tokens",
)


@dataclass
class TrainHistory:
    """What :func:`train_mle` measured.

    Attributes:
        train: one row per update: ``step``, ``loss``, ``nll``, ``coverage_loss``,
            ``tokens``, ``grad_norm`` and ``time_s`` (training seconds so far, summed over resumed runs).
        eval: one row per evaluation: ``step``, ``nll`` (per token) and ``accuracy``
            (share of target tokens that are the argmax), teacher-forced on the evaluation batches, and ``tokens``.
        stopped_early: training stopped before ``steps`` (see ``stop_reason``).
        stop_reason: ``"callback"`` (it returned False), ``"time_budget"``, or ``None``.
    """

    train: list[dict[str, float]] = field(default_factory=list)
    eval: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"train": self.train, "eval": self.eval, "stopped_early": self.stopped_early,
                "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainHistory:
        """Rebuild from :meth:`to_dict`."""
        return cls(train=[dict(r) for r in data.get("train", [])], eval=[dict(r) for r in data.get("eval", [])],
                   stopped_early=bool(data.get("stopped_early", False)), stop_reason=data.get("stop_reason"))

    def csv_text(self) -> str:
        """The curves as CSV: one line per update (:data:`CURVE_COLUMNS`); the ``eval_*``
        columns are filled on evaluation steps and empty elsewhere."""
        evals = {int(r["step"]): r for r in self.eval}
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CURVE_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.train:
            ev = evals.get(int(row["step"]), {})
            writer.writerow({**row, **{f"eval_{k}": v for k, v in ev.items() if k != "step"}})
        return buf.getvalue()


def _epochs(task: Task, split: str, batch_size: int, seed: int, start: tuple[int, int] = (0, 0)):  # type: ignore[no-untyped-def]
    """Endless ``(epoch, index, batch)``: shuffled, length-bucketed epochs; epoch ``e`` uses seed ``seed + e``.

    ``start = (epoch, index)`` resumes at that batch (the epoch's earlier batches are skipped).
    """
    epoch, skip = start
    while True:
        n = 0
        for batch in task.batches(split, batch_size=batch_size, shuffle=True, seed=seed + epoch, bucket=True):
            n += 1
            if n > skip:
                yield epoch, n - 1, batch
        if n == 0:
            raise ValueError(f"split {split!r} of task {task.name!r} is empty")
        epoch, skip = epoch + 1, 0


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
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    time_budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TrainHistory:
    """Train ``model`` on ``task`` by maximum likelihood with Adam and gradient clipping.

    The loss is :meth:`Seq2SeqModel.mle_loss`: the per-token negative
    log-likelihood of the reference plus the weighted coverage loss (See et
    al. 2017, eq. 13), with the decoder inputs chosen by ``input_policy``
    (teacher forcing by default; scheduled sampling, soft argmax or top-k
    embeddings against exposure bias). Deterministic for a given ``seed``,
    model initialisation and device. The model is left in eval mode.

    Checkpoints and resume: with ``checkpoint_dir``, the training state
    (model, Adam state, step, position in the data order, the generator of
    stochastic input policies, torch's dropout RNG, the history) is saved
    there as one atomic unit (:func:`~seq2seq_gym.models.save_training_state`)
    every ``checkpoint_every`` updates, when training stops early and after
    the last update, together with ``curves.csv`` (:meth:`TrainHistory.csv_text`).
    ``resume=True`` continues from that state, so a run that is killed and
    resumed ends with the same weights and history (``time_s`` aside) as one
    that ran through. The directory is also a model checkpoint
    (``Seq2SeqModel.load(checkpoint_dir)``).

    Args:
        model: the model to train (moved to ``device``).
        task: a :class:`~seq2seq_gym.data.Task` (text or image sources).
        steps: total number of updates (a resumed run does the remaining ones).
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
        checkpoint_dir: directory of the training-state checkpoints (None: none).
        checkpoint_every: also save every this many updates (0: only when stopping and at the end).
        resume: continue from the training state in ``checkpoint_dir`` if there is
            one (else start afresh). Its hyperparameters (``batch_size``, ``lr``,
            ``max_grad_norm``, ``split``, ``eval_split``, ``eval_every``,
            ``eval_batches``, ``seed``, the input policy's class) must equal this
            call's; ``steps`` may be larger than when it was saved.
        time_budget: stop after the first update that ends this many seconds
            (of ``clock``) after this call's training loop began; the state is
            saved (``history.stop_reason == "time_budget"``) and a later call
            with ``resume=True`` continues.
        clock: the clock of ``time_budget`` and ``time_s`` (seconds; injectable for tests).

    Returns:
        A :class:`TrainHistory` (with the rows of the resumed run's earlier part).
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
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    for name, value in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    if not lr > 0 or not max_grad_norm > 0:
        raise ValueError(f"lr and max_grad_norm must be > 0, got lr={lr}, max_grad_norm={max_grad_norm}")
    if input_policy is not None and not isinstance(input_policy, InputPolicy):
        raise TypeError(f"input_policy must be an InputPolicy, got {type(input_policy).__name__}")
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be a bool, got {resume!r}")
    if (checkpoint_every or resume) and checkpoint_dir is None:
        raise ValueError("checkpoint_every and resume need checkpoint_dir")
    if time_budget is not None and (isinstance(time_budget, bool) or not time_budget > 0):
        raise ValueError(f"time_budget must be a number of seconds > 0 or None, got {time_budget!r}")
    if not callable(clock):
        raise TypeError(f"clock must be callable, got {type(clock).__name__}")
    device = torch.device(device) if device is not None else model.device
    hparams = {
        "batch_size": batch_size, "lr": float(lr), "max_grad_norm": float(max_grad_norm), "split": split,
        "eval_split": eval_split, "eval_every": eval_every, "eval_batches": eval_batches, "seed": seed,
        "input_policy": type(input_policy).__name__ if input_policy is not None else None,
    }
    resuming = bool(resume and checkpoint_dir is not None and has_training_state(checkpoint_dir))
    if resuming:  # check before anything changes
        saved_step, saved = read_training_state_info(checkpoint_dir)
        if saved.get("kind") != "train_mle":
            raise ValueError(f"resume: {checkpoint_dir} holds a training state of {saved.get('kind')!r}, not train_mle")
        for key, value in hparams.items():
            if saved["hparams"].get(key) != value:
                raise ValueError(
                    f"resume: the training state in {checkpoint_dir} was made with {key}="
                    f"{saved['hparams'].get(key)!r}, this call has {key}={value!r}"
                )
        if saved_step > steps:
            raise ValueError(f"resume: the training state in {checkpoint_dir} is at step {saved_step} > steps={steps}")
    model.to(device)
    eval_set = list(islice(task.batches(eval_split, batch_size=batch_size), eval_batches)) if eval_every else []

    history = TrainHistory()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator(device=device).manual_seed(seed)
    start_step, position, time_s = 0, (0, 0), 0.0
    loaded = None
    if resuming:
        loaded = load_training_state(checkpoint_dir, model, stateful={"optimizer": optimizer},
                                     generators={"generator": generator})
        start_step = loaded.step
        history = TrainHistory.from_dict(loaded.state["history"])
        history.stopped_early, history.stop_reason = False, None
        position = (int(loaded.state["position"][0]), int(loaded.state["position"][1]))
        time_s = float(loaded.state["time_s"])

    def save(step: int) -> None:
        state = {"kind": "train_mle", "hparams": hparams, "position": list(position), "time_s": time_s,
                 "history": history.to_dict()}
        save_training_state(checkpoint_dir, model, step=step, stateful={"optimizer": optimizer},
                            generators={"generator": generator}, torch_rng=True, state=state,
                            files={CURVES_FILE: history.csv_text()})

    fork_devices = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        if loaded is not None:
            loaded.restore_torch_rng(cuda=device.type == "cuda")  # dropout continues from where it was
        else:
            torch.manual_seed(seed)
        batches = _epochs(task, split, batch_size, seed, start=position)
        bar = tqdm(total=steps, initial=start_step, disable=not progress, desc="train_mle", leave=False)
        model.train()
        t0, base = clock(), time_s
        for step in range(start_step + 1, steps + 1):
            if input_policy is not None:
                input_policy.set_step(step - 1)
            epoch, index, batch = next(batches)
            batch = batch.to(device)
            loss, stats = model.mle_loss(batch, input_policy=input_policy, generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            if not math.isfinite(stats["loss"]):
                raise FloatingPointError(f"train_mle: non-finite loss {stats['loss']} at step {step}")
            optimizer.step()
            position = (epoch, index + 1)
            now = clock()
            time_s = base + (now - t0)
            row: dict[str, float] = {"step": step, **stats, "grad_norm": float(grad_norm), "time_s": time_s}
            history.train.append(row)
            if eval_every and (step % eval_every == 0 or step == steps):
                ev = evaluate_mle(model, eval_set)
                history.eval.append({"step": step, **ev})
                row = {**row, "eval_nll": ev["nll"], "eval_accuracy": ev["accuracy"]}
            bar.update(1)
            bar.set_postfix(loss=f"{stats['loss']:.3f}")
            stop = None
            if callback is not None and callback(step, model, row) is False:
                stop = "callback"
            elif time_budget is not None and now - t0 >= time_budget and step < steps:
                stop = "time_budget"
            if stop is not None:
                history.stopped_early, history.stop_reason = True, stop
            if checkpoint_dir is not None and (
                stop is not None or step == steps or (checkpoint_every and step % checkpoint_every == 0)
            ):
                save(step)
            if stop is not None:
                break
        bar.close()
    model.eval()
    return history
