"""Helpers of the generated tasks: a portable RNG, token templates, pseudo-word names, caching."""

from __future__ import annotations

import functools
import gc
import inspect
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from seq2seq_gym.data.task import Task

T = TypeVar("T")

DIFFICULTIES = ("easy", "medium", "hard")


class Rng:
    """A seeded random source that gives the same numbers on every platform and Python version.

    Only ``random.Random.random()`` (Mersenne Twister, stable since Python
    2.3) is used; ``choice`` / ``randint`` are derived here rather than taken
    from ``random``, whose integer methods changed between versions. String
    seeds go through ``random``'s SHA-512 seeding (version 2, stable).
    """

    __slots__ = ("_r",)

    def __init__(self, seed: str) -> None:
        self._r = random.Random(seed).random

    def random(self) -> float:
        return self._r()

    def below(self, n: int) -> int:
        """Uniform integer in ``[0, n)``."""
        return int(self._r() * n)

    def randint(self, lo: int, hi: int) -> int:
        """Uniform integer in ``[lo, hi]``."""
        return lo + int(self._r() * (hi - lo + 1))

    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self._r() * len(seq))]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct elements (partial Fisher-Yates)."""
        pool = list(seq)
        n = len(pool)
        if k > n:
            raise ValueError(f"cannot sample {k} of {n}")
        for i in range(k):
            j = i + int(self._r() * (n - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def shuffle(self, seq: list[Any]) -> None:
        for i in range(len(seq) - 1, 0, -1):
            j = int(self._r() * (i + 1))
            seq[i], seq[j] = seq[j], seq[i]


Template = Callable[[Mapping[str, Sequence[str]]], list[str]]


def compile_template(text: str) -> Template:
    """Compile ``"the {A} opened {O} ."`` into a function ``slots -> tokens``.

    The function is generated Python (``lambda s: ["the", *s["A"], "opened", *s["O"], "."]``),
    about three times faster than interpreting the template, and its literal
    tokens are code constants, so every filled token list shares the same
    string objects (a generated corpus holds pointers, not copies). The
    function carries ``.words`` (its literal tokens) and ``.text``.
    """
    items: list[str] = []
    words: list[str] = []
    for tok in text.split():
        if tok.startswith("{") and tok.endswith("}"):
            name = tok[1:-1]
            if not name.isidentifier():
                raise ValueError(f"bad slot {tok!r} in template {text!r}")
            items.append(f"*s[{name!r}]")
        else:
            items.append(repr(tok))
            words.append(tok)
    fn = eval(f"lambda s: [{', '.join(items)}]", {})
    fn.words = tuple(words)
    fn.text = text
    return fn


def fill(tpl: Template, slots: Mapping[str, Sequence[str]], out: list[str] | None = None) -> list[str]:
    """The template's tokens with slots replaced by their token lists (appended to ``out`` if given)."""
    toks = tpl(slots)
    if out is None:
        return toks
    out += toks
    return out


def template_words(templates: Sequence[Template]) -> set[str]:
    return {t for tpl in templates for t in tpl.words}  # type: ignore[attr-defined]


ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pr", "r", "s", "st", "t",
          "tr", "v", "z", "zh", "sh", "th", "q", "x")
NUCLEI = ("a", "e", "i", "o", "u", "ai", "ei", "ou", "ar", "or", "en", "il", "ov", "ix", "ul", "ya")
CODAS = ("", "", "", "n", "s", "k", "r", "l", "x", "m", "th", "sk", "nd")


SYLLABLES = tuple(o + n for o in ONSETS for n in NUCLEI)


def pseudo_word(rng: Rng, syllables: int) -> str:
    """A pronounceable lower-case pseudo-word: ``syllables`` onset+nucleus syllables, then a coda."""
    r = rng.random
    n = len(SYLLABLES)
    return "".join([SYLLABLES[int(r() * n)] for _ in range(syllables)]) + CODAS[int(r() * len(CODAS))]


def word_pool(seed: str, n: int, syllables: int, avoid: set[str]) -> list[str]:
    """``n`` distinct pseudo-words, none in ``avoid`` (deterministic from ``seed``)."""
    rng = Rng(seed)
    out: list[str] = []
    seen = set(avoid)
    while len(out) < n:
        w = pseudo_word(rng, syllables)
        if w not in seen and len(w) > 3:
            seen.add(w)
            out.append(w)
    return out


def check_difficulty(difficulty: str) -> str:
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    return difficulty


def check_sizes(**sizes: int) -> None:
    for k, v in sizes.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{k} must be an integer >= 0, got {v!r}")


def cached_task(fn: Callable[..., Task]) -> Callable[..., Task]:
    """Cache a generator in-process on its full argument list (defaults filled in).

    ``f()`` and ``f(seed=0)`` hit the same entry. The cached :class:`Task` is
    returned to every caller and must be treated as read-only. The wrapper
    has ``cache_clear()`` and ``cache_info()`` (from ``functools.lru_cache``).
    """
    sig = inspect.signature(fn)
    cached = functools.lru_cache(maxsize=8)(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Task:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{fn.__name__}: {e}") from None
        bound.apply_defaults()
        # Generation allocates millions of small lists that all stay alive: pausing the cyclic garbage
        # collector meanwhile (it would rescan them again and again) halves the time.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return cached(**bound.arguments)
        finally:
            if was_enabled:
                gc.enable()

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
    wrapper.uncached = fn  # type: ignore[attr-defined]
    return wrapper
