"""Exact, batched sequence rewards on token ids: ROUGE, BLEU, CIDEr-D.

Each metric (:class:`Rouge`, :class:`RougeL`, :class:`RougeLsum`, :class:`Bleu`,
:class:`CiderD`) scores token-id tensors in three modes (``terminal``, ``dense``,
``lookahead``), keeps running state for token-by-token generation
(``prefix_scorer``) and scores text exactly as its reference library
(``score``: rouge-score, sacrebleu, pycocoevalcap). :func:`make_reward` builds a
metric or a weighted :class:`MixedReward` from a spec such as ``"rougeL:0.5,bleu:0.5"``.

The kernels are compiled with numba on first use (cached on disk). This subpackage
imports nothing else of ``seq2seq_gym``.
"""

from seq2seq_gym.rewards.base import Metric, PrefixScorer
from seq2seq_gym.rewards.bleu import Bleu
from seq2seq_gym.rewards.cider import CiderD, DocumentFrequency
from seq2seq_gym.rewards.mixed import MixedPrefixScorer, MixedReward, list_metrics, make_reward
from seq2seq_gym.rewards.rouge import Rouge, RougeL, RougeLsum
from seq2seq_gym.rewards.text import rouge_tokenize, tokenize_13a

__all__ = [
    "Bleu",
    "CiderD",
    "DocumentFrequency",
    "Metric",
    "MixedPrefixScorer",
    "MixedReward",
    "PrefixScorer",
    "Rouge",
    "RougeL",
    "RougeLsum",
    "list_metrics",
    "make_reward",
    "rouge_tokenize",
    "tokenize_13a",
]
