"""Text front ends: the tokenizers of the reference libraries and id interning.

- :func:`rouge_tokenize`: rouge-score's default tokenizer (lowercase, every run of
  characters outside ``[a-z0-9]`` becomes a space, optional Porter stemming of tokens
  longer than 3 characters with NLTK's ``PorterStemmer()`` as rouge-score uses it).
- :func:`tokenize_13a`: sacrebleu's default ``13a`` tokenizer (the mteval-v13a.pl
  rules used by WMT), written from its specification.
- :func:`ptb_tokenize`: the captioning convention of pycocoevalcap (its
  ``PTBTokenizer``: Stanford's PTB tokenizer with ``-lowerCase``, then its
  punctuation tokens removed), written from the observed behaviour of that tool and
  applied word by word (see the function for what it does and where it differs).
- :func:`whitespace_tokenize`: ``str.split`` (text that is already tokenized).

Every tokenizer here is *compositional over whitespace*: the tokens of
``" ".join(words)`` are the concatenation of the tokens of each word (rouge-score's
and 13a's rules only look at characters inside a run of non-space characters or at
the spaces around it). :mod:`seq2seq_gym.rewards.tokens` relies on this to map each
vocabulary word once.

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


# ---------------------------------------------------------------- PTB (pycocoevalcap)

#: what pycocoevalcap's ``PTBTokenizer`` drops after tokenizing (its ``PUNCTUATIONS``;
#: with ``-lowerCase`` the bracket tokens come out as ``-lrb-`` and so are kept)
PTB_PUNCTUATION = frozenset(["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-",
                             "--", "...", ";"])
_PTB_QUOTES = frozenset(['"', "\u201c", "\u201d", "\u00ab", "\u00bb", "\u2039", "\u203a", "\u201e", "\u2018",
                         "\u2019", "``", "''"])
_PTB_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
#: abbreviations whose final period stays on the word (a sample of the PTB lexer's list)
_PTB_ABBREV = frozenset((
    "mr", "mrs", "ms", "messrs", "dr", "prof", "jr", "sr", "st", "mt", "ft", "rd", "ave", "blvd", "inc", "ltd", "co",
    "corp", "bros", "vs", "etc", "dept", "gen", "sen", "rep", "gov", "capt", "lt", "col", "sgt", "maj", "adm", "cmdr",
    "rev", "hon", "pres", "al", "cf", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec",
))
_PTB_SPECIAL = {"cannot": ("can", "not"), "gonna": ("gon", "na"), "gotta": ("got", "ta"), "wanna": ("wan", "na"),
                "lemme": ("lem", "me"), "gimme": ("gim", "me")}
_PTB_OPEN = "([{\"'`\u201c\u2018\u00ab\u2039$#/"
_PTB_CLOSE = ")]}\"'\u201d\u2019\u00bb\u203a,;:!?`"
_PTB_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+$|^[A-Za-z]+(?:\.[A-Za-z]+)+\.$")
_PTB_CLITIC = re.compile(r"^(.+?)(n['\u2019]t|['\u2019](?:s|re|ve|ll|d|m))$", re.I)
_PTB_KEEP_APOS = re.compile(r"['\u2019](?:\d|(?:em|ll|re|m|n|s|d|ve|cause|t)\b)", re.I)
_PTB_SPLIT = re.compile(r"(\*+|(?<=[^A-Z])&|&(?=[^A-Z])|[+=%|~^<>\\\"\u201c\u201d\u2018\u2019`;!?()\[\]{}])")
_PTB_LEAD_RUN = re.compile(r"-+|\*+|\.+(?=[^\d.])")
_PTB_TRAIL_RUN = re.compile(r"[!?]{2,}$|(?<=.)\*+$")
_PTB_NUM_UNIT = re.compile(r"^(\d+(?:[.:]\d+)+)([A-Za-z]+)$")
_PTB_SEP = re.compile(r"(?<!\d)([,:])|([,:])(?!\d)")


def _ptb_inner(w: str, out: list[str]) -> None:
    """Split the middle of a word: dashes, a number glued to a unit, symbols, , and :."""
    if "--" in w:
        for j, part in enumerate(re.split(r"-{2,}", w)):
            if j:
                out.append("--")
            if part:
                _ptb_inner(part, out)
        return
    m = _PTB_NUM_UNIT.match(w)
    if m:
        out.extend((m.group(1), m.group(2)))
        return
    for part in _PTB_SPLIT.split(w):
        if not part:
            continue
        if part in _PTB_BRACKETS:
            out.append(_PTB_BRACKETS[part])
        elif _PTB_SPLIT.fullmatch(part):
            out.append(part)
        else:
            out.extend(q for q in _PTB_SEP.split(part) if q)


def _ptb_core(w: str, out: list[str]) -> None:
    """Split contractions (``n't``, ``'s``, ``'re``, ...) and the PTB's special words."""
    low = w.lower()
    if low in _PTB_SPECIAL:
        out.extend(_PTB_SPECIAL[low])
        return
    m = _PTB_CLITIC.match(w)
    if m:
        _ptb_inner(m.group(1), out)
        out.append(m.group(2).replace("\u2019", "'"))
        return
    _ptb_inner(w, out)


@lru_cache(maxsize=2**16)
def ptb_word(word: str) -> tuple[str, ...]:
    """PTB-style tokens of one whitespace-free word, lowercased, punctuation removed."""
    w = word
    if "&" in w:
        w = w.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    low = w.lower()
    if low in ("'tis", "'twas"):
        return ("'t", low[2:])
    lead: list[str] = []
    i = 0
    while i < len(w) and w[i] in _PTB_OPEN:
        if w[i] in "'\u2019" and _PTB_KEEP_APOS.match(w, i):
            break  # '90s, 'em, 's: the apostrophe belongs to the word
        if w.startswith("``", i):
            lead.append("``")
            i += 2
            continue
        lead.append(w[i])
        i += 1
    w = w[i:]
    while True:  # leading runs of dashes, asterisks or periods
        m = _PTB_LEAD_RUN.match(w)
        if not m or m.end() == len(w):
            break
        lead.append(m.group())
        w = w[m.end():]
    trail: list[str] = []
    while w:
        if w.endswith("..."):
            trail.append("...")
            w = w[:-3]
            continue
        if w.endswith("--"):
            trail.append("--")
            w = w[:-2]
            continue
        m = _PTB_TRAIL_RUN.search(w)
        if m:
            trail.append(m.group())
            w = w[: m.start()]
            continue
        c = w[-1]
        if c in _PTB_CLOSE:
            if c in "'\u2019" and (len(w) == 1 or w.lower() == "ol'"):
                break
            trail.append(c)
            w = w[:-1]
            continue
        if c in "-/" and len(w) > 1:
            trail.append(c)
            w = w[:-1]
            continue
        if c == ".":
            if _PTB_ACRONYM.match(w) or w[:-1].lower() in _PTB_ABBREV:
                break  # u.s., p.m., a., mr.: the period stays
            trail.append(".")
            w = w[:-1]
            continue
        break
    out = [_PTB_BRACKETS.get(x, x) for x in lead]
    if w:
        _ptb_core(w, out)
    out.extend(_PTB_BRACKETS.get(x, x) for x in reversed(trail))
    return tuple(t.lower() for t in out if t not in PTB_PUNCTUATION and t not in _PTB_QUOTES)


def ptb_tokenize(text: str) -> list[str]:
    """Tokens of ``text`` as pycocoevalcap's ``PTBTokenizer`` gives them to CIDEr-D.

    That tool runs Stanford's PTB tokenizer (CoreNLP 3.4.1, ``-preserveLines
    -lowerCase``) and drops its punctuation tokens (:data:`PTB_PUNCTUATION`). This is a
    rule-based rewrite, applied word by word (so it is compositional over whitespace):
    lowercasing; quotes and the listed punctuation removed; brackets as ``-lrb-``,
    ``-rrb-``, ``-lsb-``, ... (kept, as the tool keeps them once lowercased);
    contractions split (``doesn't`` -> ``does n't``, ``man's`` -> ``man 's``, ``cannot``
    -> ``can not``, ``gonna`` -> ``gon na``); a final period split off unless the word is
    an acronym or a listed abbreviation (``u.s.``, ``a.m.``, ``mr.``); ``$``, ``#``, ``%``
    and other symbols split off; hyphenated words, numbers (``3.5``, ``1,000``, ``10:30``)
    and ``AT&T``-style names kept whole. It equals the Java tool on every line of the
    Multi30k English captions and on about 99.5% of AESLC subjects and SciTLDR
    summaries; it differs on rarer patterns (date and time ranges, file names, a few
    context-dependent periods).
    """
    return [t for w in text.split() for t in ptb_word(w)]


def whitespace_tokenize(text: str) -> list[str]:
    """``text.split()``: for text that is already tokenized (sacrebleu's ``tokenize="none"``)."""
    return text.split()


#: text tokenizers by name: what each metric applies to the decoded text
TEXT_TOKENIZERS = {
    "rouge": lambda s: rouge_tokenize(s, False),
    "rouge-stem": lambda s: rouge_tokenize(s, True),
    "13a": lambda s: bleu_tokens(s, False),
    "13a-lower": lambda s: bleu_tokens(s, True),
    "ptb": ptb_tokenize,
    "whitespace": whitespace_tokenize,
    "whitespace-lower": lambda s: s.lower().split(),
}


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
