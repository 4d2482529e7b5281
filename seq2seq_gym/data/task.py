"""Tasks (splits + vocabulary + defaults) and the task registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seq2seq_gym.data.batch import Batch, collate
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.splits import batch_order, check_disjoint
from seq2seq_gym.data.textio import warn
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
        max_source_len: text sources are cut to their first this many tokens
            when batched; the first batch that cuts one emits a
            :class:`~seq2seq_gym.data.textio.DataWarning` (once per task)
            with the number of longer sources in each split.
        max_target_len: training targets are cut to this many tokens (warned
            the same way; the references that rewards score are kept whole),
            and generation stops after it by default.
        max_oovs: number of pointer-generator copy slots (source OOV words
            beyond this map to ``<unk>``).
        description: one paragraph for users and ``seq2seq-gym tasks``.
        info: free-form facts about the data (generator version, seed, paths).
        tokenizer: the tokenizer that produced the text tokens (an object with
            ``tokenize`` / ``detokenize``), used by :meth:`detokenize`;
            ``None`` joins tokens with spaces.

    Tasks are treated as read-only: the registry caches built-in tasks and
    hands the same object to every caller, so do not modify a task's
    splits or examples in place (build a new :class:`Task` instead).
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
    tokenizer: Any = None
    _warned: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.vocab, Vocab):
            raise TypeError(f"vocab must be a Vocab, got {type(self.vocab).__name__}")
        if not isinstance(self.splits, dict):
            raise TypeError(f"splits must be a dict of example lists, got {type(self.splits).__name__}")
        check_disjoint(self.splits)
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
        """Pad examples into a :class:`Batch` with this task's limits (cuts are warned once, see the class)."""
        if "source" not in self._warned and any(
            not ex.is_image and len(ex.source) > self.max_source_len for ex in examples
        ):
            self._warn_cut("source")
        if "target" not in self._warned and any(
            ex.references and len(ex.references[0]) > self.max_target_len for ex in examples
        ):
            self._warn_cut("target")
        return collate(
            examples,
            self.vocab,
            max_source_len=self.max_source_len,
            max_target_len=self.max_target_len,
            max_oovs=self.max_oovs,
        )

    def _warn_cut(self, kind: str) -> None:
        """One counted warning that batching cuts sources (``kind="source"``) or training targets."""
        self._warned.add(kind)
        if kind == "source":
            limit, what, name = self.max_source_len, "sources", "max_source_len"

            def length(ex: Example) -> int:
                return 0 if ex.is_image else len(ex.source)

            tail = ""
        else:
            limit, what, name = self.max_target_len, "training targets", "max_target_len"

            def length(ex: Example) -> int:
                return len(ex.references[0]) if ex.references else 0

            tail = " for supervised training; the references scored by rewards are kept whole"
        per = {k: sum(length(ex) > limit for ex in v) for k, v in self.splits.items()}
        total = sum(len(v) for v in self.splits.values())
        shown = ", ".join(f"{k} {n:,}" for k, n in per.items())
        warn(
            f"task {self.name!r}: {what} longer than {name}={limit} tokens are cut to their first {limit}{tail} "
            f"({sum(per.values()):,} of {total:,} {'sources' if kind == 'source' else 'first references'} "
            f"in the task's splits: {shown}); pass {name}= to the task builder to change the limit"
        )

    def batches(
        self,
        split: str = "train",
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 0,
        bucket: bool = False,
        drop_last: bool = False,
        bucket_pool: int = 50,
    ) -> Iterator[Batch]:
        """Iterate over a split in batches.

        ``shuffle`` uses ``seed`` (the same seed gives the same order; pass
        a different seed per epoch). ``bucket`` sorts pools of
        ``batch_size * bucket_pool`` examples by source length (target length
        for image sources) so that a batch holds similar lengths and less
        padding (the batch order is still shuffled when ``shuffle``). See
        :func:`seq2seq_gym.data.splits.batch_order`.
        """
        data = self.split(split)
        lens = [_length(ex) for ex in data] if bucket else [0] * len(data)
        for g in batch_order(lens, batch_size, shuffle, seed, bucket, bucket_pool, drop_last):
            yield self.collate([data[i] for i in g])

    def sample(self, split: str, batch_size: int, rng: np.random.Generator) -> Batch:
        """A batch of ``batch_size`` examples drawn uniformly with replacement."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        data = self.split(split)
        if not data:
            raise ValueError(f"task {self.name!r}: split {split!r} is empty")
        idx = rng.integers(0, len(data), size=batch_size)
        return self.collate([data[i] for i in idx])

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Text of a token list, with this task's tokenizer (spaces when it has none)."""
        if self.tokenizer is not None:
            return self.tokenizer.detokenize(tokens)
        return " ".join(tokens)

    @property
    def sizes(self) -> dict[str, int]:
        """Number of examples per split."""
        return {k: len(v) for k, v in self.splits.items()}

    def __repr__(self) -> str:
        return (
            f"Task(name={self.name!r}, modality={self.modality!r}, metric={self.metric!r}, sizes={self.sizes}, "
            f"vocab={len(self.vocab)}, max_source_len={self.max_source_len}, "
            f"max_target_len={self.max_target_len}, max_oovs={self.max_oovs})"
        )


def _length(ex: Example) -> int:
    return len(ex.references[0]) if ex.is_image else len(ex.source)


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


def registered_factory(name: str) -> Callable[..., Task]:
    """The factory registered under ``name`` (``KeyError`` listing the known names)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {sorted(_REGISTRY)}") from None


def list_tasks() -> list[str]:
    """Names of every registered task."""
    return sorted(_REGISTRY)
