"""Deterministic splits, shuffling and length bucketing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from seq2seq_gym.data.example import Example

__all__ = ["batch_order", "check_disjoint", "hash_fraction", "split_examples"]

DEFAULT_FRACTIONS = {"train": 0.9, "validation": 0.05, "test": 0.05}


def hash_fraction(key: str, seed: int = 0) -> float:
    """A uniform number in ``[0, 1)`` from ``blake2b(seed, key)``: stable across runs, machines and versions."""
    h = hashlib.blake2b(key.encode("utf-8"), digest_size=8, key=str(int(seed)).encode("ascii"))
    return int.from_bytes(h.digest(), "big") / 2.0**64


def _check_fractions(fractions: Mapping[str, float]) -> list[tuple[str, float]]:
    if not fractions:
        raise ValueError("fractions must name at least one split")
    items = list(fractions.items())
    for name, f in items:
        if not isinstance(name, str) or not name:
            raise ValueError(f"fractions: split names must be non-empty strings, got {name!r}")
        if not (isinstance(f, int | float) and 0.0 <= f <= 1.0):
            raise ValueError(f"fractions[{name!r}] must be in [0, 1], got {f!r}")
    total = sum(f for _, f in items)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {total} ({dict(items)})")
    return items


def split_examples(
    examples: Sequence[Example],
    fractions: Mapping[str, float] | None = None,
    method: str = "hash",
    seed: int = 0,
) -> dict[str, list[Example]]:
    """Split examples into named, non-overlapping parts.

    Args:
        examples: examples with ids unique in the sequence (checked).
        fractions: ``{split name: fraction}`` summing to 1; default
            ``{"train": 0.9, "validation": 0.05, "test": 0.05}``.
        method: ``"hash"`` assigns each example by a keyed hash of its id
            (:func:`hash_fraction`): an example keeps its split when the corpus
            grows or is reordered, and sizes are the fractions only on
            average. A repeated id that a loader kept with a suffix
            (``meta["repeat_of"]``, see
            :func:`~seq2seq_gym.data.loaders.common.unique_ids`) is hashed as
            the id it repeats, so all examples of one source id share a split.
            ``"permutation"`` shuffles with ``numpy.random.default_rng(seed)``
            and cuts at the exact fractions (sizes exact, but adding data
            moves examples).
        seed: the hash key or permutation seed.

    Returns:
        ``{split: [examples in their input order]}``; every split named in
        ``fractions`` is present (possibly empty).
    """
    items = _check_fractions(DEFAULT_FRACTIONS if fractions is None else fractions)
    ids = [ex.id for ex in examples]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise ValueError(f"examples: duplicate id {dup!r}; ids must be unique to split")
    names = [n for n, _ in items]
    out: dict[str, list[Example]] = {n: [] for n in names}
    bounds = np.cumsum([f for _, f in items])
    bounds[-1] = 1.0 + 1e-12
    if method == "hash":
        for ex in examples:
            key = ex.meta.get("repeat_of", ex.id) if isinstance(ex.meta, dict) else ex.id
            k = int(np.searchsorted(bounds, hash_fraction(str(key), seed), side="right"))
            out[names[min(k, len(names) - 1)]].append(ex)
    elif method == "permutation":
        n = len(examples)
        perm = np.random.default_rng(seed).permutation(n)
        cuts = np.round(bounds * n).astype(int)
        cuts[-1] = n
        start = 0
        for name, stop in zip(names, cuts):
            keep = np.sort(perm[start:stop])
            out[name] = [examples[i] for i in keep]
            start = stop
    else:
        raise ValueError(f"method must be 'hash' or 'permutation', got {method!r}")
    check_disjoint(out)
    return out


def check_disjoint(splits: Mapping[str, Sequence[Example]]) -> None:
    """Raise ``ValueError`` naming the splits and an id when two splits share an example id."""
    owner: dict[str, str] = {}
    for name, exs in splits.items():
        for ex in exs:
            prev = owner.setdefault(ex.id, name)
            if prev != name:
                raise ValueError(
                    f"splits {prev!r} and {name!r} share the example id {ex.id!r}; splits must not overlap"
                )


def batch_order(
    lengths: Sequence[int] | np.ndarray,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    bucket: bool = False,
    bucket_pool: int = 50,
    drop_last: bool = False,
) -> list[np.ndarray]:
    """Group example positions into batches.

    ``shuffle`` permutes with ``numpy.random.default_rng(seed)`` (same seed,
    same order). ``bucket`` sorts each pool of ``batch_size * bucket_pool``
    consecutive (shuffled) positions by length, cuts it into batches, and
    (with ``shuffle``) shuffles the batch order, so a batch holds examples of
    similar length (less padding) while the epoch stays random. Every
    position appears once; ``drop_last`` drops a final short batch.

    Args:
        lengths: ``[N]`` a length per example (the source length, say).
        batch_size: examples per batch (>= 1).
        shuffle: random order from ``seed``.
        seed: the shuffling seed.
        bucket: group by length.
        bucket_pool: pool size in batches for bucketing (>= 1).
        drop_last: drop the last batch when it is short.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if bucket_pool < 1:
        raise ValueError(f"bucket_pool must be >= 1, got {bucket_pool}")
    lens = np.asarray(lengths, dtype=np.int64)
    n = len(lens)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n) if shuffle else np.arange(n)
    if bucket and n:
        chunk = batch_size * bucket_pool
        parts = [order[s : s + chunk] for s in range(0, n, chunk)]
        order = np.concatenate([p[np.argsort(lens[p], kind="stable")] for p in parts])
    groups = [order[s : s + batch_size] for s in range(0, n, batch_size)]
    if drop_last and groups and len(groups[-1]) < batch_size:
        groups.pop()
    if bucket and shuffle:
        groups = [groups[i] for i in rng.permutation(len(groups))]
    return groups
