"""Q-learning from the agents' parts (buffers, heads, targets, ``losses.td_loss``) against
the exact Q* of small enumerable text-generation problems.

:class:`PrefixMDP` is the Q-learning counterpart of ``test_agents_losses.ToyProblem``: a
state is a prefix of non-EOS tokens, an action appends a token, an episode ends at EOS or
after ``horizon`` tokens, and the reward is a real metric of ``seq2seq_gym.rewards``
against a fixed reference, dense (``Metric.dense`` increments) or terminal (the score on
the last step). ``Q*`` comes from backward induction over the prefixes and is checked
against brute-force enumeration of every completion.

The learners are tabular: the features of a state are one-hot, so a ``LinearQHead``
without biases is a Q table and a ``DuelingQHead`` a V table plus an A table. Several seeds
run at once as disjoint blocks of one table (a one-hot over ``(seed, state)``; an SGD step
changes only the entries its samples touch, so the blocks are independent runs), each with
its own seeded buffer and behaviour generator.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from seq2seq_gym.agents import heads as H
from seq2seq_gym.agents import losses as L
from seq2seq_gym.agents.buffers import PrioritizedReplayBuffer, ReplayBuffer
from seq2seq_gym.agents.targets import TargetNetwork, q_targets
from seq2seq_gym.rewards import Bleu, RougeL
from tests.test_agents_losses import ToyProblem

PAD, EOS, A, B = 0, 1, 2, 3


class PrefixMDP:
    """An enumerable token-level MDP with exact Q*.

    Args:
        tokens: the action ids (EOS among them); the action space is ``range(max(tokens) + 1)``
            with the others masked, as an environment's ``action_masks()``.
        horizon: maximum output length.
        reference: the reference token ids.
        metric: a ``seq2seq_gym.rewards`` metric (EOS-aware).
        mode: ``"dense"`` (per-step increments) or ``"terminal"`` (the score at the end).
        gamma: the discount.
    """

    def __init__(self, tokens=(EOS, A, B), horizon: int = 3, reference=(A, B), metric=None,
                 mode: str = "dense", gamma: float = 1.0) -> None:
        self.tokens, self.H, self.gamma, self.mode = tuple(tokens), horizon, gamma, mode
        self.n_actions = max(tokens) + 1
        self.allowed = torch.zeros(self.n_actions, dtype=torch.bool)
        self.allowed[list(tokens)] = True
        words = [t for t in tokens if t != EOS]
        self.prefixes = [p for k in range(horizon) for p in itertools.product(words, repeat=k)]
        self.index = {p: i for i, p in enumerate(self.prefixes)}
        self.n_states = len(self.prefixes)
        metric = metric if metric is not None else RougeL(eos_id=EOS)
        # every (state, action) once: its output so far, scored in one batched call
        pairs = [(s, a) for s in range(self.n_states) for a in tokens]
        seqs = [(*self.prefixes[s], a) for s, a in pairs]
        hyps = torch.tensor([list(q) + [PAD] * (horizon - len(q)) for q in seqs])
        lens = torch.tensor([len(q) for q in seqs])
        refs = torch.tensor([list(reference)] * len(seqs))
        dense = metric.dense(hyps, lens, refs)  # [P, H] float64
        final = metric.terminal(hyps, lens, refs)
        self.reward = torch.zeros(self.n_states, self.n_actions, dtype=torch.float64)
        self.child = torch.full((self.n_states, self.n_actions), -1, dtype=torch.long)
        for j, ((s, a), q) in enumerate(zip(pairs, seqs)):
            ends = a == EOS or len(q) == horizon
            self.reward[s, a] = dense[j, len(q) - 1] if mode == "dense" else (final[j] if ends else 0.0)
            if not ends:
                self.child[s, a] = self.index[q]
        self._lookup = torch.zeros((horizon + 1) * self.n_actions**horizon, dtype=torch.long)  # prefix code -> state
        for p, i in self.index.items():
            self._lookup[self._codes(torch.tensor([list(p) + [PAD] * (horizon - len(p))]), torch.tensor([len(p)]))] = i

    def q_star(self) -> torch.Tensor:
        """``[n_states, n_actions]`` exact Q* by backward induction (``-inf`` on masked actions)."""
        q = torch.full((self.n_states, self.n_actions), float("-inf"), dtype=torch.float64)
        for s in sorted(range(self.n_states), key=lambda i: -len(self.prefixes[i])):  # longest prefixes first
            for a in self.tokens:
                c = int(self.child[s, a])
                q[s, a] = self.reward[s, a] + (self.gamma * q[c].max() if c >= 0 else 0.0)
        return q

    def brute_force_q(self, s: int, a: int) -> float:
        """``Q*(s, a)`` as the best discounted return over every completion (no recursion)."""
        best = float("-inf")
        for rest in itertools.product(self.tokens, repeat=self.H):
            total, state, act, disc = 0.0, s, a, 1.0
            for nxt in (None, *rest):
                if nxt is not None:
                    act = nxt
                total += disc * float(self.reward[state, act])
                disc *= self.gamma
                state = int(self.child[state, act])
                if state < 0:
                    break
            best = max(best, total)
        return best

    def episodes(self, n: int, gen: torch.Generator, noise: float = 0.0):
        """``n`` episodes of the uniform behaviour policy: actions ``[n, H]``, rewards
        (plus ``N(0, noise^2)`` where a reward is given: every step when dense, the last
        when terminal) and mask. Every episode ends the MDP (EOS or the horizon)."""
        toks = torch.tensor(self.tokens)
        state = torch.zeros(n, dtype=torch.long)
        alive = torch.ones(n, dtype=torch.bool)
        actions = torch.zeros(n, self.H, dtype=torch.long)
        rewards = torch.zeros(n, self.H, dtype=torch.float64)
        mask = torch.zeros(n, self.H, dtype=torch.bool)
        for t in range(self.H):
            a = toks[torch.randint(len(toks), (n,), generator=gen)]
            actions[:, t] = torch.where(alive, a, PAD)
            r = self.reward[state.clamp(min=0), a]
            ends = (a == EOS) | (t == self.H - 1)
            r = r + noise * torch.randn(n, generator=gen, dtype=torch.float64) * (ends | (self.mode == "dense"))
            rewards[:, t] = torch.where(alive, r, 0.0)
            mask[:, t] = alive
            nxt = self.child[state.clamp(min=0), a]
            alive = alive & (nxt >= 0)
            state = torch.where(alive, nxt, -1)
        return actions, rewards, mask

    def _codes(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        width = min(tokens.shape[1], self.H)
        digits = self.n_actions ** torch.arange(width)
        keep = torch.arange(width)[None, :] < lengths[:, None]
        return lengths * self.n_actions**self.H + (tokens[:, :width] * keep * digits).sum(1)

    def states_of(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``[N]`` state index of each prefix ``tokens[i, :lengths[i]]`` (0 for terminal ones,
        whose bootstrap ``done`` masks)."""
        return self._lookup[self._codes(tokens, lengths.clamp(max=self.H))]


@dataclass
class Run:
    """What :func:`q_learning` returns."""

    q: torch.Tensor  # [seeds, n_states, n_actions] the learned tables
    head: torch.nn.Module  # the learned head (one block of its table per seed)
    errors: torch.Tensor  # [seeds] max |Q - Q*| over the allowed (state, action) pairs


def tabular(head: torch.nn.Module) -> torch.nn.Module:
    """Zero every weight, zero and freeze every bias: on one-hot features of (seed, state)
    a bias would be shared by the seeds; without it each seed owns its block of the table."""
    for name, p in head.named_parameters():
        p.detach().zero_()
        if name.endswith("bias"):
            p.requires_grad_(False)
    return head


def q_learning(mdp: PrefixMDP, *, kind: str = "dqn", dueling: bool = False, seeds=(0, 1), updates: int = 200,
               batch: int = 32, lr: float = 0.3, target: dict | None = None, noise: float = 0.0,
               prioritized: bool = False, eps: float = 0.01, episodes: int = 400,
               refresh: tuple[int, int] | None = None, capacity: int = 5000, value_lr: float = 0.5,
               start: torch.Tensor | None = None) -> Run:
    """Tabular DQN / Double DQN / Dueling DQN (``kind``, ``dueling``) from the agents' parts.

    Each seed fills its own seeded buffer with ``episodes`` uniform-behaviour episodes
    (and ``refresh = (every, k)`` adds ``k`` more every ``every`` updates, fresh noise).
    An update samples ``batch`` transitions per seed, re-scores both states (here: their
    one-hot features, from the stored prefixes), builds ``q_targets`` with the target
    network (``target``: ``TargetNetwork`` arguments, default a hard copy every 10
    updates), and takes one SGD step on ``losses.td_loss`` (MSE, IS-weighted) in which
    each sampled transition moves its table entry by ``lr * (y - Q)``; prioritized replay
    gets the new |TD errors|. Plain SGD, not Adam: Adam's per-coordinate normalisation
    takes large steps on rarely sampled entries and keeps them from settling. The dueling
    value stream steps ``value_lr`` times slower (``V(s)`` moves with every action of ``s``;
    ``value_lr = 1 / n_actions`` would make the dueling update exactly the plain one).
    """
    S, n, nA = len(seeds), mdp.n_states, mdp.n_actions
    D = S * n
    head = H.DuelingQHead(H.ValueHead(D), H.LinearQHead(D, nA), mode="mean") if dueling else H.LinearQHead(D, nA)
    tabular(head)
    if start is not None:  # every seed's table starts at `start` [n_states, n_actions] (masked actions: 0)
        with torch.no_grad():
            head.out.weight.copy_(start.masked_fill(~mdp.allowed, 0.0).T.repeat(1, S).float())
    tnet = TargetNetwork(head, **(target or {"update": "hard", "interval": 10}))
    steps = {head.value.out.weight: lr * batch * value_lr, head.advantage.out.weight: lr * batch} if dueling \
        else {head.out.weight: lr * batch}
    behaviour = [torch.Generator().manual_seed(1000 + s) for s in seeds]
    buffers = [PrioritizedReplayBuffer(capacity, alpha=0.6, eps=eps, gamma=mdp.gamma, seed=s) if prioritized
               else ReplayBuffer(capacity, gamma=mdp.gamma, seed=s) for s in seeds]

    def collect(i: int, k: int) -> None:
        actions, rewards, mask = mdp.episodes(k, behaviour[i], noise)
        buffers[i].add_episodes(["x"] * k, actions, rewards, mask)  # EOS and the horizon both end the MDP

    for i in range(S):
        collect(i, episodes)
    allowed = mdp.allowed.expand(batch * S, nA)
    block = torch.arange(S).repeat_interleave(batch) * n  # seed i's states are rows i * n ...
    for u in range(updates):
        if refresh and u % refresh[0] == refresh[0] - 1:
            for i in range(S):
                collect(i, refresh[1])
        xs = [buf.sample(batch, t=u / updates) for buf in buffers]
        s_t = torch.cat([mdp.states_of(x.tokens, x.steps) for x in xs]) + block
        s_next = torch.cat([mdp.states_of(x.tokens, x.next_steps) for x in xs]) + block
        act = torch.cat([x.actions for x in xs])
        r, disc = torch.cat([x.rewards for x in xs]).float(), torch.cat([x.discounts for x in xs]).float()
        dones, w = torch.cat([x.dones for x in xs]), torch.cat([x.weights for x in xs]).float()
        q = head(F.one_hot(s_t, D).float()).gather(1, act[:, None])[:, 0]  # Q(s_t, a_t)
        with torch.no_grad():
            f_next = F.one_hot(s_next, D).float()
            y = q_targets(r, disc, dones, tnet(f_next), kind=kind, next_q_online=head(f_next), action_mask=allowed)
        loss = L.td_loss(q, y, weights=w, kind="mse")
        grads = torch.autograd.grad(loss, list(steps))
        with torch.no_grad():  # one SGD step
            for (p, step), g in zip(steps.items(), grads):
                p -= step * g
        tnet.step()
        if prioritized:
            for i, (buf, x) in enumerate(zip(buffers, xs)):
                buf.update_priorities(x.indices, (y - q.detach())[i * batch:(i + 1) * batch])
    with torch.no_grad():
        table = head(torch.eye(D)).view(S, n, nA).double()
    q_star = mdp.q_star()
    ok = mdp.allowed.expand(n, nA)
    return Run(table, head, torch.stack([(table[i] - q_star)[ok].abs().max() for i in range(S)]))


# ============================================================================ Q* itself

PROBLEMS = {
    "rougeL-dense-g0.9": dict(metric=RougeL(eos_id=EOS), mode="dense", gamma=0.9),
    "bleu2-terminal-g1": dict(metric=Bleu(max_ngram_order=2, eos_id=EOS), mode="terminal", gamma=1.0,
                              reference=(A, B, A)),
}


@pytest.fixture(scope="module", params=sorted(PROBLEMS))
def problem(request) -> PrefixMDP:
    return PrefixMDP(**PROBLEMS[request.param])


def test_backward_induction_is_the_best_return_over_every_completion(problem):
    q = problem.q_star()
    assert torch.isneginf(q[:, ~problem.allowed]).all()
    for s in range(problem.n_states):
        for a in problem.tokens:
            assert q[s, a].item() == pytest.approx(problem.brute_force_q(s, a), abs=1e-12)
    assert len(set(q[:, problem.allowed].flatten().tolist())) >= 5  # a Q* with some structure
    assert q[0].max() > 0


def test_the_mdp_rewards_are_the_toy_problem_metric():
    """Summed along each output, the MDP's dense and terminal rewards are ToyProblem's scores."""
    toy = ToyProblem()  # ROUGE-L F against "A B", horizon 3
    dense, terminal = PrefixMDP(mode="dense"), PrefixMDP(mode="terminal")
    for i in range(toy.S):
        seq = toy.tokens[i, : toy.lengths[i]].tolist()
        states = [dense.index[tuple(seq[:t])] for t in range(len(seq))]
        r_dense = [float(dense.reward[s, a]) for s, a in zip(states, seq)]
        assert r_dense == pytest.approx(toy.dense[i, : len(seq)].tolist(), abs=1e-12)
        assert sum(float(terminal.reward[s, a]) for s, a in zip(states, seq)) == pytest.approx(float(toy.rewards[i]))
    # the best output's return from the start is max_a Q*(root, a) (gamma = 1)
    assert terminal.q_star()[0].max().item() == pytest.approx(float(toy.rewards.max()))


# ============================================================================ learning Q*

TOLERANCE = 5e-3  # max |Q - Q*| over every allowed (state, action) pair, rewards in [0, 1]

VARIANTS = {  # more (Polyak targets, prioritized replay) in test_agents_qlearning_variants.py
    "dqn": dict(kind="dqn"),
    "double-dqn": dict(kind="double"),
    "dueling-double-dqn": dict(kind="double", dueling=True),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_q_learning_converges_to_the_exact_q_star(problem, variant):
    run = q_learning(problem, **VARIANTS[variant])
    assert (run.errors < TOLERANCE).all(), run.errors.tolist()
    if VARIANTS[variant].get("dueling"):  # the value stream carries part of Q (not a plain table in disguise)
        assert run.head.value.out.weight.abs().max() > 0.1
    greedy = run.q[:, :, problem.allowed].argmax(-1)  # the greedy policy is optimal in every state
    q_star = problem.q_star()[:, problem.allowed]
    best = q_star.gather(1, greedy[0][:, None])[:, 0]
    assert torch.allclose(best, q_star.max(1).values, atol=2 * TOLERANCE)


def test_the_convergence_check_can_fail():
    """Too few updates, or the right updates on the wrong discount, leave the table
    measurably away from Q* (the tolerance is tight enough to tell)."""
    mdp = PrefixMDP(**PROBLEMS["rougeL-dense-g0.9"])
    assert (q_learning(mdp, updates=20).errors > 10 * TOLERANCE).all()
    wrong_gamma = PrefixMDP(**{**PROBLEMS["rougeL-dense-g0.9"], "gamma": 1.0})
    run = q_learning(wrong_gamma)  # learns the gamma = 1 problem: compare with the gamma = 0.9 Q*
    ok = mdp.allowed.expand(mdp.n_states, mdp.n_actions)
    assert (run.q[0] - mdp.q_star())[ok].abs().max() > 5 * TOLERANCE
