"""Tasks (splits + vocabulary + defaults) and the task registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seq2seq_gym.data.batch import Batch, collate
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.vocab import Vocab

MODALITIES = ("text", "image")


@dataclass
class Task:
    """A sequence-generation task: its splits, vocabulary and defaults.

    Args:
        name: registry name, e.g. ``"summarization"``.
        vocab: the output (and, for text sources, input) vocabulary.
        splits: ``{"train": [...], "validation": [...], "test": [...]}``; the
            splits never share an example id.
        modality: ``"text"`` or ``"image"`` (the source kind).
        metric: the default reward / evaluation metric name (``"rougeL"``,
            ``"bleu"``, ``"cider"``, ...).
        max_source_len: sources are truncated to this many tokens (logged).
        max_target_len: training targets are truncated to this many tokens,
            and generation stops after it by default.
        max_oovs: number of pointer-generator copy slots (source OOV words
            beyond this map to ``<unk>``).
        description: one paragraph for users and ``seq2seq-gym tasks``.
        info: free-form facts about the data (generator version, seed, paths).
    """

    name: str
    vocab: Vocab
    splits: dict[str, list[Example]]
    modality: str = "text"
    metric: str = "rougeL"
    max_source_len: int = 400
    max_target_len: int = 100
    max_oovs: int = 50
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        for key in ("max_source_len", "max_target_len"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.max_oovs < 0:
            raise ValueError(f"max_oovs must be >= 0, got {self.max_oovs}")

    def split(self, name: str) -> list[Example]:
        """The examples of one split (raises ``KeyError`` naming the known splits)."""
        try:
            return self.splits[name]
        except KeyError:
            raise KeyError(f"task {self.name!r} has no split {name!r}; known: {sorted(self.splits)}") from None

    def collate(self, examples: list[Example]) -> Batch:
        """Pad examples into a :class:`Batch` with this task's limits."""
        return collate(
            examples,
            self.vocab,
            max_source_len=self.max_source_len,
            max_target_len=self.max_target_len,
            max_oovs=self.max_oovs,
        )

    def batches(
        self,
        split: str = "train",
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 0,
        bucket: bool = False,
        drop_last: bool = False,
    ) -> Iterator[Batch]:
        """Iterate over a split in batches.

        ``shuffle`` uses ``seed`` (the same seed gives the same order).
        ``bucket`` groups examples of similar source length into a batch to
        save padding (the batch order is still shuffled when ``shuffle``).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        data = self.split(split)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(data)) if shuffle else np.arange(len(data))
        if bucket:
            chunk = batch_size * 50
            parts = []
            for s in range(0, len(order), chunk):
                piece = order[s : s + chunk]
                lens = np.array([_length(data[i]) for i in piece])
                parts.append(piece[np.argsort(lens, kind="stable")])
            order = np.concatenate(parts) if parts else order
        groups = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        if drop_last and groups and len(groups[-1]) < batch_size:
            groups.pop()
        if bucket and shuffle:
            groups = [groups[i] for i in rng.permutation(len(groups))]
        for g in groups:
            yield self.collate([data[i] for i in g])

    def sample(self, split: str, batch_size: int, rng: np.random.Generator) -> Batch:
        """A batch of ``batch_size`` examples drawn uniformly with replacement."""
        data = self.split(split)
        idx = rng.integers(0, len(data), size=batch_size)
        return self.collate([data[i] for i in idx])


def _length(ex: Example) -> int:
    return 1 if ex.is_image else len(ex.source)


_REGISTRY: dict[str, Callable[..., Task]] = {}


def register_task(name: str, factory: Callable[..., Task], overwrite: bool = False) -> None:
    """Register ``factory(**kwargs) -> Task`` under ``name``."""
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"task {name!r} is already registered")
    _REGISTRY[name] = factory


def make_task(name: str, **kwargs: Any) -> Task:
    """Build a registered task by name; unknown names list the known ones."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {sorted(_REGISTRY)}") from None
    return factory(**kwargs)


def list_tasks() -> list[str]:
    """Names of every registered task."""
    return sorted(_REGISTRY)
