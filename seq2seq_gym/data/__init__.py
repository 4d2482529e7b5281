"""Examples, vocabularies, batching, task registry, loaders and built-in tasks.

Imports nothing else of ``seq2seq_gym``.
"""

from seq2seq_gym.data.batch import Batch, collate
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.task import Task, list_tasks, make_task, register_task
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
    "Example",
    "Task",
    "Vocab",
    "collate",
    "list_tasks",
    "make_task",
    "register_task",
]
