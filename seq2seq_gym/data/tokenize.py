"""Tokenizers: a fast default word tokenizer and adapters for subword libraries.

Every tokenizer maps a string to a list of string tokens (``tokenize``) and a
token list back to text (``detokenize``). Tasks and vocabularies work on those
string tokens, so a subword tokenizer simply yields subword pieces as tokens.

- :class:`WordTokenizer` (``"word"``, the default): the rule is documented on
  the class; pure Python ``re``, no dependency.
- :class:`WhitespaceTokenizer` (``"whitespace"``): ``str.split`` for text that
  is already tokenized (the CNN/DailyMail ``.bin`` files, Karpathy tokens).
- :class:`HFTokenizer`: an adapter for a Hugging Face ``tokenizers.Tokenizer``.
- :class:`SentencePieceTokenizer`: an adapter for a ``sentencepiece`` model.

The two adapters import their package lazily; without it they raise an
``ImportError`` naming the extra ``seq2seq-gym[tokenizers]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "HFTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "WhitespaceTokenizer",
    "WordTokenizer",
    "get_tokenizer",
    "word_tokenize",
]

_EXTRA_HINT = "install the optional extra: pip install 'seq2seq-gym[tokenizers]'"


@runtime_checkable
class Tokenizer(Protocol):
    """What the loaders need from a tokenizer."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def detokenize(self, tokens: Sequence[str]) -> str: ...


# A word: a run of letters/digits/underscore, possibly joined by one of - ' ’ . , / : &
# to another such run ("e-mail", "don't", "3.5", "1,000", "10/30/01", "9:00", "at&t").
# Any other non-space character is a token of its own ("(", ".", "!", "$").
_WORD_RE = re.compile(r"\w+(?:[-'’.,/:&]\w+)*|[^\w\s]")
_ALNUM_RE = re.compile(r"\w+(?:[-'’.,/:&]\w+)*")
_NO_SPACE_BEFORE = frozenset(".,!?;:)]}%'’”")
_NO_SPACE_AFTER = frozenset("([{$“")


class WordTokenizer:
    """The default tokenizer: words and single punctuation marks.

    The rule, applied after optional lower-casing (``str.lower``):

    1. a *word* is a maximal run of letters, digits or ``_`` (Unicode ``\\w``),
       extended over a single inner ``-``, ``'``, ``’``, ``.``, ``,``, ``/``,
       ``:`` or ``&`` that is followed by more word characters, so
       ``e-mail``, ``don't``, ``3.5``, ``1,000``, ``10/30/01``, ``9:00`` and
       ``at&t`` stay whole while a sentence-final ``.`` is split off;
    2. every other character that is not white space is a token by itself
       (``(``, ``.``, ``!``, ``$``, ``"``...), unless ``punct=False``, which
       drops these punctuation tokens;
    3. white space only separates tokens.

    It is one compiled regular expression (``re.findall``), roughly the speed
    of ``nltk.wordpunct_tokenize`` but keeping contractions, decimals and
    hyphenated words whole (closer to the Penn Treebank tokens of the
    CNN/DailyMail preprocessing, without its ``n't`` / ``'s`` splits).

    Args:
        lower: lower-case the text first.
        punct: keep punctuation tokens (rule 2); ``False`` keeps words only.
    """

    def __init__(self, lower: bool = False, punct: bool = True) -> None:
        self.lower = bool(lower)
        self.punct = bool(punct)
        self.name = "word"
        self._findall = (_WORD_RE if self.punct else _ALNUM_RE).findall

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into tokens by the class rule."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self._findall(text.lower() if self.lower else text)

    __call__ = tokenize

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Join tokens with spaces, without a space before ``. , ! ? ; : ) ] } %``
        and after ``( [ { $``: readable text, not an exact inverse."""
        out: list[str] = []
        glue = True
        for t in tokens:
            if out and not glue and not (len(t) == 1 and t in _NO_SPACE_BEFORE):
                out.append(" ")
            out.append(t)
            glue = len(t) == 1 and t in _NO_SPACE_AFTER
        return "".join(out)

    def __repr__(self) -> str:
        return f"WordTokenizer(lower={self.lower}, punct={self.punct})"


def word_tokenize(text: str, lower: bool = False) -> list[str]:
    """Tokenize ``text`` with the default :class:`WordTokenizer` rule."""
    return (_WORD_RE.findall(text.lower() if lower else text))


class WhitespaceTokenizer:
    """Split on white space only (for text that is already tokenized).

    Args:
        lower: lower-case the text first.
    """

    def __init__(self, lower: bool = False) -> None:
        self.lower = bool(lower)
        self.name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        """``text.split()`` (after optional lower-casing)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return (text.lower() if self.lower else text).split()

    __call__ = tokenize

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Join with single spaces (the exact inverse up to white space)."""
        return " ".join(tokens)

    def __repr__(self) -> str:
        return f"WhitespaceTokenizer(lower={self.lower})"


class HFTokenizer:
    """Adapter for a Hugging Face ``tokenizers.Tokenizer`` (BPE, WordPiece, Unigram...).

    Tokens are the tokenizer's string pieces (``Encoding.tokens``) without
    special tokens; the task's :class:`~seq2seq_gym.data.Vocab` is then built
    over those pieces. ``detokenize`` maps pieces back to the tokenizer's ids
    and calls its decoder; a piece the tokenizer does not know (for example a
    source word copied by the pointer-generator) is kept as it is.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` or the path of a
            ``tokenizer.json`` file.
        lower: lower-case the text before encoding.

    Raises:
        ImportError: naming the ``seq2seq-gym[tokenizers]`` extra when the
            ``tokenizers`` package is not installed.
    """

    def __init__(self, tokenizer: Any, lower: bool = False) -> None:
        try:
            import tokenizers
        except ImportError as e:  # pragma: no cover - exercised with sys.modules patching
            raise ImportError(f"HFTokenizer needs the 'tokenizers' package; {_EXTRA_HINT}") from e
        if isinstance(tokenizer, str | os.PathLike):
            path = os.fspath(tokenizer)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"tokenizer: file not found: {path}")
            tokenizer = tokenizers.Tokenizer.from_file(path)
        if not isinstance(tokenizer, tokenizers.Tokenizer):
            raise TypeError(f"tokenizer must be a tokenizers.Tokenizer or a path, got {type(tokenizer).__name__}")
        self._tok = tokenizer
        self.lower = bool(lower)
        self.name = "hf"

    def tokenize(self, text: str) -> list[str]:
        """The tokenizer's pieces for ``text`` (no special tokens)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return list(self._tok.encode(text.lower() if self.lower else text, add_special_tokens=False).tokens)

    __call__ = tokenize

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Decode runs of known pieces with the tokenizer's decoder; unknown pieces stay verbatim."""
        parts: list[str] = []
        run: list[int] = []
        for t in tokens:
            i = self._tok.token_to_id(t)
            if i is None:
                if run:
                    parts.append(self._tok.decode(run, skip_special_tokens=False))
                    run = []
                parts.append(t)
            else:
                run.append(i)
        if run:
            parts.append(self._tok.decode(run, skip_special_tokens=False))
        return " ".join(p.strip() for p in parts if p.strip())

    def __repr__(self) -> str:
        return f"HFTokenizer(vocab_size={self._tok.get_vocab_size()}, lower={self.lower})"


class SentencePieceTokenizer:
    """Adapter for a ``sentencepiece`` model (Kudo & Richardson, 2018).

    Tokens are the model's pieces (``"▁the"``, ``"s"``...). ``detokenize``
    joins pieces and turns the ``▁`` word-boundary marker back into spaces,
    which is SentencePiece's own lossless rule and also works for pieces the
    model does not know.

    Args:
        model: a ``sentencepiece.SentencePieceProcessor``, the path of a
            ``.model`` file, or the serialized model as ``bytes``.
        lower: lower-case the text before encoding.

    Raises:
        ImportError: naming the ``seq2seq-gym[tokenizers]`` extra when the
            ``sentencepiece`` package is not installed.
    """

    def __init__(self, model: Any, lower: bool = False) -> None:
        try:
            import sentencepiece as spm
        except ImportError as e:  # pragma: no cover - exercised with sys.modules patching
            raise ImportError(f"SentencePieceTokenizer needs the 'sentencepiece' package; {_EXTRA_HINT}") from e
        if isinstance(model, bytes):
            model = spm.SentencePieceProcessor(model_proto=model)
        elif isinstance(model, str | os.PathLike):
            path = os.fspath(model)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"model: file not found: {path}")
            model = spm.SentencePieceProcessor(model_file=path)
        if not isinstance(model, spm.SentencePieceProcessor):
            raise TypeError(f"model must be a SentencePieceProcessor, a path or bytes, got {type(model).__name__}")
        self._sp = model
        self.lower = bool(lower)
        self.name = "sentencepiece"

    def tokenize(self, text: str) -> list[str]:
        """The model's pieces for ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return list(self._sp.encode(text.lower() if self.lower else text, out_type=str))

    __call__ = tokenize

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Concatenate pieces and turn ``▁`` into spaces."""
        return "".join(tokens).replace("\u2581", " ").strip()

    def __repr__(self) -> str:
        return f"SentencePieceTokenizer(pieces={self._sp.get_piece_size()}, lower={self.lower})"


class _CallableTokenizer:
    """Wrap a plain ``str -> list[str]`` function."""

    def __init__(self, fn: Callable[[str], Sequence[str]], lower: bool = False) -> None:
        self._fn = fn
        self.lower = bool(lower)
        self.name = getattr(fn, "__name__", "callable")

    def tokenize(self, text: str) -> list[str]:
        toks = self._fn(text.lower() if self.lower else text)
        if isinstance(toks, str) or not all(isinstance(t, str) for t in toks):
            raise TypeError(f"tokenizer function {self.name!r} must return a list of str")
        return list(toks)

    __call__ = tokenize

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)


def get_tokenizer(spec: str | Tokenizer | Callable[[str], Sequence[str]] = "word", lower: bool = False) -> Tokenizer:
    """Resolve a tokenizer specification.

    Args:
        spec: ``"word"`` (default :class:`WordTokenizer`), ``"word_nopunct"``
            (words only), ``"whitespace"``, a path to a Hugging Face
            ``tokenizer.json`` or a SentencePiece ``.model`` file, a
            tokenizer object (anything with ``tokenize`` and ``detokenize``),
            or a function ``str -> list[str]``.
        lower: lower-case before tokenizing (ignored for tokenizer objects,
            which carry their own setting).
    """
    if isinstance(spec, str):
        if spec == "word":
            return WordTokenizer(lower=lower)
        if spec == "word_nopunct":
            return WordTokenizer(lower=lower, punct=False)
        if spec == "whitespace":
            return WhitespaceTokenizer(lower=lower)
        if spec.endswith(".json"):
            return HFTokenizer(spec, lower=lower)
        if spec.endswith(".model"):
            return SentencePieceTokenizer(spec, lower=lower)
        raise ValueError(
            f"tokenizer: unknown name {spec!r}; use 'word', 'word_nopunct', 'whitespace', "
            "a tokenizer.json / .model path, a tokenizer object or a function"
        )
    if hasattr(spec, "tokenize") and hasattr(spec, "detokenize"):
        return spec  # type: ignore[return-value]
    if callable(spec):
        return _CallableTokenizer(spec, lower=lower)
    raise TypeError(f"tokenizer must be a name, a tokenizer object or a function, got {type(spec).__name__}")
