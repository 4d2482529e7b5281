"""A 3x5 pixel bitmap font, drawn by this project, for ``render_mode="rgb_array"``.

Only what rendering needs: letters (drawn as capitals), digits and a little
punctuation. Unknown characters are drawn as a hollow box.
"""

from __future__ import annotations

import numpy as np

# Each glyph: 5 rows of 3 pixels separated by "|", "#" on, "." off.
_GLYPHS = {
    'a': '.#.|#.#|###|#.#|#.#', 'b': '##.|#.#|##.|#.#|##.', 'c': '.##|#..|#..|#..|.##', 'd': '##.|#.#|#.#|#.#|##.',
    'e': '###|#..|##.|#..|###', 'f': '###|#..|##.|#..|#..', 'g': '.##|#..|#.#|#.#|.##', 'h': '#.#|#.#|###|#.#|#.#',
    'i': '###|.#.|.#.|.#.|###', 'j': '..#|..#|..#|#.#|.#.', 'k': '#.#|#.#|##.|#.#|#.#', 'l': '#..|#..|#..|#..|###',
    'm': '#.#|###|###|#.#|#.#', 'n': '##.|#.#|#.#|#.#|#.#', 'o': '.#.|#.#|#.#|#.#|.#.', 'p': '##.|#.#|##.|#..|#..',
    'q': '.#.|#.#|#.#|##.|.##', 'r': '##.|#.#|##.|#.#|#.#', 's': '.##|#..|.#.|..#|##.', 't': '###|.#.|.#.|.#.|.#.',
    'u': '#.#|#.#|#.#|#.#|###', 'v': '#.#|#.#|#.#|#.#|.#.', 'w': '#.#|#.#|###|###|#.#', 'x': '#.#|#.#|.#.|#.#|#.#',
    'y': '#.#|#.#|.#.|.#.|.#.', 'z': '###|..#|.#.|#..|###', '0': '###|#.#|#.#|#.#|###', '1': '.#.|##.|.#.|.#.|###',
    '2': '##.|..#|.#.|#..|###', '3': '###|..#|.##|..#|###', '4': '#.#|#.#|###|..#|..#', '5': '###|#..|##.|..#|##.',
    '6': '.##|#..|###|#.#|###', '7': '###|..#|.#.|.#.|.#.', '8': '###|#.#|###|#.#|###', '9': '###|#.#|###|..#|##.',
    ' ': '...|...|...|...|...', '.': '...|...|...|...|.#.', ',': '...|...|...|.#.|#..', ':': '...|.#.|...|.#.|...',
    ';': '...|.#.|...|.#.|#..', '!': '.#.|.#.|.#.|...|.#.', '?': '##.|..#|.#.|...|.#.', "'": '.#.|.#.|...|...|...',
    '-': '...|...|###|...|...', '_': '...|...|...|...|###', '/': '..#|..#|.#.|#..|#..', '(': '..#|.#.|.#.|.#.|..#',
    ')': '#..|.#.|.#.|.#.|#..', '<': '..#|.#.|#..|.#.|..#', '>': '#..|.#.|..#|.#.|#..', '=': '...|###|...|###|...',
    '+': '...|.#.|###|.#.|...', '"': '#.#|#.#|...|...|...',
}
_UNKNOWN = "###|#.#|#.#|#.#|###"
WIDTH, HEIGHT = 3, 5


def _bitmap(ch: str) -> np.ndarray:
    pat = _GLYPHS.get(ch.lower(), _UNKNOWN).replace("|", "")
    return np.array([c == "#" for c in pat], dtype=bool).reshape(HEIGHT, WIDTH)


_CACHE: dict[str, np.ndarray] = {}


def draw_text(img: np.ndarray, text: str, x: int, y: int, color=(255, 255, 255), scale: int = 1) -> int:
    """Draw ``text`` onto ``img`` (``[H, W, 3]`` uint8) at pixel (x, y); returns the x after it.

    Characters advance by ``4 * scale`` pixels; what falls outside the image is clipped.
    """
    H, W = img.shape[:2]
    for ch in text:
        bm = _CACHE.get(ch)
        if bm is None:
            bm = _CACHE[ch] = _bitmap(ch)
        if scale > 1:
            bm = bm.repeat(scale, 0).repeat(scale, 1)
        h, w = bm.shape
        y0, x0 = max(y, 0), max(x, 0)
        y1, x1 = min(y + h, H), min(x + w, W)
        if y0 < y1 and x0 < x1:
            sub = bm[y0 - y : y1 - y, x0 - x : x1 - x]
            img[y0:y1, x0:x1][sub] = color
        x += (WIDTH + 1) * scale
    return x


def text_width(text: str, scale: int = 1) -> int:
    """Width in pixels of ``text`` drawn by :func:`draw_text`."""
    return len(text) * (WIDTH + 1) * scale
