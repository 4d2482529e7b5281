"""Replay buffers: n-step transitions against a hand computation, wrap-around, uniform and
prioritized sampling against their definitions (exact formulas and empirical frequencies),
priority updates, exact resume, and re-scoring a sampled prefix on a real model."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from seq2seq_gym.agents import advantages as adv
from seq2seq_gym.agents.buffers import PrioritizedReplayBuffer, ReplayBuffer, SumTree
from seq2seq_gym.agents.schedules import Linear
from seq2seq_gym.data import EOS_ID, Example, Vocab, collate
from seq2seq_gym.models import ModelConfig, Seq2SeqModel


def episodes(B: int = 3, T: int = 4, seed: int = 0):
    """Episodes of lengths T, T-1, ... with distinct token ids and rewards."""
    gen = torch.Generator().manual_seed(seed)
    actions = torch.randint(4, 20, (B, T), generator=gen)
    rewards = torch.rand(B, T, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([T - (b % T) for b in range(B)])
    mask = torch.arange(T)[None, :] < lengths[:, None]
    return [f"x{seed}-{b}" for b in range(B)], actions * mask, rewards * mask, mask


def filled(buffer, n_episodes: int = 4, seed: int = 0):
    for e in range(n_episodes):
        ex, a, r, m = episodes(seed=seed + e)
        buffer.add_episodes(ex, a, r, m)
    return buffer


def test_n_step_transitions_by_hand():
    buf = ReplayBuffer(16, n_step=2, gamma=0.5, seed=0)
    actions = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 0]])
    rewards = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    slots = buf.add_episodes(["a", "b"], actions, rewards, mask, terminated=torch.tensor([True, False]))
    assert slots.tolist() == list(range(7)) and len(buf) == 7
    d = buf._gather(slots, torch.ones(7, dtype=torch.float64))
    # row a (ended with EOS): R_t = r_t + 0.5 r_{t+1}; the last two reach the end (terminal)
    # row b (cut at the length limit): never terminal, the last one bootstraps after 1 step
    assert d.rewards.tolist() == [1 + 0.5 * 2, 2 + 0.5 * 3, 3 + 0.5 * 4, 4.0, 1.5, 1.5, 1.0]
    assert d.n_steps.tolist() == [2, 2, 2, 1, 2, 2, 1]
    assert d.discounts.tolist() == [0.25, 0.25, 0.25, 0.5, 0.25, 0.25, 0.5]
    assert d.dones.tolist() == [False, False, True, True, False, False, False]
    assert d.actions.tolist() == [5, 6, 7, 8, 9, 10, 11]
    assert d.examples == ["a"] * 4 + ["b"] * 3
    assert d.prefix(2) == [5, 6] and d.next_prefix(2) == [5, 6, 7, 8]
    assert d.prefix(4) == [] and d.next_prefix(6) == [9, 10, 11]
    assert d.tokens[0].tolist() == [5, 6, 0, 0]  # tokens kept up to s_{t+m}, PAD after
    # with bootstrap values U_j (the value after step j), R + gamma^m (1 - done) U_{t+m-1} is the n-step target
    U = torch.tensor([[10.0, 20.0, 30.0, 40.0], [50.0, 60.0, 70.0, 0.0]], dtype=torch.float64)
    want = adv.n_step_returns(rewards, U, mask, n=2, gamma=0.5, terminated=torch.tensor([True, False]))[mask]
    boot = U[torch.tensor([0] * 4 + [1] * 3), d.next_steps - 1]
    assert torch.allclose(d.rewards + d.discounts * (~d.dones) * boot, want)


def test_capacity_wrap_around_keeps_the_newest():
    buf = ReplayBuffer(5, seed=0)
    a = torch.arange(1, 13).view(3, 4) + 3
    r = torch.arange(12, dtype=torch.float64).view(3, 4)
    m = torch.ones(3, 4, dtype=torch.bool)
    buf.add_episodes(["e0"], a[:1], r[:1], m[:1])  # 4 transitions: slots 0-3
    slots = buf.add_episodes(["e1"], a[1:2], r[1:2], m[1:2])  # slots 4, 0, 1, 2
    assert slots.tolist() == [4, 0, 1, 2] and buf.pos == 3 and len(buf) == 5 and buf.num_added == 8
    assert buf._data["rewards"].tolist() == [5.0, 6.0, 7.0, 3.0, 4.0]
    assert buf._examples == ["e1", "e1", "e1", "e0", "e1"]
    slots = buf.add_episodes(["e2", "e3"], a[1:], r[1:], m[1:])  # 8 transitions at once: the last 5 survive
    assert slots.tolist() == [1, 2, 3, 4, 0] and buf.pos == 1 and buf.num_added == 16
    assert sorted(buf._data["rewards"].tolist()) == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert buf._data["rewards"][0] == 11.0 and buf._examples[0] == "e3"
    # a wider episode later widens the token store without touching the others
    buf.add_episodes(["long"], torch.full((1, 9), 4), torch.ones(1, 9, dtype=torch.float64),
                     torch.ones(1, 9, dtype=torch.bool))
    assert buf._data["tokens"].shape[1] == 9


def test_sum_tree_prefix_search_and_min():
    gen = np.random.default_rng(0)
    for cap in (1, 2, 5, 64, 100):
        tree = SumTree(cap)
        p = gen.random(cap) + 0.01
        tree.update(np.arange(cap), p)
        assert tree.total == pytest.approx(p.sum()) and tree.min == pytest.approx(p.min())
        u = gen.random(1000) * p.sum()
        assert (tree.find(u) == np.searchsorted(np.cumsum(p), u, side="right")).all()
        tree.update(np.array([0]), np.array([5.0]))
        p[0] = 5.0
        assert tree.total == pytest.approx(p.sum()) and tree.min == pytest.approx(p.min())


def test_uniform_sampling_frequencies():
    buf = filled(ReplayBuffer(64, seed=1), 3)  # 27 transitions
    n = len(buf)
    counts = np.zeros(n)
    for _ in range(2000):
        s = buf.sample(32)
        np.add.at(counts, s.indices, 1)
        assert torch.equal(s.weights, torch.ones(32, dtype=torch.float64))
    freq, p = counts / counts.sum(), 1.0 / n
    assert np.abs(freq - p).max() <= 5 * np.sqrt(p * (1 - p) / counts.sum())


def _prioritized(alpha=0.6, beta=0.4, weight_norm="buffer", seed=0):
    buf = filled(PrioritizedReplayBuffer(64, alpha=alpha, beta=beta, weight_norm=weight_norm, seed=seed), 3)
    errors = np.linspace(-2.0, 3.0, len(buf))  # distinct |delta|, one of them ~0
    buf.update_priorities(np.arange(len(buf)), torch.from_numpy(errors))
    return buf, np.abs(errors) + buf.eps


def test_prioritized_probabilities_and_weights_match_their_definitions():
    buf, p = _prioritized()
    P = p**0.6 / (p**0.6).sum()  # eq. 1
    assert np.allclose(buf.probabilities(), P, rtol=1e-12)
    N = len(buf)
    counts = np.zeros(N)
    draws = 0
    for _ in range(3000):
        s = buf.sample(32)
        np.add.at(counts, s.indices, 1)
        draws += 32
        w = (N * P[s.indices]) ** -0.4 / ((N * P.min()) ** -0.4)  # normalised by the buffer-wide max
        assert np.allclose(s.weights.numpy(), w, rtol=1e-10)
    assert (s.weights <= 1).all()
    se = np.sqrt(P * (1 - P) / draws)  # binomial s.e. (stratified draws have no more variance)
    assert np.abs(counts / draws - P).max() <= 5 * se.max()
    assert np.corrcoef(counts, P)[0, 1] > 0.999
    # "batch" normalisation: the largest weight in each batch is 1
    bb, _ = _prioritized(weight_norm="batch")
    s = bb.sample(16)
    w = (N * P[s.indices]) ** -0.4
    assert np.allclose(s.weights.numpy(), w / w.max()) and s.weights.max() == 1.0


def test_alpha_and_beta_follow_their_schedules():
    buf, p = _prioritized(alpha=Linear(0.0, 1.0), beta=Linear(0.4, 1.0, horizon=100))
    assert np.allclose(buf.probabilities(0.0), 1.0 / len(buf))  # alpha = 0: uniform
    assert np.allclose(buf.probabilities(1.0), p / p.sum())  # alpha = 1: proportional
    P = buf.probabilities(0.5)
    assert np.allclose(P, p**0.5 / (p**0.5).sum())
    N = len(buf)
    for t, beta in ((0, 0.4), (50, 0.7), (100, 1.0), (500, 1.0)):
        s = buf.sample(8, t=t)
        Pt = buf.probabilities(t)
        want = (N * Pt[s.indices]) ** -beta / (N * Pt.min()) ** -beta
        assert np.allclose(s.weights.numpy(), want), t


def test_priority_updates_new_transitions_and_bad_input():
    buf = PrioritizedReplayBuffer(8, alpha=1.0, beta=1.0, eps=0.01, seed=0)
    ex, a, r, m = episodes(B=1, T=4)
    buf.add_episodes(ex, a, r, m)
    assert np.allclose(buf.probabilities(), 0.25)  # new transitions: the max priority (1 at the start)
    buf.update_priorities(np.array([0, 1, 1]), torch.tensor([3.0, 9.0, -1.0]))  # a repeated slot: the last
    assert buf.max_priority == pytest.approx(9.01)
    pr = np.array([3.01, 1.01, 1.0, 1.0])
    assert np.allclose(buf.probabilities(), pr / pr.sum())
    buf.add_episodes(ex, a[:, :1], r[:, :1], m[:, :1])  # a new one gets max priority 9.01
    pr = np.append(pr, 9.01)
    assert np.allclose(buf.probabilities(), pr / pr.sum())
    before = buf.state_dict()
    for idx, err in ((np.array([7]), [1.0]), (np.array([0]), [float("nan")]), (np.array([0, 1]), [1.0])):
        with pytest.raises(ValueError):
            buf.update_priorities(idx, np.array(err))
    assert np.array_equal(buf.state_dict()["priorities"], before["priorities"])
    with pytest.raises(ValueError, match="empty"):
        PrioritizedReplayBuffer(4).sample(2)


@pytest.mark.parametrize("kind", [ReplayBuffer, PrioritizedReplayBuffer])
def test_state_dict_resumes_sampling_exactly(kind):
    buf = filled(kind(20, n_step=2, gamma=0.9, seed=7), 3)
    if kind is PrioritizedReplayBuffer:
        buf.update_priorities(np.arange(len(buf)), np.arange(len(buf)) * 0.1)
    buf.sample(5, t=0.3)
    raw = io.BytesIO()
    torch.save(buf.state_dict(), raw)
    raw.seek(0)
    clone = kind(20, n_step=2, gamma=0.9, seed=123)
    clone.load_state_dict(torch.load(raw, weights_only=False))
    for step in range(3):
        a, b = buf.sample(6, t=0.5), clone.sample(6, t=0.5)
        assert np.array_equal(a.indices, b.indices) and a.examples == b.examples
        for name in ("tokens", "steps", "rewards", "dones", "discounts", "weights"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        ex, ac, r, m = episodes(seed=50 + step)
        buf.add_episodes(ex, ac, r, m)
        clone.add_episodes(ex, ac, r, m)
    state = clone.state_dict()
    assert len(state["examples"]) <= 3 * 4  # each example stored once, not once per transition
    other = kind(21, n_step=2, gamma=0.9)
    with pytest.raises(ValueError, match="built with"):
        other.load_state_dict(state)
    snapshot = clone.state_dict()
    bad = dict(state, size=99)
    with pytest.raises(ValueError):
        clone.load_state_dict(bad)
    after = clone.state_dict()  # the rejected load changed nothing
    assert (after["size"], after["pos"], after["rng"]) == (snapshot["size"], snapshot["pos"], snapshot["rng"])
    assert all(torch.equal(after["data"][k], snapshot["data"][k]) for k in snapshot["data"])


def test_bad_episodes_are_rejected_without_change():
    buf = filled(ReplayBuffer(30, seed=0), 1)
    before = (len(buf), buf.pos, buf._data["rewards"].clone())
    ex, a, r, m = episodes()
    with pytest.raises(ValueError, match="examples"):
        buf.add_episodes(ex[:2], a, r, m)
    with pytest.raises(ValueError, match="prefix"):
        buf.add_episodes(ex, a, r, m.flip(1))
    with pytest.raises(TypeError, match="actions"):
        buf.add_episodes(ex, a.float(), r, m)
    with pytest.raises(ValueError, match="finite"):
        buf.add_episodes(ex, a, r * float("nan"), m)
    assert (len(buf), buf.pos) == before[:2] and torch.equal(buf._data["rewards"], before[2])


def test_sampled_prefixes_are_re_scored_by_one_teacher_forced_pass():
    """score() on score_inputs() gives at positions t and t + m the features that step()
    computes after feeding the prefixes of s_t and s_{t+m}."""
    vocab = Vocab([f"w{i}" for i in range(10)])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = Seq2SeqModel(ModelConfig.tiny(len(vocab), pointer_gen=True), vocab).eval()
    examples = [Example(str(i), [f"w{j}" for j in range(i, i + 5)] + ["zz"], [["w1", "w2"]]) for i in range(3)]
    gen = torch.Generator().manual_seed(0)
    actions = torch.randint(4, len(vocab) + 1, (3, 5), generator=gen)  # ids up to V: the copy slot of "zz"
    actions[0, 4] = EOS_ID
    mask = torch.ones(3, 5, dtype=torch.bool)
    buf = ReplayBuffer(50, n_step=2, seed=0)
    buf.add_episodes(examples, actions, torch.ones(3, 5, dtype=torch.float64), mask)
    s = buf.sample(8)
    batch = collate(s.examples, vocab)
    acts, lengths = s.score_inputs()
    with torch.no_grad():
        feats = model.score(batch, acts, lengths=lengths).features  # [N, L + 1, D]
        for i in range(len(s)):
            for pos in (int(s.steps[i]), int(s.next_steps[i])):
                memory = model.encode(collate([s.examples[i]], vocab))
                state = model.init_state(memory)
                prev = model.bos_tokens(1)
                for tok in s.tokens[i, :pos].tolist():
                    _, _, state = model.step(prev, state, memory)
                    prev = torch.tensor([tok])
                _, f, _ = model.step(prev, state, memory)
                assert torch.allclose(f[0], feats[i, pos], atol=1e-5), (i, pos)
