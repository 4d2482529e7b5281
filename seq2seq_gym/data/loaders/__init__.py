"""Loaders for corpora on disk (no network access; paths given by the user).

Each builder returns a :class:`~seq2seq_gym.data.task.Task`; the same
builders are registered in the task registry (``make_task("jsonl", ...)``).
Reading rules for bad input are listed in :mod:`seq2seq_gym.data.textio`.
"""

from seq2seq_gym.data.loaders.auto import load_path, load_task
from seq2seq_gym.data.loaders.cnn_dm import load_cnn_dm_task, parse_story, read_bin, write_bin
from seq2seq_gym.data.loaders.corpora import load_aeslc, load_multi30k, load_scitldr
from seq2seq_gym.data.loaders.jsonl import load_jsonl_task, load_tsv_task, read_jsonl, read_tsv
from seq2seq_gym.data.loaders.karpathy import load_karpathy_task
from seq2seq_gym.data.loaders.parallel import load_parallel_task, read_parallel

LOADERS = {
    "jsonl": load_jsonl_task,
    "tsv": load_tsv_task,
    "cnn_dm": load_cnn_dm_task,
    "karpathy": load_karpathy_task,
    "parallel": load_parallel_task,
    "aeslc": load_aeslc,
    "scitldr": load_scitldr,
    "multi30k": load_multi30k,
}

__all__ = [
    "LOADERS",
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
    "parse_story",
    "read_bin",
    "read_jsonl",
    "read_parallel",
    "read_tsv",
    "write_bin",
]
