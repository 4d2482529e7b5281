"""Argument checks shared by the pure loss / advantage functions.

Shape and dtype checks only (no value checks), so the functions also run under
``torch.func.vmap`` and ``torch.compile``: a bad shape or dtype raises a
``TypeError`` / ``ValueError`` naming the argument before any arithmetic.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

REDUCTIONS = ("sequence", "token", "length")


def float_tensor(x: Any, name: str, ndim: int | tuple[int, ...] | None = None) -> torch.Tensor:
    """``x`` if it is a floating-point tensor of ``ndim`` dimensions."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if dims is not None and x.dim() not in dims:
        want = " or ".join(str(d) for d in dims)
        raise ValueError(f"{name} must have {want} dimensions, got shape {tuple(x.shape)}")
    return x


def mask_like(mask: Any, like: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """``mask`` (bool, integer or float, the shape of ``like``) as a float tensor of ``like``'s dtype."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    if mask.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(mask.shape)}")
    if mask.is_complex():
        raise TypeError(f"{name} must be bool, integer or float, got dtype {mask.dtype}")
    return mask.to(like.dtype)


def same_shape(x: torch.Tensor, ref: torch.Tensor, name: str, ref_name: str) -> None:
    if x.shape != ref.shape:
        raise ValueError(f"{name} must have the shape of {ref_name} {tuple(ref.shape)}, got {tuple(x.shape)}")


def per_token(adv: Any, like: torch.Tensor, name: str = "advantages") -> torch.Tensor:
    """Sequence-level ``[B]`` or per-token ``[B, T]`` values as ``[B, T]`` (broadcast over T)."""
    adv = float_tensor(adv, name, (1, 2))
    B, T = like.shape
    if adv.dim() == 1:
        if adv.shape[0] != B:
            raise ValueError(f"{name} must have shape [B]={B} or [B, T]={[B, T]}, got {tuple(adv.shape)}")
        return adv[:, None].expand(B, T)
    if adv.shape != like.shape:
        raise ValueError(f"{name} must have shape [B]={B} or [B, T]={[B, T]}, got {tuple(adv.shape)}")
    return adv


def check_reduction(reduction: Any) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduce(x: torch.Tensor, mask: torch.Tensor, reduction: str) -> torch.Tensor:
    """Masked reduction of per-token values ``x [B, T]`` to a scalar.

    - ``"sequence"``: sum over each sequence's tokens, mean over the B sequences;
    - ``"token"``: mean over all unmasked tokens of the batch;
    - ``"length"``: mean over each sequence's tokens, then mean over the sequences.
    An empty batch (or no unmasked token) gives 0.
    """
    reduction = check_reduction(reduction)
    xm = x * mask
    if reduction == "sequence":
        return xm.sum() / max(x.shape[0], 1)
    if reduction == "token":
        return xm.sum() / mask.sum().clamp(min=1.0)
    per_seq = xm.sum(-1) / mask.sum(-1).clamp(min=1.0)
    return per_seq.sum() / max(x.shape[0], 1)


def real_number(x: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    """A finite real number in ``[lo, hi]``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not float(x) == float(x) \
            or abs(float(x)) == float("inf"):
        raise TypeError(f"{name} must be a finite real number, got {x!r}")
    x = float(x)
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {x}")
    return x


def positive_int(x: Any, name: str, minimum: int = 1) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {x!r}")
    if x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    return int(x)
