"""seq2seq_gym: text generation as reinforcement learning.

Summarization, image captioning and translation exposed as Gymnasium
environments (observation: the decoder's hidden state; action: a vocabulary
token; reward: ROUGE, BLEU or CIDEr-D), exact batched sequence rewards, and
agents that fine-tune the whole encoder-decoder. It implements the methods of
"Deep Reinforcement Learning for Sequence-to-Sequence Models" (Keneshloo, Shi,
Ramakrishnan, Reddy).

Subpackages (imports point one way: data, rewards <- models <- envs <- agents):

- :mod:`seq2seq_gym.data`    examples, vocabularies, tokenizers, loaders, built-in tasks
- :mod:`seq2seq_gym.rewards` ROUGE, BLEU, CIDEr-D on token ids (terminal, dense, lookahead)
- :mod:`seq2seq_gym.models`  attention encoder-decoder, pointer-generator, decoding
- :mod:`seq2seq_gym.envs`    Gymnasium environments and the native vector env
- :mod:`seq2seq_gym.agents`  reinforcement-learning agents
"""

__version__ = "0.1.0"

# Register the Seq2Seq/* Gymnasium ids. This imports only gymnasium: the
# environment classes (and torch) load on the first gymnasium.make().
from seq2seq_gym.envs import registration as _registration  # noqa: F401

__all__ = ["__version__"]
