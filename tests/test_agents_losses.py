"""Losses and advantages of the agents, checked against exact answers.

The first part is the harness that agent tests build on: :class:`ToyProblem`, a tiny
autoregressive problem whose every output can be enumerated (a tabular softmax policy
over ``{EOS, A, B}``, horizon 3, 15 possible outputs, reward = ROUGE-L F from
``seq2seq_gym.rewards`` against the reference ``A B``). Its exact expected reward
``J(theta) = sum_y p_theta(y) R(y)`` and exact policy gradient ``grad J`` come from
enumeration and autograd; the estimators built from ``agents.losses`` are compared
with them, exactly (expectations by enumeration) and by Monte Carlo (means of many
seeded sample estimates, within a stated number of standard errors).
"""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from seq2seq_gym.agents import advantages as adv
from seq2seq_gym.agents import losses as L
from seq2seq_gym.rewards import RougeL

PAD, EOS, A, B = 0, 1, 2, 3
TOKENS = (EOS, A, B)  # action k emits token id TOKENS[k]

# ============================================================================ harness


class ToyProblem:
    """An enumerable text-generation MDP for exact policy-gradient checks.

    A state is the prefix generated so far (non-EOS tokens, shorter than ``horizon``);
    the policy is a table of logits ``theta [n_states, 3]`` over the actions
    ``(EOS, A, B)``. An episode ends at EOS or after ``horizon`` tokens. Every output is
    enumerated once: ``tokens [S, H]`` (ids, PAD after the end), ``actions``, ``states``
    (state index per step), ``mask``; ``rewards [S]`` and ``dense [S, H]`` are the
    metric's terminal and dense scores against ``reference`` (float64).

    Args:
        horizon: maximum output length (2 or 3 keeps it tiny).
        reference: reference token ids.
        metric: a ``seq2seq_gym.rewards`` metric (default ROUGE-L F, EOS-aware).
    """

    def __init__(self, horizon: int = 3, reference: tuple[int, ...] = (A, B), metric=None) -> None:
        self.H = horizon
        self.metric = metric if metric is not None else RougeL(eos_id=EOS)
        self.prefixes = [p for k in range(horizon) for p in itertools.product((A, B), repeat=k)]
        self.state_of = {p: i for i, p in enumerate(self.prefixes)}
        self.n_states = len(self.prefixes)
        outs: list[tuple[int, ...]] = []

        def grow(prefix: tuple[int, ...]) -> None:
            for tok in TOKENS:
                seq = (*prefix, tok)
                if tok == EOS or len(seq) == horizon:
                    outs.append(seq)
                else:
                    grow(seq)

        grow(())
        S, H = len(outs), horizon
        self.S = S
        self.tokens = torch.zeros(S, H, dtype=torch.long)
        self.actions = torch.zeros(S, H, dtype=torch.long)
        self.states = torch.zeros(S, H, dtype=torch.long)
        self.mask = torch.zeros(S, H, dtype=torch.bool)
        for i, seq in enumerate(outs):
            for t, tok in enumerate(seq):
                self.tokens[i, t] = tok
                self.actions[i, t] = TOKENS.index(tok)
                self.states[i, t] = self.state_of[seq[:t]]
                self.mask[i, t] = True
        self.lengths = self.mask.sum(1)
        self.terminated = self.tokens.gather(1, (self.lengths - 1)[:, None])[:, 0] == EOS
        refs = torch.tensor([list(reference)] * S)
        self.rewards = self.metric.terminal(self.tokens, None, refs)  # [S] float64
        self.dense = self.metric.dense(self.tokens, None, refs)  # [S, H] float64
        # sampling tables: next state after action k in state s (-1: the episode ends)
        self.child = torch.full((self.n_states, 3), -1, dtype=torch.long)
        for s, p in enumerate(self.prefixes):
            for k, tok in enumerate(TOKENS):
                if tok != EOS and len(p) + 1 < horizon:
                    self.child[s, k] = self.state_of[(*p, tok)]
        self._index = {tuple(self.actions[i, : self.lengths[i]].tolist()): i for i in range(S)}
        codes = self._codes(self.actions, self.mask)
        self._lookup = torch.full((4**H,), -1, dtype=torch.long)
        self._lookup[codes] = torch.arange(S)

    def _codes(self, actions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        base = 4 ** torch.arange(self.H)
        return ((actions + 1) * mask * base).sum(1)

    def init_logits(self, seed: int, scale: float = 1.0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return scale * torch.randn(self.n_states, 3, generator=g, dtype=torch.float64)

    def log_probs(self, theta: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, H]`` per-token log-probabilities of outputs ``idx`` (default: all), 0 past the end.
        ``theta`` is ``[n_states, 3]`` or one table per output ``[N, n_states, 3]``."""
        idx = torch.arange(self.S) if idx is None else idx
        st, ac, m = self.states[idx], self.actions[idx], self.mask[idx]
        logp = torch.log_softmax(theta, -1)
        if theta.dim() == 2:
            out = logp[st, ac]
        else:
            out = logp[torch.arange(idx.shape[0])[:, None], st, ac]
        return out * m

    def probs(self, theta: torch.Tensor) -> torch.Tensor:
        """``[S]`` probability of each output."""
        return self.log_probs(theta).sum(1).exp()

    def expected_reward(self, theta: torch.Tensor) -> torch.Tensor:
        return (self.probs(theta) * self.rewards).sum()

    def exact_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """``grad J(theta)``, by autograd through the enumeration."""
        th = theta.detach().clone().requires_grad_(True)
        (g,) = torch.autograd.grad(self.expected_reward(th), th)
        return g

    def visit_probs(self, theta: torch.Tensor) -> torch.Tensor:
        """``[n_states]`` probability that an episode passes through each state."""
        p = self.probs(theta).detach()
        visits = torch.zeros(self.S, self.n_states, dtype=torch.float64)
        visits[torch.arange(self.S)[:, None].expand_as(self.states)[self.mask], self.states[self.mask]] = 1.0
        return p @ visits

    def greedy(self, theta: torch.Tensor) -> int:
        """Index of the greedy (argmax at every step) output."""
        s, acts = 0, []
        while True:
            k = int(theta[s].argmax())
            acts.append(k)
            s = int(self.child[s, k])
            if s < 0:
                return self._index[tuple(acts)]

    def sample(self, theta: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """``[n]`` indices of ``n`` outputs sampled from the policy (vectorised over samples)."""
        probs = torch.softmax(theta.detach(), -1)
        state = torch.zeros(n, dtype=torch.long)
        alive = torch.ones(n, dtype=torch.bool)
        actions = torch.zeros(n, self.H, dtype=torch.long)
        mask = torch.zeros(n, self.H, dtype=torch.bool)
        for t in range(self.H):
            k = torch.multinomial(probs[state.clamp(min=0)], 1, generator=generator)[:, 0]
            actions[:, t] = torch.where(alive, k, 0)
            mask[:, t] = alive
            nxt = self.child[state.clamp(min=0), k]
            alive = alive & (nxt >= 0)
            state = torch.where(alive, nxt, -1)
        return self._lookup[self._codes(actions, mask)]


def group_estimates(problem: ToyProblem, theta: torch.Tensor, idx: torch.Tensor, advantages: torch.Tensor,
                    reduction: str = "sequence") -> torch.Tensor:
    """One policy-gradient estimate per group of samples, ``[G, n_states, 3]``.

    ``idx [G, n]`` are sampled outputs, ``advantages [G, n]`` or ``[G, n, H]``. Each
    group gets its own copy of ``theta`` so that one backward pass of
    ``reinforce_loss`` over the whole batch yields every group's gradient; the ascent
    estimate of group g is ``-G * dLoss/dtheta_g`` (the loss averages over G * n rows).
    """
    G, n = idx.shape
    copies = theta.detach().expand(G, *theta.shape).clone().requires_grad_(True)
    rows = copies[torch.arange(G).repeat_interleave(n)]
    lp = problem.log_probs(rows, idx.reshape(-1))
    a = advantages.reshape(G * n, *advantages.shape[2:])
    loss = L.reinforce_loss(lp, problem.mask[idx.reshape(-1)], a, reduction=reduction)
    (grad,) = torch.autograd.grad(loss, copies)
    return -G * grad


def expected_estimate(problem: ToyProblem, theta: torch.Tensor, tuples: torch.Tensor,
                      advantages: torch.Tensor) -> torch.Tensor:
    """The exact expectation of a group estimator over every tuple of ``n`` outputs:
    ``sum_k w_k g_k`` with ``w_k = prod_j p(y_kj)``, by linearity of ``reinforce_loss``."""
    K, n = tuples.shape
    th = theta.detach().clone().requires_grad_(True)
    w = problem.probs(theta).detach()[tuples].prod(1)  # [K]
    lp = problem.log_probs(th, tuples.reshape(-1))
    weighted = advantages * w.view(K, *([1] * (advantages.dim() - 1)))
    loss = L.reinforce_loss(lp, problem.mask[tuples.reshape(-1)], weighted.reshape(K * n, *advantages.shape[2:]))
    (grad,) = torch.autograd.grad(loss, th)
    return -K * grad


def all_tuples(problem: ToyProblem, n: int) -> torch.Tensor:
    return torch.cartesian_prod(*[torch.arange(problem.S)] * n).reshape(-1, n)


@pytest.fixture(scope="module")
def toy() -> ToyProblem:
    return ToyProblem()


@pytest.fixture(scope="module")
def theta(toy: ToyProblem) -> torch.Tensor:
    return toy.init_logits(seed=3)


# ============================================================================ the harness itself


def test_toy_problem_enumerates_a_distribution(toy, theta):
    assert toy.S == 1 + 2 + 4 * 3  # EOS | xEOS | xy(EOS|A|B)
    assert torch.allclose(toy.probs(theta).sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-12)
    best = toy._index[(TOKENS.index(A), TOKENS.index(B), TOKENS.index(EOS))]
    assert toy.rewards[best] == 1.0 and toy.rewards.max() == 1.0  # "A B EOS" is the reference
    assert torch.allclose(toy.dense.sum(1), toy.rewards)  # dense increments sum to the terminal score
    assert len(set(toy.rewards.tolist())) >= 4  # a reward with some structure


def test_toy_exact_gradient_matches_finite_differences(toy, theta):
    g = toy.exact_gradient(theta)
    h = 1e-6
    fd = torch.zeros_like(theta)
    for s in range(toy.n_states):
        for k in range(3):
            e = torch.zeros_like(theta)
            e[s, k] = h
            fd[s, k] = (toy.expected_reward(theta + e) - toy.expected_reward(theta - e)) / (2 * h)
    assert torch.allclose(g, fd, atol=1e-8)
    assert g.abs().max() > 1e-3


def test_toy_sampler_follows_the_policy(toy, theta):
    gen = torch.Generator().manual_seed(0)
    idx = toy.sample(theta, 200_000, gen)
    freq = torch.bincount(idx, minlength=toy.S).double() / idx.numel()
    p = toy.probs(theta)
    se = (p * (1 - p) / idx.numel()).sqrt()
    assert ((freq - p).abs() <= 5 * se + 1e-12).all()


# ============================================================================ exact expectations


def _mc_check(est: torch.Tensor, target: torch.Tensor, n_se: float = 5.0) -> None:
    """Each coordinate of the mean of ``est [G, ...]`` lies within ``n_se`` standard errors of ``target``."""
    mean = est.mean(0)
    se = est.std(0) / est.shape[0] ** 0.5
    err = (mean - target).abs()
    assert (err <= n_se * se + 1e-9).all(), (err / (se + 1e-12)).max()
    assert (mean - target).norm() <= 0.05 * target.norm()  # and within 5 % of |grad J| overall


def test_every_sample_independent_baseline_leaves_the_expected_gradient_exact(toy, theta):
    """E[(R - b) grad log p] = grad J exactly for b = 0, a constant, a moving average of
    earlier batches and the greedy output's reward (enumerating every output)."""
    exact = toy.exact_gradient(theta)
    single = torch.arange(toy.S)[:, None]
    R = toy.rewards[:, None]
    ma = adv.MovingAverageBaseline(decay=0.5)
    ma.update(torch.tensor([0.2, 0.9]))
    ma.update(torch.tensor([0.4]))
    baselines = {"none": 0.0, "constant": 0.37, "moving_average": ma.value,
                 "greedy": float(toy.rewards[toy.greedy(theta)])}
    for name, b in baselines.items():
        got = expected_estimate(toy, theta, single, R - b)
        assert torch.allclose(got, exact, atol=1e-12), name
    sc = adv.self_critical_advantages(toy.rewards, toy.rewards[toy.greedy(theta)].expand(toy.S))
    assert torch.allclose(expected_estimate(toy, theta, single, sc[:, None]), exact, atol=1e-12)


def test_leave_one_out_is_exact_and_batch_mean_shrinks_by_one_minus_one_over_n(toy, theta):
    """Over every triple of outputs: leave-one-out (and batch mean without self) give
    grad J exactly; the batch mean including the sample itself gives (1 - 1/n) grad J."""
    exact = toy.exact_gradient(theta)
    n = 3
    tuples = all_tuples(toy, n)  # [15^3, 3]
    R = toy.rewards[tuples]  # [K, n]
    loo = R - adv.leave_one_out_baseline(R)
    assert torch.allclose(expected_estimate(toy, theta, tuples, loo), exact, atol=1e-12)
    loo_flat = R.reshape(-1) - adv.leave_one_out_baseline(R.reshape(-1), n=n)
    assert torch.allclose(loo_flat.view(-1, n), loo)
    excl = torch.stack([r - adv.batch_mean_baseline(r, exclude_self=True) for r in R[:50]])
    assert torch.allclose(excl, loo[:50])
    incl = R - R.mean(1, keepdim=True)
    assert torch.allclose(adv.batch_mean_baseline(R[0]), R[0].mean().expand(n))
    assert torch.allclose(expected_estimate(toy, theta, tuples, incl), (1 - 1 / n) * exact, atol=1e-12)


def test_reward_to_go_of_dense_rewards_is_exact(toy, theta):
    """Per-step advantages G_t from dense ROUGE-L increments (gamma = 1) keep the expectation."""
    exact = toy.exact_gradient(theta)
    G = adv.reward_to_go(toy.dense, toy.mask, gamma=1.0)
    assert torch.allclose(G[:, 0], toy.rewards)
    got = expected_estimate(toy, theta, torch.arange(toy.S)[:, None], G[:, None, :])
    assert torch.allclose(got, exact, atol=1e-12)
    # the immediate reward alone (G_t = r_t) is not the gradient: the test can tell them apart
    wrong = expected_estimate(toy, theta, torch.arange(toy.S)[:, None], toy.dense[:, None, :])
    assert (wrong - exact).abs().max() > 1e-3


# ============================================================================ Monte Carlo


def test_mean_of_many_reinforce_scst_and_loo_estimates_matches_the_exact_gradient(toy, theta):
    """Seeded Monte Carlo: the mean of G group estimates lies within 5 standard errors of
    grad J in every coordinate and within 5 % of |grad J| overall."""
    exact = toy.exact_gradient(theta)
    gen = torch.Generator().manual_seed(1234)
    G, n = 20_000, 4
    idx = toy.sample(theta, G * n, gen).view(G, n)
    R = toy.rewards[idx]
    greedy = toy.rewards[toy.greedy(theta)].expand(G)
    variants = {
        "reinforce": R,
        "scst": adv.self_critical_advantages(R, greedy),
        "loo": R - adv.leave_one_out_baseline(R),
    }
    spread = {}
    for name, a in variants.items():
        est = group_estimates(toy, theta, idx, a)
        _mc_check(est, exact)
        spread[name] = est.var(0).sum()
    # dense rewards with reward-to-go, one sample per group
    G1 = adv.reward_to_go(toy.dense, toy.mask)[idx[:, :1]]  # [G, 1, H]
    _mc_check(group_estimates(toy, theta, idx[:, :1], G1), exact)
    # a moving average of the earlier groups as baseline
    ma, a_ma = adv.MovingAverageBaseline(decay=0.9), torch.empty_like(R)
    for g in range(G):
        a_ma[g] = R[g] - ma.value
        ma.update(R[g])
    _mc_check(group_estimates(toy, theta, idx, a_ma), exact)
    # the leave-one-out baseline reduces the estimator's variance here (rewards far from 0)
    assert spread["loo"] < 0.5 * spread["reinforce"]


def test_wrong_sign_or_biased_estimators_are_caught(toy, theta):
    """The Monte Carlo check has the power to reject a reversed advantage and a baseline
    that depends on the sample it is subtracted from."""
    exact = toy.exact_gradient(theta)
    gen = torch.Generator().manual_seed(99)
    G, n = 20_000, 4
    idx = toy.sample(theta, G * n, gen).view(G, n)
    R = toy.rewards[idx]
    greedy = toy.rewards[toy.greedy(theta)].expand(G)
    reversed_scst = -adv.self_critical_advantages(R, greedy)  # RLSeq2Seq's sign
    with pytest.raises(AssertionError):
        _mc_check(group_estimates(toy, theta, idx, reversed_scst), exact)
    with pytest.raises(AssertionError):
        _mc_check(group_estimates(toy, theta, idx, R - R.mean(1, keepdim=True)), exact)


# ============================================================================ SCST's sign


def test_one_scst_step_raises_outputs_above_the_greedy_baseline_and_lowers_those_below(toy, theta):
    """For every possible sample: one SGD step on the self-critical loss raises its
    probability iff it scores above the greedy output (RLSeq2Seq had it reversed)."""
    g_idx = toy.greedy(theta)
    r_greedy = toy.rewards[g_idx]
    p0 = toy.probs(theta)
    seen = {"up": 0, "down": 0}
    for i in range(toy.S):
        th = theta.clone().requires_grad_(True)
        idx = torch.tensor([i])
        a = adv.self_critical_advantages(toy.rewards[idx], r_greedy.view(1))
        loss = L.reinforce_loss(toy.log_probs(th, idx), toy.mask[idx], a)
        loss.backward()
        p1 = toy.probs(theta - 0.1 * th.grad)
        if a > 0:
            assert p1[i] > p0[i], i
            seen["up"] += 1
        elif a < 0:
            assert p1[i] < p0[i], i
            seen["down"] += 1
        else:
            assert torch.allclose(p1, p0)
    assert seen["up"] > 0 and seen["down"] > 0


def test_one_expected_scst_step_raises_the_expected_reward(toy, theta):
    g = expected_estimate(toy, theta, torch.arange(toy.S)[:, None],
                          (toy.rewards - toy.rewards[toy.greedy(theta)])[:, None])
    assert toy.expected_reward(theta + 0.5 * g) > toy.expected_reward(theta) + 1e-4


# ============================================================================ KL and entropy


def test_kl_estimators_values_and_gradients(toy, theta):
    """k1 and k3 are unbiased for KL(p || q) of whole outputs; the gradients of the
    k2 / k3 loss terms are those of the per-step forward / reverse KL (prefix fixed);
    k1 as a shaped reward gives the gradient of the sequence-level KL exactly."""
    ref = toy.init_logits(seed=11)
    p = toy.probs(theta)
    kl_seq = (p * (p.log() - toy.probs(ref).log())).sum()
    lp, lq = toy.log_probs(theta), toy.log_probs(ref)
    for est in ("k1", "k3"):
        value = (p * (L.kl_estimate(lp, lq, estimator=est) * toy.mask).sum(1)).sum()
        assert torch.allclose(value, kl_seq, atol=1e-12), est
    assert (L.kl_estimate(lp, lq, estimator="k3") >= 0).all() and (L.kl_estimate(lp, lq, estimator="k2") >= 0).all()

    d = toy.visit_probs(theta)  # [n_states]

    def per_step_kl(th: torch.Tensor, reverse: bool) -> torch.Tensor:
        a, b = torch.log_softmax(th, -1), torch.log_softmax(ref, -1)
        if reverse:
            a, b = b, a
        return (d * (a.exp() * (a - b)).sum(-1)).sum()

    w = p.detach()
    for est, reverse in (("k2", False), ("k3", True)):
        # E_y[grad kl_penalty_loss] over every output y, one row each (weights p(y) held fixed)
        th = theta.clone().requires_grad_(True)
        lp_th = toy.log_probs(th)
        terms = torch.stack([L.kl_penalty_loss(lp_th[i:i + 1], lq[i:i + 1], toy.mask[i:i + 1], estimator=est)
                             for i in range(toy.S)])
        (got,) = torch.autograd.grad((w * terms).sum(), th)
        th2 = theta.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(per_step_kl(th2, reverse), th2)
        assert torch.allclose(got, want, atol=1e-12), est
    th = theta.clone().requires_grad_(True)
    (g_k1,) = torch.autograd.grad((w[:, None] * L.kl_estimate(toy.log_probs(th), lq, estimator="k1")).sum(), th)
    assert torch.allclose(g_k1, torch.zeros_like(g_k1), atol=1e-12)  # k1 as a loss: no expected gradient

    beta = 0.3
    shaped = L.kl_shaped_rewards(toy.dense, lp, lq, toy.mask, beta)
    G = adv.reward_to_go(shaped, toy.mask)
    got = expected_estimate(toy, theta, torch.arange(toy.S)[:, None], G[:, None, :])
    th = theta.clone().requires_grad_(True)
    pt = toy.probs(th)
    objective = (pt * toy.rewards).sum() - beta * (pt * (pt.log() - toy.probs(ref).log())).sum()
    (want,) = torch.autograd.grad(objective, th)
    assert torch.allclose(got, want, atol=1e-12)


def test_kl_penalty_loss_reduces_as_documented():
    lp = torch.tensor([[-1.0, -2.0], [-0.5, 0.0]], dtype=torch.float64)
    lq = torch.tensor([[-1.5, -1.0], [-0.5, 0.0]], dtype=torch.float64)
    mask = torch.tensor([[True, True], [True, False]])
    k2 = 0.5 * (lq - lp) ** 2
    assert torch.allclose(L.kl_penalty_loss(lp, lq, mask), (k2[0].sum() + k2[1, 0]) / 2)
    assert torch.allclose(L.kl_penalty_loss(lp, lq, mask, estimator="k1", reduction="token"),
                          ((lp - lq) * mask).sum() / 3)
    with pytest.raises(ValueError, match="estimator"):
        L.kl_estimate(lp, lq, estimator="k4")


def test_entropy():
    logits = torch.tensor([[0.0, 1.0, -1.0], [2.0, 0.0, float("-inf")]], dtype=torch.float64)
    lp = torch.log_softmax(logits, -1)
    p = lp.exp()
    want = torch.tensor([-(p[0] * lp[0]).sum(), -(p[1, :2] * lp[1, :2]).sum()])
    h = L.entropy_from_log_probs(lp)
    assert torch.allclose(h, want.double()) and torch.isfinite(h).all()
    ent = torch.tensor([[1.0, 2.0], [3.0, 9.0]])
    mask = torch.tensor([[1, 1], [1, 0]])
    assert L.entropy_loss(ent, mask).item() == pytest.approx(-2.0)
    assert L.entropy_loss(ent, mask, reduction="sequence").item() == pytest.approx(-3.0)


# ============================================================================ hand computations


def test_reinforce_reductions_by_hand():
    lp = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.25, 0.0]], requires_grad=True)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    a = torch.tensor([2.0, -1.0])
    # row sums of -A * logp: row 0: 2 * 6 = 12; row 1: -1 * 0.75 = -0.75
    assert L.reinforce_loss(lp, mask, a).item() == pytest.approx((12 - 0.75) / 2)
    assert L.reinforce_loss(lp, mask, a, reduction="token").item() == pytest.approx((12 - 0.75) / 5)
    assert L.reinforce_loss(lp, mask, a, reduction="length").item() == pytest.approx((12 / 3 - 0.75 / 2) / 2)
    per_step = torch.tensor([[1.0, 0.0, 1.0], [4.0, 4.0, 100.0]])
    assert L.reinforce_loss(lp, mask, per_step).item() == pytest.approx((4.0 + 3.0) / 2)
    L.reinforce_loss(lp, mask, a.requires_grad_(True)).backward()
    assert a.grad is None  # advantages are constants
    assert torch.allclose(lp.grad, torch.tensor([[-1.0, -1.0, -1.0], [0.5, 0.5, 0.0]]))
    assert L.cross_entropy_loss(lp, mask).item() == pytest.approx((6 + 0.75) / 2)
    assert L.reinforce_loss(torch.zeros(0, 3), torch.zeros(0, 3), torch.zeros(0)).item() == 0.0


def test_mixer_and_mixed_by_hand():
    lp = torch.tensor([[-1.0, -2.0, -3.0, -4.0], [-1.0, -1.0, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    a = torch.tensor([0.5, 2.0])
    # xent on t < 2, REINFORCE on t >= 2 (masked):  row 0: 3 + 0.5 * 7 = 6.5; row 1: 2 + 2 * 1 = 4
    assert L.mixer_loss(lp, mask, a, 2).item() == pytest.approx((6.5 + 4) / 2)
    # per-row boundaries: row 0 all xent (10), row 1 all REINFORCE (2 * 3 = 6)
    assert L.mixer_loss(lp, mask, a, torch.tensor([4, 0])).item() == pytest.approx((10 + 6) / 2)
    assert torch.allclose(L.mixer_loss(lp, mask, a, 0), L.reinforce_loss(lp, mask, a))
    assert torch.allclose(L.mixer_loss(lp, mask, a, 99), L.cross_entropy_loss(lp, mask))
    xent, rl = L.mixer_masks(mask, torch.tensor([1, 3]))
    assert xent.tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]] and rl.tolist() == [[0, 1, 1, 1], [0, 0, 0, 0]]
    rl_l, ce_l = torch.tensor(2.0), torch.tensor(10.0)
    assert L.mixed_loss(rl_l, ce_l, 0.25).item() == pytest.approx(0.25 * 2 + 0.75 * 10)
    assert L.mixed_loss(rl_l, ce_l, 1.0).item() == 2.0
    with pytest.raises(ValueError, match="eta"):
        L.mixed_loss(rl_l, ce_l, 1.5)
    with pytest.raises(ValueError, match="xent_steps"):
        L.mixer_loss(lp, mask, a, -1)


def test_reward_to_go_gae_and_n_step_by_hand():
    r = torch.tensor([[1.0, 0.0, 2.0], [0.5, 1.0, 7.0]])
    m = torch.tensor([[1, 1, 1], [1, 1, 0]])
    g = 0.5
    assert torch.allclose(adv.reward_to_go(r, m, g), torch.tensor([[1.5, 1.0, 2.0], [1.0, 1.0, 0.0]]))
    v = torch.tensor([[0.2, 0.4, 0.6], [1.0, 3.0, 9.0]])
    last = torch.tensor([0.0, 2.0])  # row 0 ended with EOS; row 1 was cut: bootstrap V = 2 after its last step
    # deltas: row 0: 1 + .5*.4 - .2 = 1.0; 0 + .5*.6 - .4 = -0.1; 2 - .6 = 1.4
    #         row 1: .5 + .5*3 - 1 = 1.0;  1 + .5*2 - 3 = -1.0
    A0, R0 = adv.gae_advantages(r, v, m, gamma=g, lam=0.0, last_values=last)
    assert torch.allclose(A0, torch.tensor([[1.0, -0.1, 1.4], [1.0, -1.0, 0.0]]))
    assert torch.allclose(R0, (A0 + v) * m)
    lam = 0.5  # gamma * lam = 0.25
    A, _ = adv.gae_advantages(r, v, m, gamma=g, lam=lam, last_values=last)
    want = torch.tensor([[1.0 + 0.25 * (-0.1 + 0.25 * 1.4), -0.1 + 0.25 * 1.4, 1.4], [1.0 - 0.25, -1.0, 0.0]])
    assert torch.allclose(A, want)
    A1, _ = adv.gae_advantages(r, v, m, gamma=g, lam=1.0)  # lam = 1, no bootstrap: MC return - V
    assert torch.allclose(A1, (adv.reward_to_go(r, m, g) - v) * m)

    nv = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])  # U_t: value of the state after step t
    term = torch.tensor([True, False])
    y1 = adv.n_step_returns(r, nv, m, n=1, gamma=g, terminated=term)
    assert torch.allclose(y1, torch.tensor([[1 + 5.0, 0 + 10.0, 2.0], [0.5 + 20.0, 1 + 25.0, 0.0]]))
    y2 = adv.n_step_returns(r, nv, m, n=2, gamma=g, terminated=term)
    want2 = torch.tensor([[1 + 0 + 0.25 * 20, 0 + 0.5 * 2, 2.0], [0.5 + 0.5 + 0.25 * 50, 1 + 0.5 * 50, 0.0]])
    assert torch.allclose(y2, want2)
    y9 = adv.n_step_returns(r, nv, m, n=9, gamma=g)  # all terminated: the Monte-Carlo return
    assert torch.allclose(y9, adv.reward_to_go(r, m, g))
    flat = adv.td_targets(r[:, 0], nv[:, 0], torch.tensor([False, True]), g)
    assert torch.allclose(flat, torch.tensor([1 + 5.0, 0.5]))
    assert torch.allclose(adv.td_targets(r[:, 0], nv[:, 0], torch.tensor([0, 0]), torch.tensor([0.5, 0.25])),
                          torch.tensor([6.0, 10.5]))


def test_q_bootstrap_values_and_dueling_by_hand():
    q_online = torch.tensor([[1.0, 5.0, 2.0], [0.0, 1.0, 3.0]])
    q_target = torch.tensor([[4.0, 0.5, 9.0], [7.0, 2.0, 1.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    assert adv.greedy_q_value(q_target).tolist() == [9.0, 7.0]
    # Double DQN: the online network picks (1 and 2 -> masked to 1), the target evaluates
    assert adv.double_q_value(q_online, q_target).tolist() == [0.5, 1.0]
    assert adv.double_q_value(q_online, q_target, mask).tolist() == [0.5, 2.0]
    assert adv.greedy_q_value(q_target, torch.tensor([[True, True, True], [False, True, True]])).tolist() == [9.0, 2.0]
    probs = torch.tensor([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    assert torch.allclose(adv.expected_q_value(q_target, probs), torch.tensor([2.25, 0.7 + 0.4 + 0.7]))
    a = torch.tensor([[1.0, 2.0, 6.0]])
    assert L.dueling_q(torch.tensor([10.0]), a).tolist() == [[8.0, 9.0, 13.0]]
    assert L.dueling_q(torch.tensor([[10.0]]), a, mode="max").tolist() == [[5.0, 6.0, 10.0]]
    masked = L.dueling_q(torch.tensor([10.0]), a, action_mask=torch.tensor([[True, True, False]]))
    assert masked[0, :2].tolist() == [9.5, 10.5]
    with pytest.raises(ValueError, match="value"):
        L.dueling_q(torch.tensor([1.0, 2.0]), a)


def test_ppo_value_and_td_losses_by_hand():
    old = torch.zeros(1, 3)
    lp = torch.log(torch.tensor([[1.5, 0.5, 1.1]])).requires_grad_(True)  # ratios 1.5, 0.5, 1.1
    a = torch.tensor([[1.0, -1.0, 2.0]])
    mask = torch.ones(1, 3)
    # min(rho A, clip(rho) A): 1.2 (clipped), -0.8 (clipped: min(-0.5, -0.8)), 2.2
    loss = L.ppo_clip_loss(lp, old, a, mask, clip_range=0.2)
    assert loss.item() == pytest.approx(-(1.2 - 0.8 + 2.2) / 3)
    loss.backward()
    assert lp.grad[0, 0] == 0 and lp.grad[0, 1] == 0 and lp.grad[0, 2] != 0  # clipped terms carry no gradient
    v = torch.tensor([[1.0, 2.0, 3.0]])
    ret = torch.tensor([[1.0, 0.0, 4.0]])
    assert L.value_loss(v, ret, mask).item() == pytest.approx((0 + 4 + 1) / 2 / 3)
    clipped = L.value_loss(v, ret, mask, old_values=torch.tensor([[1.0, 1.5, 3.0]]), clip_range=0.1)
    assert clipped.item() == pytest.approx((0 + max(4, 1.6**2) + 1) / 2 / 3)
    q = torch.tensor([0.0, 3.0])
    y = torch.tensor([0.5, 0.0])
    assert L.td_loss(q, y).item() == pytest.approx((0.125 + 2.5) / 2)  # Huber: 0.5 e^2 | |e| - 0.5
    assert L.td_loss(q, y, kind="mse", weights=torch.tensor([2.0, 0.0])).item() == pytest.approx(0.125)


def test_moving_average_baseline_state_round_trip():
    b = adv.MovingAverageBaseline(decay=0.75, initial=0.1)
    assert b.value == 0.1
    b.update(torch.tensor([1.0, 3.0]))
    assert b.value == 2.0  # the first batch sets it
    b.update(4.0)
    assert b.value == pytest.approx(0.75 * 2 + 0.25 * 4)
    state = json.loads(json.dumps(b.state_dict()))
    c = adv.MovingAverageBaseline()
    c.load_state_dict(state)
    assert c.state_dict() == b.state_dict()
    c.update(1.0)
    b.update(1.0)
    assert c.value == b.value
    before = c.state_dict()
    with pytest.raises(ValueError):
        c.load_state_dict({"decay": 2.0, "initial": 0.0, "value": 1.0, "count": 1})
    with pytest.raises(ValueError, match="missing"):
        c.load_state_dict({"decay": 0.5})
    assert c.state_dict() == before  # a rejected load changes nothing
    with pytest.raises(ValueError):
        c.update(torch.tensor([float("nan")]))
    assert c.state_dict() == before


def test_bad_inputs_name_the_argument():
    lp = torch.zeros(2, 3)
    m = torch.ones(2, 3)
    with pytest.raises(ValueError, match="mask"):
        L.reinforce_loss(lp, torch.ones(2, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="advantages"):
        L.reinforce_loss(lp, m, torch.zeros(3))
    with pytest.raises(TypeError, match="log_probs"):
        L.reinforce_loss(lp.long(), m, torch.zeros(2))
    with pytest.raises(TypeError, match="log_probs"):
        L.reinforce_loss([[0.0]], m, torch.zeros(2))
    with pytest.raises(ValueError, match="reduction"):
        L.reinforce_loss(lp, m, torch.zeros(2), reduction="mean")
    with pytest.raises(ValueError, match="gamma"):
        adv.reward_to_go(lp, m, gamma=1.5)
    with pytest.raises(ValueError, match="n"):
        adv.leave_one_out_baseline(torch.zeros(6))
    with pytest.raises(ValueError, match="multiple"):
        adv.leave_one_out_baseline(torch.zeros(7), n=2)
    with pytest.raises(ValueError, match="greedy_rewards"):
        adv.self_critical_advantages(torch.zeros(4, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="last_values"):
        adv.gae_advantages(lp, lp, m, last_values=torch.zeros(5))
    with pytest.raises(ValueError, match="clip_range"):
        L.ppo_clip_loss(lp, lp, torch.zeros(2), m, clip_range=0.0)


def test_losses_run_under_vmap():
    """Shape checks only, no data-dependent branches: per-sample gradients with torch.func."""
    lp = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(0))
    m = torch.ones(2, 3)
    a = torch.tensor([1.0, -2.0])
    per = torch.func.vmap(lambda x: L.reinforce_loss(x, m, a))(lp)
    assert torch.allclose(per, torch.stack([L.reinforce_loss(x, m, a) for x in lp]))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))])
def test_functions_keep_device_and_dtype(device):
    """Every function computes on its inputs' device and dtype (float32 in, float32 out)."""
    gen = torch.Generator().manual_seed(0)
    lp = -torch.rand(4, 5, generator=gen)
    r = torch.rand(4, 5, generator=gen)
    m = torch.ones(4, 5, dtype=torch.bool)
    m[1, 3:] = False
    a = torch.randn(4, generator=gen)
    q = torch.randn(4, 6, generator=gen)
    calls = {
        "reinforce": lambda t: L.reinforce_loss(t["lp"], t["m"], t["a"]),
        "mixer": lambda t: L.mixer_loss(t["lp"], t["m"], t["a"], torch.tensor([0, 1, 2, 3], device=t["lp"].device)),
        "kl": lambda t: L.kl_penalty_loss(t["lp"], t["lp"] * 0.5, t["m"]),
        "ppo": lambda t: L.ppo_clip_loss(t["lp"], t["lp"] * 0.9, t["a"], t["m"]),
        "rtg": lambda t: adv.reward_to_go(t["r"], t["m"], 0.9),
        "gae": lambda t: adv.gae_advantages(t["r"], t["r"] * 0.5, t["m"], gamma=0.9, lam=0.8)[0],
        "nstep": lambda t: adv.n_step_returns(t["r"], t["r"], t["m"], n=2, gamma=0.9),
        "double": lambda t: adv.double_q_value(t["q"], t["q"] * 2),
        "dueling": lambda t: L.dueling_q(t["q"][:, 0], t["q"]),
        "loo": lambda t: adv.leave_one_out_baseline(t["r"]),
    }
    cpu = {"lp": lp, "r": r, "m": m, "a": a, "q": q}
    dev = {k: v.to(device) for k, v in cpu.items()}
    for name, fn in calls.items():
        want, got = fn(cpu), fn(dev)
        assert got.device.type == device and got.dtype == torch.float32, name
        assert torch.allclose(got.cpu(), want, atol=1e-6), name
