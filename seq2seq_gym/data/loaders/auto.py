"""Guess the loader for data on disk from its layout (what ``data=`` paths use)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seq2seq_gym.data.task import Task, list_tasks, make_task, registered_factory
from seq2seq_gym.data.vocab import Vocab

_SPLIT_NAMES = {
    "train": ("train",),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test",),
}


def _split_files(root: Path, suffix: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for split, names in _SPLIT_NAMES.items():
        for n in names:
            p = root / f"{n}{suffix}"
            if p.is_file():
                found[split] = p
                break
    return found


def load_path(path: str | os.PathLike, **kwargs: Any) -> Task:
    """Load a task from ``path`` by its layout; ``kwargs`` go to the chosen loader.

    Recognised layouts:

    * a ``.jsonl`` file: one JSON record per line with a ``source`` field and
      a ``target`` and/or ``references`` field (every reference is read; the
      first is the training target), cut into train / validation / test by
      a hash of the records' ``id`` field (kept as the example id; repeated
      ids get a ``#k`` suffix, see ``duplicate_ids``) or, without one, of the
      line (:func:`~seq2seq_gym.data.load_jsonl_task`);
    * a ``.tsv`` file: ``source<TAB>target`` lines, cut the same way;
    * a directory with ``train.jsonl`` (and ``validation.jsonl`` / ``val`` /
      ``dev``, ``test.jsonl``), or the same with ``.tsv``;
    * a directory of CNN/DailyMail ``.story`` files or pointer-generator
      ``.bin`` chunks (:func:`~seq2seq_gym.data.load_cnn_dm_task`);
    * a Karpathy-split captioning file ``dataset_*.json``
      (:func:`~seq2seq_gym.data.load_karpathy_task`; pass ``features=``).

    Every loader takes ``vocab=`` (a :class:`~seq2seq_gym.data.Vocab`, e.g. a
    trained generator's ``model.vocab``, or a ``word count`` file) to use
    instead of a vocabulary built from the training split.

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` naming
    the layouts above when none matches.
    """
    from seq2seq_gym.data.loaders import (
        load_cnn_dm_task,
        load_jsonl_task,
        load_karpathy_task,
        load_tsv_task,
    )

    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"data path does not exist: {p}")
    if p.is_file():
        name = p.name.lower()
        if name.endswith((".jsonl", ".jsonl.gz")):
            return load_jsonl_task(data=p, **kwargs)
        if name.endswith((".tsv", ".tsv.gz")):
            return load_tsv_task(data=p, **kwargs)
        if name.startswith("dataset") and name.endswith(".json"):
            return load_karpathy_task(p, **kwargs)
    else:
        for suffix, loader in ((".jsonl", load_jsonl_task), (".tsv", load_tsv_task)):
            files = _split_files(p, suffix)
            if "train" in files:
                return loader(**files, **kwargs)
        if any(p.glob("*.story")) or any(p.rglob("*.bin")):
            return load_cnn_dm_task(p, **kwargs)
    raise ValueError(
        f"cannot tell the format of {p}: expected a .jsonl or .tsv file, a directory with train.jsonl / "
        "train.tsv (+ validation, test), a directory of CNN/DailyMail .story or .bin files, or a Karpathy "
        "dataset_*.json; or build the task with seq2seq_gym.data.make_task(...) and pass it as data="
    )


def load_task(
    source: str | os.PathLike | Task,
    *,
    vocab: Vocab | None = None,
    what: str = "data",
    **kwargs: Any,
) -> Task:
    """A task from a registered name, a path on disk (:func:`load_path`) or a :class:`Task`.

    What environments' ``data=`` and ``seq2seq-gym evaluate --task`` accept.
    With ``vocab`` (a trained generator's vocabulary), a task read from files
    uses that vocabulary instead of building one from its training split:
    words outside it are ``<unk>`` in the encoder's input and copy slots for
    the pointer, as for any out-of-vocabulary word. ``vocab`` goes to every
    loader (``load_path``'s and registered ones that take a ``vocab``
    argument); the built-in generated tasks have their own vocabulary and
    ignore it, and a :class:`Task` is returned unchanged (compare
    ``task.vocab`` yourself: :meth:`Vocab.difference`).

    Args:
        source: a registered task name (:func:`~seq2seq_gym.data.list_tasks`),
            a path in one of :func:`load_path`'s layouts, or a Task.
        vocab: the vocabulary to use when the task is read from files.
        what: the argument name used in messages (``"data"``, ``"--task"``).
        **kwargs: arguments of the task's builder (not allowed with a Task).

    Raises:
        FileNotFoundError: ``source`` is neither a registered name nor an existing path.
        TypeError: ``source`` has another type, or ``kwargs`` come with a Task.
    """
    if vocab is not None and not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a Vocab or None, got {type(vocab).__name__}")
    if isinstance(source, Task):
        if kwargs:
            raise TypeError(f"{what}: task arguments {sorted(kwargs)} cannot be applied to a built Task")
        return source
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"{what} must be a Task, a task name or a path, got {type(source).__name__}")
    name = os.fspath(source)
    if name in list_tasks():
        if vocab is not None and "vocab" not in kwargs and _takes(registered_factory(name), "vocab"):
            kwargs["vocab"] = vocab
        return make_task(name, **kwargs)
    path = Path(name).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"{what}={name!r} is neither a registered task ({', '.join(list_tasks())}) nor an existing path"
        )
    if vocab is not None:
        kwargs.setdefault("vocab", vocab)
    return load_path(path, **kwargs)


def _takes(fn: Any, arg: str) -> bool:
    """Whether ``fn`` names ``arg`` among its parameters (a bare ``**kwargs`` does not count)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params
