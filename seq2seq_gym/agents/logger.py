"""Training logger with stdout, CSV, JSON-lines and TensorBoard outputs.

Shaped like Stable-Baselines3's logger so that SB3 users find their way: values are
``record``-ed under ``"section/name"`` keys during an update and written together by
``dump(step)``; :func:`configure` picks the outputs by name,
``configure("runs/scst", ["stdout", "csv", "tensorboard"])``.

Key names follow SB3 where SB3 has one (``rollout/ep_rew_mean``, ``train/loss``,
``train/learning_rate``, ``time/fps``, ``time/total_timesteps``, ...); the keys that
sequence-level RL adds are listed in :data:`LOG_KEYS` with their meaning. Any other
``section/name`` key may be recorded too.

TensorBoard output needs the ``tensorboard`` package (``pip install
seq2seq-gym[tensorboard]``); :func:`configure` skips it with a warning when the
package is missing, so a run never fails for want of it.
"""

from __future__ import annotations

import csv
import json
import math
import numbers
import os
import sys
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FORMATS",
    "LOG_KEYS",
    "CSVOutputFormat",
    "HumanOutputFormat",
    "JSONOutputFormat",
    "KVWriter",
    "Logger",
    "TensorBoardOutputFormat",
    "configure",
]

#: The keys the agents write, SB3's first, with what each means. ``eval/<metric>``
#: stands for one key per validation metric (``eval/rougeL``, ``eval/bleu``, ...).
LOG_KEYS: dict[str, str] = {
    "rollout/ep_rew_mean": "mean sequence reward of the rollout's outputs (SB3)",
    "rollout/ep_len_mean": "mean output length in tokens (SB3)",
    "train/loss": "the total loss of the last update (SB3)",
    "train/learning_rate": "the optimizer's current learning rate (SB3)",
    "train/entropy_loss": "minus the mean per-token entropy, as added to the loss (SB3)",
    "train/value_loss": "critic regression loss (SB3)",
    "train/policy_gradient_loss": "the policy-gradient term of the loss (SB3)",
    "train/approx_kl": "PPO: estimated KL between the behaviour and the current policy (SB3)",
    "train/clip_fraction": "PPO: share of tokens whose ratio was clipped (SB3)",
    "train/n_updates": "gradient updates so far (SB3)",
    "time/fps": "generated tokens per second (SB3)",
    "time/total_timesteps": "generated tokens so far (a timestep is one token) (SB3)",
    "time/iterations": "rollout/update iterations so far (SB3)",
    "time/time_elapsed": "seconds since learn() started (SB3)",
    "train/baseline": "mean baseline subtracted from the rewards",
    "train/advantage_std": "standard deviation of the advantages",
    "train/entropy": "mean per-token policy entropy",
    "train/kl_to_init": "mean per-token KL from the policy to the starting generator",
    "train/grad_norm": "gradient norm before clipping",
    "train/skipped_updates": "updates skipped by the NaN/inf guard so far",
    "eval/<metric>": "validation corpus score of one metric",
}

Scalar = float | int | str


def _scalar(key: str, value: Any) -> Scalar:
    """A loggable value: a number (incl. numpy / one-element torch), a bool or a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "numel") and hasattr(value, "item"):  # torch tensors
        if value.numel() != 1:
            raise ValueError(f"value of {key!r} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        return _scalar(key, value.item())
    if hasattr(value, "shape") and hasattr(value, "item"):  # numpy arrays
        if getattr(value, "size", 0) != 1:
            raise ValueError(f"value of {key!r} must be a scalar, got an array of shape {tuple(value.shape)}")
        return _scalar(key, value.item())
    raise TypeError(f"value of {key!r} must be a number or a string, got {type(value).__name__}")


class KVWriter:
    """An output format: receives the values of one ``dump`` and the step."""

    name = "kv"

    def write(self, values: dict[str, Scalar], step: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release files."""


class HumanOutputFormat(KVWriter):
    """A readable table per dump, keys grouped by section (to a stream or a file).

    Args:
        target: a text stream (default ``sys.stdout``) or a file path (appended to).
        max_width: values and keys longer than this are cut with ``...`` for display.
    """

    name = "stdout"

    def __init__(self, target: IO[str] | str | os.PathLike | None = None, max_width: int = 36) -> None:
        if target is None or hasattr(target, "write"):
            self._file, self._own = (target if target is not None else sys.stdout), False
        else:
            self._file, self._own = open(target, "a", encoding="utf-8"), True  # noqa: SIM115
        self.max_width = max_width

    def _cut(self, s: str) -> str:
        return s if len(s) <= self.max_width else s[: self.max_width - 3] + "..."

    @staticmethod
    def _fmt(v: Scalar) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if math.isfinite(v) and v != 0 else str(v)
        return str(v)

    def write(self, values: dict[str, Scalar], step: int) -> None:
        rows: list[tuple[str, str]] = []
        section = None
        for key in sorted(values):
            head, _, tail = key.rpartition("/")
            if head != section:
                section = head
                if head:
                    rows.append((head + "/", ""))
            rows.append((("    " + tail) if head else key, self._fmt(values[key])))
        rows.append(("step", str(step)))
        kw = max(len(self._cut(k)) for k, _ in rows)
        vw = max(len(self._cut(v)) for _, v in rows)
        line = "-" * (kw + vw + 7)
        out = [line] + [f"| {self._cut(k):<{kw}} | {self._cut(v):<{vw}} |" for k, v in rows] + [line]
        self._file.write("\n".join(out) + "\n")
        self._file.flush()

    def log(self, message: str) -> None:
        self._file.write(message + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._own:
            self._file.close()


class CSVOutputFormat(KVWriter):
    """``progress.csv``: one row per dump, a ``step`` column first, then the keys in
    the order they first appeared. A key that appears later adds a column: the file is
    rewritten (atomically) with the wider header, earlier rows left empty there.

    Args:
        path: the CSV file (created or truncated).
    """

    name = "csv"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keys: list[str] = []
        self.path.write_text("", encoding="utf-8")

    def write(self, values: dict[str, Scalar], step: int) -> None:
        new = [k for k in values if k not in self.keys]
        if new:
            old_keys = self.keys
            self.keys = old_keys + new
            with open(self.path, newline="", encoding="utf-8") as f:
                old_rows = list(csv.reader(f))[1:] if old_keys else []
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".csv")
            try:
                with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
                    w = csv.writer(f)
                    w.writerow(["step", *self.keys])
                    w.writerows(row + [""] * len(new) for row in old_rows)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow([step, *(values.get(k, "") for k in self.keys)])


class JSONOutputFormat(KVWriter):
    """``progress.jsonl``: one JSON object per dump, ``{"step": ..., key: value, ...}``
    (non-finite floats written as ``null``).

    Args:
        path: the file (created or truncated).
    """

    name = "json"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115

    def write(self, values: dict[str, Scalar], step: int) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}
        self._file.write(json.dumps({"step": step, **clean}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class TensorBoardOutputFormat(KVWriter):
    """TensorBoard event files through ``torch.utils.tensorboard`` (scalars only; string
    values are skipped). Needs the ``tensorboard`` package.

    Args:
        folder: the event-file directory.
    """

    name = "tensorboard"

    def __init__(self, folder: str | os.PathLike) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # torch raises ImportError when tensorboard is missing
            raise ImportError("TensorBoard output needs the tensorboard package: "
                              "pip install 'seq2seq-gym[tensorboard]'") from e
        self.writer = SummaryWriter(log_dir=str(folder))

    def write(self, values: dict[str, Scalar], step: int) -> None:
        for key, v in values.items():
            if not isinstance(v, str):
                self.writer.add_scalar(key, v, global_step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


#: output format names accepted by :func:`configure`
FORMATS = ("stdout", "csv", "json", "tensorboard")


class Logger:
    """Collects ``key -> value`` during an update and writes them to every output on ``dump``.

    Args:
        folder: where file outputs live (None: no files).
        output_formats: the :class:`KVWriter` outputs.
    """

    def __init__(self, folder: str | os.PathLike | None, output_formats: Sequence[KVWriter]) -> None:
        self.folder = None if folder is None else Path(folder)
        self.output_formats = list(output_formats)
        self.name_to_value: dict[str, Scalar] = {}
        self._means: dict[str, tuple[float, int]] = {}
        self._exclude: dict[str, tuple[str, ...]] = {}

    @staticmethod
    def _check_key(key: Any) -> str:
        if not isinstance(key, str) or not key or key.startswith("/") or key.endswith("/"):
            raise ValueError(f"key must be a non-empty 'section/name' string, got {key!r}")
        if key == "step":
            raise ValueError("'step' is reserved (it is the dump's step)")
        return key

    @staticmethod
    def _check_exclude(exclude: str | Iterable[str] | None) -> tuple[str, ...]:
        if exclude is None:
            return ()
        names = (exclude,) if isinstance(exclude, str) else tuple(exclude)
        bad = [n for n in names if n not in FORMATS]
        if bad:
            raise ValueError(f"exclude must name output formats {FORMATS}, got {bad}")
        return names

    def record(self, key: str, value: Any, exclude: str | Iterable[str] | None = None) -> None:
        """Set ``key`` to ``value`` for the next dump (the last value recorded wins).

        Args:
            key: ``"section/name"`` (see :data:`LOG_KEYS`).
            value: a number (Python, numpy or a one-element tensor) or a string.
            exclude: output format name(s) that should not receive this key (e.g. ``"stdout"``).
        """
        key = self._check_key(key)
        v = _scalar(key, value)
        ex = self._check_exclude(exclude)
        self._means.pop(key, None)
        self.name_to_value[key] = v
        self._exclude[key] = ex

    def record_mean(self, key: str, value: Any, exclude: str | Iterable[str] | None = None) -> None:
        """Average ``value`` over all calls until the next dump."""
        key = self._check_key(key)
        v = _scalar(key, value)
        if isinstance(v, str):
            raise TypeError(f"record_mean needs a number for {key!r}, got a string")
        ex = self._check_exclude(exclude)
        total, n = self._means.get(key, (0.0, 0))
        self._means[key] = (total + float(v), n + 1)
        self.name_to_value[key] = (total + float(v)) / (n + 1)
        self._exclude[key] = ex

    def get_log_dict(self) -> dict[str, Scalar]:
        """A copy of the values recorded since the last dump."""
        return dict(self.name_to_value)

    def dump(self, step: int = 0) -> None:
        """Write the recorded values to every output (each without its excluded keys), then clear them."""
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise TypeError(f"step must be an int, got {step!r}")
        if self.name_to_value:
            for fmt in self.output_formats:
                values = {k: v for k, v in self.name_to_value.items() if fmt.name not in self._exclude.get(k, ())}
                if values:
                    fmt.write(values, int(step))
        self.name_to_value.clear()
        self._means.clear()
        self._exclude.clear()

    def log(self, *args: Any) -> None:
        """Print a message to the human-readable outputs."""
        for fmt in self.output_formats:
            if isinstance(fmt, HumanOutputFormat):
                fmt.log(" ".join(str(a) for a in args))

    def close(self) -> None:
        for fmt in self.output_formats:
            fmt.close()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Logger(folder={self.folder}, formats={[f.name for f in self.output_formats]})"


def configure(folder: str | os.PathLike | None = None, format_strings: Sequence[str] | None = None) -> Logger:
    """A :class:`Logger` writing to the named outputs (as SB3's ``configure``).

    Args:
        folder: directory of the file outputs: ``progress.csv``, ``progress.jsonl``,
            TensorBoard event files. Required by every format but ``"stdout"``.
        format_strings: any of :data:`FORMATS`; default ``["stdout"]`` without a folder,
            ``["stdout", "csv"]`` with one. ``"tensorboard"`` is skipped with a warning
            when the ``tensorboard`` package is not installed.
    """
    if format_strings is None:
        format_strings = ["stdout"] if folder is None else ["stdout", "csv"]
    if isinstance(format_strings, str):
        raise TypeError("format_strings must be a list of names, e.g. ['stdout', 'csv']")
    bad = [f for f in format_strings if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown output format(s) {bad}; valid: {list(FORMATS)}")
    if folder is None and any(f != "stdout" for f in format_strings):
        raise ValueError(f"folder is required for the file outputs {[f for f in format_strings if f != 'stdout']}")
    root = None if folder is None else Path(folder)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    outputs: list[KVWriter] = []
    for name in dict.fromkeys(format_strings):  # keep order, drop repeats
        if name == "stdout":
            outputs.append(HumanOutputFormat())
        elif name == "csv":
            outputs.append(CSVOutputFormat(root / "progress.csv"))
        elif name == "json":
            outputs.append(JSONOutputFormat(root / "progress.jsonl"))
        else:
            try:
                outputs.append(TensorBoardOutputFormat(root))
            except ImportError as e:
                warnings.warn(f"{e}; skipping the tensorboard output", stacklevel=2)
    return Logger(root, outputs)
