"""Environments: spaces, episodes, rewards, determinism, vector env, SB3 interop, bad input."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

import seq2seq_gym  # noqa: F401  (registers the ids)
from seq2seq_gym.data import EOS_ID, UNK_ID, make_task
from seq2seq_gym.envs import ENV_IDS, TextGenEnv, TextGenVectorEnv
from seq2seq_gym.rewards import make_reward

IDS = sorted(ENV_IDS)
SUMM = "Seq2Seq/Summarization-v0"


def _greedy(env, obs=None, steps=None):
    """Follow the generator's own argmax (through action_masks' top-1) for up to `steps` actions."""
    actions = []
    for _ in range(steps or 10_000):
        mask = env.unwrapped.action_masks()
        lp = env.unwrapped.engine.log_probs[0].clone()
        lp[~torch.from_numpy(mask)] = -float("inf")
        a = int(lp.argmax())
        obs, r, term, trunc, info = env.step(a)
        actions.append(a)
        if term or trunc:
            return actions, r, info
    return actions, None, None


@pytest.fixture(scope="module")
def summ_env():
    env = gym.make(SUMM)
    yield env
    env.close()


# ------------------------------------------------------------------ checkers
@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("observation", ["box", "dict"])
def test_gymnasium_check_env(env_id, observation):
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, observation=observation, invalid_copy="unk")
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("observation", ["box", "dict"])
def test_sb3_check_env(env_id, observation):
    sb3_env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make(env_id, observation=observation, invalid_copy="unk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 advises on Box bounds; it must not raise
        sb3_env_checker.check_env(env.unwrapped, warn=True)
    env.close()


def test_registered_defaults():
    for env_id, metric in [(SUMM, "rougeL"), ("Seq2Seq/Captioning-v0", "cider"), ("Seq2Seq/Translation-v0", "bleu")]:
        env = gym.make(env_id)
        assert env.unwrapped.metric.name.startswith(metric)
        assert isinstance(env.observation_space, gym.spaces.Box)
        assert env.observation_space.shape == (env.unwrapped.generator.feature_dim,)
        assert env.action_space.n == env.unwrapped.engine.num_actions
        env.close()


# ------------------------------------------------------------------ episodes
def test_episode_terminates_on_eos(summ_env):
    obs, info = summ_env.reset(seed=3)
    assert obs.dtype == np.float32 and "example_id" in info
    obs, r, term, trunc, info = summ_env.step(summ_env.unwrapped.task.vocab.token_to_id("the"))
    assert not term and not trunc and r == 0.0
    obs, r, term, trunc, info = summ_env.step(EOS_ID)
    assert term and not trunc
    assert info["text"] == "the"
    assert set(info) >= {"text", "scores", "references", "example_id", "episode_return"}


def test_truncation_at_max_length():
    env = gym.make(SUMM, max_length=3)
    env.reset(seed=0)
    for _ in range(3):
        _, _, term, trunc, _ = env.step(UNK_ID)
        assert not term
    assert trunc


def test_step_after_end_raises(summ_env):
    summ_env.reset(seed=0)
    summ_env.step(EOS_ID)
    with pytest.raises(RuntimeError, match="reset"):
        summ_env.step(EOS_ID)


def test_seeded_determinism():
    def run(seed):
        env = gym.make(SUMM, reward_mode="dense")
        obs, info = env.reset(seed=seed)
        trace = [(info["example_id"], obs.copy())]
        rng = np.random.default_rng(0)
        for _ in range(6):
            a = int(rng.integers(4, 200))
            obs, r, term, trunc, info = env.step(a)
            trace.append((r, obs.copy()))
        return trace

    a, b, c = run(7), run(7), run(8)
    assert a[0][0] == b[0][0]
    for (x1, o1), (x2, o2) in zip(a, b):
        assert x1 == x2
        np.testing.assert_array_equal(o1, o2)
    assert a[0][0] != c[0][0] or not np.array_equal(a[0][1], c[0][1])


def test_terminal_reward_equals_reference_library():
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    env = gym.make(SUMM)
    for seed in range(4):
        env.reset(seed=seed)
        _, r, info = _greedy(env)
        expected = max(scorer.score(ref, info["text"])["rougeL"].fmeasure for ref in info["references"])
        assert r == pytest.approx(expected, abs=1e-6)
        assert info["scores"]["rougeL"] == pytest.approx(expected, abs=1e-6)


def test_dense_rewards_sum_to_terminal():
    env_t = gym.make(SUMM, reward_mode="terminal")
    env_d = gym.make(SUMM, reward_mode="dense")
    for seed in range(3):
        env_t.reset(seed=seed)
        env_d.reset(seed=seed)
        acts, r_t, _ = _greedy(env_t)
        total = 0.0
        for a in acts:
            _, r, term, trunc, info = env_d.step(a)
            total += r
        assert term or trunc
        assert total == pytest.approx(r_t, abs=1e-5)
        assert info["episode_return"] == pytest.approx(r_t, abs=1e-5)


def test_rewards_match_rewards_package_for_mixture():
    env = gym.make(SUMM, reward="rougeL:0.7,rouge2:0.3")
    env.reset(seed=1)
    acts, r, info = _greedy(env)
    metric = make_reward("rougeL:0.7,rouge2:0.3")
    value = float(metric.score([info["text"]], [info["references"]])[0])
    assert r == pytest.approx(value, abs=1e-6)


def test_copy_actions_emit_source_words():
    env = gym.make(SUMM)
    eng = env.unwrapped.engine
    for seed in range(20):
        env.reset(seed=seed)
        if eng.n_oovs[0] > 0:
            break
    assert eng.n_oovs[0] > 0, "no example with an OOV source word in 20 draws"
    V = eng.vocab_size
    env.step(V)  # copy slot 0
    _, _, term, _, info = env.step(EOS_ID)
    assert info["text"] == eng.oovs[0][0]


# ------------------------------------------------------------------ bad input
def test_bad_actions_raise_and_leave_state_intact():
    env = gym.make(SUMM)
    env.reset(seed=5)
    eng = env.unwrapped.engine
    while eng.n_oovs[0] >= eng.copy_slots:
        env.reset()
    before = (eng.features.clone(), eng.state.h.clone(), eng.lengths.copy(), eng.steps.copy())
    empty_slot = eng.vocab_size + int(eng.n_oovs[0])
    bad = [
        (env.action_space.n, ValueError, "outside the action space"),
        (-1, ValueError, "outside the action space"),
        (2.0, TypeError, "integer"),
        ("3", TypeError, "integer"),
        (np.array([4, 5]), ValueError, "scalar"),
        (empty_slot, ValueError, "copy slot"),
    ]
    for action, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            env.step(action)
    torch.testing.assert_close(eng.features, before[0], rtol=0, atol=0)
    torch.testing.assert_close(eng.state.h, before[1], rtol=0, atol=0)
    assert (eng.lengths == before[2]).all() and (eng.steps == before[3]).all()

    # the same valid action after rejected ones gives what a fresh env gives
    fresh = gym.make(SUMM)
    fresh.reset(seed=5)
    while fresh.unwrapped.engine.n_oovs[0] >= fresh.unwrapped.engine.copy_slots:
        fresh.reset()
    o1, *_ = env.step(7)
    o2, *_ = fresh.step(7)
    np.testing.assert_allclose(o1, o2, atol=1e-6)


def test_invalid_copy_unk_mode():
    env = gym.make(SUMM, invalid_copy="unk")
    env.reset(seed=5)
    eng = env.unwrapped.engine
    while eng.n_oovs[0] >= eng.copy_slots:
        env.reset()
    env.step(eng.vocab_size + eng.copy_slots - 1)
    assert eng.tokens[0, 0] == UNK_ID


def test_bad_arguments():
    with pytest.raises(FileNotFoundError, match="no/such/path"):
        gym.make(SUMM, data="no/such/path")
    with pytest.raises(ValueError, match="rougeL"):
        gym.make(SUMM, reward="meteor")
    with pytest.raises(ValueError, match="observation"):
        gym.make(SUMM, observation="pixels")
    with pytest.raises(ValueError, match="reward_mode"):
        gym.make(SUMM, reward_mode="sometimes")
    env = gym.make(SUMM)
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(4)


def test_data_without_model_warns_and_builds_fresh_generator():
    task = make_task("summarization", num_train=50, num_validation=5, num_test=5, seed=123)
    with pytest.warns(UserWarning, match="fresh"):
        env = TextGenEnv(data=task)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (env.generator.feature_dim,)


# ------------------------------------------------------------------ masks and render
def test_action_masks(summ_env):
    summ_env.reset(seed=2)
    eng = summ_env.unwrapped.engine
    mask = summ_env.unwrapped.action_masks()
    assert mask.shape == (summ_env.action_space.n,) and mask.dtype == bool
    assert mask[EOS_ID] and not mask[0] and not mask[2]
    assert mask.sum() <= summ_env.unwrapped.mask_top_k + 1
    assert not mask[eng.vocab_size + int(eng.n_oovs[0]):].any()
    top = int(eng.log_probs[0].argmax())
    assert mask[top]


def test_render_ansi_and_rgb():
    env = gym.make(SUMM, render_mode="ansi")
    env.reset(seed=0)
    env.step(4)
    text = env.render()
    assert "source" in text and "output" in text and "reward" in text
    env = gym.make(SUMM, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8 and frame.std() > 0
    cap = gym.make("Seq2Seq/Captioning-v0", render_mode="rgb_array")
    cap.reset(seed=0)
    f2 = cap.render()
    assert f2.shape == (480, 640, 3)
    img = np.asarray(cap.unwrapped.engine.examples[0].source)
    from seq2seq_gym.envs.render import LINE_H

    top, zoom = 6 + LINE_H + 4, 320 // img.shape[0]
    left = (640 - img.shape[1] * zoom) // 2
    drawn = f2[top : top + img.shape[0] * zoom : zoom, left : left + img.shape[1] * zoom : zoom]
    np.testing.assert_array_equal(drawn, img)  # the image, enlarged, under the header


def test_data_path_builds_a_fresh_generator(tmp_path):
    import json

    rows = [{"id": str(i), "source": f"the cat number {i} sat on the mat today", "target": f"cat {i} sat"}
            for i in range(30)]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.warns(UserWarning, match="fresh"):
        env = gym.make(SUMM, data=str(path), max_length=5)
    env.reset(seed=0)
    _, r, term, _, info = env.step(EOS_ID)
    assert term and info["references"][0].startswith("cat ")


# ------------------------------------------------------------------ vector env
def test_make_vec_uses_native_vector_env():
    venv = gym.make_vec(SUMM, num_envs=4)
    assert isinstance(venv.unwrapped, TextGenVectorEnv)
    obs, info = venv.reset(seed=0)
    assert obs.shape == (4, venv.unwrapped.generator.feature_dim)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP


@pytest.mark.parametrize("observation", ["box", "dict"])
def test_single_and_vector_env_trajectories_agree(observation):
    N, seed = 3, 11
    venv = TextGenVectorEnv(num_envs=N, task="summarization", reward="rougeL", reward_mode="dense",
                            observation=observation, max_length=12)
    singles = [TextGenEnv(task="summarization", reward="rougeL", reward_mode="dense",
                          observation=observation, max_length=12) for _ in range(N)]
    vobs, vinfo = venv.reset(seed=seed)
    sobs = [e.reset(seed=seed + i) for i, e in enumerate(singles)]
    rng = np.random.default_rng(1)

    def same_obs(v, s, i):
        if observation == "box":
            np.testing.assert_allclose(v[i], s, atol=1e-5)
        else:
            for k in s:
                np.testing.assert_allclose(v[k][i], s[k], atol=1e-5)

    for i in range(N):
        assert vinfo["example_id"][i] == sobs[i][1]["example_id"]
        same_obs(vobs, sobs[i][0], i)
    for _ in range(30):  # long enough for episodes to end and autoreset
        acts = rng.integers(3, 60, size=N)
        acts[rng.random(N) < 0.15] = EOS_ID
        vo, vr, vt, vtr, vi = venv.step(acts)
        for i, e in enumerate(singles):
            o, r, t, tr, inf = e.step(int(acts[i]))
            assert vr[i] == pytest.approx(r, abs=1e-6)
            assert (vt[i], vtr[i]) == (t, tr)
            if t or tr:
                fo = vi["final_obs"][i]
                if observation == "box":
                    np.testing.assert_allclose(fo, o, atol=1e-5)
                assert venv.last_episode_infos[i]["text"] == inf["text"]
                o, inf = e.reset()
                assert vi["example_id"][i] == inf["example_id"]
            same_obs(vo, o, i)


def test_sync_vector_env_matches_native():
    N = 2
    sync = gym.make_vec(SUMM, num_envs=N, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    native = gym.make_vec(SUMM, num_envs=N)
    so, _ = sync.reset(seed=4)
    no, _ = native.reset(seed=4)
    np.testing.assert_allclose(so, no, atol=1e-5)
    for a in ([5, 6], [7, 8], [EOS_ID, 9]):
        so, sr, st, str_, _ = sync.step(np.array(a))
        no, nr, nt, ntr, _ = native.step(np.array(a))
        np.testing.assert_allclose(so, no, atol=1e-5)
        np.testing.assert_allclose(sr, nr, atol=1e-6)
        assert (st == nt).all() and (str_ == ntr).all()


def test_vector_next_step_autoreset():
    venv = TextGenVectorEnv(num_envs=2, task="summarization", reward="rougeL", autoreset_mode="NextStep")
    venv.reset(seed=0)
    _, r, term, trunc, info = venv.step(np.array([EOS_ID, 5]))
    assert term[0] and not term[1]
    assert "text" in info and info["_text"][0] and not info["_text"][1]
    obs, r, term, trunc, info = venv.step(np.array([99999, 6]))  # env 0's action is ignored: it resets
    assert r[0] == 0.0 and not term[0]
    assert venv.engine.lengths[0] == 0 and venv.engine.lengths[1] == 2


def test_vector_bad_actions():
    venv = TextGenVectorEnv(num_envs=2, task="summarization", reward="rougeL")
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.array([4, 5, 6]))
    with pytest.raises(TypeError, match="integer"):
        venv.step(np.array([4.0, 5.0]))


# ------------------------------------------------------------------ SB3
def test_sb3_vec_env_adapter():
    pytest.importorskip("stable_baselines3")
    from seq2seq_gym.envs.sb3 import SB3VecEnv

    venv = SB3VecEnv(TextGenVectorEnv(num_envs=3, task="summarization", reward="rougeL", max_length=4))
    venv.seed(3)
    obs = venv.reset()
    assert obs.shape == (3, venv.observation_space.shape[0])
    for _ in range(4):
        obs, rewards, dones, infos = venv.step(np.array([5, 6, 7]))
    assert dones.all()
    assert all("terminal_observation" in i and i["TimeLimit.truncated"] for i in infos)
    masks = venv.env_method("action_masks")
    assert len(masks) == 3 and masks[0].shape == (venv.action_space.n,)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("algo", ["DQN", "A2C", "PPO", "MaskablePPO"])
def test_stock_sb3_algorithms_learn(env_id, algo):
    sb3 = pytest.importorskip("stable_baselines3")
    kwargs = {"seed": 0, "device": "cpu", "verbose": 0}
    if algo == "MaskablePPO":
        contrib = pytest.importorskip("sb3_contrib")
        cls, kwargs["n_steps"], kwargs["batch_size"] = contrib.MaskablePPO, 64, 32
    elif algo == "DQN":
        cls = sb3.DQN
        kwargs.update(learning_starts=50, buffer_size=1000, train_freq=4)
    elif algo == "PPO":
        cls, kwargs["n_steps"], kwargs["batch_size"] = sb3.PPO, 64, 32
    else:
        cls, kwargs["n_steps"] = sb3.A2C, 8
    env = gym.make(env_id, invalid_copy="unk", max_length=8)
    model = cls("MlpPolicy", env, **kwargs)
    model.learn(total_timesteps=200)
    assert model.num_timesteps >= 200


# ------------------------------------------------------------------ shipped generators
@pytest.mark.parametrize("task_name", ["summarization", "captioning", "translation"])
def test_shipped_generator_beats_untrained(task_name):
    from seq2seq_gym.envs.text_gen import load_pretrained
    from seq2seq_gym.models import Seq2SeqModel

    task = make_task(task_name)
    trained = load_pretrained(task)
    assert trained is not None, f"no shipped generator for {task_name}"
    torch.manual_seed(0)
    fresh = Seq2SeqModel(trained.config, task.vocab)
    metric = make_reward(task.metric)
    batch = task.collate(task.split("validation")[:64])

    def score(model):
        out = model.eval().generate(batch, strategy="greedy", max_len=task.max_target_len)
        return float(metric.terminal(out.tokens, out.lengths, batch.refs, batch.ref_lens).mean())

    assert score(trained) > score(fresh) + 0.05


def test_generator_without_copy_has_no_copy_actions():
    from seq2seq_gym.models import ModelConfig, Seq2SeqModel

    task = make_task("summarization", num_train=50, num_validation=5, num_test=5, seed=123)
    torch.manual_seed(0)
    model = Seq2SeqModel(ModelConfig.tiny(len(task.vocab), pointer_gen=False), task.vocab)
    env = TextGenEnv(data=task, model=model, reward="rouge1")
    assert env.action_space.n == len(task.vocab)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside the action space"):
        env.step(len(task.vocab))
    _, r, term, _, info = env.step(EOS_ID)
    assert term and info["text"] == "" and r == 0.0
