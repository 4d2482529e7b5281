"""Pieces shared by the corpus loaders: split arguments, path lists, field values."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.splits import DEFAULT_FRACTIONS, split_examples
from seq2seq_gym.data.textio import warn
from seq2seq_gym.data.tokenize import Tokenizer

PathLike = str | os.PathLike
PathSpec = PathLike | Sequence[PathLike]

SPLIT_NAMES = ("train", "validation", "test")
DUPLICATE_IDS = ("suffix", "raise")


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


def check_duplicate_ids(policy: str) -> str:
    """Validate the ``duplicate_ids`` option."""
    if policy not in DUPLICATE_IDS:
        raise ValueError(f"duplicate_ids must be one of {DUPLICATE_IDS}, got {policy!r}")
    return policy


def scalar_id(value: Any, where: str, field: str) -> str | None:
    """The text of an id field value (a non-empty string or an integer), or ``None`` when it is null."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(
        f"{where}: id field {field!r} must be a non-empty string or an integer, got {value!r} "
        "(pass id_field=None to number the examples by line instead)"
    )


def unique_ids(examples: list[Example], where: Sequence[str], policy: str, source: str) -> list[Example]:
    """Make example ids unique within ``examples``, following the ``duplicate_ids`` policy.

    Real corpora repeat ids (a package name, a message id copied twice), so
    the default policy ``"suffix"`` keeps every repeat: the k-th example with
    id ``x`` becomes ``x#k`` (``k >= 2``, the next unused one), records the
    first id in ``meta["repeat_of"]`` (hash splits keep all of them in the
    split of ``x``, see :func:`~seq2seq_gym.data.splits.split_examples`),
    and one counted :class:`~seq2seq_gym.data.textio.DataWarning` per call
    names the first repeats. ``"raise"`` raises ``ValueError`` at the first
    repeat, naming both places and the option.

    Args:
        examples: examples in reading order (changed in place where renamed).
        where: ``file:line`` (or another location) of each example, for messages.
        policy: ``"suffix"`` or ``"raise"``.
        source: the file(s) named in the warning.
    """
    check_duplicate_ids(policy)
    first: dict[str, int] = {}
    next_k: dict[str, int] = {}
    repeats: list[str] = []
    for i, ex in enumerate(examples):
        if ex.id not in first:
            first[ex.id] = i
            continue
        if policy == "raise":
            raise ValueError(
                f"{where[i]}: repeated example id {ex.id!r} (first at {where[first[ex.id]]}); pass "
                "duplicate_ids='suffix' to keep repeats as 'id#2', 'id#3', ... or id_field=None to number by line"
            )
        k = next_k.get(ex.id, 2)
        while f"{ex.id}#{k}" in first:
            k += 1
        next_k[ex.id] = k + 1
        new = f"{ex.id}#{k}"
        repeats.append(f"{ex.id!r} at {where[i]}")
        ex.meta["repeat_of"] = ex.id
        ex.id = new
        first[new] = i
    if repeats:
        shown = ", ".join(repeats[:3]) + (", ..." if len(repeats) > 3 else "")
        warn(f"{source}: {len(repeats)} repeated example id(s) kept with a '#k' suffix ({shown}); "
             "pass duplicate_ids='raise' to reject repeated ids")
    return examples
