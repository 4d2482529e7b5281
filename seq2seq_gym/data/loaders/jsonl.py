"""JSONL and TSV loaders with configurable fields and one or many references."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym.data.builder import build_task
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.loaders.common import (
    PathSpec,
    as_paths,
    check_duplicate_ids,
    dedupe,
    load_splits,
    lowered,
    references_of,
    scalar_id,
    tokens_of,
    unique_ids,
)
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.textio import SkipLog, check_on_error, read_lines
from seq2seq_gym.data.tokenize import Tokenizer, get_tokenizer
from seq2seq_gym.data.vocab import Vocab

__all__ = ["load_jsonl_task", "load_tsv_task", "read_jsonl", "read_tsv"]


def _make_example(
    ex_id: str,
    src: list[str],
    refs: list[list[str]],
    meta: dict[str, Any],
    skips: SkipLog,
    where: int | str,
) -> Example | None:
    if not src:
        skips.skip(where, "an empty source")
        return None
    if not refs or any(not r for r in refs):
        skips.skip(where, "an empty reference")
        return None
    return Example(ex_id, src, refs, meta)


def read_jsonl(
    path: str | Path,
    *,
    source_field: str = "source",
    target_field: str = "target",
    references_field: str | None = "references",
    id_field: str | None = "auto",
    duplicate_ids: str = "suffix",
    meta_fields: Sequence[str] = (),
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    lower: bool = False,
    pretokenized: bool = False,
    source_join: str = " ",
    target_join: str = " ",
    max_references: int | None = None,
    id_prefix: str = "",
    on_error: str = "skip",
    what: str = "data",
    limit: int | None = None,
) -> list[Example]:
    """Read one JSONL file (one JSON object per line; blank lines ignored).

    The source comes from ``source_field`` and the references from
    ``target_field`` (first) then ``references_field`` (by default the
    ``references`` field, read whenever a record has it; exact repeats
    dropped), so a multi-reference corpus such as AESLC (``target`` plus
    ``references``) is read whole with the defaults. A record may also
    carry only ``references`` (no ``target_field``): its first reference is
    then the training target. Field values may be strings, lists of strings
    or lists of token lists, read by
    :func:`~seq2seq_gym.data.loaders.common.tokens_of` (sources: a list of
    strings is a list of *sentences*, joined with ``source_join`` before
    tokenizing, e.g. SciTLDR's ``source``) and
    :func:`~seq2seq_gym.data.loaders.common.references_of` (targets: a list
    of strings is a list of *references*, e.g. SciTLDR's ``target``).

    Example ids are the records' own ids by default (``id_field="auto"``:
    the ``id`` field where a record has one, else ``{file stem}:{line}``),
    prefixed by ``id_prefix``. Repeated ids follow ``duplicate_ids``: kept
    as ``id#2``, ``id#3``, ... with one counted warning (``"suffix"``,
    the default), or rejected (``"raise"``); see
    :func:`~seq2seq_gym.data.loaders.common.unique_ids`.

    A line that is not valid JSON, not an object, or lacks a field raises
    ``ValueError`` with ``file:line``. Examples with an empty source or
    reference follow ``on_error``.

    Args:
        path: the ``.jsonl`` file (plain or gzip).
        source_field, target_field: field names of the source and first reference(s).
        references_field: field with (more) references, read where present;
            ``None`` ignores it.
        id_field: field with the example id: ``"auto"`` (``id`` where
            present, else the line), a field name (required in every
            record), or ``None`` (always ``{file stem}:{line}``).
        duplicate_ids: ``"suffix"`` or ``"raise"`` for repeated ids.
        meta_fields: fields copied into ``Example.meta``.
        tokenizer: see :func:`~seq2seq_gym.data.tokenize.get_tokenizer`.
        lower: lower-case the text.
        pretokenized: strings are white-space tokenized text and lists of
            strings are token lists.
        source_join, target_join: glue between the sentences of a list.
        max_references: keep at most this many references per example.
        id_prefix: prefix of every id (the split name, so ids of different
            split files never collide).
        on_error: ``"skip"`` (counted warning) or ``"raise"`` for empty examples.
        what: the argument name used in messages.
        limit: stop after this many examples (explicit; ``None`` reads all).
    """
    check_on_error(on_error)
    check_duplicate_ids(duplicate_ids)
    tok = get_tokenizer(tokenizer, lower=lower)
    p = Path(path)
    skips = SkipLog(p, on_error)
    out: list[Example] = []
    places: list[str] = []
    for lineno, line in read_lines(p, what, keep_empty=False):
        if limit is not None and len(out) >= limit:
            break
        where = f"{p}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: malformed JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(rec, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        more = None if references_field is None else rec.get(references_field)
        if source_field not in rec:
            raise ValueError(f"{where}: missing field {source_field!r} (fields: {sorted(rec)})")
        if target_field not in rec and more is None:
            also = f" and no {references_field!r} field" if references_field is not None else ""
            raise ValueError(f"{where}: missing field {target_field!r}{also} (fields: {sorted(rec)})")
        src = lowered(tokens_of(rec[source_field], tok, source_join, pretokenized, where, source_field),
                      lower and pretokenized)
        refs = []
        if target_field in rec:
            refs = references_of(rec[target_field], tok, target_join, pretokenized, where, target_field)
        if more is not None and references_field != target_field:
            refs += references_of(more, tok, target_join, pretokenized, where, references_field)
        if lower and pretokenized:
            refs = [lowered(r, True) for r in refs]
        refs = dedupe(refs)
        if max_references is not None:
            refs = refs[:max_references]
        raw_id = None
        if id_field == "auto":
            raw_id = scalar_id(rec.get("id"), where, "id")
        elif id_field is not None:
            if id_field not in rec:
                raise ValueError(f"{where}: missing id field {id_field!r} (fields: {sorted(rec)})")
            raw_id = scalar_id(rec[id_field], where, id_field)
            if raw_id is None:
                raise ValueError(f"{where}: id field {id_field!r} is null")
        ex_id = f"{id_prefix}{raw_id if raw_id is not None else f'{p.stem}:{lineno}'}"
        meta = {f: rec[f] for f in meta_fields if f in rec}
        ex = _make_example(ex_id, src, refs, meta, skips, lineno)
        if ex is not None:
            out.append(ex)
            places.append(where)
    skips.report()
    if not out:
        raise ValueError(f"{what}: no usable examples in {p} ({skips.total} skipped)")
    return unique_ids(out, places, duplicate_ids, str(p))


def _column(spec: int | str, header: list[str] | None, where: str) -> int:
    if isinstance(spec, int) and not isinstance(spec, bool):
        if spec < 0:
            raise ValueError(f"{where}: column index must be >= 0, got {spec}")
        return spec
    if isinstance(spec, str):
        if header is None:
            raise ValueError(f"{where}: column {spec!r} is a name, but header=False (pass header=True or an index)")
        if spec not in header:
            raise ValueError(f"{where}: no column named {spec!r} in the header {header}")
        return header.index(spec)
    raise TypeError(f"{where}: a column is an index or a header name, got {type(spec).__name__}")


def read_tsv(
    path: str | Path,
    *,
    source_column: int | str = 0,
    target_columns: int | str | Sequence[int | str] = 1,
    id_column: int | str | None = None,
    duplicate_ids: str = "suffix",
    header: bool = False,
    delimiter: str = "\t",
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    lower: bool = False,
    id_prefix: str = "",
    on_error: str = "skip",
    what: str = "data",
    limit: int | None = None,
) -> list[Example]:
    """Read one delimiter-separated file: a source column and one or more reference columns.

    Lines are split on ``delimiter`` exactly (no CSV quoting). A line with
    too few columns raises ``ValueError`` with ``file:line``; blank lines are
    ignored; an empty source or an empty *first* reference follows
    ``on_error`` (empty further reference columns are dropped, since corpora
    give different examples different numbers of references).

    Args:
        path: the file (plain or gzip).
        source_column: index or header name of the source.
        target_columns: index/name, or a list of them: the references.
        id_column: index/name of an id column (default ``{stem}:{line}``).
        duplicate_ids: ``"suffix"`` or ``"raise"`` for repeated ids (as in :func:`read_jsonl`).
        header: the first line names the columns.
        delimiter: the column separator.
        tokenizer, lower, id_prefix, on_error, what, limit: as in :func:`read_jsonl`.
    """
    check_on_error(on_error)
    check_duplicate_ids(duplicate_ids)
    tok = get_tokenizer(tokenizer, lower=lower)
    p = Path(path)
    skips = SkipLog(p, on_error)
    tcols_spec = [target_columns] if isinstance(target_columns, int | str) else list(target_columns)
    if not tcols_spec:
        raise ValueError("target_columns must name at least one column")
    out: list[Example] = []
    places: list[str] = []
    head: list[str] | None = None
    cols: tuple[int, list[int], int | None] | None = None
    for lineno, line in read_lines(p, what, keep_empty=False):
        parts = line.split(delimiter)
        if header and head is None:
            head = [h.strip() for h in parts]
            continue
        if cols is None:
            where0 = f"{p}"
            cols = (
                _column(source_column, head, where0),
                [_column(c, head, where0) for c in tcols_spec],
                None if id_column is None else _column(id_column, head, where0),
            )
        if limit is not None and len(out) >= limit:
            break
        s_col, t_cols, i_col = cols
        need = max([s_col, *t_cols] + ([] if i_col is None else [i_col])) + 1
        if len(parts) < need:
            raise ValueError(
                f"{p}:{lineno}: expected at least {need} {delimiter!r}-separated columns, got {len(parts)}"
            )
        src = tok.tokenize(parts[s_col])
        refs = [tok.tokenize(parts[c]) for c in t_cols]
        refs = [refs[0]] + [r for r in refs[1:] if r]
        raw_id = parts[i_col].strip() if i_col is not None else ""
        if i_col is not None and not raw_id:
            raise ValueError(f"{p}:{lineno}: empty id in column {id_column!r}")
        ex_id = f"{id_prefix}{raw_id or f'{p.stem}:{lineno}'}"
        ex = _make_example(ex_id, src, dedupe(refs), {}, skips, lineno)
        if ex is not None:
            out.append(ex)
            places.append(f"{p}:{lineno}")
    skips.report()
    if not out:
        raise ValueError(f"{what}: no usable examples in {p} ({skips.total} skipped)")
    return unique_ids(out, places, duplicate_ids, str(p))


def _reader(
    fn: Callable[..., list[Example]], limit: int | None, pattern: str, **kw: Any
) -> Callable[[Any, str, str | None], list]:
    def read(spec: PathSpec, what: str, split: str | None) -> list[Example]:
        exs: list[Example] = []
        places: list[str] = []
        paths = as_paths(spec, what, pattern)
        for path in paths:
            left = None if limit is None else limit - len(exs)
            if left is not None and left <= 0:
                break
            got = fn(path, id_prefix=f"{split}:" if split else "", what=what, limit=left, **kw)
            exs += got
            places += [f"{path} (id {ex.id!r})" for ex in got]
        if len(paths) > 1:  # ids repeated across the files of one split
            exs = unique_ids(exs, places, kw["duplicate_ids"], f"{what} ({len(paths)} files)")
        return exs

    return read


def load_jsonl_task(
    train: PathSpec | None = None,
    validation: PathSpec | None = None,
    test: PathSpec | None = None,
    *,
    data: PathSpec | None = None,
    fractions: Mapping[str, float] | None = None,
    split_method: str = "hash",
    split_seed: int = 0,
    source_field: str = "source",
    target_field: str = "target",
    references_field: str | None = "references",
    id_field: str | None = "auto",
    duplicate_ids: str = "suffix",
    meta_fields: Sequence[str] = (),
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    lower: bool = False,
    pretokenized: bool = False,
    source_join: str = " ",
    target_join: str = " ",
    max_references: int | None = None,
    vocab: Vocab | str | None = None,
    vocab_size: int | None = 50_000,
    min_count: int = 1,
    on_error: str = "skip",
    limit: int | None = None,
    name: str = "jsonl",
    metric: str = "rougeL",
    max_source_len: int = 400,
    max_target_len: int = 100,
    max_oovs: int = 50,
    description: str = "",
) -> Task:
    """Build a text task from JSONL files (registered as ``"jsonl"``).

    Give split files (``train`` / ``validation`` / ``test``: each a path, a
    glob, a directory of ``*.jsonl`` or a list), or one ``data`` source that
    is cut by ``fractions`` with :func:`~seq2seq_gym.data.splits.split_examples`.
    Records are read by :func:`read_jsonl` (see it for the field rules);
    the vocabulary is built from the train split unless ``vocab`` is given.

    Args:
        train, validation, test: split files.
        data, fractions, split_method, split_seed: one source to split.
        source_field, target_field, references_field, id_field, duplicate_ids,
        meta_fields, tokenizer, lower, pretokenized, source_join, target_join,
        max_references, on_error: see :func:`read_jsonl` (by default the
        ``references`` field is read and the records' ``id`` kept).
        vocab, vocab_size, min_count: see :func:`~seq2seq_gym.data.builder.resolve_vocab`.
        limit: read at most this many examples per split (or of ``data``).
        name, metric, max_source_len, max_target_len, max_oovs, description:
            the :class:`~seq2seq_gym.data.task.Task` fields.
    """
    tok = get_tokenizer(tokenizer, lower=lower)
    read = _reader(
        read_jsonl, limit, "*.jsonl", source_field=source_field, target_field=target_field,
        references_field=references_field, id_field=id_field, duplicate_ids=duplicate_ids,
        meta_fields=meta_fields, tokenizer=tok, lower=lower, pretokenized=pretokenized,
        source_join=source_join, target_join=target_join, max_references=max_references, on_error=on_error,
    )
    splits, info = load_splits({"train": train, "validation": validation, "test": test}, data, read,
                               fractions, split_method, split_seed)
    info.update(loader="jsonl", tokenizer=repr(tok), lower=lower, source_field=source_field,
                target_field=target_field, references_field=references_field, id_field=id_field)
    return build_task(name, splits, vocab=vocab, vocab_size=vocab_size, min_count=min_count, metric=metric,
                      max_source_len=max_source_len, max_target_len=max_target_len, max_oovs=max_oovs,
                      description=description or f"Text task read from JSONL files ({source_field} -> {target_field}).",
                      info=info, tokenizer=tok)


def load_tsv_task(
    train: PathSpec | None = None,
    validation: PathSpec | None = None,
    test: PathSpec | None = None,
    *,
    data: PathSpec | None = None,
    fractions: Mapping[str, float] | None = None,
    split_method: str = "hash",
    split_seed: int = 0,
    source_column: int | str = 0,
    target_columns: int | str | Sequence[int | str] = 1,
    id_column: int | str | None = None,
    duplicate_ids: str = "suffix",
    header: bool = False,
    delimiter: str = "\t",
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    lower: bool = False,
    vocab: Vocab | str | None = None,
    vocab_size: int | None = 50_000,
    min_count: int = 1,
    on_error: str = "skip",
    limit: int | None = None,
    name: str = "tsv",
    metric: str = "rougeL",
    max_source_len: int = 400,
    max_target_len: int = 100,
    max_oovs: int = 50,
    description: str = "",
) -> Task:
    """Build a text task from TSV (or other delimiter) files (registered as ``"tsv"``).

    Split arguments as in :func:`load_jsonl_task`; columns and errors as in
    :func:`read_tsv`; task fields as in :func:`load_jsonl_task`.
    """
    tok = get_tokenizer(tokenizer, lower=lower)
    read = _reader(
        read_tsv, limit, "*.tsv", source_column=source_column, target_columns=target_columns, id_column=id_column,
        duplicate_ids=duplicate_ids, header=header, delimiter=delimiter, tokenizer=tok, lower=lower, on_error=on_error,
    )
    splits, info = load_splits({"train": train, "validation": validation, "test": test}, data, read,
                               fractions, split_method, split_seed)
    info.update(loader="tsv", tokenizer=repr(tok), lower=lower)
    return build_task(name, splits, vocab=vocab, vocab_size=vocab_size, min_count=min_count, metric=metric,
                      max_source_len=max_source_len, max_target_len=max_target_len, max_oovs=max_oovs,
                      description=description or "Text task read from delimiter-separated files.",
                      info=info, tokenizer=tok)
