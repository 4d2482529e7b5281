"""Target networks by value (hard copies and Polyak averaging never mixed), Double DQN's
online-argmax / target-value split on real heads, and the guards against zero targets."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

from seq2seq_gym.agents import advantages as adv
from seq2seq_gym.agents import heads as H
from seq2seq_gym.agents.targets import TargetNetwork, ZeroTargetGuard, check_targets, q_targets


def head(seed: int = 0, feature_dim: int = 6, vocab: int = 5) -> H.CriticHead:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return H.DuelingQHead(H.ValueHead(feature_dim, 4), H.LinearQHead(feature_dim, vocab, 3))


def nudge(module: torch.nn.Module, step: int) -> None:
    """A stand-in for one optimiser update: a different change to every parameter."""
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.add_(0.1 * (step + 1) * (i + 1))


def flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def test_hard_update_copies_every_interval_and_only_then():
    online = head()
    target = TargetNetwork(online, update="hard", interval=3)
    assert torch.equal(flat(target.target), flat(online))
    assert all(not p.requires_grad for p in target.target.parameters())
    start = flat(online)
    for step in range(1, 10):
        nudge(online, step)
        changed = target.step()
        assert changed == (step % 3 == 0)
        if step % 3 == 0:
            assert torch.equal(flat(target.target), flat(online)), step
            last = flat(online)
        else:
            held = start if step < 3 else last
            assert torch.equal(flat(target.target), held), step  # untouched between copies
            assert not torch.equal(flat(target.target), flat(online))


def test_polyak_update_matches_the_recursion_and_never_hard_copies():
    online = head()
    tau = 0.25
    target = TargetNetwork(online, update="polyak", tau=tau, interval=2)
    want = flat(online).clone()
    for step in range(1, 9):
        nudge(online, step)
        target.step()
        if step % 2 == 0:
            want = tau * flat(online) + (1 - tau) * want
        assert torch.allclose(flat(target.target), want, atol=1e-6), step
        assert not torch.allclose(flat(target.target), flat(online), atol=1e-3)  # no copy sneaked in
    with pytest.raises(ValueError, match="tau"):
        TargetNetwork(online, update="hard", tau=0.5)
    with pytest.raises(ValueError, match="tau"):
        TargetNetwork(online, update="polyak", tau=0.0)
    with pytest.raises(ValueError, match="update"):
        TargetNetwork(online, update="soft")


def test_target_state_dict_round_trip_and_rejection():
    online = head()
    target = TargetNetwork(online, update="polyak", tau=0.5)
    for s in range(3):
        nudge(online, s)
        target.step()
    other = TargetNetwork(head(seed=1), update="polyak", tau=0.5)
    other.load_state_dict(copy.deepcopy(target.state_dict()))
    assert torch.equal(flat(other.target), flat(target.target)) and other.updates == 3
    before = flat(other.target)
    with pytest.raises(ValueError, match="this one has"):
        TargetNetwork(head(), update="hard").load_state_dict(target.state_dict())
    bad = target.state_dict()
    bad["target"] = {k: v[..., :1] for k, v in bad["target"].items()}
    with pytest.raises(ValueError, match="match"):
        other.load_state_dict(bad)
    assert torch.equal(flat(other.target), before)


def test_double_dqn_picks_with_the_online_network_and_evaluates_with_the_target():
    """On a batch of next states where the online and target heads disagree on the best
    action: Double DQN's target is Q_target(s', argmax Q_online(s')), not max Q_target, not
    max Q_online, not Q_online(s', argmax Q_target)."""
    online = head(seed=0)
    target = TargetNetwork(online, update="hard", interval=1000)
    nudge(online, 3)
    with torch.no_grad():  # make the two disagree strongly on the best action
        online.advantage.out.bias.copy_(torch.tensor([0.0, 5.0, 0.0, 0.0, 0.0]))
    f_next = torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        q_on, q_tg = online(f_next), target(f_next)
    assert (q_on.argmax(-1) != q_tg.argmax(-1)).float().mean() > 0.5
    r = torch.rand(64, generator=torch.Generator().manual_seed(1))
    dones = torch.zeros(64, dtype=torch.bool)
    dones[:8] = True
    disc = torch.full((64,), 0.9)
    y = q_targets(r, disc, dones, q_tg, kind="double", next_q_online=q_on)
    pick = q_on.argmax(-1)
    want = r + 0.9 * (~dones) * q_tg.gather(1, pick[:, None])[:, 0]
    assert torch.allclose(y, want)
    assert torch.allclose(y, adv.td_targets(r, adv.double_q_value(q_on, q_tg), dones, disc))
    wrong = {
        "max target (DQN)": r + 0.9 * (~dones) * q_tg.amax(-1),
        "max online": r + 0.9 * (~dones) * q_on.amax(-1),
        "target picks, online evaluates": r + 0.9 * (~dones) * q_on.gather(1, q_tg.argmax(-1, keepdim=True))[:, 0],
    }
    for name, w in wrong.items():
        assert not torch.allclose(y, w), name
    assert torch.allclose(q_targets(r, disc, dones, q_tg, kind="dqn"), wrong["max target (DQN)"])
    assert (y <= wrong["max target (DQN)"] + 1e-6).all()  # never above DQN's target
    with pytest.raises(ValueError, match="next_q_online"):
        q_targets(r, disc, dones, q_tg, kind="double")
    # masked actions are never picked, and a -inf at a terminal next state does not leak
    mask = torch.ones_like(q_on, dtype=torch.bool)
    mask[:, 1] = False
    ym = q_targets(r, disc, dones, q_tg, kind="double", next_q_online=q_on, action_mask=mask)
    pick_m = q_on.masked_fill(~mask, float("-inf")).argmax(-1)
    assert torch.allclose(ym, r + 0.9 * (~dones) * q_tg.gather(1, pick_m[:, None])[:, 0])
    q_inf = q_tg.clone()
    q_inf[:8] = float("-inf")
    assert torch.isfinite(q_targets(r, disc, dones, q_inf, kind="dqn")).all()
    probs = torch.softmax(q_on, -1)
    ye = q_targets(r, disc, dones, q_tg, kind="expected", next_probs=probs)
    assert torch.allclose(ye, r + 0.9 * (~dones) * (probs * q_tg).sum(-1))


def test_a_critic_never_trains_silently_on_zero_targets():
    r = torch.tensor([0.0, 1.0, 0.0])
    check_targets(torch.tensor([0.5, 1.0, 0.0]), rewards=r)
    check_targets(torch.zeros(3), rewards=torch.zeros(3), bootstrap=torch.zeros(3))  # legitimately zero
    with pytest.raises(ValueError, match="all zero"):
        check_targets(torch.zeros(3), rewards=r)  # read from the wrong place
    with pytest.raises(ValueError, match="all zero"):
        check_targets(torch.zeros(3), rewards=torch.zeros(3), bootstrap=torch.ones(3))
    with pytest.raises(ValueError, match="non-finite"):
        check_targets(torch.tensor([1.0, float("nan")]))
    guard = ZeroTargetGuard(patience=3)
    for _ in range(2):
        guard(torch.zeros(4))
    guard(torch.ones(4))  # a non-zero batch resets the count
    guard(torch.zeros(4))
    guard(torch.zeros(4))
    with pytest.raises(RuntimeError, match="3 consecutive"):
        guard(torch.zeros(4))
    soft = ZeroTargetGuard(patience=1, warn=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        soft(torch.zeros(2))
    assert any("all-zero" in str(w.message) for w in caught)
