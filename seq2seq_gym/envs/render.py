"""Rendering of an episode for people watching it: text (``ansi``) and pictures (``rgb_array``).

``ansi`` shows the source, the text written so far and the reward.
``rgb_array`` shows, for captioning, the image with the caption under it and,
for text tasks, the source words shaded by the generator's attention (the
words it is reading now are bright), with the text written so far below.
Frames have a fixed size, so they can be written to a video.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np

from seq2seq_gym.envs._font import HEIGHT, WIDTH, draw_text

if TYPE_CHECKING:
    from seq2seq_gym.envs.text_gen import _Base

FRAME_W, FRAME_H = 640, 480
SCALE = 2
CHAR_W = (WIDTH + 1) * SCALE
LINE_H = (HEIGHT + 2) * SCALE
BG = (18, 18, 24)
FG = (235, 235, 235)
ACCENT = (255, 196, 64)
MUTED = (150, 150, 160)


def _source_words(env: _Base, row: int) -> list[str]:
    ex = env.engine.examples[row]
    if ex is None or ex.is_image:
        return []
    return list(ex.source)[: env.task.max_source_len]


def ansi(env: _Base, row: int, last_reward: float) -> str:
    """A few lines of text describing the episode of ``row``."""
    eng = env.engine
    ex = eng.examples[row]
    width = 100
    src = _source_words(env, row)
    if ex.is_image:
        source = f"<image {'x'.join(map(str, np.asarray(ex.source).shape))}>"
    else:
        source = " ".join(src[:60]) + (" ..." if len(src) > 60 else "")
    lines = [
        f"[{env.task.name}] example {ex.id}  step {int(eng.steps[row])}/{eng.max_length}  "
        f"reward {last_reward:+.4f}  return {float(eng.returns[row]):.4f}",
        *textwrap.wrap("source : " + source, width, subsequent_indent="         "),
        *textwrap.wrap("output : " + (eng.text(row) or "") + " _", width, subsequent_indent="         "),
        *textwrap.wrap("ref    : " + " ".join(ex.references[0]), width, subsequent_indent="         "),
    ]
    return "\n".join(lines) + "\n"


def _wrap_draw(img: np.ndarray, text: str, x0: int, y: int, color, max_y: int) -> int:
    """Draw wrapped text from (x0, y); returns the y after the last line."""
    cols = max((img.shape[1] - x0 - 8) // CHAR_W, 1)
    for line in textwrap.wrap(text, cols) or [""]:
        if y + LINE_H > max_y:
            break
        draw_text(img, line, x0, y, color, SCALE)
        y += LINE_H
    return y


def rgb(env: _Base, row: int) -> np.ndarray:
    """A ``[480, 640, 3]`` uint8 picture of the episode of ``row``."""
    eng = env.engine
    ex = eng.examples[row]
    img = np.zeros((FRAME_H, FRAME_W, 3), dtype=np.uint8)
    img[:] = BG
    header = f"{env.task.name}  example {ex.id}  step {int(eng.steps[row])}  return {float(eng.returns[row]):.3f}"
    draw_text(img, header, 8, 6, MUTED, SCALE)
    y = 6 + LINE_H + 4
    if ex.is_image:
        pic = np.asarray(ex.source)
        if pic.ndim == 3 and pic.shape[-1] in (1, 3):
            if pic.dtype != np.uint8:
                pic = np.clip(pic, 0, 255).astype(np.uint8)
            zoom = max(1, min(320 // pic.shape[0], 320 // pic.shape[1]))
            big = pic.repeat(zoom, 0).repeat(zoom, 1)
            if big.shape[-1] == 1:
                big = big.repeat(3, -1)
            h, w = big.shape[:2]
            x0 = (FRAME_W - w) // 2
            img[y : y + h, x0 : x0 + w] = big
            y += h + 8
        else:
            y = _wrap_draw(img, f"features {pic.shape}", 8, y, MUTED, FRAME_H)
    else:
        words = _source_words(env, row)
        attn = eng.attention(row)
        peak = float(attn.max()) if attn.size else 0.0
        x = 8
        limit = FRAME_H - 5 * LINE_H
        for i, w in enumerate(words):
            wpx = len(w) * CHAR_W
            if x + wpx > FRAME_W - 8:
                x, y = 8, y + LINE_H
            if y + LINE_H > limit:
                draw_text(img, "...", x, y - LINE_H, MUTED, SCALE)
                break
            a = float(attn[i]) / peak if peak > 0 and i < len(attn) else 0.0
            if a > 0.02:
                shade = (np.array(ACCENT) * a + np.array(BG) * (1 - a)).astype(np.uint8)
                img[y - 1 : y + LINE_H - SCALE, x - 1 : x + wpx] = shade
            draw_text(img, w, x, y, FG if a < 0.6 else BG, SCALE)
            x += wpx + CHAR_W
        y += LINE_H + 8
    y = _wrap_draw(img, "output: " + eng.text(row) + " _", 8, y, ACCENT, FRAME_H)
    _wrap_draw(img, "ref: " + " ".join(ex.references[0]), 8, y + 4, MUTED, FRAME_H)
    return img
