"""Encoder memory and decoder state: batch-first tensors whose rows are independent.

A vector environment steps ``N`` sequences at once and restarts each one on its
own (autoreset). Every tensor here therefore has the batch on dimension 0, and
every accumulator (coverage, intra-temporal sums, intra-decoder history) is kept
per row with a mask, so that rows can be selected (:meth:`index_select`) and
replaced by rows of another memory or state (:meth:`replace_rows`) without
changing what the other rows compute. Source length ``S`` and decoder history
length are padded to the larger of the two sides where they differ; the masks
make the padding invisible.

Both classes are immutable by convention: every method returns a new object and
never writes into a tensor it was given, so an environment can keep the old
state when it rejects an action.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

_T = TypeVar("_T", "Memory", "DecoderState")

# How each field grows when rows of different widths are combined: the padded
# dimension ("S": source positions, "H": decoder history) and the pad value.
_PAD: dict[str, tuple[str, Any]] = {
    # Memory
    "enc_out": ("S", 0.0),
    "enc_keys": ("S", 0.0),
    "enc_mask": ("S", False),
    "src_ext": ("S", 0),
    # DecoderState
    "attn": ("S", 0.0),
    "coverage": ("S", 0.0),
    "temporal": ("S", float("-inf")),
    "history": ("H", 0.0),
    "history_mask": ("H", False),
}


def _as_index(idx: Sequence[int] | torch.Tensor, device: torch.device) -> torch.Tensor:
    index = torch.as_tensor(idx, dtype=torch.long, device=device)
    if index.dim() != 1:
        raise ValueError(f"row index must be 1-D, got shape {tuple(index.shape)}")
    return index


def _pad_dim1(x: torch.Tensor, width: int, value: Any) -> torch.Tensor:
    """Pad dimension 1 of ``x`` on the right to ``width`` (a new tensor; ``x`` is untouched)."""
    if x.shape[1] == width:
        return x
    pad = x.new_full((x.shape[0], width - x.shape[1], *x.shape[2:]), value)
    return torch.cat([x, pad], dim=1)


class _Rows:
    """Row operations shared by :class:`Memory` and :class:`DecoderState`."""

    def _tensors(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    batch_size: int  # number of rows (a property of each subclass)
    device: torch.device

    def index_select(self: _T, idx: Sequence[int] | torch.Tensor) -> _T:
        """The rows ``idx`` (repeats allowed, e.g. to expand for beam search), as a new object."""
        index = _as_index(idx, self.device)
        kw = {k: v.index_select(0, index) if isinstance(v, torch.Tensor) else v for k, v in self._tensors().items()}
        return type(self)(**kw)

    def replace_rows(self: _T, rows: Sequence[int] | torch.Tensor, other: _T) -> _T:
        """A copy where row ``rows[j]`` is row ``j`` of ``other`` (``other`` has ``len(rows)`` rows).

        Source and history widths are padded to the larger side; padding is
        masked, so each row computes exactly what it would compute alone.
        """
        if type(other) is not type(self):
            raise TypeError(f"replace_rows needs another {type(self).__name__}, got {type(other).__name__}")
        mine, theirs = self._tensors(), other._tensors()
        index = _as_index(rows, self.device)
        if index.numel() != other.batch_size:
            raise ValueError(
                f"replace_rows: {index.numel()} row indices but the other object has {other.batch_size} rows"
            )
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.batch_size):
            raise ValueError(f"replace_rows: row indices must lie in [0, {self.batch_size}), got {index.tolist()}")
        if index.unique().numel() != index.numel():
            raise ValueError(f"replace_rows: row indices must be distinct, got {index.tolist()}")
        out: dict[str, Any] = {}
        widths = {"S": 0, "H": 0}
        for k, v in mine.items():
            if k in _PAD and isinstance(v, torch.Tensor):
                w = theirs[k].shape[1] if isinstance(theirs[k], torch.Tensor) else 0
                widths[_PAD[k][0]] = max(widths[_PAD[k][0]], v.shape[1], w)
        for k, v in mine.items():
            o = theirs[k]
            if not isinstance(v, torch.Tensor):
                out[k] = max(v, o) if k == "n_ext" else v
                continue
            if not isinstance(o, torch.Tensor):
                raise ValueError(f"replace_rows: field {k!r} is set here but None in the other object")
            if k in _PAD:
                dim, value = _PAD[k]
                v, o = _pad_dim1(v, widths[dim], value), _pad_dim1(o, widths[dim], value)
            out[k] = v.index_copy(0, index, o.to(v.dtype))
        result = type(self)(**out)
        return result._trim_history() if isinstance(result, DecoderState) else result

    def to(self: _T, device: torch.device | str) -> _T:
        """A copy on ``device``."""
        return type(self)(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self._tensors().items()})

    def detach(self: _T) -> _T:
        """A copy cut from the autograd graph."""
        return type(self)(**{k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in self._tensors().items()})


@dataclass
class Memory(_Rows):
    """What the encoder produced for a batch; read (never written) by every decoder step.

    Attributes:
        enc_out: ``[B, S, E]`` encoder states ``h_i`` (text: one per source
            token; images: one per grid cell or a single vector).
        enc_keys: ``[B, S, A]`` the encoder-side attention term computed once:
            ``W_h h_i`` for additive attention, ``W h_i`` for bilinear attention.
        enc_mask: ``[B, S]`` bool, True on real positions.
        src_ext: ``[B, S]`` source ids in the extended vocabulary (copy
            targets), ``None`` for image sources.
        n_oovs: ``[B]`` number of source OOV words (copy slots) of each row.
        n_ext: number of copy columns of the log-probabilities (``>= n_oovs.max()``).
        init_h: ``[B, L, H]`` initial decoder hidden state of each layer.
        init_c: ``[B, L, H]`` initial decoder cell state of each layer.
    """

    enc_out: torch.Tensor
    enc_keys: torch.Tensor
    enc_mask: torch.Tensor
    src_ext: torch.Tensor | None
    n_oovs: torch.Tensor
    n_ext: int
    init_h: torch.Tensor
    init_c: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.enc_out.shape[0])

    @property
    def device(self) -> torch.device:
        return self.enc_out.device

    @property
    def source_len(self) -> int:
        """Padded source width ``S``."""
        return int(self.enc_out.shape[1])


@dataclass
class DecoderState(_Rows):
    """The decoder's recurrent state after some tokens, per row.

    Attributes:
        h: ``[B, L, H]`` LSTM hidden state of each decoder layer (the top layer is ``s_t``).
        c: ``[B, L, H]`` LSTM cell state of each decoder layer.
        context: ``[B, E]`` the last encoder context ``c_t``, fed back with the
            next input (See et al. 2017; zeros before the first step).
        attn: ``[B, S]`` the last attention distribution (zeros before the first step).
        coverage: ``[B, S]`` sum of previous attention distributions (See et
            al. 2017, eq. 10), or ``None`` without coverage.
        temporal: ``[B, S]`` ``log sum_{j<t} exp(e_ji)`` of previous attention
            scores for intra-temporal attention (Paulus et al. 2018, eq. 3), or
            ``None``; ``-inf`` before the first step.
        history: ``[B, T_h, H]`` previous top-layer decoder states for
            intra-decoder attention (Paulus et al. 2018, eq. 6-8), or ``None``.
        history_mask: ``[B, T_h]`` bool, True where ``history`` holds a state of that row.
        steps: ``[B]`` number of tokens each row has consumed.
    """

    h: torch.Tensor
    c: torch.Tensor
    context: torch.Tensor
    attn: torch.Tensor
    coverage: torch.Tensor | None
    temporal: torch.Tensor | None
    history: torch.Tensor | None
    history_mask: torch.Tensor | None
    steps: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.steps.shape[0])

    @property
    def device(self) -> torch.device:
        return self.h.device

    def pad_source(self, width: int) -> DecoderState:
        """A copy whose source-length fields are padded to ``width`` (after the memory grew)."""
        if self.attn.shape[1] == width:
            return self
        if self.attn.shape[1] > width:
            raise ValueError(f"decoder state covers {self.attn.shape[1]} source positions but the memory only {width}")
        kw = self._tensors()
        for k in ("attn", "coverage", "temporal"):
            if kw[k] is not None:
                kw[k] = _pad_dim1(kw[k], width, _PAD[k][1])
        return DecoderState(**kw)

    def _trim_history(self) -> DecoderState:
        """Drop leading history columns that no row uses any more (keeps the history bounded under autoreset)."""
        if self.history_mask is None or self.history_mask.shape[1] == 0:
            return self
        used = self.history_mask.any(dim=0)
        first = int(used.float().argmax()) if bool(used.any()) else self.history_mask.shape[1]
        if first == 0:
            return self
        kw = self._tensors()
        kw["history"] = self.history[:, first:]
        kw["history_mask"] = self.history_mask[:, first:]
        return DecoderState(**kw)
