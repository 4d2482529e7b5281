"""Model checkpoints: a directory with ``model.safetensors``, ``vocab.txt`` and ``config.json``.

Writes are atomic per file (temporary file in the same directory, then
``os.replace``), and ``config.json`` is written last: it records the SHA-256 of
the weights and vocabulary files it belongs with, so an interrupted save, a
file from another save or a corrupted file is detected on load instead of
giving a silently different model. Loading needs nothing but the directory.

``config.json``::

    {"format": "seq2seq_gym.models/1", "config": {...ModelConfig...},
     "vocab": {"file": "vocab.txt", "lower": false, "sha256": "..."} or null,
     "weights": {"file": "model.safetensors", "sha256": "..."}}
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from seq2seq_gym.data import Vocab
from seq2seq_gym.models.config import ModelConfig

if TYPE_CHECKING:
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

FORMAT = "seq2seq_gym.models/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.txt"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _temp_path(directory: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def _replace(tmp: Path, target: Path) -> None:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)


def save_model(model: Seq2SeqModel, directory: str | os.PathLike) -> None:
    """Save ``model`` into ``directory`` (created if needed; an earlier checkpoint there is replaced).

    Args:
        model: the model.
        directory: the checkpoint directory.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    tmp = _temp_path(d, WEIGHTS_FILE)
    try:
        save_file(tensors, str(tmp), metadata={"format": FORMAT})
        weights_sha = _sha256(tmp)
        _replace(tmp, d / WEIGHTS_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    vocab_info: dict[str, Any] | None = None
    if model.vocab is not None:
        model.vocab.save(d / VOCAB_FILE)  # atomic (temporary file + rename)
        vocab_info = {"file": VOCAB_FILE, "lower": model.vocab.lower, "sha256": _sha256(d / VOCAB_FILE)}
    else:
        (d / VOCAB_FILE).unlink(missing_ok=True)
    meta = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "vocab": vocab_info,
        "weights": {"file": WEIGHTS_FILE, "sha256": weights_sha},
    }
    tmp = _temp_path(d, CONFIG_FILE)
    try:
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _replace(tmp, d / CONFIG_FILE)
    finally:
        tmp.unlink(missing_ok=True)


def load_model(directory: str | os.PathLike, map_location: str | torch.device | None = None) -> Seq2SeqModel:
    """Rebuild the model saved in ``directory`` (returned in eval mode).

    Args:
        directory: a directory written by :func:`save_model`.
        map_location: device for the weights (default CPU).

    Raises:
        FileNotFoundError: the directory or one of its files is missing.
        ValueError: a file is corrupt, from another save, or of another format.
    """
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {d}")
    cfg_path = d / CONFIG_FILE
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{d} is not a seq2seq_gym model checkpoint: {CONFIG_FILE} is missing")
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"corrupt checkpoint file {cfg_path}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{cfg_path}: unsupported checkpoint format {found!r} (expected {FORMAT!r})")
    try:
        config = ModelConfig.from_dict(meta["config"])
        weights_info = meta["weights"]
        vocab_info = meta.get("vocab")
    except (KeyError, TypeError) as e:
        raise ValueError(f"{cfg_path}: missing or malformed entry {e}") from None

    weights_path = d / weights_info["file"]
    if not weights_path.is_file():
        raise FileNotFoundError(f"checkpoint weights not found: {weights_path}")
    if _sha256(weights_path) != weights_info.get("sha256"):
        raise ValueError(
            f"checkpoint weights {weights_path} do not match {cfg_path} "
            "(corrupt, partially written or from another save)"
        )
    try:
        tensors = load_file(str(weights_path), device=str(map_location or "cpu"))
    except (SafetensorError, OSError, RuntimeError) as e:
        raise ValueError(f"corrupt checkpoint weights {weights_path}: {e}") from None

    vocab = None
    if vocab_info is not None:
        vocab_path = d / vocab_info["file"]
        if not vocab_path.is_file():
            raise FileNotFoundError(f"checkpoint vocabulary not found: {vocab_path}")
        if _sha256(vocab_path) != vocab_info.get("sha256"):
            raise ValueError(
                f"checkpoint vocabulary {vocab_path} does not match {cfg_path} (corrupt or from another save)"
            )
        vocab = Vocab.load(vocab_path, lower=bool(vocab_info.get("lower", False)))

    model = Seq2SeqModel(config, vocab=vocab)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint weights {weights_path} do not fit the config: missing {missing}, unexpected {unexpected}"
        )
    if map_location is not None:
        model.to(map_location)
    return model.eval()
