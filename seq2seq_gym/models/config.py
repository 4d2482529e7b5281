"""The configuration of a :class:`~seq2seq_gym.models.Seq2SeqModel`: every architecture option is a field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from seq2seq_gym.data import Task

ENCODERS = ("lstm", "cnn", "features")
ATTENTIONS = ("bahdanau", "bilinear")


@dataclass
class ModelConfig:
    """Architecture of the attention encoder-decoder (JSON-safe, see :meth:`to_dict` / :meth:`from_dict`).

    The defaults are those of RLSeq2Seq and of the pointer-generator of See et
    al. (2017, "Get To The Point"): embeddings of 128, hidden states of 256,
    one bidirectional LSTM encoder layer, one LSTM decoder layer, additive
    attention and the copy mechanism. The options of Paulus et al. (2018, "A
    Deep Reinforced Model for Abstractive Summarization") are switched off by
    default; :meth:`paulus2018` switches them on.

    Args:
        vocab_size: size of the output vocabulary (special tokens included);
            must equal ``len(vocab)`` and ``Batch.vocab_size``.
        emb_dim: token embedding size (shared by the encoder and the decoder).
        hidden_dim: LSTM hidden size of the decoder and of each encoder direction.
        enc_layers: number of stacked encoder LSTM layers (``encoder="lstm"``).
        dec_layers: number of stacked decoder LSTM cells.
        bidirectional: bidirectional encoder LSTM (the encoder memory is then
            ``2 * hidden_dim`` wide, else ``hidden_dim``).
        encoder: ``"lstm"`` over source tokens; ``"cnn"``, a small convolutional
            network over raw images (``[B, H, W, 3]`` or ``[B, 3, H, W]``, pixel
            values 0-255 as floats) that yields a grid of features to attend
            over; ``"features"``, a projection of precomputed image features
            (``[B, F]`` vectors or ``[B, N, F]`` grids).
        attention: ``"bahdanau"``, additive attention ``v^T tanh(W_h h_i + W_s s_t + b)``
            (Bahdanau et al. 2015; See et al. 2017 eq. 1), or ``"bilinear"``,
            ``s_t^T W h_i`` (Luong et al. 2015 "general"; Paulus et al. 2018 eq. 2).
        pointer_gen: the copy switch of See et al. (2017, eq. 8-9): the final
            distribution mixes the vocabulary distribution with the attention
            distribution scattered on the source's extended ids. Text encoders only.
        coverage: the coverage vector of See et al. (2017, eq. 10-11) is fed to
            the attention, and the coverage loss (eq. 12-13) is returned. See et
            al. define it for additive attention (``w_c cov_ti`` inside the
            ``tanh``); with bilinear attention it enters as ``s_t^T w_c cov_ti``.
        cov_loss_weight: weight ``lambda`` of the coverage loss in :meth:`mle_loss` (eq. 13).
        intra_temporal: intra-temporal attention on the encoder (Paulus et al.
            2018, eq. 3-5): scores are divided by the sum of their exponentials
            at previous steps, penalising positions that were already attended.
        intra_decoder: intra-decoder attention over previous decoder states
            (Paulus et al. 2018, eq. 6-8); its context joins the output layer,
            the copy switch and the features.
        share_embeddings: output projection tied to the embedding,
            ``W_out = tanh(W_emb W_proj)`` (Paulus et al. 2018, eq. 13).
        dropout: dropout on embeddings, encoder memory and the pre-output layer
            (0 keeps :meth:`step` and :meth:`score` deterministic in training mode too).
        source_feature_dim: ``F`` of precomputed features (``encoder="features"``).
            Named so, not ``feature_dim``, because ``Seq2SeqModel.feature_dim``
            is the size of the observation the environments expose.
        image_size: height and width of raw images (``encoder="cnn"``); checked on input.
        image_channels: channels of raw images (3).
        cnn_channels: output channels of the CNN's stride-2 3x3 convolutions;
            a 32x32 image becomes a ``32 / 2**len(cnn_channels)`` square grid.
        pixel_scale: raw pixel values are divided by this before normalisation (255 for uint8 images).
        max_decode_len: default length limit of :meth:`Seq2SeqModel.generate`.
        init_std: standard deviation of the normal initialisation of the
            embeddings and the output projection (LSTMs keep PyTorch's default).
    """

    vocab_size: int
    emb_dim: int = 128
    hidden_dim: int = 256
    enc_layers: int = 1
    dec_layers: int = 1
    bidirectional: bool = True
    encoder: str = "lstm"
    attention: str = "bahdanau"
    pointer_gen: bool = True
    coverage: bool = False
    cov_loss_weight: float = 1.0
    intra_temporal: bool = False
    intra_decoder: bool = False
    share_embeddings: bool = False
    dropout: float = 0.0
    source_feature_dim: int | None = None
    image_size: int = 32
    image_channels: int = 3
    cnn_channels: list[int] = field(default_factory=lambda: [32, 64, 128])
    pixel_scale: float = 255.0
    max_decode_len: int = 100
    init_std: float = 0.1

    def __post_init__(self) -> None:
        self.cnn_channels = [int(c) for c in self.cnn_channels]
        self.validate()

    # ------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise ``ValueError`` naming the first inconsistent field."""
        for name in ("vocab_size", "emb_dim", "hidden_dim", "enc_layers", "dec_layers", "max_decode_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive int, got {value!r}")
        for name in ("bidirectional", "pointer_gen", "coverage", "intra_temporal", "intra_decoder", "share_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"ModelConfig.{name} must be a bool, got {getattr(self, name)!r}")
        if self.vocab_size < 5:
            raise ValueError(
                f"ModelConfig.vocab_size must cover the 4 special tokens and a word, got {self.vocab_size}"
            )
        if self.encoder not in ENCODERS:
            raise ValueError(f"ModelConfig.encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"ModelConfig.attention must be one of {ATTENTIONS}, got {self.attention!r}")
        if self.pointer_gen and self.encoder != "lstm":
            raise ValueError(
                f"ModelConfig.pointer_gen needs source tokens to copy; encoder={self.encoder!r} has none "
                "(set pointer_gen=False for image or feature sources)"
            )
        if self.encoder == "features" and (self.source_feature_dim is None or self.source_feature_dim < 1):
            raise ValueError("ModelConfig.source_feature_dim must be set (> 0) when encoder='features'")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.cov_loss_weight < 0:
            raise ValueError(f"ModelConfig.cov_loss_weight must be >= 0, got {self.cov_loss_weight}")
        if not self.cnn_channels or any(c < 1 for c in self.cnn_channels):
            raise ValueError(
                f"ModelConfig.cnn_channels must be a non-empty list of positive ints, got {self.cnn_channels}"
            )
        if self.encoder == "cnn" and self.image_size < 2 ** len(self.cnn_channels):
            raise ValueError(
                f"ModelConfig.image_size={self.image_size} is too small for "
                f"{len(self.cnn_channels)} stride-2 convolutions"
            )
        if self.image_channels < 1 or self.pixel_scale <= 0 or self.init_std <= 0:
            raise ValueError("ModelConfig.image_channels, pixel_scale and init_std must be positive")

    # ---------------------------------------------------------- derived sizes
    @property
    def memory_dim(self) -> int:
        """Width ``E`` of the encoder memory the decoder attends over."""
        if self.encoder == "lstm" and self.bidirectional:
            return 2 * self.hidden_dim
        return self.hidden_dim

    @property
    def feature_dim(self) -> int:
        """Width ``D`` of the observation features: decoder state ``s_t``, context ``c_t`` (and ``c^d_t``)."""
        return self.hidden_dim + self.memory_dim + (self.hidden_dim if self.intra_decoder else 0)

    # ---------------------------------------------------------------- presets
    @classmethod
    def small(cls, vocab_size: int, **overrides: Any) -> ModelConfig:
        """The size used for the built-in tasks and the shipped generators: embeddings 64, hidden 128."""
        return cls(**{"vocab_size": vocab_size, "emb_dim": 64, "hidden_dim": 128, **overrides})

    @classmethod
    def tiny(cls, vocab_size: int, **overrides: Any) -> ModelConfig:
        """A model for tests and examples that train in seconds: embeddings 16, hidden 32, CNN 8-16 channels."""
        return cls(
            **{"vocab_size": vocab_size, "emb_dim": 16, "hidden_dim": 32, "cnn_channels": [8, 16], **overrides}
        )

    @classmethod
    def see2017(cls, vocab_size: int, **overrides: Any) -> ModelConfig:
        """Pointer-generator with coverage (See et al. 2017), the RLSeq2Seq defaults: emb 128, hidden 256."""
        return cls(**{"vocab_size": vocab_size, "pointer_gen": True, "coverage": True, **overrides})

    @classmethod
    def paulus2018(cls, vocab_size: int, **overrides: Any) -> ModelConfig:
        """Intra-temporal + intra-decoder attention, bilinear scores, copy and tied output (Paulus et al. 2018)."""
        return cls(
            **{
                "vocab_size": vocab_size,
                "attention": "bilinear",
                "pointer_gen": True,
                "intra_temporal": True,
                "intra_decoder": True,
                "share_embeddings": True,
                **overrides,
            }
        )

    @classmethod
    def for_task(cls, task: Task, preset: str = "small", **overrides: Any) -> ModelConfig:
        """A config for ``task``: its vocabulary size and an encoder that fits its sources.

        Text sources get the LSTM encoder with the pointer-generator; raw
        images (``[H, W, C]`` arrays) get the CNN encoder sized to the image;
        ``[F]`` or ``[N, F]`` float arrays get the feature encoder. Image tasks
        have no copy mechanism.

        Args:
            task: a :class:`~seq2seq_gym.data.Task` (its first training example is inspected).
            preset: ``"small"``, ``"tiny"``, ``"default"`` (RLSeq2Seq sizes), ``"see2017"`` or ``"paulus2018"``.
            **overrides: any other field.
        """
        presets = {
            "small": cls.small,
            "tiny": cls.tiny,
            "default": cls,
            "see2017": cls.see2017,
            "paulus2018": cls.paulus2018,
        }
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r}; known: {sorted(presets)}")
        kw: dict[str, Any] = {}
        if task.modality == "image":
            examples = next((task.splits[s] for s in ("train", *task.splits) if task.splits.get(s)), [])
            if not examples:
                raise ValueError(f"task {task.name!r} has no example to size the image encoder from")
            shape = tuple(np.asarray(examples[0].source).shape)
            if len(shape) == 3:
                kw = {"encoder": "cnn", "image_size": shape[0], "image_channels": shape[2]}
            elif len(shape) in (1, 2):
                kw = {"encoder": "features", "source_feature_dim": shape[-1]}
            else:
                raise ValueError(f"task {task.name!r}: cannot build an encoder for sources of shape {shape}")
            kw["pointer_gen"] = False
        kw.update(overrides)
        return presets[preset](len(task.vocab), **kw)

    # ----------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        if not isinstance(data, dict):
            raise TypeError(f"ModelConfig.from_dict needs a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s): {unknown}; known: {sorted(known)}")
        if "vocab_size" not in data:
            raise ValueError("ModelConfig.from_dict: missing required field 'vocab_size'")
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
