"""Input checking and conversion for the token-id layer (torch / numpy -> int64 numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


def as_int_array(x: Any, name: str, ndims: tuple[int, ...]) -> tuple[np.ndarray, torch.device | None]:
    """Contiguous int64 numpy view/copy of an integer tensor or array; ValueError otherwise.

    Returns the array and the torch device of ``x`` (None for non-tensors). CPU int64
    contiguous tensors are converted without a copy.
    """
    device = None
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
            raise ValueError(f"{name} must be an integer tensor, got dtype {x.dtype}")
        device = x.device
        a = x.detach().to(device="cpu", dtype=torch.int64).contiguous().numpy()
    else:
        if x is None:
            raise ValueError(f"{name} is required")
        a = np.asarray(x)
        if a.dtype.kind not in "iu":
            if a.size == 0 and a.dtype.kind == "f":
                a = a.astype(np.int64)
            else:
                raise ValueError(f"{name} must hold integers, got dtype {a.dtype}")
        a = np.ascontiguousarray(a, dtype=np.int64)
    if a.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {want}, got shape {tuple(a.shape)}")
    return a, device


def as_bool_array(x: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Contiguous bool numpy array of the given shape (bool or 0/1 integer input)."""
    if isinstance(x, torch.Tensor):
        if x.is_floating_point() or x.is_complex():
            raise ValueError(f"{name} must be a bool tensor, got dtype {x.dtype}")
        a = x.detach().cpu().numpy()
    else:
        a = np.asarray(x)
    if a.dtype != np.bool_:
        if a.dtype.kind not in "iu" or not np.isin(a, (0, 1)).all():
            raise ValueError(f"{name} must be boolean, got dtype {a.dtype}")
        a = a.astype(np.bool_)
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(a.shape)}")
    return np.ascontiguousarray(a)


def first_index(a: np.ndarray, value: int, default: np.ndarray) -> np.ndarray:
    """Index of the first ``value`` along the last axis, ``default`` where absent."""
    if a.shape[-1] == 0:
        return default
    hit = a == value
    return np.where(hit.any(-1), hit.argmax(-1), default)


def check_lengths(lens: np.ndarray, width: int, name: str, width_name: str) -> None:
    if lens.size and lens.min() < 0:
        raise ValueError(f"{name} must be non-negative, got {int(lens.min())}")
    if lens.size and lens.max() > width:
        raise ValueError(f"{name} has a length {int(lens.max())} larger than the width {width} of {width_name}")


def check_ids(a: np.ndarray, lens: np.ndarray, name: str) -> None:
    """Token ids inside the lengths must be non-negative (padding beyond may be anything)."""
    if a.size == 0:
        return
    if a.min() >= 0:
        return
    inside = np.arange(a.shape[-1]) < lens[..., None]
    if (a[inside] < 0).any():
        raise ValueError(f"{name} contains negative token ids inside the given lengths")


@dataclass
class Hyps:
    ids: np.ndarray  # [B, T] int64
    lens: np.ndarray  # [B] int64 (not truncated at EOS)
    eff: np.ndarray  # [B] int64, truncated at the first EOS
    device: torch.device | None


@dataclass
class Refs:
    ids: np.ndarray  # [B, R, L] int64
    lens: np.ndarray  # [B, R] int64, truncated at the first EOS
    valid: np.ndarray  # [B, R] bool: slot holds a reference
    device: torch.device | None


def prepare_hyps(hyps: Any, hyp_lens: Any, pad_id: int, eos_id: int | None, name: str = "hyps",
                 lens_name: str = "hyp_lens") -> Hyps:
    h, device = as_int_array(hyps, name, (2,))
    B, T = h.shape
    if hyp_lens is None:
        hl = first_index(h, pad_id, np.full(B, T, np.int64)).astype(np.int64)
    else:
        hl, _ = as_int_array(hyp_lens, lens_name, (1,))
        if hl.shape[0] != B:
            raise ValueError(f"{lens_name} has {hl.shape[0]} entries but {name} has batch size {B}")
        check_lengths(hl, T, lens_name, name)
    check_ids(h, hl, name)
    eff = hl
    if eos_id is not None:
        eff = np.minimum(hl, first_index(h, eos_id, np.full(B, T, np.int64))).astype(np.int64)
    return Hyps(h, np.ascontiguousarray(hl, np.int64), np.ascontiguousarray(eff, np.int64), device)


def prepare_refs(refs: Any, ref_lens: Any, ref_mask: Any, batch: int | None, pad_id: int,
                 eos_id: int | None) -> Refs:
    r, device = as_int_array(refs, "refs", (2, 3))
    single = r.ndim == 2
    if single:
        r = r[:, None, :]
    B, R, L = r.shape
    if batch is not None and batch != B:
        raise ValueError(f"refs has batch size {B} but the hypotheses have batch size {batch}")
    if ref_lens is None:
        rl = first_index(r, pad_id, np.full((B, R), L, np.int64)).astype(np.int64)
    else:
        rl, _ = as_int_array(ref_lens, "ref_lens", (1, 2))
        if rl.ndim == 1:
            if not single:
                raise ValueError(f"ref_lens must have shape {(B, R)} for refs of shape {(B, R, L)}, got {rl.shape}")
            rl = rl[:, None]
        if rl.shape != (B, R):
            raise ValueError(f"ref_lens must have shape {(B, R)}, got {tuple(rl.shape)}")
        check_lengths(rl, L, "ref_lens", "refs")
    check_ids(r, rl, "refs")
    if eos_id is not None:
        rl = np.minimum(rl, first_index(r, eos_id, np.full((B, R), L, np.int64)))
    rl = np.ascontiguousarray(rl, np.int64)
    if ref_mask is None:
        valid = rl > 0
    else:
        if single and isinstance(ref_mask, (torch.Tensor, np.ndarray)) and ref_mask.ndim == 1:
            ref_mask = ref_mask[:, None]  # one reference per example: [B] -> [B, 1]
        valid = as_bool_array(ref_mask, "ref_mask", (B, R))
    return Refs(r, rl, np.ascontiguousarray(valid), device)


def check_vocab_size(vocab_size: Any) -> int:
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or int(vocab_size) <= 0:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    return int(vocab_size)


def check_token_id(value: Any, name: str, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ValueError(f"{name} must be a non-negative integer{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def to_tensor(a: np.ndarray, device: torch.device | None) -> torch.Tensor:
    t = torch.from_numpy(a)
    if device is not None and device.type != "cpu":
        t = t.to(device)
    return t
