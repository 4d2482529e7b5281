"""Gymnasium environments for text generation: one sequence, or a native batch of them."""

from __future__ import annotations

import copy
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from seq2seq_gym.data import PAD_ID, Example, Task, Vocab, load_task
from seq2seq_gym.envs import render as _render
from seq2seq_gym.envs.core import (
    INVALID_COPY_MODES,
    MAX_LENGTH_LIMIT,
    REWARD_MODES,
    Finished,
    GenerationEngine,
    check_int,
)
from seq2seq_gym.envs.reward import build_reward
from seq2seq_gym.models import Seq2SeqModel
from seq2seq_gym.rewards import Metric

OBSERVATION_KINDS = ("box", "dict")
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"


# ----------------------------------------------------------------------------- building blocks
def resolve_task(
    task: str | Task | None, data: str | os.PathLike | Task | None, vocab: Vocab | None = None
) -> Task:
    """The task an environment uses: ``data`` (a Task, a registered name or a path) or ``task``.

    ``vocab`` is the generator's vocabulary when one is given: a task read
    from files (a path, or a registered loader) is built with it, so a
    generator trained on a corpus runs on that corpus with no other argument
    (see :func:`seq2seq_gym.data.load_task`). A Task object is used as it is.
    """
    source = data if data is not None else task
    if source is None:
        raise ValueError("pass task= (a built-in task name) or data= (a Task, a task name or a path)")
    return load_task(source, vocab=vocab, what="data" if data is not None else "task")


def load_generator(model: str | os.PathLike | Seq2SeqModel | None, device: str | torch.device) -> Seq2SeqModel | None:
    """``model`` itself, the generator saved in the checkpoint directory ``model``, or ``None`` when not given."""
    if model is None or isinstance(model, Seq2SeqModel):
        return model
    if not isinstance(model, str | os.PathLike):
        raise TypeError(f"model must be a Seq2SeqModel, a checkpoint directory or None, got {type(model).__name__}")
    path = Path(model).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"model={os.fspath(model)!r}: no such checkpoint directory")
    return Seq2SeqModel.load(path, map_location=device)


def resolve_model(
    model: str | os.PathLike | Seq2SeqModel | None, task: Task, device: str | torch.device
) -> Seq2SeqModel:
    """The generator: a model, a checkpoint directory, the shipped one for a built-in task, or a fresh one.

    A fresh generator (no ``model`` and no shipped one) gets the same weights
    on every build, drawn from a forked RNG: the caller's global torch
    generator is left as it was. A generator whose vocabulary differs from
    the task's raises ``ValueError`` saying how they differ and how to build
    the task with the generator's vocabulary.
    """
    gen = load_generator(model, device)
    if gen is None:
        gen = load_pretrained(task, device=device)
        if gen is None:
            warnings.warn(
                f"no generator given for task {task.name!r}: building a fresh, untrained one for its vocabulary "
                f"({len(task.vocab)} words); pass model= a checkpoint directory to use a trained generator",
                UserWarning,
                stacklevel=3,
            )
            # The same fresh weights on every build, without touching the caller's global RNG:
            # seed a forked copy of the CPU generator, which is restored on exit.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                gen = Seq2SeqModel.from_task(task)
    vocab = getattr(gen, "vocab", None)
    diff = vocab.difference(task.vocab) if vocab is not None else None
    if diff is None and gen.vocab_size != len(task.vocab):
        diff = f"{gen.vocab_size} vs {len(task.vocab)} ids"
    if diff is not None:
        raise ValueError(
            f"the generator's vocabulary differs from task {task.name!r}'s ({diff}, generator first): a generator "
            "reads and writes only its own vocabulary's ids. Pass data= the corpus path (or a loader's task name) "
            "so that the task is built with the generator's vocabulary, or build the Task with "
            "vocab=generator.vocab (e.g. seq2seq_gym.data.load_path(path, vocab=generator.vocab))"
        )
    return gen.to(device)


def pretrained_path(task_name: str) -> Path:
    """Directory of the generator shipped for a built-in task."""
    return PRETRAINED_DIR / task_name


def load_pretrained(task: Task, device: str | torch.device = "cpu") -> Seq2SeqModel | None:
    """The shipped generator of a built-in task, or None (not built-in, or a different vocabulary)."""
    path = pretrained_path(task.name)
    if not (path / "config.json").is_file():
        return None
    gen = Seq2SeqModel.load(path, map_location=device)
    if getattr(gen, "vocab", None) is not None and gen.vocab != task.vocab:
        return None  # the task was generated with other settings than the shipped generator saw
    return gen


# ----------------------------------------------------------------------------- argument checks
AUTORESET_MODES = tuple(m.value for m in AutoresetMode)
# Bounds of the generator's features [s_t; c_t; c^d_t]: s_t is an LSTM hidden state o * tanh(c),
# c_t is a convex combination (attention weights) of encoder outputs, which are LSTM outputs (text)
# or tanh projections (CNN grid / precomputed features), and c^d_t a convex combination of past
# s_t. All lie in [-1, 1] in eval mode (train-mode dropout rescales by 1 / (1 - p)).
FEATURE_BOUNDS = (-1.0, 1.0)
SINGLE_RESET_OPTIONS = ("example", "index")
VECTOR_RESET_OPTIONS = ("reset_mask", "examples")


def _check_seed(seed: object, name: str = "seed") -> int | None:
    return None if seed is None else check_int(name, seed, 0)


def _check_top_k(value: object) -> int | None:
    return None if value is None else check_int("mask_top_k", value, 1)


def _check_top_p(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"mask_top_p must be a number in (0, 1] or None, got {value!r} ({type(value).__name__})")
    if not 0.0 < float(value) <= 1.0:  # NaN fails too
        raise ValueError(f"mask_top_p must be in (0, 1], got {value}")
    return float(value)


def _check_device(device: object) -> torch.device:
    """``device`` as a usable :class:`torch.device`; ``ValueError`` naming the argument otherwise."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or a torch.device, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"device={device!r} is not a torch device (for example 'cpu', 'cuda' or 'cuda:1')") from e
    if dev.type == "cpu":
        return torch.device("cpu")  # "cpu:0" names the same device; safetensors accepts only "cpu"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return dev
    try:  # other backends (mps, xpu, ...): ask torch
        torch.empty(0, device=dev)
    except Exception as e:
        raise ValueError(f"device={device!r} is not usable on this machine ({e})") from e
    return dev


def _check_options(options: object, allowed: tuple[str, ...]) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; this environment takes {list(allowed)}")
    return dict(options)


def _check_autoreset_mode(mode: object) -> AutoresetMode:
    if isinstance(mode, AutoresetMode):
        return mode
    if isinstance(mode, str):
        for m in AutoresetMode:
            if mode in (m.value, m.name) or mode.lower().replace("_", "") == m.value.lower():
                return m
    raise ValueError(
        f"autoreset_mode must be a gymnasium.vector.AutoresetMode or one of {AUTORESET_MODES}, got {mode!r}"
    )


def _outer_time_limit(env: gym.Env) -> int | None:
    """``max_episode_steps`` of a Gymnasium ``TimeLimit`` whose ``reset()`` is calling ``env.reset()`` now.

    ``gymnasium.make(id, max_episode_steps=n)`` wraps the environment in a
    ``TimeLimit`` and leaves the environment's own ``spec.max_episode_steps``
    at ``None``, so the limit cannot be passed down. The wrapper's ``reset``
    is on the call stack of every reset it forwards: reading its limit there
    lets the environment truncate (and score) on that same step itself.
    """
    code = gym.wrappers.TimeLimit.reset.__code__
    frame = sys._getframe(1)
    for _ in range(64):  # a wrapper stack is a few frames deep
        if frame is None:
            return None
        if frame.f_code is code:
            wrapper = frame.f_locals.get("self")
            if wrapper is not None and wrapper.unwrapped is env:
                return int(wrapper._max_episode_steps)
        frame = frame.f_back
    return None


class _ImageSpec:
    """Shape, scale and value range of a split's image (or feature) sources."""

    def __init__(self, examples: Sequence[Example], split: str) -> None:
        first = np.asarray(examples[0].source)
        self.shape = first.shape
        self.uint8 = first.dtype == np.uint8
        low, high = np.inf, -np.inf
        for ex in examples:
            a = np.asarray(ex.source)
            if a.shape != self.shape or (a.dtype == np.uint8) != self.uint8:
                raise ValueError(
                    f"data: example {ex.id!r} of split {split!r} has an image of shape {a.shape} and dtype {a.dtype}; "
                    f"the split's first has {self.shape}, {first.dtype}"
                )
            if self.uint8:
                continue
            if not np.isfinite(a).all():
                raise ValueError(f"data: example {ex.id!r} of split {split!r} has NaN or infinite image values")
            low, high = min(low, float(a.min())), max(high, float(a.max()))
        # uint8 pixels are observed divided by 255; other sources as they are, within the split's range
        self.scale = 1.0 / 255.0 if self.uint8 else 1.0
        self.low, self.high = (0.0, 1.0) if self.uint8 else (low, high)

    def check(self, ex: Example, name: str) -> None:
        a = np.asarray(ex.source)
        if a.shape != self.shape:
            raise ValueError(f"{name}: image of shape {a.shape}, this environment's are {self.shape}")
        if a.dtype != np.uint8 and not np.isfinite(a).all():
            raise ValueError(f"{name}: the image has NaN or infinite values")
        if (a.dtype == np.uint8) != self.uint8:
            kind = "uint8" if self.uint8 else "not uint8"
            raise ValueError(f"{name}: image of dtype {a.dtype}, this environment's are {kind}")
        if self.uint8:
            return
        if a.min() < self.low or a.max() > self.high:
            raise ValueError(
                f"{name}: image values in [{a.min()}, {a.max()}] lie outside the observation bounds "
                f"[{self.low}, {self.high}] (the range of the environment's split)"
            )


class _Base:
    """Argument handling shared by the single and the vector environment."""

    def _setup(
        self,
        num_envs: int,
        task: str | Task | None = None,
        data: str | os.PathLike | Task | None = None,
        split: str = "train",
        model: str | os.PathLike | Seq2SeqModel | None = None,
        reward: str | dict | Metric | None = None,
        reward_mode: str = "terminal",
        max_length: int | None = None,
        observation: str = "box",
        mask_top_k: int | None = 50,
        mask_top_p: float | None = None,
        invalid_copy: str = "unk",
        episode_info: bool = False,
        max_episode_steps: int | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        """Check and resolve the arguments of :class:`TextGenEnv` (the defaults are its defaults)."""
        # every cheap check before anything is loaded
        if not isinstance(observation, str) or observation not in OBSERVATION_KINDS:
            raise ValueError(f"observation must be one of {OBSERVATION_KINDS}, got {observation!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if not isinstance(reward_mode, str) or reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if not isinstance(invalid_copy, str) or invalid_copy not in INVALID_COPY_MODES:
            raise ValueError(f"invalid_copy must be one of {INVALID_COPY_MODES}, got {invalid_copy!r}")
        if not isinstance(split, str):
            raise TypeError(f"split must be a split name (str), got {type(split).__name__}")
        if not isinstance(episode_info, (bool, np.bool_)):
            raise TypeError(f"episode_info must be True or False, got {episode_info!r}")
        if max_length is not None:
            max_length = check_int("max_length", max_length, 1, MAX_LENGTH_LIMIT)
        if max_episode_steps is not None:
            max_episode_steps = check_int("max_episode_steps", max_episode_steps, 1)
        self._seed = _check_seed(seed)
        self._top_k, self._top_p = _check_top_k(mask_top_k), _check_top_p(mask_top_p)
        dev = _check_device(device)

        gen = load_generator(model, dev)  # first: a task read from files takes the generator's vocabulary
        self.task = resolve_task(task, data, vocab=None if gen is None else gen.vocab)
        try:
            self.examples = self.task.split(split)
        except KeyError as e:
            raise ValueError(f"split={split!r}: {e.args[0]}") from None
        if not self.examples:
            raise ValueError(f"split {split!r} of task {self.task.name!r} is empty")
        self.split = split
        self._images = _ImageSpec(self.examples, split) if self.examples[0].is_image else None
        self.generator = resolve_model(gen, self.task, dev)
        self.metric = build_reward(self.task, self.task.metric if reward is None else reward)
        self.observation_kind = observation
        self.episode_info = bool(episode_info)
        self.render_mode = render_mode
        limit = max_length if max_length is not None else self.task.max_target_len + 1
        if max_episode_steps is not None:
            limit = min(limit, max_episode_steps)
        self.engine = GenerationEngine(
            self.task,
            self.generator,
            self.metric,
            num_rows=num_envs,
            max_length=limit,
            reward_mode=reward_mode,
            invalid_copy=invalid_copy,
        )
        self.max_length = self.engine.max_length
        self._single_obs_space = self._make_obs_space()
        self._single_act_space = spaces.Discrete(self.engine.num_actions)
        self._index_of = {ex.id: i for i, ex in enumerate(self.examples)}
        self._indices = np.full(num_envs, -1, dtype=np.int64)  # split position of each row's example

    # action masks ------------------------------------------------------------
    @property
    def mask_top_k(self) -> int | None:
        """How many of the generator's most likely tokens :meth:`action_masks` allows (``None``: all)."""
        return self._top_k

    @mask_top_k.setter
    def mask_top_k(self, value: int | None) -> None:
        self._top_k = _check_top_k(value)

    @property
    def mask_top_p(self) -> float | None:
        """The nucleus mass :meth:`action_masks` allows; replaces ``mask_top_k`` when set."""
        return self._top_p

    @mask_top_p.setter
    def mask_top_p(self, value: float | None) -> None:
        self._top_p = _check_top_p(value)

    # spaces -----------------------------------------------------------------
    def _make_obs_space(self) -> spaces.Space:
        D = int(self.generator.feature_dim)
        low, high = getattr(self.generator, "feature_bounds", FEATURE_BOUNDS)
        state = spaces.Box(low, high, shape=(D,), dtype=np.float32)
        if self.observation_kind == "box":
            return state
        A = self.engine.num_actions
        L = self.max_length
        parts: dict[str, spaces.Space] = {"state": state}
        if self._images is not None:
            im = self._images
            parts["image"] = spaces.Box(im.low, im.high, shape=im.shape, dtype=np.float32)
        else:
            S = self.task.max_source_len
            # source words in extended ids: V + k is the k-th OOV word, whether or not the generator copies
            parts["source"] = spaces.Box(0, self.engine.vocab_size + self.task.max_oovs - 1, shape=(S,), dtype=np.int64)
            parts["source_mask"] = spaces.MultiBinary(S)
        parts["prefix"] = spaces.Box(0, A - 1, shape=(L,), dtype=np.int64)
        parts["prefix_mask"] = spaces.MultiBinary(L)
        return spaces.Dict(parts)

    def _observe(self, rows: np.ndarray | None = None) -> Any:
        """Observations of ``rows`` (default: all), batched on the first axis."""
        eng = self.engine
        if rows is None:
            rows, feats = np.arange(eng.n), eng.features
        else:
            feats = eng.features[torch.as_tensor(rows, device=eng.device)]
        state = feats.float().cpu().numpy()
        if self.observation_kind == "box":
            return state
        L = self.max_length
        prefix = np.zeros((len(rows), L), dtype=np.int64)
        w = min(L, eng.tokens.shape[1])
        prefix[:, :w] = eng.tokens[rows, :w]
        prefix_mask = (np.arange(L)[None, :] < eng.lengths[rows, None]).astype(np.int8)
        obs = {"state": state, "prefix": prefix, "prefix_mask": prefix_mask}
        if self._images is not None:
            scale = self._images.scale
            obs["image"] = np.stack([np.asarray(eng.examples[r].source, dtype=np.float32) * scale for r in rows])
        else:
            S = self.task.max_source_len
            src = np.full((len(rows), S), PAD_ID, dtype=np.int64)
            for j, r in enumerate(rows):
                ids = eng.src_ext[r][:S]
                src[j, : len(ids)] = ids
            obs["source"] = src
            obs["source_mask"] = (src != PAD_ID).astype(np.int8)
        return obs

    # examples and infos -------------------------------------------------------
    def _pick(self, rng: np.random.Generator) -> Example:
        return self.examples[int(rng.integers(len(self.examples)))]

    def _check_example(self, ex: object, name: str) -> Example:
        """An example passed in reset options, checked against this environment's task and spaces."""
        if not isinstance(ex, Example):
            raise TypeError(f"{name} must be a seq2seq_gym.data.Example, got {type(ex).__name__}")
        if ex.is_image != (self._images is not None):
            kind = "an image" if self._images is not None else "a text"
            raise ValueError(f"{name}: example {ex.id!r} is not {kind} example, as task {self.task.name!r} needs")
        if self._images is not None:
            self._images.check(ex, f"{name} (example {ex.id!r})")
        elif not ex.source or not all(isinstance(w, str) for w in ex.source):
            raise ValueError(f"{name}: example {ex.id!r} needs a non-empty list of source words")
        if not ex.references or not all(ex.references):
            raise ValueError(f"{name}: example {ex.id!r} needs at least one non-empty reference")
        return ex

    def _row_info(self, row: int) -> dict[str, int]:
        """The numeric info every step carries (the same keys on every step)."""
        return {"example_index": int(self._indices[row]), "length": int(self.engine.lengths[row])}

    def _record(self, row: int, fin: Finished) -> dict[str, Any]:
        """The record of the episode of ``row`` that just ended (see ``last_episode``)."""
        vocab, eng = self.task.vocab, self.engine
        return {
            "example_id": fin.example.id,
            "example_index": int(self._indices[row]),
            "text": " ".join(vocab.decode(fin.tokens, eng.oovs[row], stop_at_eos=False, skip_special=False)),
            "tokens": list(fin.tokens),
            "scores": dict(fin.scores),
            "references": [" ".join(r) for r in fin.example.references],
            "episode_return": float(eng.returns[row]),
            "length": len(fin.tokens),
            "steps": int(eng.steps[row]),
            "terminated": fin.terminated,
            "truncated": fin.truncated,
        }


# ----------------------------------------------------------------------------- the single env
class TextGenEnv(_Base, gym.Env):
    """Write a sequence token by token; the reward is a sequence metric of the text.

    The environment of the survey "Deep Reinforcement Learning for
    Sequence-to-Sequence Models" (Keneshloo et al., 2019, Sec. III-IV): the
    state is the decoder's hidden state ``s_t`` after the tokens written so
    far, an action is the next token ``y_t`` of the vocabulary (plus the
    pointer-generator's copy slots, See et al. 2017), and the reward is
    ``r(y_1..y_T)``: ROUGE, BLEU or CIDEr-D against the example's references.

    ## Description

    An episode writes the output for one source (a document to summarise, an
    image to caption, a sentence to translate). At reset the generator encodes
    the source; at every step the agent's token is appended and fed back to the
    generator, whose new hidden state is the next observation. The generator
    (an attention encoder-decoder, by default a small pre-trained one shipped
    with the package) only turns the prefix into a state: the agent chooses
    every token.

    ## Observation Space

    ``observation="box"`` (default): ``Box(-1, 1, (D,), float32)``, the
    generator's features ``[s_t; c_t(; c^d_t)]`` after the prefix:

    | slice             | meaning                                          | range     |
    |-------------------|--------------------------------------------------|-----------|
    | ``0 : H``         | top decoder LSTM hidden state ``s_t``            | [-1, 1]   |
    | ``H : H+E``       | encoder attention context ``c_t``                | [-1, 1]   |
    | ``H+E : D``       | intra-decoder context (only with that option)    | [-1, 1]   |

    The bounds follow from the architecture: an LSTM hidden state is
    ``o * tanh(c)``; the encoder outputs are LSTM outputs (text) or ``tanh``
    projections (image grid, precomputed features), and each context is an
    attention-weighted average of them. They hold in eval mode, which the
    environment keeps the generator in (train-mode dropout rescales).

    ``observation="dict"``: ``Dict`` with

    | key               | space                                          | meaning                               |
    |-------------------|------------------------------------------------|---------------------------------------|
    | ``"state"``       | the Box above                                  | the decoder features                  |
    | ``"prefix"``      | ``Box(0, A-1, (max_length,), int64)``          | the tokens written (``</s>`` not      |
    |                   |                                                | included), padded with 0              |
    | ``"prefix_mask"`` | ``MultiBinary(max_length)``                    | 1 where ``prefix`` holds a token      |
    | ``"source"``      | ``Box(0, V+max_oovs-1, (max_source_len,),      | text tasks: the source in extended    |
    |                   | int64)``                                       | ids (``V + k``: k-th OOV), 0-padded   |
    | ``"source_mask"`` | ``MultiBinary(max_source_len)``                | text tasks: 1 at source words         |
    | ``"image"``       | ``Box(0, 1, (H, W, C), float32)``              | image tasks: pixels / 255 (float      |
    |                   |                                                | features as stored, within the        |
    |                   |                                                | split's min and max)                  |

    ## Action Space

    ``Discrete(A)`` with ``A = V + K``:

    | action          | meaning                                                        |
    |-----------------|----------------------------------------------------------------|
    | ``0`` ``<pad>`` | a literal token that matches no reference word (masked)        |
    | ``1`` ``<unk>`` | the unknown word (matches no reference word)                   |
    | ``2`` ``<s>``   | a literal token that matches no reference word (masked)        |
    | ``3`` ``</s>``  | end of sequence: terminates the episode                        |
    | ``4 .. V-1``    | vocabulary words, most frequent first                          |
    | ``V .. V+K-1``  | copy the k-th out-of-vocabulary source word (pointer-generator)|

    ``K`` is the task's ``max_oovs`` for a pointer-generator on a text task,
    else 0. A copy slot with no source word behind it emits ``<unk>``
    (``invalid_copy="unk"``, the default, so that agents that cannot mask
    actions run) or raises ``ValueError`` (``invalid_copy="raise"``, the
    strict mode). :meth:`action_masks` gives the generator's ``mask_top_k``
    tokens (or its nucleus of mass ``mask_top_p``) plus ``</s>``, never an
    empty copy slot, ``<pad>`` or ``<s>`` (the MaskablePPO convention).

    ## Rewards

    ``reward_mode="terminal"`` (default): 0 at every step, and at the last step
    (terminated or truncated) the score of the text (``</s>`` excluded) against
    the references, from :mod:`seq2seq_gym.rewards` (exact: equal to
    rouge-score / sacrebleu / pycocoevalcap on the words).
    ``reward_mode="dense"``: at step ``t`` the change
    ``score(y_1..y_t) - score(y_1..y_{t-1})``, which sums to the same score.
    ``reward`` chooses the metric: ``"rougeL"`` (summarization), ``"bleu"``
    (translation), ``"cider"`` (captioning), or a weighted mixture such as
    ``"rougeL:0.7,rouge2:0.3"``.

    ## Starting State

    ``reset()`` draws an example of the split uniformly with the environment's
    random generator, encodes it and feeds ``<s>``. Options (any other key
    raises ``ValueError``): ``{"index": i}`` takes the split's ``i``-th
    example, ``{"example": ex}`` a given :class:`~seq2seq_gym.data.Example`
    (checked against the task: modality, image shape, finite values).
    A rejected reset changes nothing, not even the random generator.

    ## Episode End

    * Termination: the action is ``</s>``.
    * Truncation: ``max_length`` actions were taken (default: the task's
      ``max_target_len + 1``). A Gymnasium ``TimeLimit`` above the environment
      (``gymnasium.make(id, max_episode_steps=n)``, or one wrapped by hand) is
      found at reset; the environment then truncates after
      ``min(max_length, n)`` actions itself, so that the last step is scored.

    ## Info

    Every ``reset`` and ``step`` returns the same numeric keys, so that
    clients which batch infos into arrays (tianshou, torchrl, Gymnasium's
    vector wrappers) accept them:

    | key                 | meaning                                                     |
    |---------------------|-------------------------------------------------------------|
    | ``"example_index"`` | position of the episode's example in the split (-1 for an   |
    |                     | example given in ``options`` that is not in the split)      |
    | ``"length"``        | tokens written so far (``</s>`` excluded)                   |

    The record of the last finished episode is :attr:`last_episode`, a dict
    with ``"example_id"``, ``"example_index"``, ``"text"`` (the words, copies
    resolved), ``"tokens"`` (extended ids), ``"scores"`` (each metric of the
    reward), ``"references"``, ``"episode_return"``, ``"length"``,
    ``"steps"`` (actions, ``</s>`` included), ``"terminated"`` and
    ``"truncated"``. With ``episode_info=True`` the last step's info also
    holds those keys (for people and hand-written loops; clients that batch
    infos need the default).

    ## Arguments

    ```python
    gymnasium.make("Seq2Seq/Summarization-v0", data=None, split="train", model=None,
                   reward=None, reward_mode="terminal", max_length=None, observation="box",
                   mask_top_k=50, mask_top_p=None, invalid_copy="unk", seed=None,
                   render_mode=None, device="cpu", episode_info=False, max_episode_steps=None)
    ```

    * ``task``: a built-in task name (set by the registered id).
    * ``data``: a :class:`~seq2seq_gym.data.Task`, a registered task name, or a
      path to data on disk; with ``model``, a path's task is read with the
      generator's vocabulary (a Task with another vocabulary raises
      ``ValueError``); without ``model`` a fresh generator is built for its
      vocabulary (with a warning). Image sources must share one shape and be
      finite.
    * ``split``: the split episodes draw from (``"train"``, ``"validation"``, ``"test"``).
    * ``model``: a :class:`~seq2seq_gym.models.Seq2SeqModel` or a checkpoint
      directory; default the generator shipped for the built-in task.
    * ``reward``: a metric name, a mixture string or dict, or a Metric; default the task's.
    * ``reward_mode``: ``"terminal"`` or ``"dense"``.
    * ``max_length``: actions before truncation, an integer in ``[1, 10000]``.
    * ``observation``: ``"box"`` or ``"dict"``.
    * ``mask_top_k``: an integer >= 1, or ``None`` (every valid action).
    * ``mask_top_p``: a nucleus mass in ``(0, 1]``; replaces ``mask_top_k`` when given.
    * ``invalid_copy``: ``"unk"`` or ``"raise"`` (see Action Space).
    * ``seed``: seed of the first reset when ``reset()`` gets none.
    * ``render_mode``: ``"ansi"`` (source, text so far, reward) or
      ``"rgb_array"`` (the image and caption, or the attention over the source).
    * ``device``: where the generator runs (a usable torch device).
    * ``episode_info``: also put the episode record into the last step's info.
    * ``max_episode_steps``: a second cap on the episode length (what
      ``gymnasium.make_vec`` passes to vector entry points).

    Bad arguments raise ``TypeError`` / ``ValueError`` naming the argument.

    ## Version History

    * v0: initial release. Numeric per-step info with the episode record in
      :attr:`last_episode` (``episode_info=True`` for the former end-of-episode
      keys); ``invalid_copy="unk"`` by default; observation bounds ``[-1, 1]``;
      an outer ``TimeLimit`` is scored.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        task: str | Task | None = None,
        data: str | os.PathLike | Task | None = None,
        split: str = "train",
        model: str | os.PathLike | Seq2SeqModel | None = None,
        reward: str | dict | Metric | None = None,
        reward_mode: str = "terminal",
        max_length: int | None = None,
        observation: str = "box",
        mask_top_k: int | None = 50,
        mask_top_p: float | None = None,
        invalid_copy: str = "unk",
        seed: int | None = None,
        render_mode: str | None = None,
        device: str | torch.device = "cpu",
        episode_info: bool = False,
        max_episode_steps: int | None = None,
    ) -> None:
        self._setup(
            1, task=task, data=data, split=split, model=model, reward=reward, reward_mode=reward_mode,
            max_length=max_length, observation=observation, mask_top_k=mask_top_k, mask_top_p=mask_top_p,
            invalid_copy=invalid_copy, episode_info=episode_info, max_episode_steps=max_episode_steps,
            seed=seed, render_mode=render_mode, device=device,
        )
        self.observation_space = self._single_obs_space
        self.action_space = self._single_act_space
        self._last_reward = 0.0
        self.last_episode: dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        options = _check_options(options, SINGLE_RESET_OPTIONS)
        seed = _check_seed(seed)
        if "example" in options and "index" in options:
            raise ValueError("pass options['example'] or options['index'], not both")
        ex: Example | None = None
        if "example" in options:
            ex = self._check_example(options["example"], "options['example']")
        elif "index" in options:
            ex = self.examples[check_int("options['index']", options["index"], 0, len(self.examples) - 1)]
        outer = _outer_time_limit(self)
        limit = self.max_length if outer is None else min(self.max_length, outer)
        # everything is checked: from here a failure restores what it changed
        saved = (copy.deepcopy(self._np_random), self._np_random_seed, self.engine.max_length)
        try:
            super().reset(seed=self._seed if seed is None else seed)
            if ex is None:
                ex = self._pick(self.np_random)
            self.engine.max_length = limit
            self.engine.reset_rows([0], [ex])
        except BaseException:
            self._np_random, self._np_random_seed, self.engine.max_length = saved
            raise
        self._seed = None
        self._indices[0] = self._index_of.get(ex.id, -1)
        self._last_reward = 0.0
        obs = self._observe()
        return (obs[0] if self.observation_kind == "box" else _row(obs, 0)), self._row_info(0)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if self.engine.examples[0] is None:
            raise RuntimeError("call reset() before step()")
        arr = np.asarray(action)
        if arr.ndim == 1 and arr.shape == (1,):
            arr = arr.reshape(())
        if arr.ndim != 0:
            raise ValueError(f"action must be a single token id (a scalar), got shape {arr.shape}")
        rewards, term, trunc, finished = self.engine.step(arr.reshape(1))
        info: dict[str, Any] = self._row_info(0)
        if finished[0] is not None:
            self.last_episode = self._record(0, finished[0])
            if self.episode_info:
                info.update(self.last_episode)
        self._last_reward = float(rewards[0])
        obs = self._observe()
        obs = obs[0] if self.observation_kind == "box" else _row(obs, 0)
        return obs, float(rewards[0]), bool(term[0]), bool(trunc[0]), info

    def action_masks(self) -> np.ndarray:
        """``[A]`` bool: the generator's top-k (or top-p) tokens and ``</s>`` (MaskablePPO convention)."""
        return self.engine.action_masks(self.mask_top_k, self.mask_top_p)[0]

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        if self.engine.examples[0] is None:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "ansi":
            return _render.ansi(self, 0, self._last_reward)
        return _render.rgb(self, 0)


# ----------------------------------------------------------------------------- the vector env
class TextGenVectorEnv(_Base, VectorEnv):
    """``num_envs`` :class:`TextGenEnv` episodes stepped with one batched decoder step.

    The native vector form of :class:`TextGenEnv` (same observation, action,
    reward, info and argument definitions; see its docstring for the spec):
    ``gymnasium.make_vec("Seq2Seq/Summarization-v0", num_envs=N)`` builds it
    through the registered ``vector_entry_point``. One :meth:`step` runs one
    generator step for all ``N`` sequences on the generator's device, so the
    cost per token is close to the bare batched decode loop.

    Sub-environment ``i`` draws its examples from its own random generator
    seeded with ``seed + i`` (as :class:`gymnasium.vector.SyncVectorEnv` seeds
    its copies), so its episodes equal those of a :class:`TextGenEnv` reset
    with ``seed + i``, in every autoreset mode.

    ## Autoreset

    | ``autoreset_mode``      | when sub-environment ``i`` ends at step ``t``                         |
    |-------------------------|-----------------------------------------------------------------------|
    | ``NEXT_STEP`` (default) | step ``t + 1`` ignores its action, starts the next episode and        |
    |                         | returns its first observation (reward 0, not done)                    |
    | ``SAME_STEP``           | step ``t`` returns the next episode's first observation; the last one |
    |                         | is ``info["final_obs"][i]``, its info ``info["final_info"]``          |
    | ``DISABLED``            | ``i`` stays ended until ``reset(options={"reset_mask": mask})``:      |
    |                         | later steps ignore its action and return its last observation,        |
    |                         | reward 0, ``terminated = truncated = False``                          |

    ``NEXT_STEP`` is the default because it is Gymnasium's, and the one that
    every Gymnasium vector wrapper accepts (``NormalizeObservation`` takes
    only it; ``FlattenObservation`` / ``TransformObservation`` refuse
    ``SAME_STEP``). ``DISABLED`` suits hand-written batched rollouts (step
    until every row is done) and torchrl's ``GymWrapper``;
    :class:`~seq2seq_gym.envs.sb3.SB3VecEnv` gives Stable-Baselines3 its
    same-step resets over any mode.

    ## Reset options

    ``{"reset_mask": mask}`` (``[N]`` bool) restarts only the masked
    sub-environments (and reseeds only those when ``seed`` is given);
    ``{"examples": [ex, ...]}`` gives the examples of the restarted ones, in
    order. Any other key raises ``ValueError``; a rejected reset changes
    nothing.

    ## Info

    ``info["example_index"]`` and ``info["length"]`` (``[N]`` int, masks
    ``info["_example_index"]`` / ``info["_length"]``) on every reset and
    step. :attr:`last_episodes` ``[i]`` is the record of sub-environment
    ``i``'s last finished episode (the keys of :attr:`TextGenEnv.last_episode`);
    with ``episode_info=True`` the step where it ends also carries it, masked
    (in ``info["final_info"]`` with ``SAME_STEP``).

    ``call`` / ``get_attr`` / ``set_attr`` work as on ``SyncVectorEnv``; the
    sub-environments share one generator and its settings, so ``call`` runs a
    method once and returns its result for each (``action_masks`` and
    ``render`` return each sub-environment's own part), and ``set_attr``
    takes one value, or ``N`` equal ones.

    Args:
        num_envs: number of sequences ``N``.
        autoreset_mode: an :class:`gymnasium.vector.AutoresetMode` or its string value.
        **kwargs: the arguments of :class:`TextGenEnv`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        mode = _check_autoreset_mode(autoreset_mode)
        num_envs = check_int("num_envs", num_envs, 1)
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self._setup(num_envs, **kwargs)
        self.num_envs = num_envs
        self.autoreset_mode = mode
        self.single_observation_space = self._single_obs_space
        self.single_action_space = self._single_act_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._needs_reset = np.zeros(num_envs, dtype=bool)  # NEXT_STEP: rows that restart at the next step
        self._last_rewards = np.zeros(num_envs, dtype=np.float32)
        self.last_episodes: list[dict[str, Any] | None] = [None] * num_envs

    def _check_seeds(self, seed: object) -> list[int | None] | None:
        if seed is None:
            return None
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
            base = check_int("seed", seed, 0)
            return [base + i for i in range(self.num_envs)]
        if isinstance(seed, (str, bytes)) or not isinstance(seed, Sequence | np.ndarray):
            raise TypeError(f"seed must be an integer, a list of {self.num_envs} integers or None, got {seed!r}")
        if len(seed) != self.num_envs:
            raise ValueError(f"reset(seed=...) needs {self.num_envs} seeds, got {len(seed)}")
        return [_check_seed(s, f"seed[{i}]") for i, s in enumerate(seed)]

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None):
        N = self.num_envs
        options = _check_options(options, VECTOR_RESET_OPTIONS)
        seeds = self._check_seeds(seed)
        rows = np.arange(N)
        if options.get("reset_mask") is not None:
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != bool or mask.shape != (N,):
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({N},), "
                    f"got dtype {mask.dtype}, shape {mask.shape}"
                )
            if self.engine.memory is None and not mask.all():
                raise ValueError("options['reset_mask']: the first reset must reset every sub-environment")
            rows = np.flatnonzero(mask)
        exs = None
        if "examples" in options:
            raw = options["examples"]
            if isinstance(raw, (str, Example)) or not isinstance(raw, Sequence):
                raise TypeError("options['examples'] must be a list of Examples, one per sub-environment reset")
            if len(raw) != len(rows):
                raise ValueError(f"options['examples'] needs {len(rows)} examples (one per reset row), got {len(raw)}")
            exs = [self._check_example(e, f"options['examples'][{j}]") for j, e in enumerate(raw)]
        if seeds is None and self._seed is not None:
            seeds = [self._seed + i for i in range(N)]
        # everything is checked: from here a failure restores what it changed
        saved = copy.deepcopy(self._rngs)
        try:
            for r in rows:
                if seeds is not None and seeds[r] is not None:
                    self._rngs[r] = gym.utils.seeding.np_random(seeds[r])[0]
                elif self._rngs[r] is None:  # never seeded: fresh entropy, as a Gymnasium env does
                    self._rngs[r] = gym.utils.seeding.np_random()[0]
            self._restart(rows, exs)
        except BaseException:
            self._rngs = saved
            raise
        self._seed = None
        return self._observe(), self._batch_info()

    def step(self, actions: Any):
        eng, N, mode = self.engine, self.num_envs, self.autoreset_mode
        if eng.memory is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape != (N,):
            raise ValueError(f"expected actions of shape ({N},), got shape {actions.shape}")
        if mode == AutoresetMode.NEXT_STEP:
            waiting = self._needs_reset.copy()
        elif mode == AutoresetMode.DISABLED:
            waiting = eng.done.copy()
        else:
            waiting = np.zeros(N, dtype=bool)
        if not waiting.any():
            rewards, term, trunc, finished = eng.step(actions)
        elif not waiting.all():
            rewards, term, trunc, finished = eng.step(actions, active=~waiting)
        else:
            rewards, term, trunc = np.zeros(N, np.float32), np.zeros(N, dtype=bool), np.zeros(N, dtype=bool)
            finished = [None] * N
        if mode == AutoresetMode.NEXT_STEP and waiting.any():
            self._restart(np.flatnonzero(waiting))
        infos: dict[str, Any] = {}
        ended = term | trunc
        rows = np.flatnonzero(ended)
        for r in rows:
            self.last_episodes[r] = self._record(int(r), finished[r])
        if mode == AutoresetMode.SAME_STEP and len(rows):
            final_obs = self._observe(rows)
            final_info: dict[str, Any] = {}
            for r in rows:
                final_info = self._add_info(final_info, self._end_info(int(r)), int(r))
            self._restart(rows)
            fo = np.full(N, None, dtype=object)
            for j, r in enumerate(rows):
                fo[r] = final_obs[j] if self.observation_kind == "box" else _row(final_obs, j)
            infos.update(final_obs=fo, _final_obs=ended.copy(), final_info=final_info, _final_info=ended.copy())
        elif len(rows):
            if mode == AutoresetMode.NEXT_STEP:
                self._needs_reset[rows] = True
            if self.episode_info:
                for r in rows:
                    infos = self._add_info(infos, self.last_episodes[r], int(r))
        infos.update(self._batch_info())
        self._last_rewards = rewards.copy()  # restarts zero it; the returned array stays
        return self._observe(), rewards, term, trunc, infos

    def _end_info(self, row: int) -> dict[str, Any]:
        """The info of the step where ``row``'s episode ended (before any restart)."""
        return dict(self.last_episodes[row]) if self.episode_info else self._row_info(row)

    def _batch_info(self) -> dict[str, np.ndarray]:
        every = np.ones(self.num_envs, dtype=bool)
        return {
            "example_index": self._indices.copy(),
            "_example_index": every,
            "length": self.engine.lengths.copy(),
            "_length": every.copy(),
        }

    def _restart(self, rows: np.ndarray, examples: list[Example] | None = None) -> None:
        """Start new episodes in ``rows`` (examples drawn from each row's generator unless given)."""
        if examples is None:
            examples = [self._pick(self._rngs[r]) for r in rows]
        self.engine.reset_rows(np.asarray(rows).tolist(), examples)
        for r, ex in zip(rows, examples):
            self._indices[r] = self._index_of.get(ex.id, -1)
        self._needs_reset[rows] = False
        self._last_rewards[rows] = 0.0

    def action_masks(self) -> np.ndarray:
        """``[N, A]`` bool: per sub-environment, the generator's top-k (or top-p) tokens and ``</s>``."""
        return self.engine.action_masks(self.mask_top_k, self.mask_top_p)

    def render(self) -> tuple | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        if self.engine.memory is None:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "ansi":
            return tuple(_render.ansi(self, r, float(self._last_rewards[r])) for r in range(self.num_envs))
        return tuple(_render.rgb(self, r) for r in range(self.num_envs))

    # SyncVectorEnv's attribute interface ---------------------------------------
    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """The method (or attribute) ``name`` of the sub-environments: one result each."""
        if name == "action_masks":
            return tuple(self.action_masks(*args, **kwargs))
        if name == "render":
            frames = self.render(*args, **kwargs)
            return tuple(frames) if frames is not None else (None,) * self.num_envs
        attr = getattr(self, name)
        value = attr(*args, **kwargs) if callable(attr) else attr
        return tuple(value for _ in range(self.num_envs))

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """The attribute ``name`` of each sub-environment."""
        return self.call(name)

    def set_attr(self, name: str, values: Any) -> None:
        """Set the attribute ``name``: one value, or a list / tuple of ``num_envs`` equal values."""
        if isinstance(values, (list, tuple)):
            if len(values) != self.num_envs:
                raise ValueError(f"set_attr: {len(values)} values for {self.num_envs} sub-environments")
            if not all(_same(v, values[0]) for v in values):
                raise ValueError(
                    f"set_attr({name!r}): the sub-environments share one generator and its settings; "
                    "pass one value (or num_envs equal values)"
                )
            values = values[0]
        if not hasattr(self, name):
            raise AttributeError(f"set_attr: {type(self).__name__} has no attribute {name!r}")
        setattr(self, name, values)

    def close_extras(self, **kwargs: Any) -> None:
        pass


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(np.all(a == b))
    except Exception:
        return False


def _row(obs: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
    return {k: v[j] for k, v in obs.items()}
