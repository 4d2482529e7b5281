"""The batched generation engine behind every environment of this package.

:class:`GenerationEngine` holds ``N`` sequences being written at once (the
rows): their examples, the encoder memory and decoder state of the generator,
the tokens emitted so far and the running reward state. One call to
:meth:`GenerationEngine.step` appends one token to every row with a single
batched decoder step. :class:`~seq2seq_gym.envs.TextGenEnv` is the engine
with one row; :class:`~seq2seq_gym.envs.TextGenVectorEnv` exposes all rows.

Rows restart independently (:meth:`GenerationEngine.reset_rows`), so a vector
environment can autoreset the sequences that ended while the others go on.

Every public method validates its input completely before it changes
anything: a rejected action leaves the generator, its state and the reward
state exactly as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from seq2seq_gym.data import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Example, Task
from seq2seq_gym.envs.reward import build_reward
from seq2seq_gym.models import Seq2SeqModel
from seq2seq_gym.rewards import Reward, RewardPrefixScorer

INVALID_COPY_MODES = ("raise", "unk")
REWARD_MODES = ("terminal", "dense")
# The longest episode an engine accepts: each row keeps a [max_length] token buffer and the
# dense scorers and intra-decoder attention grow with the length, so a larger value is a typo.
MAX_LENGTH_LIMIT = 10_000


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]``; ``TypeError`` / ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


@dataclass
class Finished:
    """What the engine knows about a sequence when it ends (one row)."""

    example: Example
    tokens: list[int]  # extended ids, EOS excluded
    terminated: bool
    truncated: bool
    scores: dict[str, float]
    total: float


class GenerationEngine:
    """``N`` independent sequences decoded in one batch, with their rewards.

    Args:
        task: the task whose examples and vocabulary the rows use.
        model: the generator (kept in eval mode, run without gradients).
        reward: the task's :class:`~seq2seq_gym.rewards.Reward`
            (:func:`seq2seq_gym.envs.build_reward`), or a metric spec for it.
        num_rows: ``N``, the number of sequences.
        max_length: number of actions after which a sequence is truncated.
        reward_mode: ``"terminal"`` (the score once, at the end) or ``"dense"``
            (the change of the prefix score at every step; sums to the score).
        invalid_copy: what an action naming an empty copy slot does:
            ``"unk"`` (default: it emits ``<unk>``, so agents that cannot mask
            run) or ``"raise"`` (``ValueError``, the strict mode).
    """

    def __init__(
        self,
        task: Task,
        model: Seq2SeqModel,
        reward: Reward | object,
        num_rows: int,
        max_length: int,
        reward_mode: str = "terminal",
        invalid_copy: str = "unk",
    ) -> None:
        num_rows = check_int("num_envs", num_rows, 1)
        max_length = check_int("max_length", max_length, 1, MAX_LENGTH_LIMIT)
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if invalid_copy not in INVALID_COPY_MODES:
            raise ValueError(f"invalid_copy must be one of {INVALID_COPY_MODES}, got {invalid_copy!r}")
        if model.vocab_size != len(task.vocab):
            raise ValueError(
                f"the model's vocabulary ({model.vocab_size} ids) does not match the task's "
                f"({len(task.vocab)} ids); pass a generator trained on this task's vocabulary"
            )
        self.task = task
        self.model = model.eval()
        self.reward = build_reward(task, reward)
        self.n = int(num_rows)
        self.max_length = int(max_length)
        self.reward_mode = reward_mode
        self.invalid_copy = invalid_copy
        self.vocab_size = len(task.vocab)
        # K copy actions: the task's copy slots, for a pointer-generator on text
        copies = getattr(model.config, "pointer_gen", False) and task.modality == "text"
        self.copy_slots = task.max_oovs if copies else 0
        self.num_actions = self.vocab_size + self.copy_slots
        self.device = next(model.parameters()).device

        n = self.n
        self.examples: list[Example | None] = [None] * n
        self.oovs: list[list[str]] = [[] for _ in range(n)]
        self.n_oovs = np.zeros(n, dtype=np.int64)
        self.tokens = np.zeros((n, max_length), dtype=np.int64)  # emitted tokens, EOS excluded
        self.lengths = np.zeros(n, dtype=np.int64)  # tokens in `tokens`
        self.steps = np.zeros(n, dtype=np.int64)  # actions taken (EOS included)
        self.done = np.ones(n, dtype=bool)  # no episode running
        self.returns = np.zeros(n, dtype=np.float64)
        self.references: list[list[list[str]]] = [[] for _ in range(n)]  # each row's reference word lists
        self.src_ext: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
        self.memory = None
        self.state = None
        self.log_probs: torch.Tensor | None = None  # [N, V + K]
        self.features: torch.Tensor | None = None  # [N, D]
        # running reward state (word-level prefix scorer): always in dense mode; in terminal
        # mode built on the first lookahead() and kept in step from then on
        self.scorer: RewardPrefixScorer | None = None

    # ------------------------------------------------------------------ reset
    @torch.no_grad()
    def reset_rows(self, rows: Sequence[int], examples: Sequence[Example]) -> None:
        """Start a new sequence in each of ``rows`` with the matching example."""
        rows = list(rows)
        if len(rows) != len(examples):
            raise ValueError(f"reset_rows: {len(rows)} rows but {len(examples)} examples")
        if not rows:
            return
        for r in rows:
            if not 0 <= r < self.n:
                raise ValueError(f"row {r} outside [0, {self.n})")
        batch = self.task.collate(list(examples)).to(self.device)
        # log-probs over exactly the V + K actions (K = 0 without the copy mechanism)
        memory = self.model.encode(batch, n_ext=max(self.copy_slots, batch.max_oovs))
        state = self.model.init_state(memory)
        log_probs, features, state = self.model.step(self.model.bos_tokens(len(rows)), state, memory)
        log_probs = log_probs[:, : self.num_actions]  # without copy: drop the batch's -inf copy columns
        full = sorted(rows) == list(range(self.n))
        if self.memory is None and not full:
            raise RuntimeError("the first reset must start every row")
        if full:
            order = torch.as_tensor(np.argsort(rows), dtype=torch.long)
            idx = order.to(self.device)
            self.memory, self.state = memory.index_select(idx), state.index_select(idx)
            self.log_probs, self.features = log_probs[idx], features[idx]
        else:
            self.memory = self.memory.replace_rows(rows, memory)
            self.state = self.state.replace_rows(rows, state)  # pads the source width as the memory does
            self.log_probs = self.log_probs.index_copy(0, torch.as_tensor(rows, device=self.device), log_probs)
            self.features = self.features.index_copy(0, torch.as_tensor(rows, device=self.device), features)
        if full and (self.reward_mode == "dense" or self.scorer is not None):
            self.scorer = None  # rebuilt below for all rows
        if self.scorer is not None:
            self.scorer.reset_rows(rows, [ex.references for ex in examples], batch.oovs)
        for j, r in enumerate(rows):
            ex = examples[j]
            self.examples[r] = ex
            self.oovs[r] = batch.oovs[j]
            self.n_oovs[r] = len(batch.oovs[j])
            self.references[r] = ex.references
            if batch.src_ext is not None:
                self.src_ext[r] = batch.src_ext[j, : int(batch.src_lens[j])].cpu().numpy()
        rows_np = np.asarray(rows)
        self.tokens[rows_np] = PAD_ID
        self.lengths[rows_np] = 0
        self.steps[rows_np] = 0
        self.done[rows_np] = False
        self.returns[rows_np] = 0.0
        if self.scorer is None and self.reward_mode == "dense":
            self._start_scorer()

    def _start_scorer(self) -> RewardPrefixScorer:
        """The word-level prefix scorer of every row, replaying the tokens written so far."""
        sc = self.reward.prefix_scorer(self.references, self.oovs, copy_slots=self.copy_slots)
        for t in range(int(self.lengths.max(initial=0))):
            sc.append(self.tokens[:, t], self.lengths > t)
        self.scorer = sc
        return sc

    # ------------------------------------------------------------ validation
    def check_actions(self, actions: object, rows: np.ndarray | None = None) -> np.ndarray:
        """Validate a batch of actions (one per active row) and return them as int64.

        Raises ``TypeError`` for a non-integer dtype, ``ValueError`` for a wrong
        shape, an id outside ``[0, V + K)``, a copy slot with no source word
        behind it (``invalid_copy="raise"``) or a row whose episode has ended.
        Nothing is changed.
        """
        rows = np.arange(self.n) if rows is None else rows
        arr = np.asarray(actions)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"actions must be integer token ids, got dtype {arr.dtype}")
        if arr.shape != (len(rows),):
            raise ValueError(f"expected {len(rows)} action(s) of shape ({len(rows)},), got shape {arr.shape}")
        arr = arr.astype(np.int64, copy=False)
        bad = (arr < 0) | (arr >= self.num_actions)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"action {int(arr[i])} is outside the action space Discrete({self.num_actions}) "
                f"(vocabulary {self.vocab_size} + {self.copy_slots} copy slots)"
            )
        ended = self.done[rows]
        if ended.any():
            i = int(rows[np.flatnonzero(ended)[0]])
            raise RuntimeError(f"episode of env {i} has ended; call reset() before step()")
        slot = arr - self.vocab_size
        empty = (slot >= 0) & (slot >= self.n_oovs[rows])
        if empty.any():
            if self.invalid_copy == "raise":
                i = int(np.flatnonzero(empty)[0])
                raise ValueError(
                    f"action {int(arr[i])} is copy slot {int(slot[i])}, but the source of env {int(rows[i])} has only "
                    f"{int(self.n_oovs[rows[i]])} out-of-vocabulary word(s); mask it with action_masks(), "
                    "or pass invalid_copy='unk' to emit <unk> instead"
                )
            arr = np.where(empty, UNK_ID, arr)
        return arr

    # ------------------------------------------------------------------- step
    @torch.no_grad()
    def step(
        self, actions: object, active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Finished | None]]:
        """Append one token to every active row.

        Args:
            actions: ``[N]`` integer token ids (entries of inactive rows are ignored).
            active: ``[N]`` bool, the rows to step (default: all); every active
                row must be running. Inactive rows are left exactly as they were.

        Returns ``rewards [N]``, ``terminated [N]``, ``truncated [N]`` and, per
        row, a :class:`Finished` record where the sequence ended (else None).
        """
        n = self.n
        if active is None:
            rows = np.arange(n)
            a = self.check_actions(actions, rows)
        else:
            active = np.asarray(active, dtype=bool)
            rows = np.flatnonzero(active)
            arr = np.asarray(actions)
            if arr.shape != (n,):
                raise ValueError(f"expected {n} action(s) of shape ({n},), got shape {arr.shape}")
            a = np.full(n, EOS_ID, dtype=np.int64)
            a[rows] = self.check_actions(arr[rows], rows)
        act = np.zeros(n, dtype=bool)
        act[rows] = True
        is_eos = act & (a == EOS_ID)
        grow = act & ~is_eos
        self.steps[rows] += 1
        rows_grow = np.flatnonzero(grow)
        self.tokens[rows_grow, self.lengths[rows_grow]] = a[rows_grow]
        self.lengths[rows_grow] += 1
        terminated = is_eos
        truncated = act & ~terminated & (self.steps >= self.max_length)
        ended = terminated | truncated

        rewards = np.zeros(n, dtype=np.float64)
        if self.scorer is not None:  # EOS ends a scorer row (increment 0)
            inc = self.scorer.append(np.where(act, a, PAD_ID), act)
            if self.reward_mode == "dense":
                rewards += inc
        finished: list[Finished | None] = [None] * n
        if ended.any():
            ended_rows = np.flatnonzero(ended)
            scores = self._final_scores(ended_rows)
            total = scores.pop("_total")
            for j, r in enumerate(ended_rows):
                if self.reward_mode == "terminal":
                    rewards[r] = total[j]
                finished[r] = Finished(
                    example=self.examples[r],
                    tokens=self.tokens[r, : self.lengths[r]].tolist(),
                    terminated=bool(terminated[r]),
                    truncated=bool(truncated[r]),
                    scores={k: float(v[j]) for k, v in scores.items()},
                    total=float(total[j]),
                )
        self.returns += rewards
        self.done |= ended

        prev = torch.from_numpy(a).to(self.device)
        log_probs, features, state = self.model.step(prev, self.state, self.memory)
        log_probs = log_probs[:, : self.num_actions]
        if len(rows) < n:  # keep the inactive rows as they were
            keep = torch.as_tensor(np.flatnonzero(~act), device=self.device)
            state = state.replace_rows(keep, self.state.index_select(keep))
            log_probs = log_probs.index_copy(0, keep, self.log_probs.index_select(0, keep))
            features = features.index_copy(0, keep, self.features.index_select(0, keep))
        self.log_probs, self.features, self.state = log_probs, features, state
        return rewards.astype(np.float32), terminated, truncated, finished

    def _final_scores(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Scores of the finished ``rows``: each named component and the reward (``"_total"``)."""
        hyps = self.tokens[rows, : max(int(self.lengths[rows].max()), 1)]
        comps = self.reward.components(hyps, self.lengths[rows], [self.references[r] for r in rows],
                                       [self.oovs[r] for r in rows])
        out = {k: v.cpu().numpy() for k, v in comps.items()}
        out["_total"] = self.reward.combine(comps).cpu().numpy()
        return out

    def lookahead(self, candidates: object = None, *, invalid: float = float("-inf")) -> torch.Tensor:
        """Exact one-step reward increments of the next actions of every row ("true Q" targets).

        ``out[i, a] = score(prefix_i + a) - score(prefix_i)``: the dense reward of taking
        ``a`` now, in either reward mode (in terminal mode the episode's return is the sum
        of these along its path). ``</s>`` gets 0, a row whose episode has ended gets 0.
        An empty copy slot gets ``invalid`` under ``invalid_copy="raise"`` (the
        environment rejects it) and the value of ``<unk>`` under ``invalid_copy="unk"``
        (what stepping it emits).

        Args:
            candidates: None for every action (``[N, V + K]``), or ``[N, k]`` action ids:
                their increments ``[N, k]``, without a dense ``[N, V]`` array.
            invalid: the value of actions the environment rejects.
        Returns float64 on the generator's device.
        """
        if self.log_probs is None:
            raise RuntimeError("call reset() before lookahead()")
        sc = self.scorer if self.scorer is not None else self._start_scorer()
        V = self.vocab_size
        unk = self.invalid_copy == "unk"
        if candidates is None:
            out = sc.lookahead(invalid=invalid)
            if unk and self.copy_slots:
                empty = np.arange(self.copy_slots)[None, :] >= self.n_oovs[:, None]
                cols = out[:, V:]
                cols[torch.from_numpy(empty)] = 0.0
                cols += torch.from_numpy(empty) * out[:, UNK_ID : UNK_ID + 1]
        else:
            cand = np.asarray(candidates.cpu() if isinstance(candidates, torch.Tensor) else candidates)
            if cand.dtype == bool or not np.issubdtype(cand.dtype, np.integer):
                raise TypeError(f"candidates must be integer action ids, got dtype {cand.dtype}")
            if cand.ndim != 2 or cand.shape[0] != self.n:
                raise ValueError(f"candidates must have shape ({self.n}, k), got {cand.shape}")
            if cand.size and (cand.min() < 0 or cand.max() >= self.num_actions):
                raise ValueError(f"candidates must hold action ids in [0, {self.num_actions})")
            if unk:
                cand = np.where((cand >= V) & (cand - V >= self.n_oovs[:, None]), UNK_ID, cand)
            out = sc.lookahead(cand.astype(np.int64), invalid=invalid)
        out[torch.from_numpy(self.done)] = 0.0
        return out.to(self.device)

    # ---------------------------------------------------------------- queries
    def action_masks(self, top_k: int | None = 50, top_p: float | None = None) -> np.ndarray:
        """``[N, V + K]`` bool: the generator's ``top_k`` (or nucleus ``top_p``) tokens plus ``</s>``.

        ``top_p``, when given, replaces ``top_k``; with both ``None`` every
        valid action is allowed. Empty copy slots, ``<pad>`` and ``<s>`` are
        never allowed.
        """
        if self.log_probs is None:
            raise RuntimeError("call reset() before action_masks()")
        lp = self.log_probs.clone()
        lp[:, PAD_ID] = float("-inf")
        lp[:, BOS_ID] = float("-inf")
        slot = torch.arange(self.copy_slots, device=lp.device)
        if self.copy_slots:
            empty = slot[None, :] >= torch.as_tensor(self.n_oovs, device=lp.device)[:, None]
            lp[:, self.vocab_size :] = lp[:, self.vocab_size :].masked_fill(empty, float("-inf"))
        mask = torch.zeros_like(lp, dtype=torch.bool)
        if top_p is not None:
            if not 0.0 < top_p <= 1.0:
                raise ValueError(f"top_p must be in (0, 1], got {top_p}")
            sorted_lp, order = lp.sort(dim=1, descending=True)
            cum = sorted_lp.exp().cumsum(dim=1)
            keep = (cum - sorted_lp.exp()) < top_p  # smallest prefix with mass >= top_p
            keep &= torch.isfinite(sorted_lp)
            mask.scatter_(1, order, keep)
        elif top_k is not None:
            k = min(check_int("top_k", top_k, 1), lp.shape[1])
            vals, idx = lp.topk(k, dim=1)
            mask.scatter_(1, idx, torch.isfinite(vals))
        else:
            mask = torch.isfinite(lp)
        mask[:, EOS_ID] = True
        return mask.cpu().numpy()

    def text(self, row: int) -> str:
        """The text generated so far in ``row`` (copied words included)."""
        toks = self.tokens[row, : self.lengths[row]]
        return " ".join(self.task.vocab.decode(toks, self.oovs[row], stop_at_eos=False, skip_special=False))

    def attention(self, row: int) -> np.ndarray:
        """The generator's last attention over the source of ``row`` (``[S_row]``)."""
        attn = self.state.attn[row].float().cpu().numpy()
        if self.examples[row] is not None and not self.examples[row].is_image:
            attn = attn[: len(self.src_ext[row])]
        return attn
