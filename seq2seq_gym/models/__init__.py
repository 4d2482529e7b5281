"""Attention encoder-decoder models: pointer-generator, coverage, intra-attention, decoding, checkpoints.

Imports only :mod:`seq2seq_gym.data` and the leaf :mod:`seq2seq_gym.utils`.

- :class:`ModelConfig`: every architecture option (See et al. 2017; Paulus et al. 2018).
- :class:`Seq2SeqModel`: ``encode`` / ``init_state`` / ``step`` for environments,
  ``score`` / ``mle_loss`` for training, ``generate`` for decoding, ``save`` / ``load``.
- :class:`Memory`, :class:`DecoderState`: batch-first, row-independent (``index_select``, ``replace_rows``).
- Input policies against exposure bias: :class:`TeacherForcing`, :class:`ScheduledSampling`,
  :class:`SoftArgmax`, :class:`TopKEmbedding`.
- :func:`train_mle`: a minimal supervised training loop (checkpoints, exact resume, time budget).
- Checkpoints, each written atomically as a whole: :func:`save_model` / :func:`load_model` (a model),
  :func:`save_training_state` / :func:`load_training_state` (model + optimizers + RNG states +
  counters + history, for exact resume; used by ``train_mle`` and the agents).
"""

from seq2seq_gym.models.checkpoint import load_model, resolve_device, save_model
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
from seq2seq_gym.models.training import CURVE_COLUMNS, TrainHistory, evaluate_mle, train_mle
from seq2seq_gym.models.training_state import (
    Stateful,
    TrainingState,
    has_training_state,
    load_training_state,
    read_training_state_info,
    save_training_state,
)

__all__ = [
    "CURVE_COLUMNS",
    "DecoderState",
    "GenerationOutput",
    "InputPolicy",
    "Memory",
    "ModelConfig",
    "ScheduledSampling",
    "ScoreOutput",
    "Seq2SeqModel",
    "SoftArgmax",
    "Stateful",
    "TeacherForcing",
    "TopKEmbedding",
    "TrainHistory",
    "TrainingState",
    "banned_trigram_mask",
    "evaluate_mle",
    "generate",
    "has_training_state",
    "load_model",
    "load_training_state",
    "read_training_state_info",
    "resolve_device",
    "save_model",
    "save_training_state",
    "train_mle",
]
