"""The example type every loader and task produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Example:
    """One source with its reference outputs.

    Args:
        id: a stable identifier, unique within its task.
        source: the source tokens (text tasks), or an image / feature array
            (captioning: ``[H, W, 3]`` uint8 image, ``[F]`` vector features or
            ``[N, F]`` grid features).
        references: one or more reference outputs, each a token list. The
            first is the supervised training target.
        meta: free-form metadata (the loader, the generator's facts, ...).
    """

    id: str
    source: list[str] | np.ndarray
    references: list[list[str]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> list[str]:
        """The first reference: the supervised training target."""
        return self.references[0]

    @property
    def is_image(self) -> bool:
        return isinstance(self.source, np.ndarray)
