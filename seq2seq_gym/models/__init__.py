"""Attention encoder-decoder models: pointer-generator, coverage, intra-attention, decoding, checkpoints.

Imports only :mod:`seq2seq_gym.data` and the leaf :mod:`seq2seq_gym.utils`.

- :class:`ModelConfig`: every architecture option (See et al. 2017; Paulus et al. 2018).
- :class:`Seq2SeqModel`: ``encode`` / ``init_state`` / ``step`` for environments,
  ``score`` / ``mle_loss`` for training, ``generate`` for decoding, ``save`` / ``load``.
- :class:`Memory`, :class:`DecoderState`: batch-first, row-independent (``index_select``, ``replace_rows``).
- Input policies against exposure bias: :class:`TeacherForcing`, :class:`ScheduledSampling`,
  :class:`SoftArgmax`, :class:`TopKEmbedding`.
- :func:`train_mle`: a minimal supervised training loop.
- :func:`save_model` / :func:`load_model`: checkpoints written atomically as a whole.
"""

from seq2seq_gym.models.checkpoint import load_model, save_model
from seq2seq_gym.models.config import ModelConfig
from seq2seq_gym.models.decoding import GenerationOutput, banned_trigram_mask, generate
from seq2seq_gym.models.input_policies import (
    InputPolicy,
    ScheduledSampling,
    SoftArgmax,
    TeacherForcing,
    TopKEmbedding,
)
from seq2seq_gym.models.seq2seq import ScoreOutput, Seq2SeqModel
from seq2seq_gym.models.state import DecoderState, Memory
from seq2seq_gym.models.training import TrainHistory, evaluate_mle, train_mle

__all__ = [
    "DecoderState",
    "GenerationOutput",
    "InputPolicy",
    "Memory",
    "ModelConfig",
    "ScheduledSampling",
    "ScoreOutput",
    "Seq2SeqModel",
    "SoftArgmax",
    "TeacherForcing",
    "TopKEmbedding",
    "TrainHistory",
    "banned_trigram_mask",
    "evaluate_mle",
    "generate",
    "load_model",
    "save_model",
    "train_mle",
]
