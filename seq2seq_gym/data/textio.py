"""File reading shared by the loaders: checks, gzip, UTF-8 repair, skip accounting.

Rules every loader follows:

- a missing file raises ``FileNotFoundError`` naming the argument and the path;
- an empty file (no bytes, or only white space) raises ``ValueError``;
- bytes that are not valid UTF-8 are replaced by U+FFFD and counted; one
  :class:`DataWarning` per file gives the count and the first line;
- a record that cannot be parsed (bad JSON, missing field, too few columns)
  raises ``ValueError`` with ``file:line``;
- an example with an empty source or an empty reference is skipped with one
  counted :class:`DataWarning` per file and reason (``on_error="skip"``), or
  raises ``ValueError`` with ``file:line`` (``on_error="raise"``).
"""

from __future__ import annotations

import codecs
import gzip
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger("seq2seq_gym.data")

__all__ = ["ON_ERROR", "DataWarning", "SkipLog", "check_file", "open_binary", "read_lines"]

ON_ERROR = ("skip", "raise")


class DataWarning(UserWarning):
    """Something in a data file was repaired or skipped (the message says what and where)."""


_count = threading.local()


def _count_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):  # pragma: no cover - only registered for decoding
        raise exc
    _count.n = getattr(_count, "n", 0) + (exc.end - exc.start)
    return "\ufffd", exc.end


_HANDLER = "seq2seq_gym.count_replace"
codecs.register_error(_HANDLER, _count_replace)


def check_on_error(on_error: str) -> str:
    """Validate the ``on_error`` option."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    return on_error


def check_file(path: str | os.PathLike, what: str) -> Path:
    """``Path(path)``, or ``FileNotFoundError`` / ``ValueError`` for a missing / empty file.

    Args:
        path: the file.
        what: the argument name for the messages (``"train"``, ``"features"``...).
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{what}: expected a file path, got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what}: file not found: {p}")
    if not p.is_file():
        raise ValueError(f"{what}: not a file: {p}")
    if p.stat().st_size == 0:
        raise ValueError(f"{what}: file is empty: {p}")
    return p


def _is_gzip(p: Path) -> bool:
    with open(p, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_binary(path: Path):
    """Open a file for binary reading, transparently un-gzipping (by magic bytes)."""
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def read_lines(path: str | os.PathLike, what: str, keep_empty: bool = True) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` of a text file (plain or gzip), newline stripped.

    Invalid UTF-8 bytes become U+FFFD; when there were any, a :class:`DataWarning`
    says how many bytes on how many lines (first line number) once the file
    has been read. A UTF-8 byte-order mark is dropped. Raises like
    :func:`check_file`, and ``ValueError`` when the file holds only white space.

    Args:
        path: the file.
        what: the argument name for messages.
        keep_empty: also yield blank lines (parallel files need them to stay aligned).
    """
    p = check_file(path, what)
    bad_bytes = bad_lines = 0
    first_bad = 0
    any_text = False
    with open_binary(p) as f:
        for lineno, raw in enumerate(f, 1):
            _count.n = 0
            line = raw.decode("utf-8", _HANDLER)
            if _count.n:
                bad_bytes += _count.n
                bad_lines += 1
                first_bad = first_bad or lineno
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            line = line.rstrip("\r\n")
            if line.strip():
                any_text = True
            elif not keep_empty:
                continue
            yield lineno, line
    if bad_bytes:
        warn(f"{p}: replaced {bad_bytes} invalid UTF-8 byte(s) on {bad_lines} line(s) (first at line {first_bad})")
    if not any_text:
        raise ValueError(f"{what}: file is empty (only white space): {p}")


def decode_text(data: bytes, where: str) -> str:
    """Decode UTF-8 bytes, replacing and counting invalid bytes (one warning)."""
    _count.n = 0
    text = data.decode("utf-8", _HANDLER)
    if _count.n:
        warn(f"{where}: replaced {_count.n} invalid UTF-8 byte(s)")
    return text


def warn(message: str) -> None:
    """Emit a :class:`DataWarning` and log it."""
    logger.warning(message)
    warnings.warn(message, DataWarning, stacklevel=3)


class SkipLog:
    """Count skipped examples per reason and report them once.

    Args:
        source: the file (or other origin) named in messages.
        on_error: ``"skip"`` (count, warn in :meth:`report`) or ``"raise"``.
    """

    def __init__(self, source: str | os.PathLike, on_error: str = "skip") -> None:
        self.source = str(source)
        self.on_error = check_on_error(on_error)
        self.skipped: dict[str, list[str]] = {}

    def skip(self, where: str | int, reason: str) -> None:
        """Record (or raise for) one bad example at ``where`` (a line number or an id)."""
        loc = f"line {where}" if isinstance(where, int) else str(where)
        if self.on_error == "raise":
            sep = ":" if isinstance(where, int) else ": "
            raise ValueError(f"{self.source}{sep}{where}: {reason} (pass on_error='skip' to skip such examples)")
        self.skipped.setdefault(reason, []).append(loc)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def report(self) -> dict[str, int]:
        """Warn once per reason; return ``{reason: count}``."""
        for reason, locs in self.skipped.items():
            shown = ", ".join(locs[:5]) + (", ..." if len(locs) > 5 else "")
            warn(f"{self.source}: skipped {len(locs)} example(s) with {reason} ({shown})")
        return {r: len(v) for r, v in self.skipped.items()}
