"""Parallel text: line ``i`` of a source file pairs with line ``i`` of each target file."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym.data.builder import build_task
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.textio import SkipLog, check_on_error, read_lines
from seq2seq_gym.data.tokenize import Tokenizer, get_tokenizer
from seq2seq_gym.data.vocab import Vocab

__all__ = ["load_parallel_task", "read_parallel"]

PairSpec = tuple[str | os.PathLike, str | os.PathLike | Sequence[str | os.PathLike]]


def read_parallel(
    source: str | os.PathLike,
    targets: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    target_tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] | None = None,
    lower: bool = False,
    on_error: str = "skip",
    what: str = "data",
    id_prefix: str = "",
    limit: int | None = None,
) -> list[Example]:
    """Read aligned files (plain text or gzip, one sentence per line).

    ``targets`` is one file, or several (multiple references per source, as
    in multi-reference test sets). Every file must have the same number of
    lines, otherwise ``ValueError`` names both files and both counts. A pair
    with an empty source or an empty reference follows ``on_error``. Ids are
    ``{prefix}{line number}``.

    Args:
        source: the source-language file.
        targets: the target-language file(s).
        tokenizer: source tokenizer (and target, unless ``target_tokenizer``).
        target_tokenizer: a different tokenizer for the target side.
        lower: lower-case both sides.
        on_error: ``"skip"`` or ``"raise"``.
        what: the argument name in messages.
        id_prefix: prefix of every id.
        limit: read at most this many pairs.
    """
    check_on_error(on_error)
    tok_s = get_tokenizer(tokenizer, lower=lower)
    tok_t = tok_s if target_tokenizer is None else get_tokenizer(target_tokenizer, lower=lower)
    tpaths = [targets] if isinstance(targets, str | os.PathLike) else list(targets)
    if not tpaths:
        raise ValueError(f"{what}: no target file")
    src_lines = [line for _, line in read_lines(source, f"{what} (source)")]
    tgt_lines = []
    for tp in tpaths:
        lines = [line for _, line in read_lines(tp, f"{what} (target)")]
        if len(lines) != len(src_lines):
            raise ValueError(
                f"{what}: parallel files are not aligned: {source} has {len(src_lines)} lines, "
                f"{tp} has {len(lines)} lines"
            )
        tgt_lines.append(lines)
    skips = SkipLog(Path(source), on_error)
    out: list[Example] = []
    for i, s in enumerate(src_lines):
        if limit is not None and len(out) >= limit:
            break
        src = tok_s.tokenize(s)
        refs = [tok_t.tokenize(t[i]) for t in tgt_lines]
        if not src:
            skips.skip(i + 1, "an empty source")
            continue
        if any(not r for r in refs):
            skips.skip(i + 1, "an empty reference")
            continue
        out.append(Example(f"{id_prefix}{i + 1}", src, refs))
    skips.report()
    if not out:
        raise ValueError(f"{what}: no usable sentence pairs in {source} ({skips.total} skipped)")
    return out


def _check_pair(spec: Any, what: str) -> PairSpec:
    if not isinstance(spec, tuple | list) or len(spec) != 2:
        raise TypeError(f"{what}: expected a (source file, target file(s)) pair, got {spec!r}")
    return spec[0], spec[1]


def load_parallel_task(
    train: PairSpec | None = None,
    validation: PairSpec | None = None,
    test: PairSpec | None = None,
    *,
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    target_tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] | None = None,
    lower: bool = True,
    vocab: Vocab | str | os.PathLike | None = None,
    vocab_size: int | None = 30_000,
    min_count: int = 1,
    on_error: str = "skip",
    limit: int | None = None,
    name: str = "parallel",
    metric: str = "bleu",
    max_source_len: int = 100,
    max_target_len: int = 100,
    max_oovs: int = 20,
    description: str = "",
    info: dict[str, Any] | None = None,
) -> Task:
    """A translation task from aligned files (registered as ``"parallel"``).

    Each split is a ``(source_file, target_file)`` pair (the target may be a
    list of files for several references), read by :func:`read_parallel`.
    One vocabulary covers both languages (the Batch has a single
    vocabulary; the pointer can still copy names and numbers across). The
    metric is BLEU.

    Args:
        train, validation, test: ``(source, target)`` file pairs.
        tokenizer, target_tokenizer, lower, on_error: see :func:`read_parallel`.
        vocab, vocab_size, min_count: the shared vocabulary.
        limit: pairs per split.
        name, metric, max_source_len, max_target_len, max_oovs, description:
            the :class:`~seq2seq_gym.data.task.Task` fields.
        info: extra facts for ``Task.info``.
    """
    check_on_error(on_error)
    tok = get_tokenizer(tokenizer, lower=lower)
    ttok = None if target_tokenizer is None else get_tokenizer(target_tokenizer, lower=lower)
    given = {k: v for k, v in {"train": train, "validation": validation, "test": test}.items() if v is not None}
    if not given:
        raise ValueError("parallel: pass at least one of train=, validation=, test= as (source, target) file pairs")
    splits = {}
    for split, spec in given.items():
        s, t = _check_pair(spec, split)
        splits[split] = read_parallel(s, t, tokenizer=tok, target_tokenizer=ttok, lower=lower, on_error=on_error,
                                      what=split, id_prefix=f"{split}:", limit=limit)
    meta = {"loader": "parallel", "files": {k: [str(x) for x in _flatten(v)] for k, v in given.items()},
            "lower": lower, "tokenizer": repr(tok)}
    meta.update(info or {})
    return build_task(
        name, splits, vocab=vocab, vocab_size=vocab_size, min_count=min_count, metric=metric,
        max_source_len=max_source_len, max_target_len=max_target_len, max_oovs=max_oovs,
        description=description or "Translation from aligned parallel text files.", info=meta,
        tokenizer=ttok or tok,
    )


def _flatten(spec: Any) -> list[Any]:
    out = []
    for x in spec:
        if isinstance(x, str | os.PathLike):
            out.append(x)
        else:
            out.extend(x)
    return out
