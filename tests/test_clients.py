"""The RL libraries people use, run on our environments (each skips cleanly when it is not installed).

tianshou and torchrl batch the per-step ``info`` into arrays, so they need it
numeric with the same keys on every step; the RL Zoo and stock SB3 agents
cannot mask actions, so they need the default ``invalid_copy="unk"``. The
``clients`` extra installs them: ``pip install -e ".[test,sb3,clients]"``.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import seq2seq_gym  # noqa: F401  (registers the ids)
from seq2seq_gym.envs import TextGenVectorEnv

ROOT = Path(__file__).resolve().parents[1]
SUMM = "Seq2Seq/Summarization-v0"
# "module:id" makes gymnasium import seq2seq_gym first, which a spawned worker process needs
SUMM_IMPORTABLE = "seq2seq_gym:" + SUMM


def _env_with_path() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# ------------------------------------------------------------------ tianshou
def _tianshou_envs(n):
    ts_env = pytest.importorskip("tianshou.env")
    return ts_env.DummyVectorEnv([lambda: gym.make(SUMM, max_length=6) for _ in range(n)])


def _check_tianshou_run(result, collector, params_before, params_after):
    assert result.train_episode > 0 and result.test_episode > 0
    collector.reset_buffer()  # (an on-policy trainer empties it after each update)
    collector.collect(n_step=24)
    buffer = collector.buffer
    rewards = buffer.rew[: len(buffer)]
    assert len(buffer) > 0 and np.isfinite(rewards).all()
    info = buffer.info[: len(buffer)]
    lengths = np.asarray(info["length"])
    assert lengths.dtype.kind == "i" and 1 <= lengths.max() <= 6  # our numeric info, batched
    assert np.asarray(info["example_index"]).min() >= 0
    assert any(not torch.equal(a, b) for a, b in zip(params_before, params_after))


@pytest.mark.slow  # tianshou compiles its numba kernels (~30 s once per process)
def test_tianshou_dqn():
    pytest.importorskip("tianshou")
    from tianshou.algorithm import DQN
    from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.trainer import OffPolicyTrainerParams
    from tianshou.utils.net.common import Net

    torch.manual_seed(0)  # tianshou's networks use the global generator; tests may seed it
    env = gym.make(SUMM, max_length=6)
    train_envs, test_envs = _tianshou_envs(2), _tianshou_envs(2)
    train_envs.seed(0)
    test_envs.seed(100)
    net = Net(state_shape=env.observation_space.shape, action_shape=env.action_space.n, hidden_sizes=[32])
    policy = DiscreteQLearningPolicy(model=net, action_space=env.action_space, eps_training=0.5)
    algo = DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-3), gamma=0.9, target_update_freq=20)
    buffer = VectorReplayBuffer(500, 2)
    train_c = Collector(policy, train_envs, buffer, exploration_noise=True)
    test_c = Collector(policy, test_envs, exploration_noise=True)
    train_c.reset()
    test_c.reset()
    train_c.collect(n_step=40, random=True)
    before = [p.detach().clone() for p in net.parameters()]
    result = algo.run_training(OffPolicyTrainerParams(
        training_collector=train_c, test_collector=test_c, max_epochs=1, epoch_num_steps=60,
        collection_step_num_env_steps=10, test_step_num_episodes=2, batch_size=16,
        show_progress=False, verbose=False,
    ))
    _check_tianshou_run(result, train_c, before, list(net.parameters()))


@pytest.mark.slow
def test_tianshou_ppo():
    pytest.importorskip("tianshou")
    from tianshou.algorithm import PPO
    from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.trainer import OnPolicyTrainerParams
    from tianshou.utils.net.common import Net
    from tianshou.utils.net.discrete import DiscreteActor, DiscreteCritic

    torch.manual_seed(0)
    env = gym.make(SUMM, max_length=6)
    train_envs, test_envs = _tianshou_envs(2), _tianshou_envs(2)
    train_envs.seed(0)
    test_envs.seed(100)
    shape = env.observation_space.shape
    actor = DiscreteActor(preprocess_net=Net(state_shape=shape, hidden_sizes=[32]), action_shape=env.action_space.n)
    critic = DiscreteCritic(preprocess_net=Net(state_shape=shape, hidden_sizes=[32]))
    policy = ProbabilisticActorPolicy(actor=actor, dist_fn=torch.distributions.Categorical,
                                      action_space=env.action_space, deterministic_eval=True, action_scaling=False)
    algo = PPO(policy=policy, critic=critic, optim=AdamOptimizerFactory(lr=1e-3))
    buffer = VectorReplayBuffer(200, 2)
    train_c = Collector(policy, train_envs, buffer)
    test_c = Collector(policy, test_envs)
    train_c.reset()
    test_c.reset()
    before = [p.detach().clone() for p in actor.parameters()]
    result = algo.run_training(OnPolicyTrainerParams(
        training_collector=train_c, test_collector=test_c, max_epochs=1, epoch_num_steps=64,
        collection_step_num_env_steps=32, update_step_num_repetitions=1, test_step_num_episodes=2,
        batch_size=16, show_progress=False, verbose=False,
    ))
    _check_tianshou_run(result, train_c, before, list(actor.parameters()))


# ------------------------------------------------------------------ torchrl
@pytest.mark.slow
def test_torchrl_batched_gym_env():
    pytest.importorskip("torchrl")
    from torchrl.envs import GymEnv
    from torchrl.envs.utils import check_env_specs

    env = GymEnv(SUMM_IMPORTABLE, num_envs=4, max_length=4)  # Gymnasium's AsyncVectorEnv of our env
    try:
        check_env_specs(env, seed=0)
        td = env.rollout(12, break_when_any_done=False)
        assert td.batch_size == torch.Size([4, 12])
        done = td["next", "done"].squeeze(-1)
        assert done.sum(1).min() >= 3  # every copy ended every <= 4 steps
        assert torch.isfinite(td["next", "reward"]).all()
        assert td["next", "length"].max() <= 4 and td["next", "length"].dtype == torch.int64
    finally:
        env.close()


def test_torchrl_wraps_the_native_vector_env():
    pytest.importorskip("torchrl")
    from torchrl.envs import GymWrapper
    from torchrl.envs.utils import check_env_specs

    for mode in ("Disabled", "SameStep"):  # torchrl takes these two (and prefers DISABLED)
        env = GymWrapper(TextGenVectorEnv(num_envs=3, task="summarization", max_length=4, autoreset_mode=mode))
        check_env_specs(env, seed=0)
        td = env.rollout(9, break_when_any_done=False)
        done = td["next", "done"].squeeze(-1)
        assert td.batch_size == torch.Size([3, 9]) and done.sum(1).min() >= 2
        assert torch.isfinite(td["next", "reward"]).all()
    with pytest.raises(RuntimeError, match="SAME_STEP or DISABLED"):
        GymWrapper(TextGenVectorEnv(num_envs=2, task="summarization", autoreset_mode="NextStep"))


# ------------------------------------------------------------------ Stable-Baselines3 and the RL Zoo
def test_sb3_extra_has_what_progress_bar_needs():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    sb3_extra = cfg["options.extras_require"]["sb3"]
    for package in ("stable-baselines3", "sb3-contrib", "rich", "tqdm"):
        assert package in sb3_extra
    sb3 = pytest.importorskip("stable_baselines3")
    model = sb3.A2C("MlpPolicy", gym.make(SUMM, max_length=4), n_steps=4, seed=0, device="cpu")
    model.learn(total_timesteps=16, progress_bar=True)  # needs rich and tqdm (ImportError without)
    assert model.num_timesteps == 16 and len(model.ep_info_buffer) >= 3


@pytest.mark.slow
def test_rl_zoo_trains_ppo(tmp_path):
    pytest.importorskip("rl_zoo3")
    (tmp_path / "hp.yml").write_text(
        f"{SUMM}:\n  policy: 'MlpPolicy'\n  n_timesteps: 256\n  n_envs: 2\n  n_steps: 32\n"
        "  batch_size: 32\n  n_epochs: 1\n"
    )
    cmd = [sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", SUMM, "--gym-packages", "seq2seq_gym",
           "--conf-file", str(tmp_path / "hp.yml"), "-f", str(tmp_path / "logs"), "--env-kwargs", "max_length:4",
           "--seed", "0", "--device", "cpu", "--eval-freq", "-1"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env_with_path(), timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ep_rew_mean" in out.stdout
    monitors = sorted((tmp_path / "logs").rglob("*.monitor.csv"))
    assert monitors, "the zoo wrote no Monitor log"
    rows = [line.split(",") for m in monitors for line in m.read_text().splitlines()[2:]]
    assert len(rows) >= 8 and all(np.isfinite(float(r[0])) and int(r[1]) == 4 for r in rows)
    assert list((tmp_path / "logs").rglob("*.zip"))  # the trained model was saved


@pytest.mark.slow
def test_maskable_ppo_example_prints_episode_rewards():
    pytest.importorskip("sb3_contrib")
    cmd = [sys.executable, str(ROOT / "examples" / "sb3_maskable_ppo_captioning.py"), "--timesteps", "256",
           "--num-envs", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env_with_path(), timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ep_rew_mean" in out.stdout
    line = next(x for x in out.stdout.splitlines() if x.startswith("episodes:"))
    assert int(line.split()[1]) >= 2 and np.isfinite(float(line.rsplit(":", 1)[1]))
    assert "caption:" in out.stdout and "CIDEr-D" in out.stdout
