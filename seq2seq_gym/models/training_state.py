"""A training state as one unit: model, optimizers, RNG states, counters and history, saved atomically together.

What a learner needs to continue exactly where it stopped (so that a run
killed and resumed ends with the same weights as one that ran through):

- the model (the three files of a model checkpoint, so that the directory is
  also a plain :func:`~seq2seq_gym.models.load_model` checkpoint);
- ``stateful`` objects with ``state_dict()`` / ``load_state_dict()``:
  optimizers, learning-rate schedulers, extra modules such as critic heads;
- random generators: ``torch.Generator``, ``numpy.random.Generator``,
  ``random.Random``, and optionally torch's global CPU / CUDA generators
  (what dropout draws from);
- a JSON-safe ``state``: step and data-position counters, hyperparameters to
  check on resume, the history of losses;
- small extra files written in the same unit (a CSV of the curves).

Directory layout (one :func:`~seq2seq_gym.utils.atomic_directory` commit;
other files in the directory survive)::

    config.json, model.safetensors, vocab.txt   the model checkpoint
    training_state.pt     torch.save of {"stateful": {name: state_dict}, "torch_generators": {name: state},
                          "torch_rng": {"cpu": state, "cuda": [state per device]} or None}
                          (plain tensors and containers: read with torch.load(weights_only=True))
    training_state.json   {"format", "step", "state", "generators" (numpy / random states),
                           "model_sha256" (of model.safetensors), "tensors": {"file", "sha256"}, "sha256"}

The JSON file is covered by its own SHA-256 and records those of the tensor
file and of the model's weights, so a mixture (say a model saved later with
:func:`save_model` over a training state) is refused on load.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import torch

from seq2seq_gym.models.checkpoint import (
    CONFIG_FILE,
    MODEL_FILES,
    WEIGHTS_FILE,
    read_checkpoint,
    resolve_device,
    sha256_file,
    sha256_json,
    write_model_files,
)
from seq2seq_gym.utils.atomic import atomic_directory, committed_directory

if TYPE_CHECKING:
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

STATE_FORMAT = "seq2seq_gym.training_state/1"
STATE_JSON = "training_state.json"
STATE_TENSORS = "training_state.pt"
TRAINING_STATE_FILES = MODEL_FILES | {STATE_JSON, STATE_TENSORS}

GeneratorLike = torch.Generator | np.random.Generator | random.Random


@runtime_checkable
class Stateful(Protocol):
    """Anything with ``state_dict()`` and ``load_state_dict(state)``: optimizers, schedulers, modules."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> Any: ...


@dataclass
class TrainingState:
    """What :func:`load_training_state` read.

    Attributes:
        model: the model (the one passed in, with the saved weights loaded, or a new one in eval mode).
        step: the step counter given to :func:`save_training_state`.
        state: the JSON-safe ``state`` mapping given to :func:`save_training_state`.
        torch_rng: torch's global generator states when saved (``{"cpu": ByteTensor,
            "cuda": [ByteTensor per device]}``), else ``None``; apply with :meth:`restore_torch_rng`.
        directory: the directory read.
    """

    model: Seq2SeqModel
    step: int
    state: dict[str, Any]
    torch_rng: dict[str, Any] | None
    directory: Path

    def restore_torch_rng(self, cuda: bool = True) -> None:
        """Set torch's global CPU (and CUDA) generators to the saved states.

        This changes global state: call it inside ``torch.random.fork_rng()``
        (as :func:`~seq2seq_gym.models.train_mle` does) to keep the caller's generators.

        Args:
            cuda: also restore the saved CUDA generator states (an error if this
                machine has fewer CUDA devices); ``False`` restores the CPU one only
                (a run continued on the CPU).
        """
        if self.torch_rng is None:
            raise ValueError(f"the training state in {self.directory} was saved without torch_rng")
        cuda_states = (self.torch_rng.get("cuda") or []) if cuda else []
        have = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if len(cuda_states) > have:
            raise ValueError(
                f"the training state in {self.directory} holds {len(cuda_states)} CUDA generator states but this "
                f"machine has {have} CUDA devices (restore_torch_rng(cuda=False) restores the CPU one only)"
            )
        torch.set_rng_state(self.torch_rng["cpu"])
        if cuda_states:
            torch.cuda.set_rng_state_all(cuda_states)


def _plain_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{kind} keys must be non-empty strings, got {name!r}")
    return name


def _json_safe(value: Any) -> Any:
    """numpy arrays and scalars in a numpy bit-generator state, as JSON (tagged for the way back)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_json(v) for k, v in value.items()}
    return value


def _capture_generator(name: str, gen: Any) -> tuple[str, Any]:
    if isinstance(gen, torch.Generator):
        return "torch", gen.get_state()
    if isinstance(gen, np.random.Generator):
        return "numpy", _json_safe(gen.bit_generator.state)
    if isinstance(gen, random.Random):
        version, internal, gauss = gen.getstate()
        return "random", [version, list(internal), gauss]
    raise TypeError(
        f"generators[{name!r}] must be a torch.Generator, numpy.random.Generator or random.Random, "
        f"got {type(gen).__name__}"
    )


def _torch_global_rng() -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"cpu": torch.get_rng_state(), "cuda": list(cuda)}


def save_training_state(
    directory: str | os.PathLike,
    model: Seq2SeqModel,
    *,
    step: int,
    stateful: Mapping[str, Stateful] | None = None,
    generators: Mapping[str, GeneratorLike] | None = None,
    torch_rng: bool = True,
    state: Mapping[str, Any] | None = None,
    files: Mapping[str, str | bytes] | None = None,
) -> None:
    """Save a training state into ``directory``, atomically as a whole (see the module docstring).

    A kill at any moment leaves the previous or the new state, complete; files
    in ``directory`` that are not part of the state (``metrics.json``) survive.

    Args:
        directory: the directory (created if needed). It is also a model
            checkpoint: ``Seq2SeqModel.load(directory)`` reads the model.
        model: the model being trained.
        step: the number of updates done (returned by :func:`load_training_state`).
        stateful: named optimizers, schedulers, extra modules (``state_dict()`` is saved).
        generators: named random generators whose states are saved
            (``torch.Generator``, ``numpy.random.Generator``, ``random.Random``).
        torch_rng: also save torch's global CPU and (initialised) CUDA generator states.
        state: JSON-safe counters, hyperparameters and history (floats round-trip exactly).
        files: extra small files (name -> text or bytes) written in the same unit.

    Raises:
        TypeError: a bad model, generator, stateful object or key.
        ValueError: ``step`` is not an int >= 0, ``state`` is not JSON-safe, or a file name is reserved.
    """
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

    if not isinstance(model, Seq2SeqModel):
        raise TypeError(f"model must be a Seq2SeqModel, got {type(model).__name__}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    stateful_states: dict[str, Any] = {}
    for name, obj in (stateful or {}).items():
        if not isinstance(obj, Stateful):
            raise TypeError(f"stateful[{name!r}] has no state_dict() / load_state_dict(): {type(obj).__name__}")
        stateful_states[_plain_name("stateful", name)] = obj.state_dict()
    torch_gens: dict[str, torch.Tensor] = {}
    other_gens: dict[str, Any] = {}
    for name, gen in (generators or {}).items():
        kind, captured = _capture_generator(_plain_name("generators", name), gen)
        if kind == "torch":
            torch_gens[name] = captured
        else:
            other_gens[name] = {"kind": kind, "state": captured}
    try:
        state_json = json.loads(json.dumps(dict(state or {})))
    except (TypeError, ValueError) as e:
        raise ValueError(f"state must be JSON-safe (numbers, strings, lists, dicts): {e}") from None
    extra: dict[str, bytes] = {}
    for name, data in (files or {}).items():
        if not isinstance(name, str) or not name or "/" in name or os.sep in name or name in (".", ".."):
            raise ValueError(f"files keys must be plain file names, got {name!r}")
        if name in TRAINING_STATE_FILES:
            raise ValueError(f"files[{name!r}]: that name is part of the training state itself")
        if not isinstance(data, (str, bytes)):
            raise TypeError(f"files[{name!r}] must be str or bytes, got {type(data).__name__}")
        extra[name] = data.encode("utf-8") if isinstance(data, str) else data

    with atomic_directory(directory, owned=TRAINING_STATE_FILES | set(extra)) as staging:
        model_meta = write_model_files(model, staging)
        torch.save(
            {"stateful": stateful_states, "torch_generators": torch_gens,
             "torch_rng": _torch_global_rng() if torch_rng else None},
            staging / STATE_TENSORS,
        )
        meta: dict[str, Any] = {
            "format": STATE_FORMAT,
            "step": step,
            "state": state_json,
            "generators": other_gens,
            "model_sha256": model_meta["weights"]["sha256"],
            "tensors": {"file": STATE_TENSORS, "sha256": sha256_file(staging / STATE_TENSORS)},
        }
        meta["sha256"] = sha256_json(meta)
        (staging / STATE_JSON).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        for name, data in extra.items():
            (staging / name).write_bytes(data)


def has_training_state(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a training state (its JSON file exists; not yet verified)."""
    return (committed_directory(directory) / STATE_JSON).is_file()


def read_training_state_info(directory: str | os.PathLike) -> tuple[int, dict[str, Any]]:
    """The saved ``step`` and ``state`` of a training state, verified but without loading anything else.

    For checks before resuming (hyperparameters, counters), so that a rejected resume changes nothing.
    """
    meta = _read_state_meta(committed_directory(directory))
    return int(meta["step"]), meta.get("state") or {}


def _read_state_meta(d: Path) -> dict[str, Any]:
    path = d / STATE_JSON
    if not path.is_file():
        raise FileNotFoundError(f"{d} holds no training state: {STATE_JSON} is missing")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"corrupt training state file {path}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{path}: unsupported training state format {found!r} (expected {STATE_FORMAT!r})")
    body = {k: v for k, v in meta.items() if k != "sha256"}
    if sha256_json(body) != meta.get("sha256"):
        raise ValueError(f"{path} was edited or corrupted after it was saved (its sha256 does not match)")
    return meta


def load_training_state(
    directory: str | os.PathLike,
    model: Seq2SeqModel | None = None,
    *,
    stateful: Mapping[str, Stateful] | None = None,
    generators: Mapping[str, GeneratorLike] | None = None,
    map_location: str | torch.device | None = None,
) -> TrainingState:
    """Read a training state saved by :func:`save_training_state`, restoring the given objects in place.

    Everything is verified (hashes, the model's config, the names asked for)
    before anything is restored, and a restore that fails halfway is rolled
    back: a rejected call changes nothing. torch's global generators are not
    touched: use :meth:`TrainingState.restore_torch_rng`.

    Args:
        directory: the directory.
        model: a model to load the saved weights into (its config must equal the
            saved one); ``None`` builds the saved model (eval mode, on ``map_location``).
        stateful: named objects to restore with ``load_state_dict`` (every name must have been saved).
        generators: named generators to set to their saved states (same kinds as saved).
        map_location: device of the new model when ``model`` is None (default CPU). Saved
            states are read on the CPU; ``load_state_dict`` moves them to where
            their objects live (an optimizer's state goes to its parameters' device).

    Returns:
        A :class:`TrainingState`.

    Raises:
        FileNotFoundError: no training state in ``directory``.
        ValueError: a corrupt, edited or mixed-up file; a model, name or generator that does not fit.
    """
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

    device = resolve_device(map_location, "map_location")
    if model is not None and not isinstance(model, Seq2SeqModel):
        raise TypeError(f"model must be a Seq2SeqModel or None, got {type(model).__name__}")
    d = committed_directory(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"training state directory not found: {Path(directory)}")
    meta = _read_state_meta(d)
    saved_model, model_meta = read_checkpoint(d)
    if model_meta["weights"].get("sha256") != meta.get("model_sha256"):
        raise ValueError(
            f"{d / WEIGHTS_FILE} is not the model this training state was saved with (it was replaced later, "
            f"e.g. by save_model): {d / STATE_JSON} and {d / CONFIG_FILE} do not belong together"
        )
    tensors_path = d / meta["tensors"]["file"]
    if not tensors_path.is_file():
        raise FileNotFoundError(f"training state tensors not found: {tensors_path}")
    if sha256_file(tensors_path) != meta["tensors"].get("sha256"):
        raise ValueError(f"training state tensors {tensors_path} do not match {d / STATE_JSON} (corrupt)")
    try:
        tensors = torch.load(tensors_path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a corrupt pickle
        raise ValueError(f"corrupt training state tensors {tensors_path}: {e}") from None

    if model is not None:
        if model.config != saved_model.config:
            mine, saved = model.config.to_dict(), saved_model.config.to_dict()
            diffs = [f"{k}={mine[k]!r} (saved {saved[k]!r})" for k in mine if mine[k] != saved[k]]
            raise ValueError(f"model does not match the training state in {d}: {', '.join(diffs)}")
        if model.vocab is not None and saved_model.vocab is not None and model.vocab != saved_model.vocab:
            raise ValueError(f"model's vocabulary differs from the one saved in {d}")
    saved_stateful = tensors.get("stateful", {})
    for name in stateful or {}:
        if name not in saved_stateful:
            raise ValueError(f"stateful[{name!r}]: the training state in {d} has no such entry "
                             f"(it has {sorted(saved_stateful)})")
    saved_gens = {**{k: ("torch", v) for k, v in tensors.get("torch_generators", {}).items()},
                  **{k: (v["kind"], v["state"]) for k, v in meta.get("generators", {}).items()}}
    for name, gen in (generators or {}).items():
        if name not in saved_gens:
            raise ValueError(f"generators[{name!r}]: the training state in {d} has no such generator "
                             f"(it has {sorted(saved_gens)})")
        kind, _ = _capture_generator(name, gen)
        if kind != saved_gens[name][0]:
            raise ValueError(f"generators[{name!r}] is a {kind} generator but a {saved_gens[name][0]} one was saved")

    targets: list[Any] = [model] if model is not None else []
    targets += list((stateful or {}).values())
    backups = [(obj, copy.deepcopy(obj.state_dict())) for obj in targets]
    gen_backups = [(gen, _capture_generator(name, gen)) for name, gen in (generators or {}).items()]
    try:
        if model is not None:
            model.load_state_dict(saved_model.state_dict())
        for name, obj in (stateful or {}).items():
            try:
                obj.load_state_dict(saved_stateful[name])
            except (ValueError, RuntimeError, KeyError, TypeError) as e:
                raise ValueError(f"stateful[{name!r}] does not fit the state saved in {d}: {e}") from None
        for name, gen in (generators or {}).items():
            _set_generator(gen, saved_gens[name][1])
    except BaseException:
        for obj, sd in backups:
            obj.load_state_dict(sd)
        for gen, (_, captured) in gen_backups:
            _set_generator(gen, captured)
        raise
    if model is None:
        model = saved_model.to(device) if device is not None else saved_model
    return TrainingState(model=model, step=int(meta["step"]), state=meta.get("state") or {},
                         torch_rng=tensors.get("torch_rng"), directory=d)


def _set_generator(gen: Any, saved: Any) -> None:
    if isinstance(gen, torch.Generator):
        gen.set_state(saved.to("cpu") if isinstance(saved, torch.Tensor) else saved)
    elif isinstance(gen, np.random.Generator):
        gen.bit_generator.state = _from_json(saved)
    else:
        version, internal, gauss = saved
        gen.setstate((version, tuple(internal), gauss))
