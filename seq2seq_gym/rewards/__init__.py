"""Exact, batched sequence rewards on token ids: ROUGE, BLEU, CIDEr-D.

Each metric (:class:`Rouge`, :class:`RougeL`, :class:`RougeLsum`, :class:`Bleu`,
:class:`CiderD`) scores token-id tensors in three modes (``terminal``, ``dense``,
``lookahead``), keeps running state for token-by-token generation
(``prefix_scorer``) and scores text exactly as its reference library
(``score``: rouge-score, sacrebleu, pycocoevalcap). :func:`make_reward` builds a
metric or a weighted :class:`MixedReward` from a spec such as ``"rougeL:0.5,bleu:0.5"``.

:class:`Reward` is the reward of a task on *word ids* of a vocabulary (plus copied
source words): it equals the reference library on the decoded text (the words joined
by single spaces) with the field's conventions (ROUGE with the Porter stemmer,
sacrebleu's 13a tokens, CIDEr-D on pycocoevalcap's PTB tokens), by mapping each word
once to the metric's tokens (:class:`TokenMap`).

The kernels are compiled with numba on first use (cached on disk). This subpackage
imports nothing else of ``seq2seq_gym``.
"""

from seq2seq_gym.rewards.base import ColumnMap, Metric, PrefixScorer
from seq2seq_gym.rewards.bleu import Bleu
from seq2seq_gym.rewards.cider import CiderD, DocumentFrequency
from seq2seq_gym.rewards.mixed import MixedPrefixScorer, MixedReward, list_metrics, make_reward
from seq2seq_gym.rewards.reward import EncodedReferences, Reward, RewardPrefixScorer, reference_texts
from seq2seq_gym.rewards.rouge import Rouge, RougeL, RougeLsum
from seq2seq_gym.rewards.text import TEXT_TOKENIZERS, ptb_tokenize, rouge_tokenize, tokenize_13a
from seq2seq_gym.rewards.tokens import TokenMap

__all__ = [
    "TEXT_TOKENIZERS",
    "Bleu",
    "CiderD",
    "ColumnMap",
    "DocumentFrequency",
    "EncodedReferences",
    "Metric",
    "MixedPrefixScorer",
    "MixedReward",
    "PrefixScorer",
    "Reward",
    "RewardPrefixScorer",
    "Rouge",
    "RougeL",
    "RougeLsum",
    "TokenMap",
    "list_metrics",
    "make_reward",
    "ptb_tokenize",
    "reference_texts",
    "rouge_tokenize",
    "tokenize_13a",
]
