"""Gymnasium environments for text generation: one sequence, or a native batch of them."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from seq2seq_gym.data import PAD_ID, Example, Task, make_task
from seq2seq_gym.envs import render as _render
from seq2seq_gym.envs.core import GenerationEngine
from seq2seq_gym.envs.reward import build_reward
from seq2seq_gym.models import Seq2SeqModel
from seq2seq_gym.rewards import Metric

OBSERVATION_KINDS = ("box", "dict")
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"


# ----------------------------------------------------------------------------- building blocks
def resolve_task(task: str | Task | None, data: str | os.PathLike | Task | None) -> Task:
    """The task an environment uses: ``data`` (a Task, a registered name or a path) or ``task``."""
    source = data if data is not None else task
    if source is None:
        raise ValueError("pass task= (a built-in task name) or data= (a Task, a task name or a path)")
    if isinstance(source, Task):
        return source
    if isinstance(source, (str, os.PathLike)):
        from seq2seq_gym.data import list_tasks

        name = os.fspath(source)
        if name in list_tasks():
            return make_task(name)
        path = Path(name).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"data={name!r} is neither a registered task ({', '.join(list_tasks())}) nor an existing path"
            )
        from seq2seq_gym.data import load_path

        return load_path(path)
    raise TypeError(f"data must be a Task, a task name or a path, got {type(source).__name__}")


def resolve_model(
    model: str | os.PathLike | Seq2SeqModel | None, task: Task, device: str | torch.device
) -> Seq2SeqModel:
    """The generator: a model, a checkpoint directory, the shipped one for a built-in task, or a fresh one."""
    if isinstance(model, Seq2SeqModel):
        gen = model
    elif model is not None:
        path = Path(model).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"model={os.fspath(model)!r}: no such checkpoint directory")
        gen = Seq2SeqModel.load(path, map_location=device)
    else:
        gen = load_pretrained(task, device=device)
        if gen is None:
            warnings.warn(
                f"no generator given for task {task.name!r}: building a fresh, untrained one for its vocabulary "
                f"({len(task.vocab)} words); pass model= a checkpoint directory to use a trained generator",
                UserWarning,
                stacklevel=3,
            )
            torch.manual_seed(0)
            gen = Seq2SeqModel.from_task(task)
    vocab = getattr(gen, "vocab", None)
    if vocab is not None and vocab != task.vocab:
        raise ValueError(
            f"the generator's vocabulary ({len(vocab)} ids) differs from task {task.name!r}'s ({len(task.vocab)} ids)"
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
        invalid_copy: str = "raise",
        seed: int | None = None,
        render_mode: str | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        """Resolve the arguments of :class:`TextGenEnv` (the defaults are its defaults)."""
        if observation not in OBSERVATION_KINDS:
            raise ValueError(f"observation must be one of {OBSERVATION_KINDS}, got {observation!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.task = resolve_task(task, data)
        self.examples = self.task.split(split)
        if not self.examples:
            raise ValueError(f"split {split!r} of task {self.task.name!r} is empty")
        self.split = split
        self.generator = resolve_model(model, self.task, device)
        self.metric = build_reward(self.task, self.task.metric if reward is None else reward)
        self.observation_kind = observation
        self.mask_top_k = mask_top_k
        self.mask_top_p = mask_top_p
        self.render_mode = render_mode
        self._seed = seed
        self.engine = GenerationEngine(
            self.task,
            self.generator,
            self.metric,
            num_rows=num_envs,
            max_length=max_length if max_length is not None else self.task.max_target_len + 1,
            reward_mode=reward_mode,
            invalid_copy=invalid_copy,
        )
        self.max_length = self.engine.max_length
        self._single_obs_space = self._make_obs_space()
        self._single_act_space = spaces.Discrete(self.engine.num_actions)
        self._ids = np.empty(num_envs, dtype=object)

    # spaces -----------------------------------------------------------------
    def _make_obs_space(self) -> spaces.Space:
        D = int(self.generator.feature_dim)
        state = spaces.Box(-np.inf, np.inf, shape=(D,), dtype=np.float32)
        if self.observation_kind == "box":
            return state
        A = self.engine.num_actions
        L = self.max_length
        parts: dict[str, spaces.Space] = {"state": state}
        if self.task.modality == "image":
            shape = np.asarray(self.examples[0].source).shape
            parts["image"] = spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)
        else:
            S = self.task.max_source_len
            parts["source"] = spaces.Box(0, A - 1, shape=(S,), dtype=np.int64)
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
        if self.task.modality == "image":
            obs["image"] = np.stack([np.asarray(eng.examples[r].source, dtype=np.float32) / 255.0 for r in rows])
        else:
            S = self.task.max_source_len
            src = np.full((len(rows), S), PAD_ID, dtype=np.int64)
            for j, r in enumerate(rows):
                ids = eng.src_ext[r][:S]
                src[j, : len(ids)] = ids
            obs["source"] = src
            obs["source_mask"] = (src != PAD_ID).astype(np.int8)
        return obs

    # examples ---------------------------------------------------------------
    def _pick(self, rng: np.random.Generator) -> Example:
        return self.examples[int(rng.integers(len(self.examples)))]


def _check_example(ex: Any) -> Example:
    if not isinstance(ex, Example):
        raise TypeError(f"options['example'] must be a seq2seq_gym.data.Example, got {type(ex).__name__}")
    return ex


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

    ``observation="box"`` (default): ``Box(-inf, inf, (D,), float32)``, the
    generator's features ``[s_t; c_t(; c^d_t)]`` after the prefix:

    | slice             | meaning                                          |
    |-------------------|--------------------------------------------------|
    | ``0 : H``         | top decoder LSTM hidden state ``s_t``            |
    | ``H : H+E``       | encoder attention context ``c_t``                |
    | ``H+E : D``       | intra-decoder context (only with that option)    |

    ``observation="dict"``: ``Dict`` with ``"state"`` (the Box above),
    ``"prefix"`` (``Box(0, A-1, (max_length,), int64)``, the tokens written,
    padded with 0) and ``"prefix_mask"`` (``MultiBinary(max_length)``); text
    tasks add ``"source"`` (``Box(0, A-1, (max_source_len,), int64)``, the
    source in extended ids) and ``"source_mask"``; image tasks add ``"image"``
    (``Box(0, 1, (H, W, 3), float32)``).

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
    else 0. A copy slot with no source word behind it raises ``ValueError``
    (``invalid_copy="raise"``) or emits ``<unk>`` (``invalid_copy="unk"``,
    for agents that cannot mask actions). :meth:`action_masks` gives the
    generator's ``top_k`` tokens plus ``</s>`` (MaskablePPO convention).

    ## Rewards

    ``reward_mode="terminal"`` (default): 0 at every step, and at the last step
    the score of the text (``</s>`` excluded) against the references, from
    :mod:`seq2seq_gym.rewards` (exact: equal to rouge-score / sacrebleu /
    pycocoevalcap on the words). ``reward_mode="dense"``: at step ``t`` the
    change ``score(y_1..y_t) - score(y_1..y_{t-1})``, which sums to the same
    score. ``reward`` chooses the metric: ``"rougeL"`` (summarization),
    ``"bleu"`` (translation), ``"cider"`` (captioning), or a weighted mixture
    such as ``"rougeL:0.7,rouge2:0.3"``.

    ## Starting State

    ``reset()`` draws an example of the split uniformly with the environment's
    random generator (or takes ``options={"example": ex}`` or
    ``options={"index": i}``), encodes it and feeds ``<s>``.

    ## Episode End

    * Termination: the action is ``</s>``.
    * Truncation: ``max_length`` actions were taken (default: the task's
      ``max_target_len + 1``).

    ``info`` always holds ``"example_id"`` and ``"length"``; on the last step
    it adds ``"text"`` (the words written, copies resolved), ``"scores"`` (each
    metric of the reward), ``"references"`` and ``"episode_return"``.

    ## Arguments

    ```python
    gymnasium.make("Seq2Seq/Summarization-v0", data=None, split="train", model=None,
                   reward=None, reward_mode="terminal", max_length=None, observation="box",
                   mask_top_k=50, mask_top_p=None, invalid_copy="raise", seed=None,
                   render_mode=None, device="cpu")
    ```

    * ``task``: a built-in task name (set by the registered id).
    * ``data``: a :class:`~seq2seq_gym.data.Task`, a registered task name, or a
      path to data on disk; without ``model`` a fresh generator is built for its
      vocabulary (with a warning).
    * ``split``: the split episodes draw from (``"train"``, ``"validation"``, ``"test"``).
    * ``model``: a :class:`~seq2seq_gym.models.Seq2SeqModel` or a checkpoint
      directory; default the generator shipped for the built-in task.
    * ``reward``: a metric name, a mixture string or dict, or a Metric; default the task's.
    * ``reward_mode``: ``"terminal"`` or ``"dense"``.
    * ``max_length``: actions before truncation.
    * ``observation``: ``"box"`` or ``"dict"``.
    * ``mask_top_k`` / ``mask_top_p``: what :meth:`action_masks` allows.
    * ``invalid_copy``: ``"raise"`` or ``"unk"`` (see Action Space).
    * ``seed``: seed of the first reset when ``reset()`` gets none.
    * ``render_mode``: ``"ansi"`` (source, text so far, reward) or
      ``"rgb_array"`` (the image and caption, or the attention over the source).
    * ``device``: where the generator runs.

    ## Version History

    * v0: initial release.
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
        invalid_copy: str = "raise",
        seed: int | None = None,
        render_mode: str | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self._setup(1, task, data, split, model, reward, reward_mode, max_length, observation,
                    mask_top_k, mask_top_p, invalid_copy, seed, render_mode, device)
        self.observation_space = self._single_obs_space
        self.action_space = self._single_act_space
        self._last_reward = 0.0
        self._last_info: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None
        super().reset(seed=seed)
        options = options or {}
        if "example" in options:
            ex = _check_example(options["example"])
        elif "index" in options:
            i = int(options["index"])
            if not 0 <= i < len(self.examples):
                raise ValueError(f"options['index'] must lie in [0, {len(self.examples)}), got {i}")
            ex = self.examples[i]
        else:
            ex = self._pick(self.np_random)
        self.engine.reset_rows([0], [ex])
        self._last_reward = 0.0
        info = {"example_id": ex.id, "length": 0}
        self._last_info = info
        return self._observe()[0] if self.observation_kind == "box" else _row(self._observe(), 0), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if self.engine.examples[0] is None:
            raise RuntimeError("call reset() before step()")
        arr = np.asarray(action)
        if arr.ndim == 1 and arr.shape == (1,):
            arr = arr.reshape(())
        if arr.ndim != 0:
            raise ValueError(f"action must be a single token id (a scalar), got shape {arr.shape}")
        rewards, term, trunc, finished = self.engine.step(arr.reshape(1))
        info: dict[str, Any] = {"example_id": self.engine.examples[0].id, "length": int(self.engine.lengths[0])}
        if finished[0] is not None:
            info.update(episode_info(self, 0, finished[0]))
        self._last_reward = float(rewards[0])
        self._last_info = info
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

    The native vector form of :class:`TextGenEnv` (same observation, action and
    reward definitions, same arguments, see its docstring for the spec):
    ``gymnasium.make_vec("Seq2Seq/Summarization-v0", num_envs=N)`` builds it
    through the registered ``vector_entry_point``. One :meth:`step` runs one
    generator step for all ``N`` sequences on the generator's device, so the
    cost per token is close to the bare batched decode loop.

    Sub-environment ``i`` draws its examples from its own random generator
    seeded with ``seed + i`` (as :class:`gymnasium.vector.SyncVectorEnv` seeds
    its copies), so its episodes equal those of a :class:`TextGenEnv` reset
    with ``seed + i``.

    Autoreset: ``autoreset_mode`` is ``SAME_STEP`` by default: when a sequence
    ends, the step returns the first observation of its next episode and puts
    the last one in ``info["final_obs"]`` and its episode info in
    ``info["final_info"]`` (masked by ``info["_final_obs"]``), which is what
    Stable-Baselines3's ``VecEnv`` expects. ``NEXT_STEP`` (Gymnasium's default)
    is supported too: the step after the end resets that sub-environment and
    ignores its action. ``reset(options={"reset_mask": mask})`` restarts only
    the masked sub-environments.

    Args:
        num_envs: number of sequences ``N``.
        autoreset_mode: an :class:`gymnasium.vector.AutoresetMode` or its string value.
        **kwargs: the arguments of :class:`TextGenEnv`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        **kwargs: Any,
    ) -> None:
        mode = AutoresetMode(autoreset_mode) if not isinstance(autoreset_mode, AutoresetMode) else autoreset_mode
        if mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode DISABLED is not supported; use SAME_STEP or NEXT_STEP")
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self._setup(int(num_envs), **kwargs)
        self.num_envs = int(num_envs)
        self.autoreset_mode = mode
        self.single_observation_space = self._single_obs_space
        self.single_action_space = self._single_act_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator] = []
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._last_rewards = np.zeros(self.num_envs, dtype=np.float32)
        # the episode info of each sub-environment's last finished episode
        self.last_episode_infos: list[dict[str, Any] | None] = [None] * self.num_envs

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None):
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None
        if seed is None and not self._rngs:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, (int, np.integer)) else list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"reset(seed=...) needs {self.num_envs} seeds, got {len(seeds)}")
            self._rngs = [gym.utils.seeding.np_random(int(s))[0] for s in seeds]
        options = options or {}
        mask = options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"options['reset_mask'] must have shape ({self.num_envs},), got {mask.shape}")
            if self.engine.memory is None and not mask.all():
                raise RuntimeError("the first reset must reset every sub-environment")
            rows = np.flatnonzero(mask)
        else:
            rows = np.arange(self.num_envs)
        exs = None
        if "examples" in options:
            exs = [_check_example(e) for e in options["examples"]]
            if len(exs) != len(rows):
                raise ValueError(f"options['examples'] needs {len(rows)} examples, got {len(exs)}")
        self._restart(rows, exs)
        self._last_rewards[rows] = 0.0
        return self._observe(), {"example_id": self._ids.copy(), "_example_id": np.ones(self.num_envs, dtype=bool)}

    def step(self, actions: Any):
        eng = self.engine
        if eng.memory is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions)
        infos: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.NEXT_STEP and self._needs_reset.any():
            redo = self._needs_reset.copy()
            active = ~redo
            if actions.shape != (self.num_envs,):
                raise ValueError(f"expected actions of shape ({self.num_envs},), got {actions.shape}")
            if active.any():
                rewards, term, trunc, finished = eng.step(actions, active=active)
            else:
                rewards = np.zeros(self.num_envs, np.float32)
                term = trunc = np.zeros(self.num_envs, dtype=bool)
                finished = [None] * self.num_envs
            self._restart(np.flatnonzero(redo))
        else:
            rewards, term, trunc, finished = eng.step(actions)
        ended = term | trunc
        obs_final = None
        if ended.any():
            rows = np.flatnonzero(ended)
            if self.autoreset_mode == AutoresetMode.SAME_STEP:
                obs_final = self._observe(rows)
                final_info = {}
                for r in rows:
                    self.last_episode_infos[r] = episode_info(self, r, finished[r])
                    final_info = self._add_info(final_info, self.last_episode_infos[r], int(r))
                self._restart(rows)
                fo = np.full(self.num_envs, None, dtype=object)
                for j, r in enumerate(rows):
                    fo[r] = obs_final[j] if self.observation_kind == "box" else _row(obs_final, j)
                infos["final_obs"] = fo
                infos["_final_obs"] = ended.copy()
                infos["final_info"] = final_info
                infos["_final_info"] = ended.copy()
            else:
                for r in rows:
                    self.last_episode_infos[r] = episode_info(self, r, finished[r])
                    infos = self._add_info(infos, self.last_episode_infos[r], int(r))
                self._needs_reset[rows] = True
        infos["example_id"] = self._ids.copy()
        infos["_example_id"] = np.ones(self.num_envs, dtype=bool)
        self._last_rewards = rewards
        return self._observe(), rewards, term, trunc, infos

    def _restart(self, rows: np.ndarray, examples: list[Example] | None = None) -> None:
        """Start new episodes in ``rows`` (examples drawn from each row's generator unless given)."""
        if examples is None:
            examples = [self._pick(self._rngs[r]) for r in rows]
        self.engine.reset_rows(rows.tolist(), examples)
        for r, ex in zip(rows, examples):
            self._ids[r] = ex.id
        self._needs_reset[rows] = False

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

    def close_extras(self, **kwargs: Any) -> None:
        pass


def _row(obs: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
    return {k: v[j] for k, v in obs.items()}


def episode_info(env: _Base, row: int, fin) -> dict[str, Any]:
    """The info an episode adds on its last step."""
    vocab = env.task.vocab
    eng = env.engine
    return {
        "text": " ".join(vocab.decode(fin.tokens, eng.oovs[row], stop_at_eos=False, skip_special=False)),
        "scores": dict(fin.scores),
        "references": [" ".join(r) for r in fin.example.references],
        "episode_return": float(eng.returns[row]),
    }
