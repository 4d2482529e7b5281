"""Padded tensor batches built from examples."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.vocab import BOS_ID, EOS_ID, PAD_ID, Vocab

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    """A padded batch of examples, as models, rewards and environments read it.

    Token ids use the pointer-generator's extended vocabulary where noted:
    ``id >= vocab_size`` is copy slot ``id - vocab_size`` of that example's
    ``oovs``. Padding is ``PAD_ID`` (0) everywhere.

    Attributes:
        ids: example ids, ``B`` strings.
        examples: the examples themselves (for text, metadata, rendering).
        src: ``[B, S]`` source ids, out-of-vocabulary words as ``<unk>``
            (what the encoder embeds); ``None`` for image sources.
        src_ext: ``[B, S]`` source ids in the extended vocabulary (copy targets).
        src_mask: ``[B, S]`` bool, True on real tokens.
        src_lens: ``[B]`` source lengths (1 for image sources).
        src_feats: image or feature tensor ``[B, ...]`` float32, else ``None``.
        oovs: per example, its source OOV words (copy slot k is ``oovs[b][k]``).
        tgt_in: ``[B, T]`` decoder inputs: ``<s>`` then the target, OOVs as ``<unk>``.
        tgt_out: ``[B, T]`` labels: the target in extended ids, then ``</s>``.
        tgt_mask: ``[B, T]`` bool, True on label positions.
        tgt_lens: ``[B]`` number of label positions (target length + 1 for ``</s>``).
        refs: ``[B, R, L]`` every reference in extended ids, no ``</s>``; a word
            neither in the vocabulary nor among the source OOVs gets a private
            id ``>= vocab_size + len(oovs[b])`` that no action can produce, so
            rewards on ids equal rewards on text.
        ref_lens: ``[B, R]`` reference lengths, 0 where an example has fewer
            than R references.
        vocab_size: size of the in-vocabulary part.
    """

    ids: list[str]
    examples: list[Example]
    src: torch.Tensor | None
    src_ext: torch.Tensor | None
    src_mask: torch.Tensor | None
    src_lens: torch.Tensor
    src_feats: torch.Tensor | None
    oovs: list[list[str]]
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    tgt_mask: torch.Tensor
    tgt_lens: torch.Tensor
    refs: torch.Tensor
    ref_lens: torch.Tensor
    vocab_size: int

    @property
    def batch_size(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def max_oovs(self) -> int:
        """Largest number of source OOV words of any example in the batch."""
        return max((len(o) for o in self.oovs), default=0)

    @property
    def device(self) -> torch.device:
        return self.src_lens.device

    def to(self, device: torch.device | str) -> Batch:
        """A copy with every tensor on ``device``."""
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = v.to(device) if isinstance(v, torch.Tensor) else v
        return Batch(**kw)

    def select(self, index: Sequence[int] | torch.Tensor) -> Batch:
        """The sub-batch of the given example positions (padding is kept)."""
        idx = torch.as_tensor(index, dtype=torch.long)
        pos = idx.tolist()
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                kw[f.name] = v.index_select(0, idx.to(v.device))
            elif isinstance(v, list):
                kw[f.name] = [v[i] for i in pos]
            else:
                kw[f.name] = v
        return Batch(**kw)


def _pad(rows: Sequence[Sequence[int]], width: int | None = None) -> torch.Tensor:
    width = max((len(r) for r in rows), default=0) if width is None else width
    out = np.full((len(rows), max(width, 1)), PAD_ID, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return torch.from_numpy(out)


def collate(
    examples: Sequence[Example],
    vocab: Vocab,
    max_source_len: int | None = None,
    max_target_len: int | None = None,
    max_oovs: int | None = None,
) -> Batch:
    """Pad examples into a :class:`Batch`.

    Truncation is explicit: a text source longer than ``max_source_len`` keeps
    its first ``max_source_len`` tokens, and a training target longer than
    ``max_target_len`` keeps its first ``max_target_len`` tokens (references
    for the reward are never truncated). Each call logs its cuts at INFO
    level with the number of examples affected; :meth:`Task.collate
    <seq2seq_gym.data.task.Task.collate>` (what tasks, environments and
    training use) also emits one counted ``DataWarning`` per task the first
    time it cuts. Source OOV words beyond the first ``max_oovs`` distinct
    ones map to ``<unk>``.
    """
    if not examples:
        raise ValueError("collate() needs at least one example")
    n_src_cut = n_tgt_cut = 0
    src_rows, ext_rows, oovs, tin, tout, feats = [], [], [], [], [], []
    ref_rows: list[list[list[int]]] = []
    is_image = examples[0].is_image
    for ex in examples:
        if ex.is_image != is_image:
            raise ValueError("a batch cannot mix image and text sources")
        if not ex.references or any(len(r) == 0 for r in ex.references):
            raise ValueError(f"example {ex.id!r} has no reference or an empty reference")
        if is_image:
            feats.append(np.asarray(ex.source, dtype=np.float32))
            ex_oovs: list[str] = []
        else:
            toks = list(ex.source)
            if not toks:
                raise ValueError(f"example {ex.id!r} has an empty source")
            if max_source_len is not None and len(toks) > max_source_len:
                toks = toks[:max_source_len]
                n_src_cut += 1
            ext, ex_oovs = vocab.encode_source(toks, max_oovs=max_oovs)
            src_rows.append([i if i < len(vocab) else vocab.unk_id for i in ext])
            ext_rows.append(ext)
        oovs.append(ex_oovs)
        tgt = list(ex.references[0])
        if max_target_len is not None and len(tgt) > max_target_len:
            tgt = tgt[:max_target_len]
            n_tgt_cut += 1
        t_ext = vocab.encode_target(tgt, ex_oovs)
        tin.append([BOS_ID] + [i if i < len(vocab) else vocab.unk_id for i in t_ext])
        tout.append([*t_ext, EOS_ID])
        extra: dict[str, int] = {}
        # private ids past every copy slot: no action id (< V + max_oovs) names a reference-only word
        ref_rows.append([vocab.encode_reference(r, ex_oovs, extra, copy_slots=max_oovs or 0) for r in ex.references])
    if n_src_cut:
        logger.info("truncated %d source(s) to max_source_len=%d tokens", n_src_cut, max_source_len)
    if n_tgt_cut:
        logger.info("truncated %d training target(s) to max_target_len=%d tokens", n_tgt_cut, max_target_len)

    B = len(examples)
    if is_image:
        shapes = {f.shape for f in feats}
        if len(shapes) != 1:
            raise ValueError(f"image/feature sources in one batch must share a shape, got {sorted(shapes)}")
        src = src_ext = src_mask = None
        src_lens = torch.ones(B, dtype=torch.long)
        src_feats = torch.from_numpy(np.stack(feats))
    else:
        src = _pad(src_rows)
        src_ext = _pad(ext_rows)
        src_lens = torch.tensor([len(r) for r in src_rows], dtype=torch.long)
        src_mask = torch.arange(src.shape[1])[None, :] < src_lens[:, None]
        src_feats = None
    tgt_in = _pad(tin)
    tgt_out = _pad(tout)
    tgt_lens = torch.tensor([len(r) for r in tout], dtype=torch.long)
    tgt_mask = torch.arange(tgt_out.shape[1])[None, :] < tgt_lens[:, None]
    R = max(len(r) for r in ref_rows)
    L = max(len(x) for r in ref_rows for x in r)
    refs = torch.full((B, R, max(L, 1)), PAD_ID, dtype=torch.long)
    ref_lens = torch.zeros(B, R, dtype=torch.long)
    for b, rr in enumerate(ref_rows):
        for j, r in enumerate(rr):
            refs[b, j, : len(r)] = torch.tensor(r, dtype=torch.long)
            ref_lens[b, j] = len(r)
    return Batch(
        ids=[ex.id for ex in examples],
        examples=list(examples),
        src=src,
        src_ext=src_ext,
        src_mask=src_mask,
        src_lens=src_lens,
        src_feats=src_feats,
        oovs=oovs,
        tgt_in=tgt_in,
        tgt_out=tgt_out,
        tgt_mask=tgt_mask,
        tgt_lens=tgt_lens,
        refs=refs,
        ref_lens=ref_lens,
        vocab_size=len(vocab),
    )
