"""Word vocabularies with special tokens and pointer-generator extended ids."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

PAD = "<pad>"
UNK = "<unk>"
BOS = "<s>"
EOS = "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class Vocab:
    """A word vocabulary: special tokens first, then words by frequency.

    Ids 0-3 are always ``<pad>``, ``<unk>``, ``<s>`` (decoder start) and
    ``</s>`` (end of sequence); words follow, most frequent first. For the
    pointer-generator of See et al. (2017, "Get To The Point", eq. 9) a
    source's out-of-vocabulary words get *extended* ids ``len(vocab) + k``
    (the k-th distinct OOV word of that source), so a decoder can emit a word
    it cannot generate by copying it.

    The file format of :meth:`save` / :meth:`load` is one ``word count`` pair
    per line, most frequent first, without the special tokens: the format of
    the pointer-generator and RLSeq2Seq ``vocab`` files, which load unchanged.

    Args:
        words: the vocabulary words in id order (special tokens are added in
            front and must not be repeated here).
        counts: optional training counts of the words, kept for :meth:`save`.
        lower: lower-case every token before lookup.
    """

    def __init__(
        self,
        words: Iterable[str],
        counts: Mapping[str, int] | None = None,
        lower: bool = False,
    ) -> None:
        self.lower = bool(lower)
        self._itos: list[str] = list(SPECIALS)
        self._stoi: dict[str, int] = {w: i for i, w in enumerate(SPECIALS)}
        for w in words:
            if not isinstance(w, str) or not w or any(c.isspace() for c in w):
                raise ValueError(f"vocabulary word must be a non-empty string without spaces, got {w!r}")
            if self.lower:
                w = w.lower()
            if w in self._stoi:
                if w in SPECIALS:
                    continue  # tolerate files that list special tokens
                raise ValueError(f"duplicate vocabulary word {w!r}")
            self._stoi[w] = len(self._itos)
            self._itos.append(w)
        self.counts: dict[str, int] = dict(counts or {})

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        max_size: int | None = None,
        min_count: int = 1,
        lower: bool = False,
    ) -> Vocab:
        """Count tokens and keep the ``max_size`` most frequent with ``count >= min_count``.

        Ties are broken alphabetically so that the same data always gives the
        same vocabulary. ``max_size`` counts words only, not special tokens.
        """
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0, got {max_size}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counter: Counter[str] = Counter()
        for tokens in token_lists:
            counter.update(t.lower() for t in tokens) if lower else counter.update(tokens)
        for s in SPECIALS:
            counter.pop(s, None)
        items = sorted((kv for kv in counter.items() if kv[1] >= min_count), key=lambda kv: (-kv[1], kv[0]))
        if max_size is not None:
            items = items[:max_size]
        return cls([w for w, _ in items], counts=dict(items), lower=lower)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``word count`` lines (atomically: temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for w in self._itos[len(SPECIALS):]:
                    f.write(f"{w} {self.counts.get(w, 0)}\n")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike, max_size: int | None = None, lower: bool = False) -> Vocab:
        """Read a ``word count`` file (the count is optional); keep the first ``max_size`` words."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"vocabulary file not found: {path}")
        words: list[str] = []
        counts: dict[str, int] = {}
        seen: set[str] = set()
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) > 2:
                    raise ValueError(f"{path}:{lineno}: expected 'word count', got {line.rstrip()!r}")
                w = parts[0].lower() if lower else parts[0]
                if w in SPECIALS or w in seen:
                    continue
                try:
                    counts[w] = int(parts[1]) if len(parts) == 2 else 0
                except ValueError:
                    raise ValueError(f"{path}:{lineno}: count is not an integer: {parts[1]!r}") from None
                words.append(w)
                seen.add(w)
                if max_size is not None and len(words) >= max_size:
                    break
        if not words:
            raise ValueError(f"vocabulary file is empty: {path}")
        return cls(words, counts=counts, lower=lower)

    # ----------------------------------------------------------------- lookup
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: str) -> bool:
        return (token.lower() if self.lower else token) in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos and self.lower == other.lower

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, lower={self.lower})"

    def difference(self, other: Vocab) -> str | None:
        """``None`` when ``other`` equals this vocabulary, else the first difference, for messages.

        For example ``"20004 vs 50004 ids"``, ``"lower=True vs lower=False"`` or
        ``"both 20004 ids, but id 57 is 'the' vs 'a'"`` (this vocabulary first).
        """
        if not isinstance(other, Vocab):
            raise TypeError(f"other must be a Vocab, got {type(other).__name__}")
        if self == other:
            return None
        if len(self) != len(other):
            return f"{len(self)} vs {len(other)} ids"
        if self.lower != other.lower:
            return f"lower={self.lower} vs lower={other.lower}"
        i = next(i for i, (a, b) in enumerate(zip(self._itos, other._itos)) if a != b)
        return f"both {len(self)} ids, but id {i} is {self._itos[i]!r} vs {other._itos[i]!r}"

    @property
    def words(self) -> list[str]:
        """All tokens in id order, special tokens included."""
        return list(self._itos)

    pad_id = PAD_ID
    unk_id = UNK_ID
    bos_id = BOS_ID
    eos_id = EOS_ID

    def token_to_id(self, token: str) -> int:
        """Id of ``token``, or the ``<unk>`` id."""
        return self._stoi.get(token.lower() if self.lower else token, UNK_ID)

    def id_to_token(self, idx: int) -> str:
        """Token of an in-vocabulary id (raises ``IndexError`` for extended ids)."""
        if not 0 <= idx < len(self._itos):
            raise IndexError(f"id {idx} outside the vocabulary of size {len(self)}")
        return self._itos[idx]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Map tokens to in-vocabulary ids (OOV -> ``<unk>``)."""
        get = self._stoi.get
        if self.lower:
            return [get(t.lower(), UNK_ID) for t in tokens]
        return [get(t, UNK_ID) for t in tokens]

    def encode_source(self, tokens: Sequence[str], max_oovs: int | None = None) -> tuple[list[int], list[str]]:
        """Extended ids of a source and its OOV words (See et al. 2017, ``article2ids``).

        The k-th distinct out-of-vocabulary word gets id ``len(self) + k``.
        With ``max_oovs``, OOV words beyond the first ``max_oovs`` distinct ones
        map to ``<unk>`` (the environment has a fixed number of copy slots).
        """
        ids: list[int] = []
        oovs: list[str] = []
        oov_index: dict[str, int] = {}
        base = len(self._itos)
        for t in tokens:
            key = t.lower() if self.lower else t
            i = self._stoi.get(key)
            if i is None:
                k = oov_index.get(key)
                if k is None and (max_oovs is None or len(oovs) < max_oovs):
                    k = oov_index[key] = len(oovs)
                    oovs.append(key)
                i = UNK_ID if k is None else base + k
            ids.append(i)
        return ids, oovs

    def encode_target(self, tokens: Sequence[str], oovs: Sequence[str]) -> list[int]:
        """Extended ids of a target: source OOV words get their copy id, other OOVs ``<unk>``."""
        return self._encode_with_oovs(tokens, oovs, None)

    def encode_reference(
        self, tokens: Sequence[str], oovs: Sequence[str], extra: dict[str, int], copy_slots: int = 0
    ) -> list[int]:
        """Ids of a reference for the reward, exact on text.

        Like :meth:`encode_target`, but a word that is neither in the
        vocabulary nor a source OOV gets a private id
        ``>= len(self) + max(len(oovs), copy_slots)`` (recorded in ``extra``,
        shared by the references of one example) instead of ``<unk>``: no
        action can produce it, so an ``<unk>`` in a hypothesis never matches a
        reference word, as on text. Pass the number of copy slots of the action
        space (a task's ``max_oovs``) as ``copy_slots`` so that private ids lie
        outside every action id ``[0, V + K)``, empty copy slots included.
        """
        return self._encode_with_oovs(tokens, oovs, extra, copy_slots)

    def _encode_with_oovs(
        self, tokens: Sequence[str], oovs: Sequence[str], extra: dict[str, int] | None, copy_slots: int = 0
    ) -> list[int]:
        base = len(self._itos)
        private = base + max(len(oovs), int(copy_slots))
        oov_index = {w: k for k, w in enumerate(oovs)}
        out = []
        for t in tokens:
            key = t.lower() if self.lower else t
            i = self._stoi.get(key)
            if i is None:
                k = oov_index.get(key)
                if k is not None:
                    i = base + k
                elif extra is None:
                    i = UNK_ID
                else:
                    if key not in extra:
                        extra[key] = private + len(extra)
                    i = extra[key]
            out.append(i)
        return out

    def decode(
        self,
        ids: Iterable[int],
        oovs: Sequence[str] | None = None,
        stop_at_eos: bool = True,
        skip_special: bool = True,
    ) -> list[str]:
        """Map (extended) ids back to words; copy ids use the example's ``oovs``."""
        out: list[str] = []
        base = len(self._itos)
        for i in ids:
            i = int(i)
            if i == EOS_ID and stop_at_eos:
                break
            if i < base:
                if i < 0:
                    raise ValueError(f"negative token id {i}")
                if skip_special and i in (PAD_ID, BOS_ID, EOS_ID):
                    continue
                out.append(self._itos[i])
            else:
                k = i - base
                if oovs is None or k >= len(oovs):
                    raise ValueError(
                        f"id {i} is copy slot {k}, but the example has {0 if oovs is None else len(oovs)} "
                        "source OOV words"
                    )
                out.append(oovs[k])
        return out
