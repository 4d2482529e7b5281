"""Examples, vocabularies, tokenizers, batching, task registry, loaders and built-in tasks.

Imports nothing else of ``seq2seq_gym``.

Registered tasks (``make_task(name, **kwargs)``):

- built-in SYNTHETIC tasks, generated from ``seed`` (no files):
  ``"summarization"``, ``"captioning"``, ``"translation"``;
- loaders for files on disk: ``"jsonl"``, ``"tsv"``, ``"cnn_dm"``,
  ``"karpathy"``, ``"parallel"``;
- corpora with a ``root=`` folder: ``"aeslc"``, ``"scitldr"``, ``"multi30k"``.

``load_path(path)`` guesses a loader from the files' layout, and
``load_task(name_or_path, vocab=...)`` builds either kind, with a trained
generator's vocabulary when one is given.

Tasks are treated as read-only (generated tasks are cached and shared).
"""

from seq2seq_gym.data.batch import Batch, collate
from seq2seq_gym.data.builder import build_task
from seq2seq_gym.data.describe import describe, format_description
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.loaders import (
    LOADERS,
    load_aeslc,
    load_cnn_dm_task,
    load_jsonl_task,
    load_karpathy_task,
    load_multi30k,
    load_parallel_task,
    load_path,
    load_scitldr,
    load_task,
    load_tsv_task,
)
from seq2seq_gym.data.splits import batch_order, check_disjoint, split_examples
from seq2seq_gym.data.synthetic import (
    GENERATORS,
    captioning_task,
    clear_cache,
    summarization_task,
    translation_task,
)
from seq2seq_gym.data.task import Task, list_tasks, make_task, register_task
from seq2seq_gym.data.textio import DataWarning
from seq2seq_gym.data.tokenize import (
    HFTokenizer,
    SentencePieceTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    word_tokenize,
)
from seq2seq_gym.data.vocab import (
    BOS,
    BOS_ID,
    EOS,
    EOS_ID,
    PAD,
    PAD_ID,
    SPECIALS,
    UNK,
    UNK_ID,
    Vocab,
)

for _name, _factory in {**GENERATORS, **LOADERS}.items():
    register_task(_name, _factory, overwrite=True)
del _name, _factory

__all__ = [
    "BOS",
    "BOS_ID",
    "EOS",
    "EOS_ID",
    "PAD",
    "PAD_ID",
    "SPECIALS",
    "UNK",
    "UNK_ID",
    "Batch",
    "DataWarning",
    "Example",
    "HFTokenizer",
    "SentencePieceTokenizer",
    "Task",
    "Tokenizer",
    "Vocab",
    "WhitespaceTokenizer",
    "WordTokenizer",
    "batch_order",
    "build_task",
    "captioning_task",
    "check_disjoint",
    "clear_cache",
    "collate",
    "describe",
    "format_description",
    "get_tokenizer",
    "list_tasks",
    "load_aeslc",
    "load_cnn_dm_task",
    "load_jsonl_task",
    "load_karpathy_task",
    "load_multi30k",
    "load_parallel_task",
    "load_path",
    "load_scitldr",
    "load_task",
    "load_tsv_task",
    "make_task",
    "register_task",
    "split_examples",
    "summarization_task",
    "translation_task",
    "word_tokenize",
]
