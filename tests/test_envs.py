"""Environments: spaces, episodes, rewards, determinism, vector env, SB3 interop, bad input."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

import seq2seq_gym  # registers the ids
from seq2seq_gym.data import EOS_ID, UNK_ID, make_task
from seq2seq_gym.envs import ENV_IDS, TextGenEnv, TextGenVectorEnv
from seq2seq_gym.rewards import make_reward

IDS = sorted(ENV_IDS)
SUMM = "Seq2Seq/Summarization-v0"


def _greedy(env, obs=None, steps=None):
    """Follow the generator's own argmax (through action_masks' top-1); returns actions, last reward, record."""
    actions = []
    for _ in range(steps or 10_000):
        mask = env.unwrapped.action_masks()
        lp = env.unwrapped.engine.log_probs[0].clone()
        lp[~torch.from_numpy(mask)] = -float("inf")
        a = int(lp.argmax())
        obs, r, term, trunc, info = env.step(a)
        actions.append(a)
        if term or trunc:
            return actions, r, env.unwrapped.last_episode
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

    env = gym.make(env_id, observation=observation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "A Box observation space minimum value is -infinity"
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("observation", ["box", "dict"])
def test_observations_lie_in_the_declared_space(env_id, observation):
    env = gym.make(env_id, observation=observation, max_length=12)
    space = env.observation_space
    state = space if observation == "box" else space["state"]
    assert np.isfinite(state.low).all() and np.isfinite(state.high).all()
    assert (state.low == -1).all() and (state.high == 1).all()
    rng = np.random.default_rng(0)
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            assert space.contains(obs)
            mask = env.unwrapped.action_masks()
            obs, _, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
            done = term or trunc
        assert space.contains(obs)


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("observation", ["box", "dict"])
def test_sb3_check_env(env_id, observation):
    sb3_env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make(env_id, observation=observation)
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
    assert obs.dtype == np.float32 and info == {"example_index": info["example_index"], "length": 0}
    index = info["example_index"]
    obs, r, term, trunc, info = summ_env.step(summ_env.unwrapped.task.vocab.token_to_id("the"))
    assert not term and not trunc and r == 0.0
    assert info == {"example_index": index, "length": 1}
    obs, r, term, trunc, info = summ_env.step(EOS_ID)
    assert term and not trunc
    assert info == {"example_index": index, "length": 1}  # numeric, the same keys as every step
    rec = summ_env.unwrapped.last_episode
    ex = summ_env.unwrapped.examples[index]
    assert rec["text"] == "the" and rec["example_id"] == ex.id and rec["example_index"] == index
    assert rec["references"] == [" ".join(ref) for ref in ex.references]
    assert rec["episode_return"] == pytest.approx(r) and rec["scores"]["rougeL"] == pytest.approx(r)
    assert (rec["length"], rec["steps"], rec["terminated"], rec["truncated"]) == (1, 2, True, False)
    assert rec["tokens"] == [summ_env.unwrapped.task.vocab.token_to_id("the")]


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
        trace = [(info["example_index"], obs.copy())]
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
        assert env_d.unwrapped.last_episode["episode_return"] == pytest.approx(r_t, abs=1e-5)


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
    assert env.unwrapped.last_episode["text"] == eng.oovs[0][0]


# ------------------------------------------------------------------ bad input
def test_bad_actions_raise_and_leave_state_intact():
    env = gym.make(SUMM, invalid_copy="raise")
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
    fresh = gym.make(SUMM, invalid_copy="raise")
    fresh.reset(seed=5)
    while fresh.unwrapped.engine.n_oovs[0] >= fresh.unwrapped.engine.copy_slots:
        fresh.reset()
    o1, *_ = env.step(7)
    o2, *_ = fresh.step(7)
    np.testing.assert_allclose(o1, o2, atol=1e-6)


def test_invalid_copy_defaults_to_unk_and_raise_is_one_argument_away():
    for kwargs in ({}, {"invalid_copy": "unk"}):
        env = gym.make(SUMM, **kwargs)
        env.reset(seed=5)
        eng = env.unwrapped.engine
        while eng.n_oovs[0] >= eng.copy_slots:
            env.reset()
        env.step(eng.vocab_size + eng.copy_slots - 1)
        assert eng.tokens[0, 0] == UNK_ID
    strict = gym.make(SUMM, invalid_copy="raise")
    strict.reset(seed=5)
    eng = strict.unwrapped.engine
    while eng.n_oovs[0] >= eng.copy_slots:
        strict.reset()
    with pytest.raises(ValueError, match="copy slot"):
        strict.step(eng.vocab_size + eng.copy_slots - 1)


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
    assert term and env.unwrapped.last_episode["references"][0].startswith("cat ")


# ------------------------------------------------------------------ vector env
def test_make_vec_uses_native_vector_env():
    venv = gym.make_vec(SUMM, num_envs=4)
    assert isinstance(venv.unwrapped, TextGenVectorEnv)
    obs, info = venv.reset(seed=0)
    assert obs.shape == (4, venv.unwrapped.generator.feature_dim)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


@pytest.mark.parametrize(("observation", "mode"), [("box", "NextStep"), ("box", "SameStep"), ("box", "Disabled"),
                                                   ("dict", "NextStep"), ("dict", "SameStep")])
def test_single_and_vector_env_trajectories_agree(observation, mode):
    N, seed = 3, 11
    venv = TextGenVectorEnv(num_envs=N, task="summarization", reward="rougeL", reward_mode="dense",
                            observation=observation, max_length=12, autoreset_mode=mode)
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
        assert vinfo["example_index"][i] == sobs[i][1]["example_index"]
        same_obs(vobs, sobs[i][0], i)
    pending = np.zeros(N, dtype=bool)  # NEXT_STEP: ended at the previous step, restarts now
    episodes = 0
    for _ in range(30):  # long enough for episodes to end and autoreset
        acts = rng.integers(3, 60, size=N)
        acts[rng.random(N) < 0.15] = EOS_ID
        vo, vr, vt, vtr, vi = venv.step(acts)
        ended = np.zeros(N, dtype=bool)
        for i, e in enumerate(singles):
            if pending[i]:  # the vector env ignored this action and restarted
                o, inf = e.reset()
                assert (vr[i], vt[i], vtr[i]) == (0.0, False, False)
            else:
                o, r, t, tr, inf = e.step(int(acts[i]))
                assert vr[i] == pytest.approx(r, abs=1e-6)
                assert (vt[i], vtr[i]) == (t, tr)
                if t or tr:
                    episodes += 1
                    ended[i] = True
                    assert venv.last_episodes[i]["text"] == e.last_episode["text"]
                    assert venv.last_episodes[i]["scores"] == pytest.approx(e.last_episode["scores"])
                    if mode == "SameStep":
                        if observation == "box":
                            np.testing.assert_allclose(vi["final_obs"][i], o, atol=1e-5)
                        assert vi["final_info"]["length"][i] == inf["length"]
                        o, inf = e.reset()
            assert vi["example_index"][i] == inf["example_index"] and vi["length"][i] == inf["length"]
            same_obs(vo, o, i)
        if mode == "NextStep":
            pending = ended
        if mode == "Disabled" and ended.any():
            vo, vinfo = venv.reset(options={"reset_mask": ended})
            for i in np.flatnonzero(ended):
                o, inf = singles[i].reset()
                assert vinfo["example_index"][i] == inf["example_index"]
                same_obs(vo, o, i)
    assert episodes >= 5


@pytest.mark.parametrize("mode", list(gym.vector.AutoresetMode))
def test_sync_vector_env_matches_native(mode):
    N = 2
    sync = gym.make_vec(SUMM, num_envs=N, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})
    native = gym.make_vec(SUMM, num_envs=N, autoreset_mode=mode)
    so, _ = sync.reset(seed=4)
    no, _ = native.reset(seed=4)
    np.testing.assert_allclose(so, no, atol=1e-5)
    for a in ([5, 6], [7, 8], [EOS_ID, 9], [10, 11], [12, 13]):
        so, sr, st, str_, si = sync.step(np.array(a))
        no, nr, nt, ntr, ni = native.step(np.array(a))
        np.testing.assert_allclose(so, no, atol=1e-5)
        np.testing.assert_allclose(sr, nr, atol=1e-6)
        assert (st == nt).all() and (str_ == ntr).all()
        for key in ("example_index", "length"):  # SyncVectorEnv batches our numeric infos the same way
            np.testing.assert_array_equal(si[key], ni[key])
        if mode == gym.vector.AutoresetMode.DISABLED and (st | str_).any():
            so, _ = sync.reset(options={"reset_mask": st | str_})
            no, _ = native.reset(options={"reset_mask": nt | ntr})
            np.testing.assert_allclose(so, no, atol=1e-5)


def test_vector_next_step_autoreset():
    venv = TextGenVectorEnv(num_envs=2, task="summarization", reward="rougeL", autoreset_mode="NextStep",
                            episode_info=True)

    venv.reset(seed=0)
    _, r, term, trunc, info = venv.step(np.array([EOS_ID, 5]))
    assert term[0] and not term[1]
    assert "text" in info and info["_text"][0] and not info["_text"][1]  # episode_info=True
    assert info["text"][0] == venv.last_episodes[0]["text"] == ""

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
def _sb3_trace(mode, observation="box", steps=14):
    from seq2seq_gym.envs.sb3 import SB3VecEnv

    venv = SB3VecEnv(TextGenVectorEnv(num_envs=3, task="summarization", reward="rougeL", max_length=4,
                                      autoreset_mode=mode, observation=observation))
    venv.seed(3)
    trace = [venv.reset()]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        acts = rng.integers(4, 50, size=3)
        acts[rng.random(3) < 0.2] = EOS_ID
        trace.append(venv.step(acts))
    return venv, trace


@pytest.mark.parametrize("mode", ["SameStep", "NextStep", "Disabled"])
def test_sb3_vec_env_adapter(mode):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.monitor import Monitor

    venv, trace = _sb3_trace(mode)
    _, same = _sb3_trace("SameStep")
    np.testing.assert_array_equal(trace[0], same[0])
    ended = 0
    for (obs, rewards, dones, infos), (obs_s, rewards_s, dones_s, infos_s) in zip(trace[1:], same[1:]):
        np.testing.assert_array_equal(obs, obs_s)  # same-step resets, emulated over any mode
        np.testing.assert_array_equal(rewards, rewards_s)
        np.testing.assert_array_equal(dones, dones_s)
        for i in np.flatnonzero(dones):
            ended += 1
            info = infos[i]
            np.testing.assert_array_equal(info["terminal_observation"], infos_s[i]["terminal_observation"])
            assert info["episode"]["r"] == pytest.approx(info["episode_return"]) == pytest.approx(rewards[i])
            assert info["episode"]["l"] == info["steps"] and np.isfinite(info["episode"]["t"])
            assert info["TimeLimit.truncated"] == (info["truncated"] and not info["terminated"])
            assert isinstance(info["text"], str) and "rougeL" in info["scores"]
        for i in np.flatnonzero(~dones):
            assert "episode" not in infos[i] and "terminal_observation" not in infos[i]
    assert ended >= 6
    assert venv.env_is_wrapped(Monitor) == [True] * 3
    masks = venv.env_method("action_masks")
    assert len(masks) == 3 and masks[0].shape == (venv.action_space.n,)
    assert venv.get_attr("mask_top_k", indices=[0, 2]) == [50, 50]
    venv.set_attr("mask_top_k", 3)
    assert venv.env_method("action_masks", indices=1)[0].sum() <= 4
    with pytest.raises(ValueError, match="all of them"):
        venv.set_attr("mask_top_k", 3, indices=[0])


def test_sb3_vec_env_dict_observation_over_modes():
    pytest.importorskip("stable_baselines3")
    _, a = _sb3_trace("NextStep", "dict", steps=8)
    _, b = _sb3_trace("SameStep", "dict", steps=8)
    for (obs, _, dones, infos), (obs_b, _, _, infos_b) in zip(a[1:], b[1:]):
        for k in obs:
            np.testing.assert_array_equal(obs[k], obs_b[k])
        for i in np.flatnonzero(dones):
            for k in obs:
                last, last_b = infos[i]["terminal_observation"], infos_b[i]["terminal_observation"]
                np.testing.assert_array_equal(last[k], last_b[k])


def test_sb3_logs_episode_rewards_and_evaluate_policy_does_not_warn(tmp_path):
    sb3 = pytest.importorskip("stable_baselines3")
    import csv

    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.logger import configure

    from seq2seq_gym.envs.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env(SUMM, num_envs=4, max_length=4)  # default invalid_copy: a stock PPO runs
    model = sb3.PPO("MlpPolicy", venv, n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu")
    model.set_logger(configure(str(tmp_path), ["csv"]))
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=64)
    assert len(model.ep_info_buffer) >= 8  # read from infos[i]["episode"], as from SB3's Monitor
    assert all(np.isfinite(e["r"]) and e["l"] == 4 for e in model.ep_info_buffer)
    with open(tmp_path / "progress.csv") as f:
        logged = [row["rollout/ep_rew_mean"] for row in csv.DictReader(f)]
    assert logged and all(np.isfinite(float(v)) for v in logged)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Evaluation environment is not wrapped with a Monitor wrapper"
        mean, std = evaluate_policy(model, venv, n_eval_episodes=4)
    assert np.isfinite(mean) and np.isfinite(std)


def test_sb3_vec_normalize_needs_norm_obs_keys_on_dict_observations():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import VecNormalize

    from seq2seq_gym.envs.sb3 import make_sb3_vec_env

    venv = make_sb3_vec_env(SUMM, num_envs=2, max_length=3, observation="dict")
    with pytest.raises((ValueError, AssertionError)):
        VecNormalize(venv)  # the integer prefix / source arrays cannot be normalised
    norm = VecNormalize(venv, norm_obs_keys=["state"])
    obs = norm.reset()
    assert set(obs) == set(venv.observation_space.spaces) and obs["prefix"].dtype == np.int64
    norm.step(np.array([5, 6]))



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
    env = gym.make(env_id, max_length=8)  # the defaults: stock agents that cannot mask run as they are
    model = cls("MlpPolicy", env, **kwargs)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=200)
    # episodes completed and were logged (Monitor) with finite returns, each at most max_length steps
    episodes = list(model.ep_info_buffer)
    assert len(episodes) >= 200 // 8 and all(np.isfinite(e["r"]) and 1 <= e["l"] <= 8 for e in episodes)
    assert sum(e["l"] for e in episodes) <= model.num_timesteps
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))  # it trained



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
    assert term and env.last_episode["text"] == "" and r == 0.0


# ------------------------------------------------------------------ info: numeric, the same keys every step
@pytest.mark.parametrize("env_id", IDS)
def test_info_is_numeric_with_the_same_keys_on_every_step(env_id):
    env = gym.make(env_id, max_length=5)
    _, info = env.reset(seed=0)
    keys = set(info)
    for _ in range(12):  # several episodes, each ending by truncation or </s>
        a = EOS_ID if env.unwrapped.engine.lengths[0] == 2 and env.unwrapped.engine.steps[0] % 2 else 5
        _, _, term, trunc, info = env.step(a)
        assert set(info) == keys == {"example_index", "length"}
        assert all(isinstance(v, int) for v in info.values())
        if term or trunc:
            _, info = env.reset()
            assert set(info) == keys


def test_episode_info_true_adds_the_record_to_the_last_step():
    env = gym.make(SUMM, episode_info=True, max_length=3)
    env.reset(seed=0)
    _, _, _, _, info = env.step(5)
    assert set(info) == {"example_index", "length"}
    env.step(6)
    _, r, _, trunc, info = env.step(7)
    assert trunc and info == env.unwrapped.last_episode
    assert info["truncated"] and info["episode_return"] == pytest.approx(r) and len(info["tokens"]) == 3


def test_gymnasium_array_converting_vector_wrappers_accept_the_infos():
    pytest.importorskip("array_api_compat")  # what Gymnasium's array conversion wrappers need
    from gymnasium.wrappers.vector import DictInfoToList, NumpyToTorch, RecordEpisodeStatistics

    venv = NumpyToTorch(TextGenVectorEnv(num_envs=2, task="summarization", max_length=3))
    obs, info = venv.reset(seed=0)
    assert isinstance(obs, torch.Tensor) and isinstance(info["length"], torch.Tensor)
    for _ in range(4):
        obs, r, term, trunc, info = venv.step(torch.tensor([5, 6]))
        assert isinstance(r, torch.Tensor) and set(k.lstrip("_") for k in info) == {"example_index", "length"}
    stats = DictInfoToList(RecordEpisodeStatistics(TextGenVectorEnv(num_envs=2, task="summarization", max_length=3)))
    stats.reset(seed=0)
    for _ in range(3):
        _, _, _, _, infos = stats.step(np.array([5, 6]))
    assert isinstance(infos, list) and infos[0]["length"] == 3 and infos[1]["episode"]["l"] == 3


# ------------------------------------------------------------------ autoreset modes and Gymnasium's vector wrappers
WRAPPERS = {
    "NormalizeObservation": lambda v: gym.wrappers.vector.NormalizeObservation(v),
    "FlattenObservation": lambda v: gym.wrappers.vector.FlattenObservation(v),
    "TransformObservation": lambda v: gym.wrappers.vector.TransformObservation(v, lambda o: o * 2.0),
    "RecordEpisodeStatistics": lambda v: gym.wrappers.vector.RecordEpisodeStatistics(v),
}


def test_default_autoreset_mode_is_accepted_by_gymnasium_vector_wrappers():
    accepted = {}
    for mode in gym.vector.AutoresetMode:
        venv = TextGenVectorEnv(num_envs=2, task="summarization", max_length=3, autoreset_mode=mode)
        for name, wrap in WRAPPERS.items():
            try:
                env = wrap(venv)
            except (AssertionError, ValueError, TypeError):
                accepted[name, mode] = False
                continue
            accepted[name, mode] = True
            env.reset(seed=0)
            for _ in range(4):
                env.step(np.array([5, 6]))
    default = TextGenVectorEnv.metadata["autoreset_mode"]
    assert all(accepted[name, default] for name in WRAPPERS), accepted
    # the facts the default rests on: SAME_STEP is refused by the observation wrappers
    assert not any(accepted[name, gym.vector.AutoresetMode.SAME_STEP] for name in list(WRAPPERS)[:3])
    default_venv = gym.make_vec(SUMM, num_envs=2)
    assert default_venv.metadata["autoreset_mode"] == default == gym.vector.AutoresetMode.NEXT_STEP


def test_disabled_autoreset_keeps_ended_rows_until_reset_mask():
    venv = TextGenVectorEnv(num_envs=3, task="summarization", max_length=4, autoreset_mode="Disabled")
    obs, _ = venv.reset(seed=0)
    _, r, term, trunc, _ = venv.step(np.array([EOS_ID, 5, 6]))
    assert term.tolist() == [True, False, False]
    ended_obs = venv._observe()[0].copy()
    done = term | trunc
    steps = 1
    while not done.all():  # a hand-written batched rollout: step until every row is done
        obs, r, term, trunc, info = venv.step(np.array([99_999, 7, 8]))  # row 0's action is ignored
        steps += 1
        assert not term[0] and not trunc[0] and r[0] == 0.0 and info["length"][0] == 0
        np.testing.assert_array_equal(obs[0], ended_obs)
        done |= term | trunc
    assert steps == 4 and venv.engine.lengths.tolist() == [0, 4, 4]
    obs, info = venv.reset(options={"reset_mask": np.array([True, False, True])})
    assert venv.engine.lengths.tolist() == [0, 4, 0] and not venv.engine.done[0] and venv.engine.done[1]
    with pytest.raises(ValueError, match="autoreset_mode"):
        TextGenVectorEnv(num_envs=2, task="summarization", autoreset_mode="Sometimes")


def test_vector_call_get_attr_set_attr():
    venv = TextGenVectorEnv(num_envs=3, task="summarization", mask_top_k=5)
    venv.reset(seed=0)
    assert venv.get_attr("mask_top_k") == (5, 5, 5)
    masks = venv.call("action_masks")
    assert len(masks) == 3 and all((m == venv.action_masks()[i]).all() for i, m in enumerate(masks))
    assert venv.call("max_length") == (venv.max_length,) * 3
    venv.set_attr("mask_top_k", 2)
    assert venv.mask_top_k == 2 and venv.action_masks().sum(axis=1).max() <= 3
    venv.set_attr("mask_top_k", [4, 4, 4])
    assert venv.get_attr("mask_top_k") == (4, 4, 4)
    with pytest.raises(ValueError, match="share"):
        venv.set_attr("mask_top_k", [1, 2, 3])
    with pytest.raises(ValueError, match="3 sub-environments"):
        venv.set_attr("mask_top_k", [1, 1])
    with pytest.raises(ValueError, match="mask_top_k"):
        venv.set_attr("mask_top_k", 0)
    with pytest.raises(AttributeError, match="no_such"):
        venv.set_attr("no_such", 1)
    assert venv.mask_top_k == 4
    single = gym.vector.SyncVectorEnv([lambda: TextGenEnv(task="summarization", mask_top_k=5)] * 3)
    assert single.get_attr("mask_top_k") == TextGenVectorEnv(num_envs=3, task="summarization",
                                                             mask_top_k=5).get_attr("mask_top_k")


# ------------------------------------------------------------------ outside truncation (TimeLimit)
def test_time_limit_from_make_is_scored():
    ref = gym.make(SUMM, max_length=4)
    for make_limited in (lambda: gym.make(SUMM, max_episode_steps=4),
                         lambda: gym.wrappers.TimeLimit(TextGenEnv(task="summarization", reward="rougeL"), 4)):
        env = make_limited()
        env.reset(seed=2)
        ref.reset(seed=2)
        for t in range(4):
            _, r, term, trunc, _ = env.step(4 + t)
            _, r_ref, term_ref, trunc_ref, _ = ref.step(4 + t)
        assert trunc and trunc_ref and not term
        assert r == pytest.approx(r_ref) and r > 0  # scored, not cut with reward 0
        assert env.unwrapped.last_episode["truncated"]
        assert env.unwrapped.last_episode["scores"] == pytest.approx(ref.unwrapped.last_episode["scores"])
    # a longer outside limit changes nothing: max_length truncates first
    env = gym.make(SUMM, max_length=3, max_episode_steps=50)
    env.reset(seed=2)
    for _ in range(3):
        _, r, _, trunc, _ = env.step(5)
    assert trunc
    venv = gym.make_vec(SUMM, num_envs=2, max_episode_steps=3)
    venv.reset(seed=0)
    for _ in range(3):
        _, r, _, trunc, _ = venv.step(np.array([5, 6]))
    assert trunc.all()


# ------------------------------------------------------------------ masks: top-p
def _nucleus(log_probs, top_p, invalid):
    """The smallest most-likely prefix of the valid tokens with mass >= top_p (reference for action_masks)."""
    p = np.exp(log_probs.astype(np.float64))
    p[invalid] = 0.0
    order = np.argsort(-p, kind="stable")
    keep, mass = set(), 0.0
    for i in order:
        if p[i] == 0.0 or mass >= top_p:
            break
        keep.add(int(i))
        mass += p[i]
    return keep


def test_action_masks_top_p():
    env = gym.make(SUMM)
    eng = env.unwrapped.engine
    env.reset(seed=4)
    checked = 0
    for _ in range(4):
        lp = eng.log_probs[0].cpu().numpy()
        invalid = np.zeros(len(lp), dtype=bool)
        invalid[[0, 2]] = True  # <pad>, <s>
        invalid[eng.vocab_size + int(eng.n_oovs[0]):] = True
        for top_p in (0.05, 0.3, 0.6, 0.9, 0.99):
            env.unwrapped.mask_top_p = top_p
            mask = env.unwrapped.action_masks()
            expected = _nucleus(lp, top_p, invalid) | {EOS_ID}
            assert set(np.flatnonzero(mask).tolist()) == expected
            p = np.exp(lp[mask & ~invalid])
            assert p.sum() >= top_p - 1e-6  # the token that crosses top_p is kept
            checked += len(expected) > 2
        env.unwrapped.mask_top_p = None
        env.step(int(np.argmax(np.where(env.unwrapped.action_masks(), lp, -np.inf))))
    assert checked >= 4
    env.unwrapped.mask_top_k = None  # neither: every valid action
    assert (env.unwrapped.action_masks() == np.isfinite(eng.log_probs[0].numpy()) & ~invalid).all()


# ------------------------------------------------------------------ dict observation values
def test_dict_observation_values():
    env = gym.make(SUMM, observation="dict")
    eng, task = env.unwrapped.engine, env.unwrapped.task
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        if eng.n_oovs[0] > 0:
            break
    ex = env.unwrapped.examples[info["example_index"]]
    S = task.max_source_len
    ids, oovs = task.vocab.encode_source(list(ex.source)[:S], max_oovs=task.max_oovs)
    np.testing.assert_array_equal(obs["source"][: len(ids)], ids)
    assert (obs["source"][len(ids):] == 0).all()
    assert obs["source_mask"].tolist() == [1] * len(ids) + [0] * (S - len(ids))
    assert obs["source"].max() >= len(task.vocab)  # the OOV word's extended id
    assert (obs["prefix"] == 0).all() and (obs["prefix_mask"] == 0).all()
    np.testing.assert_array_equal(obs["state"], eng.features[0].numpy())
    actions = [7, len(task.vocab), 9]  # a word, copy slot 0, a word
    for a in actions:
        obs, *_ = env.step(a)
    assert obs["prefix"][:3].tolist() == actions and (obs["prefix"][3:] == 0).all()
    assert obs["prefix_mask"].tolist() == [1, 1, 1] + [0] * (env.unwrapped.max_length - 3)
    np.testing.assert_array_equal(obs["source"][: len(ids)], ids)  # the source does not change
    obs, *_ = env.step(EOS_ID)
    assert obs["prefix_mask"].sum() == 3  # </s> is not part of the prefix

    cap = gym.make("Seq2Seq/Captioning-v0", observation="dict")
    obs, info = cap.reset(seed=1)
    img = np.asarray(cap.unwrapped.examples[info["example_index"]].source)
    np.testing.assert_allclose(obs["image"], img.astype(np.float32) / 255.0)
    assert obs["prefix"].shape == (cap.unwrapped.max_length,)


# ------------------------------------------------------------------ reset options
def test_reset_options_example_and_index():
    env = gym.make(SUMM)
    exs = env.unwrapped.examples
    _, info = env.reset(options={"index": 7})
    assert info["example_index"] == 7 and env.unwrapped.engine.examples[0] is exs[7]
    env.step(EOS_ID)
    assert env.unwrapped.last_episode["example_id"] == exs[7].id
    obs_index, _ = env.reset(options={"index": 7})
    obs_example, info = env.reset(options={"example": exs[7]})
    assert info["example_index"] == 7
    np.testing.assert_array_equal(obs_index, obs_example)
    other = env.unwrapped.task.split("test")[0]
    _, info = env.reset(options={"example": other})  # not in the env's split
    assert info["example_index"] == -1
    env.step(EOS_ID)
    assert env.unwrapped.last_episode["example_id"] == other.id
    # options do not consume the random generator: the next draws equal a fresh env's
    fresh = gym.make(SUMM)
    env.reset(seed=3, options={"index": 1})
    fresh.reset(seed=3, options={"index": 1})
    assert [env.reset()[1]["example_index"] for _ in range(3)] == [fresh.reset()[1]["example_index"] for _ in range(3)]


def test_vector_reset_options_reset_mask_and_examples():
    venv = TextGenVectorEnv(num_envs=3, task="summarization")
    exs = venv.examples
    _, info = venv.reset(seed=0, options={"examples": [exs[4], exs[5], exs[6]]})
    assert info["example_index"].tolist() == [4, 5, 6]
    venv.step(np.array([7, 8, 9]))
    _, info = venv.reset(options={"reset_mask": np.array([False, True, False]), "examples": [exs[9]]})
    assert info["example_index"].tolist() == [4, 9, 6]
    assert venv.engine.lengths.tolist() == [1, 0, 1]  # only the masked row restarted
    _, info = venv.reset(options={"reset_mask": np.array([True, False, False])})
    assert venv.engine.lengths.tolist() == [0, 0, 1] and info["example_index"][1:].tolist() == [9, 6]
    first = int(info["example_index"][0])
    # seeds apply to the reset rows only, each with seed + i (as SyncVectorEnv)
    single = TextGenEnv(task="summarization")
    _, info = venv.reset(seed=20, options={"reset_mask": np.array([False, False, True])})
    assert info["example_index"].tolist() == [first, 9, single.reset(seed=22)[1]["example_index"]]


def test_split_and_device_arguments():
    env = gym.make(SUMM, split="validation", device=torch.device("cpu"))
    valid = {ex.id for ex in env.unwrapped.task.split("validation")}
    assert env.unwrapped.examples is env.unwrapped.task.split("validation")
    for seed in range(3):
        env.reset(seed=seed)
        env.step(EOS_ID)
        assert env.unwrapped.last_episode["example_id"] in valid
    assert next(env.unwrapped.generator.parameters()).device == torch.device("cpu")
    env = gym.make(SUMM, device="cpu:0")
    assert env.unwrapped.engine.device.type == "cpu"


# ------------------------------------------------------------------ bad input: arguments and reset
def _float_captioning(nan_at: int | None = None):
    """A captioning Task whose images are float32 (one of them NaN), with the shipped vocabulary."""
    import dataclasses

    task = make_task("captioning")
    train = []
    for i, ex in enumerate(task.split("train")[:40]):
        img = np.asarray(ex.source, dtype=np.float32)
        if i == nan_at:
            img = np.full_like(img, np.nan)
        train.append(dataclasses.replace(ex, source=img))
    splits = {"train": train, "validation": task.split("validation")[:5], "test": task.split("test")[:5]}
    return dataclasses.replace(task, splits=splits)


BAD_ARGUMENTS = [
    ({"mask_top_k": 0}, ValueError, "mask_top_k"),
    ({"mask_top_k": -3}, ValueError, "mask_top_k"),
    ({"mask_top_k": 2.5}, TypeError, "mask_top_k"),
    ({"mask_top_k": "5"}, TypeError, "mask_top_k"),
    ({"mask_top_p": 0.0}, ValueError, "mask_top_p"),
    ({"mask_top_p": 1.5}, ValueError, "mask_top_p"),
    ({"mask_top_p": float("nan")}, ValueError, "mask_top_p"),
    ({"mask_top_p": "0.9"}, TypeError, "mask_top_p"),
    ({"max_length": 2.5}, TypeError, "max_length"),
    ({"max_length": "8"}, TypeError, "max_length"),
    ({"max_length": True}, TypeError, "max_length"),
    ({"max_length": 0}, ValueError, "max_length"),
    ({"max_length": 10**12}, ValueError, "max_length"),
    ({"max_episode_steps": 0}, ValueError, "max_episode_steps"),
    ({"device": "bogus"}, ValueError, r"device=.bogus. is not a torch device"),
    ({"device": "cuda:99"}, ValueError, "device"),
    ({"device": 3}, TypeError, "device"),
    ({"split": "nope"}, ValueError, "split"),
    ({"split": 0}, TypeError, "split"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"episode_info": "yes"}, TypeError, "episode_info"),
    ({"invalid_copy": "ignore"}, ValueError, "invalid_copy"),
    ({"render_mode": "human"}, ValueError, "render_mode"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD_ARGUMENTS, ids=lambda x: str(x)[:30])
def test_bad_constructor_arguments_name_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TextGenEnv(task="summarization", **kwargs)
    with pytest.raises(exc, match=match):
        TextGenVectorEnv(num_envs=2, task="summarization", **kwargs)


def test_bad_num_envs():
    for n, exc in ((0, ValueError), (2.5, TypeError), ("2", TypeError)):
        with pytest.raises(exc, match="num_envs"):
            TextGenVectorEnv(num_envs=n, task="summarization")


def test_nan_image_in_data_or_options_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        TextGenEnv(data=_float_captioning(nan_at=3), model=str(seq2seq_gym.envs.text_gen.pretrained_path("captioning")))
    task = _float_captioning()
    env = TextGenEnv(data=task, model=str(seq2seq_gym.envs.text_gen.pretrained_path("captioning")),
                     observation="dict")
    space = env.observation_space["image"]
    assert space.low.min() >= 0 and space.high.max() <= 255  # float sources: the split's range, not /255
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs) and np.isfinite(obs["image"]).all()
    bad = task.split("train")[0]
    import dataclasses

    nan_ex = dataclasses.replace(bad, source=np.full_like(np.asarray(bad.source), np.nan))
    with pytest.raises(ValueError, match=r"options\['example'\].*NaN"):
        env.reset(options={"example": nan_ex})
    cap = gym.make("Seq2Seq/Captioning-v0")
    with pytest.raises(ValueError, match=r"options\['example'\].*NaN"):
        cap.reset(options={"example": nan_ex})
    vcap = TextGenVectorEnv(num_envs=2, task="captioning")
    vcap.reset(seed=0)
    with pytest.raises(ValueError, match=r"options\['examples'\]\[1\].*NaN"):
        vcap.reset(options={"examples": [cap.unwrapped.examples[0], nan_ex]})


def _bad_single_resets(env):
    ex = env.unwrapped.examples[0]
    image_ex = make_task("captioning").split("train")[0]
    n = len(env.unwrapped.examples)
    return [
        ({"options": {"exampel": ex}}, ValueError, "exampel"),
        ({"options": {"index": 2.9}}, TypeError, r"options\['index'\]"),
        ({"options": {"index": True}}, TypeError, r"options\['index'\]"),
        ({"options": {"index": -1}}, ValueError, r"options\['index'\]"),
        ({"options": {"index": n}}, ValueError, r"options\['index'\]"),
        ({"options": {"example": "the cat"}}, TypeError, r"options\['example'\]"),
        ({"options": {"example": image_ex}}, ValueError, r"options\['example'\]"),
        ({"options": {"example": ex, "index": 0}}, ValueError, "not both"),
        ({"options": "index"}, TypeError, "options"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"seed": -2}, ValueError, "seed"),
    ]


def test_rejected_reset_changes_nothing():
    env, ref = gym.make(SUMM), gym.make(SUMM)
    env.reset(seed=1)
    ref.reset(seed=1)
    env.step(5)
    ref.step(5)
    before = (env.unwrapped.engine.features.clone(), env.unwrapped.engine.lengths.copy())
    for kwargs, exc, match in _bad_single_resets(env):
        kwargs = {"seed": 99, **kwargs}
        with pytest.raises(exc, match=match):
            env.reset(**kwargs)
    torch.testing.assert_close(env.unwrapped.engine.features, before[0], rtol=0, atol=0)
    assert (env.unwrapped.engine.lengths == before[1]).all()
    o1, *_ = env.step(6)  # the episode in progress goes on
    o2, *_ = ref.step(6)
    np.testing.assert_array_equal(o1, o2)
    # and the random generator was not reseeded: later episodes equal those of the env without the bad calls
    assert [env.reset()[1]["example_index"] for _ in range(4)] == [ref.reset()[1]["example_index"] for _ in range(4)]
    # the constructor seed is not consumed by a rejected first reset either
    a, b = gym.make(SUMM, seed=5), gym.make(SUMM, seed=5)
    with pytest.raises(TypeError):
        a.reset(options={"index": 0.5})
    assert a.reset()[1] == b.reset()[1]


def test_rejected_vector_reset_changes_nothing():
    N = 2
    venv = TextGenVectorEnv(num_envs=N, task="summarization")
    ref = TextGenVectorEnv(num_envs=N, task="summarization")
    venv.reset(seed=1)
    ref.reset(seed=1)
    venv.step(np.array([5, 6]))
    ref.step(np.array([5, 6]))
    ex = venv.examples[0]
    bad = [
        ({"options": {"mask": [True, True]}}, ValueError, "mask"),
        ({"options": {"reset_mask": [1, 0]}}, ValueError, "reset_mask"),
        ({"options": {"reset_mask": np.ones(3, dtype=bool)}}, ValueError, "reset_mask"),
        ({"options": {"examples": [ex]}}, ValueError, "examples"),
        ({"options": {"examples": ex}}, TypeError, "examples"),
        ({"options": {"examples": [ex, "x"]}}, TypeError, r"examples'\]\[1\]"),
        ({"options": {"reset_mask": np.array([True, False]), "examples": [ex, ex]}}, ValueError, "examples"),
        ({"options": {"example": ex}}, ValueError, "example"),
        ({"seed": [1]}, ValueError, "seed"),
        ({"seed": "1"}, TypeError, "seed"),
        ({"seed": [1, -2]}, ValueError, r"seed\[1\]"),
        ({"seed": 2.5}, TypeError, "seed"),
    ]
    for kwargs, exc, match in bad:
        kwargs = {"seed": 99, **kwargs}
        with pytest.raises(exc, match=match):
            venv.reset(**kwargs)
    o1, *_ = venv.step(np.array([7, 8]))
    o2, *_ = ref.step(np.array([7, 8]))
    np.testing.assert_array_equal(o1, o2)
    for _ in range(3):
        assert (venv.reset()[1]["example_index"] == ref.reset()[1]["example_index"]).all()
    fresh = TextGenVectorEnv(num_envs=N, task="summarization")
    with pytest.raises(ValueError, match="first reset"):
        fresh.reset(options={"reset_mask": np.array([True, False])})
