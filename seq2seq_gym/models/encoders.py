"""Encoders: a bidirectional LSTM over tokens, a small CNN over raw images, a projection of precomputed features.

Every encoder returns the same four things, so the decoder never needs to know
the source modality:

- ``enc_out``  ``[B, S, E]``: the memory the decoder attends over (one state
  per source token, per image grid cell, or a single feature vector);
- ``enc_mask`` ``[B, S]``: True on real positions;
- ``summary_h``, ``summary_c`` ``[B, E]``: what initialises the decoder's
  hidden and cell states (the final forward and backward LSTM hidden states
  for text, as in See et al. 2017; the mean of the grid for images, as in Xu
  et al. 2015 "Show, Attend and Tell").
"""

from __future__ import annotations

import torch
from torch import nn

from seq2seq_gym.models.config import ModelConfig


class LSTMEncoder(nn.Module):
    """Bidirectional (or forward) multi-layer LSTM over embedded source tokens (See et al. 2017, sec. 2).

    The backward direction reads each row reversed *within its own length*
    (a per-row index flip), and the forward direction is causal, so padding
    never reaches a real position: each row's states do not depend on how long
    the other rows of the batch are. (This is what packed sequences achieve,
    but PyTorch's CPU backward pass over packed sequences costs quadratic time
    in the source length; padded runs are 5-8x faster to train here.)

    The decoder is initialised from the last layer's final hidden states: the
    forward state at the last real token and the backward state at the first.

    Args:
        config: the model configuration (``emb_dim``, ``hidden_dim``, ``enc_layers``,
            ``bidirectional``, ``dropout``).
        embedding: the token embedding shared with the decoder.
    """

    def __init__(self, config: ModelConfig, embedding: nn.Embedding) -> None:
        super().__init__()
        self.embedding = embedding
        self.dropout = nn.Dropout(config.dropout)
        H, n_dir = config.hidden_dim, 2 if config.bidirectional else 1
        sizes = [config.emb_dim] + [n_dir * H] * (config.enc_layers - 1)
        self.forward_layers = nn.ModuleList(nn.LSTM(d, H, batch_first=True) for d in sizes)
        self.backward_layers = (
            nn.ModuleList(nn.LSTM(d, H, batch_first=True) for d in sizes) if config.bidirectional else None
        )

    def forward(self, src: torch.Tensor, src_lens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Encode ``src`` ``[B, S]`` (in-vocabulary ids) of lengths ``src_lens`` ``[B]``."""
        B, S = src.shape
        lens = src_lens.to(src.device)
        pos = torch.arange(S, device=src.device)[None, :]  # [1, S]
        enc_mask = pos < lens[:, None]  # [B, S]
        flip = torch.where(enc_mask, lens[:, None] - 1 - pos, pos)  # per-row reversal; its own inverse
        last = (lens - 1).clamp_min(0)[:, None, None]  # [B, 1, 1] index of the last real token

        x = self.dropout(self.embedding(src))  # [B, S, emb]
        for i, fw in enumerate(self.forward_layers):
            if i > 0:
                x = self.dropout(x)
            out, _ = fw(x)  # [B, S, H]
            summary = out.gather(1, last.expand(B, 1, out.shape[2])).squeeze(1)  # forward state at len - 1
            if self.backward_layers is not None:
                index = flip[:, :, None].expand(B, S, x.shape[2])
                back, _ = self.backward_layers[i](x.gather(1, index))
                back = back.gather(1, flip[:, :, None].expand(B, S, back.shape[2]))  # back to source order
                summary = torch.cat([summary, back[:, 0]], dim=-1)  # backward state at position 0
                out = torch.cat([out, back], dim=-1)  # [B, S, 2H]
            x = out
        enc_out = x * enc_mask[:, :, None]  # zero the padding
        return self.dropout(enc_out), enc_mask, summary, summary


class CNNEncoder(nn.Module):
    """A small convolutional image encoder producing a grid of features to attend over.

    Each block is a 3x3 convolution of stride 2 and a ReLU, so a ``32 x 32``
    image with the default three blocks becomes a ``4 x 4`` grid (16 positions).
    A linear layer and ``tanh`` bring each cell to the memory width ``E``, like
    the spatial features of Xu et al. (2015) that the decoder attends over.

    Accepts ``[B, H, W, C]`` (the :class:`~seq2seq_gym.data.Batch` layout) or
    ``[B, C, H, W]`` float tensors of raw pixel values (0-255 for uint8 images;
    divided by ``config.pixel_scale`` and centred).

    Args:
        config: the model configuration (``image_size``, ``image_channels``,
            ``cnn_channels``, ``pixel_scale``, ``hidden_dim``, ``dropout``).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in = config.image_channels
        for c_out in config.cnn_channels:
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1), nn.ReLU()]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        self.proj = nn.Linear(c_in, config.memory_dim)
        self.dropout = nn.Dropout(config.dropout)

    def to_nchw(self, images: torch.Tensor) -> torch.Tensor:
        """Check the image tensor and return it as ``[B, C, H, W]``."""
        cfg = self.config
        if images.dim() != 4:
            raise ValueError(f"images must be [B, H, W, C] or [B, C, H, W], got shape {tuple(images.shape)}")
        if images.shape[-1] == cfg.image_channels:  # channels-last (the Batch layout) wins when ambiguous
            images = images.permute(0, 3, 1, 2)
        if images.shape[1] != cfg.image_channels:
            raise ValueError(f"images need {cfg.image_channels} channels, got shape {tuple(images.shape)}")
        if images.shape[2] != cfg.image_size or images.shape[3] != cfg.image_size:
            raise ValueError(
                f"images must be {cfg.image_size}x{cfg.image_size} (ModelConfig.image_size), "
                f"got {images.shape[2]}x{images.shape[3]}"
            )
        return images

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.to_nchw(images).float() / self.config.pixel_scale - 0.5
        grid = self.convs(x)  # [B, C, h, w]
        cells = grid.flatten(2).transpose(1, 2)  # [B, h*w, C]
        enc_out = self.dropout(torch.tanh(self.proj(cells)))  # [B, S, E]
        mask = torch.ones(enc_out.shape[:2], dtype=torch.bool, device=enc_out.device)
        summary = enc_out.mean(dim=1)
        return enc_out, mask, summary, summary


class FeatureEncoder(nn.Module):
    """Projection of precomputed image features: ``[B, F]`` vectors (one position) or ``[B, N, F]`` grids.

    ``enc_out = tanh(W f + b)`` per position; the decoder attends over the
    ``N`` grid positions (a vector source is a grid of one).

    Args:
        config: the model configuration (``source_feature_dim`` = ``F``, ``hidden_dim``, ``dropout``).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.feature_dim = int(config.source_feature_dim or 0)
        self.proj = nn.Linear(self.feature_dim, config.memory_dim)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if feats.dim() == 2:
            feats = feats[:, None, :]
        if feats.dim() != 3 or feats.shape[-1] != self.feature_dim:
            raise ValueError(
                f"features must be [B, {self.feature_dim}] or [B, N, {self.feature_dim}] "
                f"(ModelConfig.source_feature_dim), got shape {tuple(feats.shape)}"
            )
        enc_out = self.dropout(torch.tanh(self.proj(feats.float())))  # [B, N, E]
        mask = torch.ones(enc_out.shape[:2], dtype=torch.bool, device=enc_out.device)
        summary = enc_out.mean(dim=1)
        return enc_out, mask, summary, summary


def build_encoder(config: ModelConfig, embedding: nn.Embedding) -> nn.Module:
    """The encoder named by ``config.encoder``."""
    if config.encoder == "lstm":
        return LSTMEncoder(config, embedding)
    if config.encoder == "cnn":
        return CNNEncoder(config)
    return FeatureEncoder(config)
