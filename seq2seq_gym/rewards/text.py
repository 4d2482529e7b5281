"""Text front ends: the tokenizers of the reference libraries and id interning.

- :func:`rouge_tokenize`: rouge-score's default tokenizer (lowercase, every run of
  characters outside ``[a-z0-9]`` becomes a space, optional Porter stemming of tokens
  longer than 3 characters with NLTK's ``PorterStemmer()`` as rouge-score uses it).
- :func:`tokenize_13a`: sacrebleu's default ``13a`` tokenizer (the mteval-v13a.pl
  rules used by WMT), written from its specification.
- CIDEr-D text is split on whitespace, as pycocoevalcap's ``Cider`` does with
  already PTB-tokenized captions.

Token strings are mapped to ids with an :class:`Interner` (a fresh one per call
unless a metric holds a fitted vocabulary).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

# ---------------------------------------------------------------- rouge-score

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VALID = re.compile(r"^[a-z0-9]+$")


class _CachedStemmer:
    """NLTK's Porter stemmer (rouge-score's configuration) with a memo of seen words."""

    def __init__(self) -> None:
        try:
            from nltk.stem import porter
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("use_stemmer=True needs nltk (pip install nltk)") from exc
        self._stem = porter.PorterStemmer().stem
        self._memo: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        s = self._memo.get(word)
        if s is None:
            s = self._stem(word)
            self._memo[word] = s
        return s


_STEMMER: _CachedStemmer | None = None


def _stemmer() -> _CachedStemmer:
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = _CachedStemmer()
    return _STEMMER


def rouge_tokenize(text: str, use_stemmer: bool = False) -> list[str]:
    """Tokens of ``text`` exactly as rouge-score's ``DefaultTokenizer(use_stemmer)``.

    Args:
        text: the string.
        use_stemmer: stem tokens longer than 3 characters with the Porter stemmer.
    """
    return list(_rouge_tokenize(text, bool(use_stemmer)))


@lru_cache(maxsize=2**16)
def _rouge_tokenize(text: str, use_stemmer: bool) -> tuple[str, ...]:
    words = _NON_ALNUM.sub(" ", text.lower()).split()
    if use_stemmer:
        stem = _stemmer()
        words = [stem(w) if len(w) > 3 else w for w in words]
        words = [w for w in words if _VALID.match(w)]
    return tuple(words)


def rouge_sentences(text: str) -> list[str]:
    """rouge-score's ROUGE-Lsum sentence split: on newlines, empty lines dropped."""
    return [s for s in text.split("\n") if s]


# ---------------------------------------------------------------- sacrebleu 13a

# mteval-v13a: ASCII punctuation except apostrophe, comma, hyphen and period is split
# off (the space is in the class too, which is harmless).
_13A_SYMBOLS = "{|}~" + "[\\]^_`" + ' !"#$%&' + "()*+" + ":;<=>?@" + "/"
_13A_RULES = (
    (re.compile("([" + re.escape(_13A_SYMBOLS) + "])"), r" \1 "),
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),  # period / comma not after a digit
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),  # period / comma not before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # hyphen after a digit
)


@lru_cache(maxsize=2**16)
def tokenize_13a(line: str) -> str:
    """sacrebleu's ``13a`` tokenization of one segment (a string of space-joined tokens);
    memoised like sacrebleu's (references recur across RL epochs)."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, repl in _13A_RULES:
        line = pattern.sub(repl, line)
    return " ".join(line.split())


def bleu_tokens(text: str, lowercase: bool = False) -> list[str]:
    """Tokens sacrebleu's BLEU counts for one segment (``lowercase``, rstrip, 13a, split)."""
    if lowercase:
        text = text.lower()
    return tokenize_13a(text.rstrip()).split()


# ---------------------------------------------------------------- ids


class Interner:
    """Maps token strings to consecutive ids, starting at ``start``.

    Args:
        start: first id handed out.
        vocab: optional fixed mapping consulted first (e.g. a fitted df vocabulary);
            unseen tokens then get ids from ``max(vocab) + 1`` (or ``start``) upward.
    """

    def __init__(self, start: int = 0, vocab: dict[str, int] | None = None) -> None:
        self._fixed = vocab or {}
        self._new: dict[str, int] = {}
        self._next = max(start, (max(self._fixed.values()) + 1) if self._fixed else start)

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        fixed, new = self._fixed, self._new
        out = []
        for w in tokens:
            i = fixed.get(w)
            if i is None:
                i = new.get(w)
                if i is None:
                    i = self._next
                    new[w] = i
                    self._next += 1
            out.append(i)
        return out


def normalize_references(references: Any, n: int) -> list[list[str | None]]:
    """N reference lists from N strings or N sequences of strings (None = no reference)."""
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise ValueError("references must be a list of strings or a list of lists of strings")
    if len(references) != n:
        raise ValueError(f"references has {len(references)} entries but hypotheses has {n}")
    out: list[list[str | None]] = []
    for i, r in enumerate(references):
        if isinstance(r, str):
            out.append([r])
        elif isinstance(r, Sequence) and all(x is None or isinstance(x, str) for x in r):
            out.append(list(r))
        else:
            raise ValueError(f"references[{i}] must be a string or a list of strings")
    return out


def check_hypotheses(hypotheses: Any) -> list[str]:
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise ValueError("hypotheses must be a list of strings")
    for i, h in enumerate(hypotheses):
        if not isinstance(h, str):
            raise ValueError(f"hypotheses[{i}] must be a string, got {type(h).__name__}")
    return list(hypotheses)


def pack(seqs: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``[N, T]`` int64 ids (zero padded) and ``[N]`` lengths."""
    n = len(seqs)
    lens = np.fromiter((len(s) for s in seqs), np.int64, n)
    T = int(lens.max()) if n else 0
    ids = np.zeros((n, max(T, 1)), np.int64)
    for i, s in enumerate(seqs):
        if s:
            ids[i, : len(s)] = s
    return ids, lens


def pack_refs(refs: Sequence[Sequence[Sequence[int] | None]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[N, R, L]`` ids, ``[N, R]`` lengths and ``[N, R]`` validity (None = absent)."""
    n = len(refs)
    R = max((len(r) for r in refs), default=0)
    L = max((len(s) for r in refs for s in r if s is not None), default=0)
    ids = np.zeros((n, max(R, 1), max(L, 1)), np.int64)
    lens = np.zeros((n, max(R, 1)), np.int64)
    valid = np.zeros((n, max(R, 1)), np.bool_)
    for i, r in enumerate(refs):
        for j, s in enumerate(r):
            if s is None:
                continue
            valid[i, j] = True
            lens[i, j] = len(s)
            if s:
                ids[i, j, : len(s)] = s
    return ids, lens, valid
