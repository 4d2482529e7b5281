"""Built-in SYNTHETIC tasks, generated from a seed without any data file.

``summarization``, ``captioning`` and ``translation`` (also registered under
those names): deterministic from ``seed``, versioned through
``Task.info["generator_version"]``, and cached in-process on their
arguments (the same read-only :class:`~seq2seq_gym.data.task.Task` object is
returned for the same arguments; ``clear_cache()`` empties the caches).
"""

from seq2seq_gym.data.synthetic.captioning import captioning_task
from seq2seq_gym.data.synthetic.summarization import summarization_task
from seq2seq_gym.data.synthetic.translation import translation_task

GENERATORS = {
    "summarization": summarization_task,
    "captioning": captioning_task,
    "translation": translation_task,
}


def clear_cache() -> None:
    """Forget every cached generated task (the next call regenerates it)."""
    for fn in GENERATORS.values():
        fn.cache_clear()


__all__ = ["GENERATORS", "captioning_task", "clear_cache", "summarization_task", "translation_task"]
