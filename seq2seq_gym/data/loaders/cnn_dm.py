"""CNN/DailyMail: ``.story`` files and the pointer-generator's chunked ``.bin`` files.

Two on-disk formats are read (Hermann et al., 2015; See et al., 2017):

- ``.story`` files: the article's paragraphs, then each highlight as an
  ``@highlight`` line followed by the highlight sentence. Cleaning follows
  the usual pointer-generator preprocessing, re-implemented here:
  lower-casing (option), and a missing sentence-final period is added to
  every article line and highlight that does not already end in ``. ! ? ...
  ' ` " ’ ” )`` (option ``fix_periods``). The article is the cleaned lines
  joined by spaces; the reference is the highlights joined in order.
  Splits can follow the official URL lists (``all_train.txt``,
  ``all_val.txt``, ``all_test.txt``: a story's file name is the SHA-1 hex
  digest of its URL) or a hash of the file name.
- ``.bin`` files: records of an 8-byte little-endian length and a serialized
  ``tf.train.Example`` with bytes features ``article`` and ``abstract``; the
  abstract's sentences are wrapped in ``<s> ... </s>``. The text there is
  already tokenized and lower-cased, so it is split on white space. Read by
  :mod:`seq2seq_gym.data.protobuf` (no TensorFlow).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym.data.builder import build_task
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.loaders.common import PathSpec, as_paths
from seq2seq_gym.data.protobuf import encode_example, parse_example, read_bin_records, write_bin_records
from seq2seq_gym.data.splits import split_examples
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.textio import SkipLog, check_file, check_on_error, decode_text
from seq2seq_gym.data.tokenize import Tokenizer, get_tokenizer
from seq2seq_gym.data.vocab import Vocab

__all__ = [
    "fix_missing_period",
    "load_cnn_dm_task",
    "parse_story",
    "read_bin",
    "read_stories",
    "split_abstract",
    "url_hash",
    "write_bin",
]

SENT_START, SENT_END = "<s>", "</s>"
_END_MARKS = (".", "!", "?", "...", "'", "`", '"', "\u2019", "\u201d", ")")
_SPLIT_FILE_NAMES = {"train": "train", "validation": "val", "test": "test"}


def fix_missing_period(line: str) -> str:
    """Append `` .`` to a non-empty line that does not end in a sentence-final mark."""
    if not line or line.startswith("@highlight") or line.endswith(_END_MARKS):
        return line
    return line + " ."


def parse_story(text: str, lower: bool = True, fix_periods: bool = True) -> tuple[list[str], list[str]]:
    """Split a ``.story`` text into (article lines, highlight sentences).

    Article lines are the non-empty lines before the first ``@highlight``;
    each ``@highlight`` marker starts one highlight, made of the non-empty
    lines up to the next marker (normally exactly one line).

    Args:
        text: the file's text.
        lower: lower-case every line.
        fix_periods: apply :func:`fix_missing_period` to every line.
    """
    article: list[str] = []
    highlights: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@highlight"):
            highlights.append([])
            continue
        if lower:
            line = line.lower()
        if fix_periods:
            line = fix_missing_period(line)
        (highlights[-1] if highlights else article).append(line)
    return article, [" ".join(h) for h in highlights if h]


def url_hash(url: str) -> str:
    """The story file name stem of a URL: the SHA-1 hex digest of its UTF-8 bytes."""
    return hashlib.sha1(url.strip().encode("utf-8")).hexdigest()


def split_abstract(abstract: str) -> list[str]:
    """The sentences of a ``<s> ... </s>``-tagged abstract (untagged text is one sentence)."""
    sents: list[str] = []
    rest = abstract
    if SENT_START not in rest:
        return [rest.strip()] if rest.strip() else []
    while True:
        start = rest.find(SENT_START)
        if start < 0:
            break
        end = rest.find(SENT_END, start + len(SENT_START))
        if end < 0:
            end = len(rest)
        s = rest[start + len(SENT_START) : end].strip()
        if s:
            sents.append(s)
        rest = rest[end + len(SENT_END) :]
    return sents


def read_stories(
    paths: Iterable[Path],
    *,
    tokenizer: Tokenizer,
    lower: bool = True,
    fix_periods: bool = True,
    on_error: str = "skip",
    what: str = "stories",
    limit: int | None = None,
) -> list[Example]:
    """Read ``.story`` files into examples (id: the file stem; meta: ``highlights`` count).

    A story with no article text or no highlight follows ``on_error``.
    """
    skips = SkipLog(what, on_error)
    out: list[Example] = []
    for p in paths:
        if limit is not None and len(out) >= limit:
            break
        check_file(p, what)
        article, highlights = parse_story(decode_text(p.read_bytes(), str(p)), lower=lower, fix_periods=fix_periods)
        src = tokenizer.tokenize(" ".join(article))
        ref = [t for h in highlights for t in tokenizer.tokenize(h)]
        if not src:
            skips.skip(str(p), "an empty article")
            continue
        if not ref:
            skips.skip(str(p), "no highlight")
            continue
        out.append(Example(p.stem, src, [ref], {"highlights": len(highlights)}))
    skips.report()
    return out


def read_bin(
    path: str | os.PathLike,
    *,
    lower: bool = False,
    on_error: str = "skip",
    what: str = "data",
    id_prefix: str = "",
    limit: int | None = None,
    article_key: str = "article",
    abstract_key: str = "abstract",
) -> list[Example]:
    """Read one pointer-generator ``.bin`` file.

    Ids are ``{prefix}{file stem}:{record index}``; the reference is the
    abstract's sentences concatenated (``meta["highlights"]`` counts them).
    A record without the ``article`` / ``abstract`` features raises
    ``ValueError`` (file and record); an empty article or abstract follows
    ``on_error``.
    """
    p = check_file(path, what)
    skips = SkipLog(p, on_error)
    out: list[Example] = []
    for i, rec in enumerate(read_bin_records(p)):
        if limit is not None and len(out) >= limit:
            break
        where = f"{p} record {i}"
        try:
            feats = parse_example(rec)
        except ValueError as e:
            raise ValueError(f"{where}: not a tf.Example ({e})") from None
        for key in (article_key, abstract_key):
            if key not in feats:
                raise ValueError(f"{where}: missing feature {key!r} (features: {sorted(feats)})")
        art_b, abs_b = feats[article_key], feats[abstract_key]
        if not all(isinstance(x, bytes) for x in [*art_b, *abs_b]):
            raise ValueError(f"{where}: features {article_key!r} / {abstract_key!r} must be bytes lists")
        article = decode_text(b" ".join(art_b), where)  # type: ignore[arg-type]
        abstract = decode_text(b" ".join(abs_b), where)  # type: ignore[arg-type]
        if lower:
            article, abstract = article.lower(), abstract.lower()
        sents = split_abstract(abstract)
        src = article.split()
        ref = [t for s in sents for t in s.split()]
        if not src:
            skips.skip(f"record {i}", "an empty article")
            continue
        if not ref:
            skips.skip(f"record {i}", "an empty abstract")
            continue
        out.append(Example(f"{id_prefix}{p.stem}:{i}", src, [ref], {"highlights": len(sents)}))
    skips.report()
    return out


def write_bin(path: str | os.PathLike, pairs: Iterable[tuple[str, Sequence[str]]]) -> int:
    """Write ``(article, [abstract sentences])`` pairs as a pointer-generator ``.bin`` file.

    Abstract sentences are wrapped in ``<s> ... </s>`` like ``make_datafiles.py``
    did. For tests and for converting data; returns the number of records.
    """
    recs = (
        encode_example({"article": [a.encode("utf-8")],
                        "abstract": [" ".join(f"{SENT_START} {s} {SENT_END}" for s in sents).encode("utf-8")]})
        for a, sents in pairs
    )
    return write_bin_records(path, recs)


def _find_bin(root: Path, split: str) -> list[Path] | None:
    stem = _SPLIT_FILE_NAMES[split]
    for base in (root / "finished_files", root):
        for pattern in (f"chunked/{stem}_*.bin", f"{stem}_*.bin", f"{stem}.bin"):
            found = sorted(base.glob(pattern))
            if found:
                return found
    return None


def _story_dirs(root: Path) -> list[Path]:
    dirs = [d for d in (root / "cnn" / "stories", root / "dailymail" / "stories", root / "stories") if d.is_dir()]
    if not dirs and any(root.glob("*.story")):
        dirs = [root]
    return dirs


def _read_url_split(url_dir: Path) -> dict[str, str]:
    owner: dict[str, str] = {}
    for split, stem in _SPLIT_FILE_NAMES.items():
        f = url_dir / f"all_{stem}.txt"
        if not f.is_file():
            raise FileNotFoundError(f"url_lists: file not found: {f}")
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                owner[url_hash(line)] = split
    return owner


def load_cnn_dm_task(
    root: str | os.PathLike | None = None,
    *,
    train: PathSpec | None = None,
    validation: PathSpec | None = None,
    test: PathSpec | None = None,
    format: str = "auto",
    url_lists: str | os.PathLike | None = None,
    fractions: dict[str, float] | None = None,
    split_seed: int = 0,
    lower: bool = True,
    fix_periods: bool = True,
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word",
    vocab: Vocab | str | os.PathLike | None = None,
    vocab_size: int | None = 50_000,
    min_count: int = 1,
    on_error: str = "skip",
    limit: int | None = None,
    max_source_len: int = 400,
    max_target_len: int = 100,
    max_oovs: int = 50,
) -> Task:
    """CNN/DailyMail summarization (registered as ``"cnn_dm"``).

    With ``root``: ``.bin`` files are looked for as
    ``[finished_files/][chunked/]{train,val,test}[_NNN].bin``; otherwise
    ``.story`` files in ``cnn/stories``, ``dailymail/stories``, ``stories`` or
    ``root`` itself, split by the URL lists in ``url_lists`` (or
    ``root/url_lists`` when it exists) or else by a hash of the file name
    with ``fractions``. Without ``root``, pass ``train`` / ``validation`` /
    ``test`` (a ``.bin`` file, a directory or glob of chunks, or a directory /
    list of ``.story`` files). The vocabulary is ``vocab`` (a path such as
    the pipeline's ``finished_files/vocab``, found automatically under
    ``root``), else built from the training split; ``vocab_size`` words
    are kept (50k, as in See et al. 2017).

    Loaders are eager: the whole corpus is held in memory (about 2-3 GB for
    the full 287k training articles); ``limit`` reads only the first
    ``limit`` examples of each split.

    Args:
        root: the data folder.
        train, validation, test: explicit split inputs.
        format: ``"auto"``, ``"bin"`` or ``"story"``.
        url_lists: folder with ``all_train.txt`` / ``all_val.txt`` / ``all_test.txt``.
        fractions, split_seed: hash split of stories without URL lists.
        lower: lower-case the text (stories; ``.bin`` text already is).
        fix_periods: add missing sentence-final periods (stories).
        tokenizer: for stories (``.bin`` text is split on white space).
        vocab, vocab_size, min_count: the vocabulary.
        on_error: ``"skip"`` or ``"raise"`` for empty articles / abstracts.
        limit: examples per split.
        max_source_len, max_target_len, max_oovs: task limits (400 / 100
            tokens as in See et al. 2017 at test time).
    """
    check_on_error(on_error)
    if format not in ("auto", "bin", "story"):
        raise ValueError(f"format must be 'auto', 'bin' or 'story', got {format!r}")
    tok = get_tokenizer(tokenizer, lower=False)
    explicit = {k: v for k, v in {"train": train, "validation": validation, "test": test}.items() if v is not None}
    rootp = Path(root) if root is not None else None
    if rootp is None and not explicit:
        raise ValueError("cnn_dm: pass root= or split inputs (train=, validation=, test=)")
    if rootp is not None and not rootp.is_dir():
        raise FileNotFoundError(f"root: directory not found: {rootp}")
    info: dict[str, Any] = {"loader": "cnn_dm", "root": None if rootp is None else str(rootp), "lower": lower}
    splits: dict[str, list[Example]] = {}

    def bin_split(paths: list[Path], what: str) -> list[Example]:
        exs: list[Example] = []
        for p in paths:
            left = None if limit is None else limit - len(exs)
            if left is not None and left <= 0:
                break
            exs += read_bin(p, lower=lower, on_error=on_error, what=what, id_prefix=f"{what}:", limit=left)
        return exs

    if explicit:
        for split, spec in explicit.items():
            paths = as_paths(spec, split, "*")
            kinds = {p.suffix for p in paths}
            use_bin = format == "bin" or (format == "auto" and kinds <= {".bin"})
            if use_bin:
                splits[split] = bin_split(paths, split)
            else:
                stories = [p for p in paths if p.suffix == ".story"] if format == "auto" else paths
                if not stories:
                    raise ValueError(f"{split}: no .bin or .story files in {spec}")
                splits[split] = read_stories(stories, tokenizer=tok, lower=lower, fix_periods=fix_periods,
                                             on_error=on_error, what=split, limit=limit)
        info["format"] = format
    else:
        assert rootp is not None
        bins = {s: _find_bin(rootp, s) for s in ("train", "validation", "test")}
        if format in ("auto", "bin") and any(bins.values()):
            for s, paths in bins.items():
                if paths:
                    splits[s] = bin_split(paths, s)
            info["format"] = "bin"
        else:
            dirs = _story_dirs(rootp)
            if not dirs:
                raise FileNotFoundError(f"root: no .bin files and no .story files under {rootp}")
            files = [p for d in dirs for p in sorted(d.glob("*.story"))]
            udir = Path(url_lists) if url_lists is not None else rootp / "url_lists"
            if url_lists is not None or udir.is_dir():
                owner = _read_url_split(udir)
                groups: dict[str, list[Path]] = {"train": [], "validation": [], "test": []}
                unlisted = 0
                for f in files:
                    s = owner.get(f.stem)
                    if s is None:
                        unlisted += 1
                    else:
                        groups[s].append(f)
                info["split"] = f"url lists {udir} ({unlisted} unlisted stories ignored)"
                for s, fs in groups.items():
                    splits[s] = read_stories(fs, tokenizer=tok, lower=lower, fix_periods=fix_periods,
                                             on_error=on_error, what=s, limit=limit)
            else:
                exs = read_stories(files, tokenizer=tok, lower=lower, fix_periods=fix_periods,
                                   on_error=on_error, what="stories", limit=limit)
                splits = split_examples(exs, fractions, method="hash", seed=split_seed)
                info["split"] = f"hash of file name, seed {split_seed}"
            info["format"] = "story"
        if vocab is None:
            for cand in (rootp / "finished_files" / "vocab", rootp / "vocab"):
                if cand.is_file():
                    vocab = cand
                    break
    return build_task(
        "cnn_dm", splits, vocab=vocab, vocab_size=vocab_size, min_count=min_count, metric="rougeL",
        max_source_len=max_source_len, max_target_len=max_target_len, max_oovs=max_oovs,
        description="CNN/DailyMail news summarization (Hermann et al. 2015; See et al. 2017): "
        "article -> highlights.",
        info=info, tokenizer=tok,
    )
