"""Turn loaded splits into a :class:`~seq2seq_gym.data.task.Task` (vocabulary included)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.vocab import Vocab

__all__ = ["build_task", "resolve_vocab"]


def _vocab_tokens(splits: dict[str, list[Example]], names: list[str]) -> Iterator[list[str]]:
    for name in names:
        for ex in splits[name]:
            if not ex.is_image:
                yield ex.source  # type: ignore[misc]
            yield from ex.references


def resolve_vocab(
    vocab: Vocab | str | os.PathLike | None,
    splits: dict[str, list[Example]],
    vocab_size: int | None = None,
    min_count: int = 1,
    lower: bool = False,
) -> tuple[Vocab, dict[str, Any]]:
    """The task vocabulary and a note on where it came from.

    Args:
        vocab: a :class:`Vocab`, the path of a ``word count`` file (the
            first ``vocab_size`` words are kept), or ``None`` to build one.
        splits: the task's splits. A built vocabulary counts the tokens of the
            ``"train"`` split (sources and every reference); without a train
            split, of every split.
        vocab_size: most words kept (special tokens not counted); ``None``: all.
        min_count: least count of a built word.
        lower: lower-case the vocabulary (tokens are usually lower-cased by the
            tokenizer already).
    """
    if isinstance(vocab, Vocab):
        return vocab, {"vocab": "given"}
    if isinstance(vocab, str | os.PathLike):
        return Vocab.load(vocab, max_size=vocab_size, lower=lower), {"vocab": os.fspath(vocab)}
    if vocab is not None:
        raise TypeError(f"vocab must be a Vocab, a path or None, got {type(vocab).__name__}")
    names = ["train"] if splits.get("train") else [k for k, v in splits.items() if v]
    if not names:
        raise ValueError("cannot build a vocabulary: every split is empty")
    v = Vocab.build(_vocab_tokens(splits, names), max_size=vocab_size, min_count=min_count, lower=lower)
    return v, {"vocab": f"built from {'+'.join(names)}", "vocab_min_count": min_count, "vocab_size_limit": vocab_size}


def build_task(
    name: str,
    splits: dict[str, list[Example]],
    *,
    vocab: Vocab | str | os.PathLike | None = None,
    vocab_size: int | None = 50_000,
    min_count: int = 1,
    lower: bool = False,
    modality: str | None = None,
    metric: str = "rougeL",
    max_source_len: int = 400,
    max_target_len: int = 100,
    max_oovs: int = 50,
    description: str = "",
    info: dict[str, Any] | None = None,
    tokenizer: Any = None,
) -> Task:
    """Assemble a :class:`Task` from loaded splits.

    Empty splits are kept (a loader passes only the splits it was given).
    The modality is inferred from the first example when not given.

    Args:
        name: task name.
        splits: ``{split: examples}``; the splits must not share ids.
        vocab, vocab_size, min_count, lower: see :func:`resolve_vocab`.
        modality: ``"text"`` or ``"image"``; ``None`` infers it.
        metric, max_source_len, max_target_len, max_oovs, description: the
            :class:`Task` defaults.
        info: facts recorded in ``Task.info`` (paths, skipped counts...).
        tokenizer: the tokenizer object kept for ``Task.detokenize``.
    """
    if not any(splits.values()):
        raise ValueError(f"task {name!r}: no examples were loaded")
    if modality is None:
        first = next(ex for v in splits.values() for ex in v)
        modality = "image" if first.is_image else "text"
    v, vinfo = resolve_vocab(vocab, splits, vocab_size=vocab_size, min_count=min_count, lower=lower)
    meta = dict(info or {})
    meta.update(vinfo)
    return Task(
        name=name,
        vocab=v,
        splits=splits,
        modality=modality,
        metric=metric,
        max_source_len=max_source_len,
        max_target_len=max_target_len,
        max_oovs=max_oovs,
        description=description,
        info=meta,
        tokenizer=tokenizer,
    )
