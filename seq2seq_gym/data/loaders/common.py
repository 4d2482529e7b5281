"""Pieces shared by the corpus loaders: split arguments, path lists, field values."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.splits import DEFAULT_FRACTIONS, split_examples
from seq2seq_gym.data.tokenize import Tokenizer

PathLike = str | os.PathLike
PathSpec = PathLike | Sequence[PathLike]

SPLIT_NAMES = ("train", "validation", "test")


def as_paths(spec: PathSpec, what: str, pattern: str = "*") -> list[Path]:
    """A path, a glob pattern, a directory (its files matching ``pattern``, sorted) or a list of those."""
    if isinstance(spec, str | os.PathLike):
        items: Sequence[PathLike] = [spec]
    elif isinstance(spec, Sequence):
        items = spec
    else:
        raise TypeError(f"{what}: expected a path or a list of paths, got {type(spec).__name__}")
    out: list[Path] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise TypeError(f"{what}: expected a path, got {type(item).__name__}")
        s = os.fspath(item)
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.glob(pattern) if q.is_file())
            if not found:
                raise FileNotFoundError(f"{what}: no files matching {pattern!r} in directory {p}")
            out.extend(found)
        elif any(c in s for c in "*?[") and not p.exists():
            found = sorted(Path(q) for q in glob.glob(s))
            if not found:
                raise FileNotFoundError(f"{what}: no files match the pattern {s!r}")
            out.extend(found)
        else:
            out.append(p)  # missing files are reported by the reader, naming the argument
    if not out:
        raise ValueError(f"{what}: empty list of paths")
    return out


def load_splits(
    split_args: Mapping[str, Any],
    data: Any,
    read: Callable[[Any, str, str | None], list[Example]],
    fractions: Mapping[str, float] | None,
    split_method: str,
    split_seed: int,
) -> tuple[dict[str, list[Example]], dict[str, Any]]:
    """Read explicit split files, or one ``data`` source cut into splits.

    Args:
        split_args: ``{split name: spec or None}`` for explicitly given splits.
        data: one spec to split by ``fractions`` (exclusive with ``split_args``).
        read: ``read(spec, what, split_name_or_None) -> examples``; with a
            split name the example ids are prefixed by it.
        fractions, split_method, split_seed: see :func:`split_examples`.
    """
    given = {k: v for k, v in split_args.items() if v is not None}
    if data is not None and given:
        raise ValueError(f"pass either data= (to be split) or split files ({', '.join(given)}), not both")
    if data is None and not given:
        raise ValueError(f"no input: pass split files ({', '.join(split_args)}) or data=")
    if data is not None:
        exs = read(data, "data", None)
        splits = split_examples(exs, fractions, method=split_method, seed=split_seed)
        return splits, {"split": f"{split_method} split of data, seed {split_seed}",
                        "fractions": dict(fractions or DEFAULT_FRACTIONS)}
    splits = {name: read(spec, name, name) for name, spec in given.items()}
    return splits, {"split": "given files"}


def tokens_of(value: Any, tok: Tokenizer, join: str, pretokenized: bool, where: str, field: str) -> list[str]:
    """Tokens of a source-like field value.

    A string is tokenized (``pretokenized``: split on white space). A list of
    strings is a list of sentences joined with ``join`` and tokenized
    (``pretokenized``: it is the token list). A list of token lists
    (``pretokenized``) is concatenated.
    """
    if isinstance(value, str):
        return value.split() if pretokenized else tok.tokenize(value)
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return list(value) if pretokenized else tok.tokenize(join.join(value))
        if pretokenized and all(isinstance(v, list) and all(isinstance(t, str) for t in v) for v in value):
            return [t for v in value for t in v]
    raise ValueError(
        f"{where}: field {field!r} must be a string or a list of strings"
        f"{' or of token lists' if pretokenized else ''}, got {_kind(value)}"
    )


def references_of(value: Any, tok: Tokenizer, join: str, pretokenized: bool, where: str, field: str) -> list[list[str]]:
    """References of a target-like field value.

    Not ``pretokenized``: a string is one reference; a list of strings is
    several references; a list of lists of strings is several references of
    several sentences each (joined with ``join``). ``pretokenized``: a string
    is one reference split on white space; a list of strings is one token
    list; a list of token lists is several references.
    """
    if isinstance(value, str):
        return [value.split() if pretokenized else tok.tokenize(value)]
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return [list(value)] if pretokenized else [tok.tokenize(v) for v in value]
        if all(isinstance(v, list) and all(isinstance(t, str) for t in v) for v in value):
            return [list(v) for v in value] if pretokenized else [tok.tokenize(join.join(v)) for v in value]
    raise ValueError(
        f"{where}: field {field!r} must be a string, a list of strings or a list of string lists, got {_kind(value)}"
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        inner = sorted({type(v).__name__ for v in value})
        return f"a list of {'/'.join(inner) or 'nothing'}"
    return type(value).__name__


def lowered(tokens: list[str], lower: bool) -> list[str]:
    return [t.lower() for t in tokens] if lower else tokens


def dedupe(refs: list[list[str]]) -> list[list[str]]:
    """Drop repeated references, keeping the first occurrence (order kept)."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for r in refs:
        key = tuple(r)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
