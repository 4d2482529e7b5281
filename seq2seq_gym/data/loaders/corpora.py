"""Convenience tasks for corpora laid out as in the project's shared data folder.

Each takes ``root=``: the corpus folder (``.../aeslc``), or a folder that
holds it (``.../data``). Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from seq2seq_gym.data.loaders.jsonl import load_jsonl_task
from seq2seq_gym.data.loaders.parallel import load_parallel_task
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.vocab import Vocab

__all__ = ["load_aeslc", "load_multi30k", "load_scitldr"]


def _corpus_dir(root: str | os.PathLike | None, name: str, probe: str) -> Path:
    if root is None:
        raise ValueError(f"{name}: pass root= (the folder with {probe}, or its parent)")
    r = Path(root)
    for cand in (r, r / name):
        if (cand / probe).exists():
            return cand
    raise FileNotFoundError(f"root: {probe} not found in {r} or {r / name}")


def load_aeslc(
    root: str | os.PathLike | None = None,
    *,
    lower: bool = True,
    vocab: Vocab | str | None = None,
    vocab_size: int | None = 30_000,
    min_count: int = 2,
    limit: int | None = None,
    on_error: str = "skip",
    max_source_len: int = 400,
    max_target_len: int = 32,
    max_oovs: int = 50,
) -> Task:
    """AESLC email subject-line generation (Zhang & Tetreault, 2019), registered as ``"aeslc"``.

    Files ``{train,dev,test}.jsonl`` with ``id``, ``source`` (the email
    body), ``target`` (the subject) and ``references`` (the subject and, in
    dev / test, three human-written subjects). The default word tokenizer is
    used, lower-cased by default; the metric is ROUGE-L.

    Args:
        root: the ``aeslc`` folder or its parent.
        lower: lower-case the text.
        vocab, vocab_size, min_count: the vocabulary (built from train).
        limit: examples per split.
        on_error: ``"skip"`` or ``"raise"`` for empty examples.
        max_source_len, max_target_len, max_oovs: task limits.
    """
    d = _corpus_dir(root, "aeslc", "train.jsonl")
    return load_jsonl_task(
        train=d / "train.jsonl", validation=d / "dev.jsonl", test=d / "test.jsonl",
        source_field="source", target_field="target", references_field="references", id_field="id",
        lower=lower, vocab=vocab, vocab_size=vocab_size, min_count=min_count, limit=limit, on_error=on_error,
        name="aeslc", metric="rougeL", max_source_len=max_source_len, max_target_len=max_target_len,
        max_oovs=max_oovs,
        description="AESLC (Zhang & Tetreault 2019): generate an email's subject line from its body; "
        "dev/test have 4 references.",
    )


def load_scitldr(
    root: str | os.PathLike | None = None,
    *,
    lower: bool = True,
    vocab: Vocab | str | None = None,
    vocab_size: int | None = 30_000,
    min_count: int = 2,
    limit: int | None = None,
    on_error: str = "skip",
    max_source_len: int = 400,
    max_target_len: int = 64,
    max_oovs: int = 50,
) -> Task:
    """SciTLDR-A (Cachola et al., 2020): paper abstract -> one-sentence TLDR, registered as ``"scitldr"``.

    Files ``{train,dev,test}.jsonl``: ``source`` is a list of sentences
    (joined with a space), ``target`` a list of reference TLDRs (one in
    train, several in dev / test), ``paper_id`` the id. Metric ROUGE-L.

    Args: as :func:`load_aeslc`.
    """
    d = _corpus_dir(root, "scitldr", "train.jsonl")
    return load_jsonl_task(
        train=d / "train.jsonl", validation=d / "dev.jsonl", test=d / "test.jsonl",
        source_field="source", target_field="target", id_field="paper_id", meta_fields=("title",),
        lower=lower, vocab=vocab, vocab_size=vocab_size, min_count=min_count, limit=limit, on_error=on_error,
        name="scitldr", metric="rougeL", max_source_len=max_source_len, max_target_len=max_target_len,
        max_oovs=max_oovs,
        description="SciTLDR-A (Cachola et al. 2020): write a one-sentence TLDR of a paper abstract; "
        "dev/test have several references.",
    )


def load_multi30k(
    root: str | os.PathLike | None = None,
    *,
    direction: str = "en-de",
    test_set: str = "test_2016_flickr",
    lower: bool = True,
    vocab: Vocab | str | None = None,
    vocab_size: int | None = 30_000,
    min_count: int = 2,
    limit: int | None = None,
    on_error: str = "skip",
    max_source_len: int = 64,
    max_target_len: int = 64,
    max_oovs: int = 20,
) -> Task:
    """Multi30k translation (Elliott et al., 2016), registered as ``"multi30k"``.

    Files ``raw/{train,val,<test_set>}.{en,de}.gz`` (or directly in ``root``):
    29,000 / 1,014 / 1,000 image descriptions. Metric BLEU.

    Args:
        root: the ``multi30k`` folder (holding ``raw/``), its ``raw`` folder, or its parent.
        direction: ``"en-de"`` (English source) or ``"de-en"``.
        test_set: the test files' stem (``test_2016_flickr``, ``test_2017_flickr``,
            ``test_2017_mscoco``, ``test_2018_flickr``).
        lower, vocab, vocab_size, min_count, limit, on_error: as :func:`load_aeslc`.
        max_source_len, max_target_len, max_oovs: task limits.
    """
    if direction not in ("en-de", "de-en"):
        raise ValueError(f"direction must be 'en-de' or 'de-en', got {direction!r}")
    if root is None:
        raise ValueError("multi30k: pass root= (the multi30k folder or its parent)")
    r = Path(root)
    d = None
    for cand in (r, r / "raw", r / "multi30k", r / "multi30k" / "raw"):
        if (cand / "train.en.gz").exists() or (cand / "train.en").exists():
            d = cand
            break
    if d is None:
        raise FileNotFoundError(f"root: multi30k files (raw/train.en.gz) not found under {r}")
    s, t = direction.split("-")

    def f(stem: str, lang: str) -> Path:
        gz = d / f"{stem}.{lang}.gz"
        return gz if gz.exists() else d / f"{stem}.{lang}"

    return load_parallel_task(
        train=(f("train", s), f("train", t)), validation=(f("val", s), f("val", t)),
        test=(f(test_set, s), f(test_set, t)),
        lower=lower, vocab=vocab, vocab_size=vocab_size, min_count=min_count, limit=limit, on_error=on_error,
        name="multi30k", metric="bleu", max_source_len=max_source_len, max_target_len=max_target_len,
        max_oovs=max_oovs,
        description=f"Multi30k (Elliott et al. 2016) translation {direction}, test set {test_set}.",
        info={"direction": direction, "test_set": test_set},
    )
