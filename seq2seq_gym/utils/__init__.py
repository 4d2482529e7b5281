"""Small leaf utilities shared by the rooms (they import nothing of ours, only the standard library).

- :func:`atomic_directory`: replace a whole directory atomically (checkpoints as one unit).
- :func:`committed_directory`: the directory a reader of such a checkpoint should read.
- :func:`atomic_write`: replace one file atomically.
"""

from seq2seq_gym.utils.atomic import atomic_directory, atomic_write, committed_directory

__all__ = ["atomic_directory", "atomic_write", "committed_directory"]
