"""The built-in synthetic captioning task (registered as ``"captioning"``).

SYNTHETIC DATA. Each example is a small RGB image (``[32, 32, 3]`` uint8)
with 1-3 shapes (circle, square, triangle; also diamond at ``"hard"``) of
different colours and two sizes, placed in distinct cells of a 3 x 3 grid,
and 5 captions that name every shape's size, colour and kind and their
spatial relations (``left of``, ``right of``, ``above``, ``below``) or, for
a single shape, its position (``top left`` ... ``bottom right``).

The first caption (the training target) follows one canonical template: the
shapes in reading order (left to right, then top to bottom) with their
relation, so a model can produce it exactly (CIDEr-D and BLEU are maximal).
The four others are paraphrases: synonyms (``big``, ``little``, ``over``...),
inverted relations, and other sentence frames. Captions are lower-case
words without punctuation.

Difficulty: ``"easy"`` 1-2 shapes on black, exactly centred in their cells;
``"medium"`` (default) 1-3 shapes, positions jittered by one pixel;
``"hard"`` 1-3 shapes of four kinds, jittered by two pixels, on a noisy
background of a random dark colour. Versioned by ``info["generator_version"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.synthetic.common import Rng, cached_task, check_difficulty, check_sizes
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.vocab import Vocab

GENERATOR_VERSION = "captioning-1"
IMAGE_SIZE = 32

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 210, 40),
    "purple": (150, 60, 200),
    "orange": (240, 140, 30),
    "white": (235, 235, 235),
}
SHAPES = ("circle", "square", "triangle", "diamond")
SIZES = {"small": 6, "large": 10}
SIZE_SYNONYMS = {"small": ("small", "little", "tiny"), "large": ("large", "big")}
ROWS = ("top", "middle", "bottom")
COLS = ("left", "center", "right")
CELL_CENTERS = (5, 16, 26)

_SETTINGS = {
    "easy": dict(shapes=(1, 2), kinds=3, jitter=0, noise=0.0),
    "medium": dict(shapes=(1, 3), kinds=3, jitter=1, noise=0.0),
    "hard": dict(shapes=(1, 3), kinds=4, jitter=2, noise=12.0),
}


def _mask(shape: str, size: int) -> np.ndarray:
    """``[size, size]`` bool mask of a shape."""
    c = (size - 1) / 2.0
    y, x = np.mgrid[0:size, 0:size]
    if shape == "circle":
        return (x - c) ** 2 + (y - c) ** 2 <= (size / 2.0) ** 2 - 0.25
    if shape == "square":
        return np.ones((size, size), dtype=bool)
    if shape == "triangle":  # apex up: row y spans a width growing linearly
        half = (y + 1) / size * (size / 2.0)
        return np.abs(x - c) <= half
    if shape == "diamond":
        return np.abs(x - c) + np.abs(y - c) <= size / 2.0
    raise ValueError(f"unknown shape {shape!r}")


_MASKS = {(s, z): _mask(s, px) for s in SHAPES for z, px in SIZES.items()}


def _position_name(row: int, col: int) -> list[str]:
    if row == 1 and col == 1:
        return ["center"]
    if row == 1:
        return [COLS[col]]
    if col == 1:
        return [ROWS[row]]
    return [ROWS[row], COLS[col]]


def _position_phrase(row: int, col: int) -> list[str]:
    """``in the top left``, ``on the right``, ``at the top``, ``in the center``."""
    pos = _position_name(row, col)
    if len(pos) == 2 or pos == ["center"]:
        return ["in", "the", *pos]
    return ["on" if pos[0] in COLS else "at", "the", *pos]


def _article(words: list[str]) -> list[str]:
    return ["an" if words[0][0] in "aeiou" else "a", *words]


class _Shape:
    __slots__ = ("col", "color", "kind", "row", "size")

    def __init__(self, kind: str, color: str, size: str, row: int, col: int) -> None:
        self.kind, self.color, self.size, self.row, self.col = kind, color, size, row, col

    def np(self, size_word: str | None = None, with_size: bool = True) -> list[str]:
        words = ([size_word or self.size] if with_size else []) + [self.color, self.kind]
        return _article(words)

    def definite(self) -> list[str]:
        return ["the", self.color, self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "color": self.color, "size": self.size, "row": self.row, "col": self.col}


def _relation(a: _Shape, b: _Shape, prefer_vertical: bool = False) -> list[str]:
    """Where ``a`` is relative to ``b`` (horizontal when columns differ, unless ``prefer_vertical``)."""
    horizontal = a.col != b.col and not (prefer_vertical and a.row != b.row)
    if horizontal:
        return ["to", "the", "left", "of"] if a.col < b.col else ["to", "the", "right", "of"]
    return ["above"] if a.row < b.row else ["below"]


_REL_SYNONYMS = {
    ("to", "the", "left", "of"): (["to", "the", "left", "of"], ["left", "of"], ["on", "the", "left", "of"]),
    ("to", "the", "right", "of"): (["to", "the", "right", "of"], ["right", "of"], ["on", "the", "right", "of"]),
    ("above",): (["above"], ["over"]),
    ("below",): (["below"], ["under"], ["beneath"]),
}


class _Captioner:
    def __init__(self, r: Rng) -> None:
        self.r = r

    def syn_size(self, s: _Shape) -> str:
        return self.r.choice(SIZE_SYNONYMS[s.size])

    def syn_rel(self, rel: list[str]) -> list[str]:
        return list(self.r.choice(_REL_SYNONYMS[tuple(rel)]))

    def canonical(self, shapes: list[_Shape]) -> list[str]:
        if len(shapes) == 1:
            s = shapes[0]
            return [*s.np(), *_position_phrase(s.row, s.col)]
        a, b = shapes[0], shapes[1]
        out = [*a.np(), *_relation(a, b), *b.np()]
        if len(shapes) == 3:
            c = shapes[2]
            out += ["which", "is", *_relation(b, c), *c.np()]
        return out

    def paraphrase(self, shapes: list[_Shape], k: int) -> list[str]:
        """The ``k``-th paraphrase frame (0..4) with random synonyms."""
        r = self.r
        if len(shapes) == 1:
            s = shapes[0]
            pos = _position_name(s.row, s.col)
            where = _position_phrase(s.row, s.col)
            frames = [
                ["there", "is", *s.np(self.syn_size(s)), *where],
                [*s.np(with_size=False), "of", self.syn_size(s), "size", *where],
                ["the", *pos, "of", "the", "image", "has", *s.np(self.syn_size(s))],
                [*s.np(self.syn_size(s)), "on", "a", "dark", "background"],
                ["a", "picture", "of", *s.np(self.syn_size(s)), "placed", *where],
            ]
            return frames[k]
        a, b = shapes[0], shapes[1]
        rev = _relation(b, a, prefer_vertical=r.random() < 0.5)
        fwd = _relation(a, b, prefer_vertical=r.random() < 0.5)
        if len(shapes) == 2:
            frames = [
                ["there", "is", *a.np(self.syn_size(a)), *self.syn_rel(fwd), *b.np(self.syn_size(b))],
                [*b.np(self.syn_size(b)), "is", *self.syn_rel(rev), *a.np(self.syn_size(a))],
                ["an", "image", "with", *a.np(self.syn_size(a)), "and", *b.np(self.syn_size(b))],
                [*b.np(self.syn_size(b)), "and", *a.np(self.syn_size(a)), "with", "the", a.color, a.kind,
                 *self.syn_rel(fwd), "the", b.color, b.kind],
                ["two", "shapes", *a.np(self.syn_size(a)), "and", *b.np(self.syn_size(b)), "on", "a", "dark",
                 "background"],
            ]
            return frames[k]
        c = shapes[2]
        bc = _relation(b, c, prefer_vertical=r.random() < 0.5)
        frames = [
            ["there", "is", *a.np(self.syn_size(a)), *self.syn_rel(fwd), *b.np(self.syn_size(b)), "and",
             *c.np(self.syn_size(c))],
            [*c.np(self.syn_size(c)), "and", *b.np(self.syn_size(b)), "with", *a.np(self.syn_size(a)),
             *self.syn_rel(fwd), "the", b.color, b.kind],
            ["three", "shapes", *a.np(self.syn_size(a)), *b.np(self.syn_size(b)), "and", *c.np(self.syn_size(c))],
            [*b.np(self.syn_size(b)), "is", *self.syn_rel(rev), *a.np(self.syn_size(a)), "and",
             *self.syn_rel(bc), *c.np(self.syn_size(c))],
            ["an", "image", "with", *a.np(self.syn_size(a)), "and", *b.np(self.syn_size(b)), "and",
             *c.np(self.syn_size(c))],
        ]
        return frames[k]


def _draw(shapes: list[_Shape], r: Rng, s: dict[str, Any], noise_rng: np.random.Generator | None) -> np.ndarray:
    if s["noise"]:
        assert noise_rng is not None
        base = np.array([r.randint(0, 50), r.randint(0, 50), r.randint(0, 50)], dtype=np.float32)
        img = base + noise_rng.normal(0.0, s["noise"], size=(IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
        img = np.clip(img, 0, 255).astype(np.uint8)
    else:
        img = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    j = s["jitter"]
    for sh in shapes:
        m = _MASKS[(sh.kind, sh.size)]
        px = m.shape[0]
        cy = CELL_CENTERS[sh.row] + (r.randint(-j, j) if j else 0)
        cx = CELL_CENTERS[sh.col] + (r.randint(-j, j) if j else 0)
        y0 = min(max(cy - px // 2, 0), IMAGE_SIZE - px)
        x0 = min(max(cx - px // 2, 0), IMAGE_SIZE - px)
        img[y0 : y0 + px, x0 : x0 + px][m] = COLORS[sh.color]
    return img


def _split(seed: int, name: str, n: int, difficulty: str) -> list[Example]:
    key = f"{GENERATOR_VERSION}/{seed}/{difficulty}/{name}"
    r = Rng(key)
    s = _SETTINGS[difficulty]
    noise_rng = np.random.default_rng(int.from_bytes(key.encode("utf-8")[-8:], "little")) if s["noise"] else None
    cap = _Captioner(r)
    kinds = SHAPES[: s["kinds"]]
    colors = list(COLORS)
    cells = [(row, col) for row in range(3) for col in range(3)]
    out = []
    for i in range(n):
        k = r.randint(*s["shapes"])
        shapes = [
            _Shape(r.choice(kinds), c, r.choice(("small", "large")), row, col)
            for c, (row, col) in zip(r.sample(colors, k), r.sample(cells, k))
        ]
        shapes.sort(key=lambda sh: (sh.col, sh.row))
        img = _draw(shapes, r, s, noise_rng)
        refs = [cap.canonical(shapes)]
        for f in r.sample(range(5), 4):
            refs.append(cap.paraphrase(shapes, f))
        out.append(Example(f"cap-{name}-{i:06d}", img, refs, {"shapes": [sh.as_dict() for sh in shapes]}))
    return out


@cached_task
def captioning_task(
    seed: int = 0,
    num_train: int = 10_000,
    num_validation: int = 1_000,
    num_test: int = 1_000,
    difficulty: str = "medium",
) -> Task:
    """The built-in synthetic captioning task (see the module docstring).

    Sources are ``[32, 32, 3]`` uint8 images (``Batch.src_feats`` holds them
    as float32 ``[B, 32, 32, 3]``, values 0-255). Cached in-process on the
    arguments; treat the returned task as read-only.

    Args:
        seed: the data seed.
        num_train, num_validation, num_test: images per split.
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"``.
    """
    check_difficulty(difficulty)
    check_sizes(seed=abs(seed), num_train=num_train, num_validation=num_validation, num_test=num_test)
    if num_train < 1:
        raise ValueError(f"num_train must be >= 1 (the vocabulary is built from it), got {num_train}")
    splits = {
        "train": _split(seed, "train", num_train, difficulty),
        "validation": _split(seed, "validation", num_validation, difficulty),
        "test": _split(seed, "test", num_test, difficulty),
    }
    vocab = Vocab.build(r for ex in splits["train"] for r in ex.references)
    return Task(
        name="captioning",
        vocab=vocab,
        splits=splits,
        modality="image",
        metric="cider",
        max_source_len=1,
        max_target_len=32,
        max_oovs=0,
        description=(
            "SYNTHETIC image captioning generated from a seed: 32x32 RGB images with 1-3 coloured shapes and 5 "
            "captions naming each shape's size, colour and kind and their spatial relations; the first caption "
            "is canonical (exactly learnable), the others paraphrase it."
        ),
        info={"generator_version": GENERATOR_VERSION, "seed": seed, "difficulty": difficulty, "synthetic": True,
              "image_shape": (IMAGE_SIZE, IMAGE_SIZE, 3), "colors": dict(COLORS)},
    )
