"""Model checkpoints: a directory with ``model.safetensors``, ``vocab.txt`` and ``config.json``.

A save replaces the directory as a whole (:func:`seq2seq_gym.utils.atomic_directory`):
a process killed at any moment leaves the old or the new checkpoint, complete
and loadable, and the temporary directory it leaves is removed by the next
save. Other files in the directory (``metrics.json``, a training state, a
user's notes) survive a save.

``config.json`` records the SHA-256 of the weights and vocabulary files it
belongs with, and a SHA-256 of its own content, so that a corrupt or
replaced file, or an edited config (say ``intra_temporal`` switched on, which
would silently change every output), is reported on load. The architecture is
also stored in the weights file's metadata, so the error names the edited
fields. Loading needs nothing but the directory.

``config.json``::

    {"format": "seq2seq_gym.models/2", "config": {...ModelConfig...},
     "vocab": {"file": "vocab.txt", "lower": false, "sha256": "..."} or null,
     "weights": {"file": "model.safetensors", "sha256": "..."},
     "sha256": "<SHA-256 of the canonical JSON of the entries above>"}

Format ``seq2seq_gym.models/1`` (no ``sha256`` of its own) is still read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from seq2seq_gym.data import Vocab
from seq2seq_gym.models.config import ModelConfig
from seq2seq_gym.utils.atomic import atomic_directory, committed_directory

if TYPE_CHECKING:
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

FORMAT = "seq2seq_gym.models/2"
LEGACY_FORMATS = ("seq2seq_gym.models/1",)
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.txt"
MODEL_FILES = frozenset({CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE})


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of ``obj``'s canonical JSON (sorted keys, no whitespace): layout-independent."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def resolve_device(device: str | int | torch.device | None, name: str = "map_location") -> torch.device | None:
    """``device`` as a usable ``torch.device`` (None stays None); ``ValueError`` naming ``name`` otherwise.

    Checks both the spelling (``"bogus"``) and that the device exists here
    (``"cuda"`` without CUDA, ``"cuda:7"`` on a one-GPU machine).
    """
    if device is None:
        return None
    if isinstance(device, bool) or not isinstance(device, (str, int, torch.device)):
        raise TypeError(f"{name} must be a device string such as 'cpu' or 'cuda:0', got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as e:
        raise ValueError(f"{name}={device!r} is not a torch device ('cpu', 'cuda', 'cuda:1', ...): {e}") from None
    try:
        torch.empty(0, device=dev)
    except (RuntimeError, AssertionError, ValueError) as e:
        raise ValueError(f"{name}={device!r} is not available on this machine: {e}") from None
    return dev


# ------------------------------------------------------------------------ writing
def write_model_files(model: Seq2SeqModel, directory: Path) -> dict[str, Any]:
    """Write the three model files into ``directory`` (not atomic by itself; used inside a staging directory).

    Returns the ``config.json`` content (with the weights' SHA-256 under ``["weights"]["sha256"]``).
    """
    config = model.config.to_dict()
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    weights_path = directory / WEIGHTS_FILE
    save_file(tensors, str(weights_path), metadata={"format": FORMAT, "config": json.dumps(config, sort_keys=True)})
    vocab_info: dict[str, Any] | None = None
    if model.vocab is not None:
        model.vocab.save(directory / VOCAB_FILE)
        vocab_info = {"file": VOCAB_FILE, "lower": model.vocab.lower, "sha256": sha256_file(directory / VOCAB_FILE)}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "config": config,
        "vocab": vocab_info,
        "weights": {"file": WEIGHTS_FILE, "sha256": sha256_file(weights_path)},
    }
    meta["sha256"] = sha256_json(meta)
    (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    # safetensors and Vocab.save's temporary file create owner-only files; give them the
    # permissions of a file created normally (config.json: 0o666 minus the umask)
    mode = (directory / CONFIG_FILE).stat().st_mode & 0o777
    for name in (WEIGHTS_FILE, VOCAB_FILE):
        if (directory / name).exists():
            os.chmod(directory / name, mode)
    return meta


def save_model(model: Seq2SeqModel, directory: str | os.PathLike) -> None:
    """Save ``model`` into ``directory``, atomically as a whole (created if needed; an earlier checkpoint is replaced).

    Files in ``directory`` other than the three model files are kept.

    Args:
        model: the model.
        directory: the checkpoint directory.
    """
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

    if not isinstance(model, Seq2SeqModel):
        raise TypeError(f"model must be a Seq2SeqModel, got {type(model).__name__}")
    with atomic_directory(directory, owned=MODEL_FILES) as staging:
        write_model_files(model, staging)


# ------------------------------------------------------------------------ reading
def _edited_fields(config: Any, weights_path: Path) -> str:
    """`` (field: value in config.json, value when saved; ...)`` from the weights' metadata, or ``""``."""
    try:
        with safe_open(str(weights_path), framework="pt") as f:
            saved = json.loads((f.metadata() or {}).get("config", "null"))
    except (SafetensorError, OSError, ValueError):
        return ""
    if not isinstance(saved, dict) or not isinstance(config, dict):
        return ""
    diffs = [
        f"{k} is {json.dumps(config.get(k))} there but was {json.dumps(saved.get(k))} when saved"
        for k in sorted(set(config) | set(saved))
        if config.get(k) != saved.get(k)
    ]
    return f" ({'; '.join(diffs)})" if diffs else ""


def read_model_meta(directory: Path) -> dict[str, Any]:
    """The verified ``config.json`` content of the checkpoint in ``directory``.

    Raises:
        FileNotFoundError: ``config.json`` is missing.
        ValueError: it is corrupt, of another format, or edited after the save.
    """
    cfg_path = directory / CONFIG_FILE
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{directory} is not a seq2seq_gym model checkpoint: {CONFIG_FILE} is missing")
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"corrupt checkpoint file {cfg_path}: {e}") from None
    found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
    if found != FORMAT and found not in LEGACY_FORMATS:
        raise ValueError(f"{cfg_path}: unsupported checkpoint format {found!r} (expected {FORMAT!r})")
    weights = meta.get("weights")
    if not isinstance(weights, dict) or not isinstance(weights.get("file"), str):
        raise ValueError(f"{cfg_path}: missing or malformed entry 'weights'")
    if not isinstance(meta.get("config"), dict):
        raise ValueError(f"{cfg_path}: missing or malformed entry 'config'")
    vocab = meta.get("vocab")
    if vocab is not None and not (isinstance(vocab, dict) and isinstance(vocab.get("file"), str)):
        raise ValueError(f"{cfg_path}: malformed entry 'vocab'")
    if found == FORMAT:
        recorded = meta.get("sha256")
        body = {k: v for k, v in meta.items() if k != "sha256"}
        if not isinstance(recorded, str) or sha256_json(body) != recorded:
            raise ValueError(
                f"{cfg_path} was edited after the checkpoint was saved: its content no longer matches the "
                f"sha256 recorded in it{_edited_fields(meta['config'], directory / weights['file'])}. "
                "config.json must describe the weights it was saved with; to change the architecture, "
                "build a new model (ModelConfig) and train it, or restore the original config.json"
            )
    return meta


def _load_weights(model: Seq2SeqModel, tensors: dict[str, torch.Tensor], weights_path: Path, cfg_path: Path) -> None:
    """``load_state_dict`` after checking names and shapes (``ValueError`` naming them, not torch's RuntimeError)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [
        f"{k} is {list(tensors[k].shape)} in the weights but {list(expected[k].shape)} for the config"
        for k in expected
        if k in tensors and tensors[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append("; ".join(wrong[:5]) + (f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else ""))
        if missing:
            parts.append(f"missing tensors {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected tensors {unexpected[:5]}")
        raise ValueError(f"checkpoint weights {weights_path} do not fit {cfg_path}: {', '.join(parts)}")
    model.load_state_dict(tensors, strict=True)


def read_checkpoint(directory: str | os.PathLike) -> tuple[Seq2SeqModel, dict[str, Any]]:
    """The model (on CPU, in eval mode) and the verified ``config.json`` content of a checkpoint directory."""
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

    d = committed_directory(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {Path(directory)}")
    meta = read_model_meta(d)
    cfg_path = d / CONFIG_FILE
    try:
        config = ModelConfig.from_dict(meta["config"])
    except TypeError as e:
        raise ValueError(f"{cfg_path}: malformed config: {e}") from None
    weights_info, vocab_info = meta["weights"], meta.get("vocab")

    weights_path = d / weights_info["file"]
    if not weights_path.is_file():
        raise FileNotFoundError(f"checkpoint weights not found: {weights_path}")
    if sha256_file(weights_path) != weights_info.get("sha256"):
        raise ValueError(
            f"checkpoint weights {weights_path} do not match {cfg_path} "
            "(corrupt, partially written or from another save)"
        )
    try:
        tensors = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, RuntimeError) as e:
        raise ValueError(f"corrupt checkpoint weights {weights_path}: {e}") from None

    vocab = None
    if vocab_info is not None:
        vocab_path = d / vocab_info["file"]
        if not vocab_path.is_file():
            raise FileNotFoundError(f"checkpoint vocabulary not found: {vocab_path}")
        if sha256_file(vocab_path) != vocab_info.get("sha256"):
            raise ValueError(
                f"checkpoint vocabulary {vocab_path} does not match {cfg_path} (corrupt or from another save)"
            )
        vocab = Vocab.load(vocab_path, lower=bool(vocab_info.get("lower", False)))
    if vocab is not None and len(vocab) != config.vocab_size:
        raise ValueError(f"{cfg_path}: vocab_size={config.vocab_size} but {vocab_path} holds {len(vocab)} ids")

    with torch.random.fork_rng(devices=[]):  # the initialisation (overwritten below) leaves the caller's RNG alone
        model = Seq2SeqModel(config, vocab=vocab)
    _load_weights(model, tensors, weights_path, cfg_path)
    return model.eval(), meta


def load_model(directory: str | os.PathLike, map_location: str | torch.device | None = None) -> Seq2SeqModel:
    """Rebuild the model saved in ``directory`` (returned in eval mode).

    Args:
        directory: a directory written by :func:`save_model` (or holding a training state).
        map_location: device for the weights (default CPU).

    Raises:
        FileNotFoundError: the directory or one of its files is missing.
        ValueError: ``map_location`` is not a usable device; a file is corrupt,
            from another save or of another format; ``config.json`` was edited;
            the weights do not fit the config.
    """
    device = resolve_device(map_location, "map_location")
    model, _ = read_checkpoint(directory)
    if device is not None:
        model.to(device)
    return model
