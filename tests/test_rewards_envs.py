"""One reward definition across environments, generate() outputs, lookahead and evaluate.

For the same tokens: the environment's episode score == the reward of the generate()
output (score_batch) == the engine's lookahead increments summed along the path == the
reference library on the episode record's text (env.last_episode["text"]); on real text
(AESLC, SciTLDR, Multi30k) for ROUGE, BLEU and CIDEr-D, in both reward modes. Also: lookahead masks what the environment
rejects, the captioning env's CIDEr-D (training df) by value against pycocoevalcap,
the README's shipped-generator scores, and ``seq2seq-gym evaluate`` against rouge-score
on the outputs it writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from _reward_helpers import ciderd_train_df, noisy_outputs, reference_library

from seq2seq_gym import cli
from seq2seq_gym.data import EOS_ID, UNK_ID, load_aeslc, load_multi30k, load_scitldr, make_task
from seq2seq_gym.envs import TextGenEnv, TextGenVectorEnv, build_reward, score_batch
from seq2seq_gym.envs.text_gen import load_pretrained
from seq2seq_gym.models import Seq2SeqModel
from seq2seq_gym.rewards import Reward
from seq2seq_gym.rewards.text import ptb_tokenize

pytest.importorskip("rouge_score.rouge_scorer")
pytest.importorskip("sacrebleu")
pytest.importorskip("pycocoevalcap.cider.cider_scorer")

README = Path(__file__).resolve().parents[1] / "README.md"


def _tiny_generator(task) -> Seq2SeqModel:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return Seq2SeqModel.from_task(task, preset="tiny")


@pytest.fixture(scope="module")
def corpora(shared_data):
    kw = {"limit": 300, "vocab_size": 3000}
    tasks = {
        "aeslc": load_aeslc(shared_data / "aeslc", **kw),
        "scitldr": load_scitldr(shared_data / "scitldr", **kw),
        "multi30k": load_multi30k(shared_data / "multi30k", direction="de-en", **kw),
    }
    return {k: (t, _tiny_generator(t)) for k, t in tasks.items()}


def _play(env, example, actions):
    """One episode with the given actions; returns (the episode record, rewards, lookahead at the taken
    action (dense form), the same from the candidate form)."""
    env.reset(options={"example": example})
    rewards, la_dense, la_cand = [], [], []
    for a in actions:
        la = env.engine.lookahead()[0]
        lc = env.engine.lookahead(np.array([[a, EOS_ID]]))[0]
        assert lc[1] == 0.0  # ending adds nothing
        la_dense.append(float(la[a]))
        la_cand.append(float(lc[0]))
        _, r, term, trunc, info = env.step(a)
        rewards.append(r)
        if term or trunc:
            return env.last_episode, rewards, la_dense, la_cand
    raise AssertionError("the episode did not end")


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("corpus", ["aeslc", "scitldr", "multi30k"])
@pytest.mark.parametrize("metric", ["rougeL", "bleu", "cider"])
def test_env_score_equals_generate_reward_lookahead_and_reference_library(corpora, corpus, metric):
    task, gen = corpora[corpus]
    reward = build_reward(task, metric)
    assert build_reward(task, metric) is reward  # one definition, built once per task
    batch, out = noisy_outputs(task, "validation", 5, seed=7)
    greedy = gen.generate(batch, "greedy", max_len=12).tokens  # a real generate() output too
    train_docs = [[" ".join(r) for r in ex.references] for ex in task.split("train")]
    for tokens in (out, greedy):
        gen_scores = score_batch(reward, batch, tokens)
        assert set(gen_scores) == {"reward", metric}
        for mode in ("dense", "terminal"):
            env = TextGenEnv(data=task, model=gen, split="validation", reward=metric, reward_mode=mode,
                             max_length=tokens.shape[1])
            for b, ex in enumerate(batch.examples):
                row = tokens[b].tolist()
                actions = row[: row.index(EOS_ID) + 1] if EOS_ID in row else row
                info, rewards, la_dense, la_cand = _play(env, ex, actions)
                score = info["scores"][metric]
                assert score == pytest.approx(float(gen_scores["reward"][b]), abs=1e-12)
                assert sum(la_dense) == pytest.approx(score, abs=1e-9)
                assert sum(la_cand) == pytest.approx(score, abs=1e-9)
                if mode == "dense":
                    assert np.allclose(rewards, la_dense, atol=1e-6)  # float32 step rewards
                else:
                    assert rewards[:-1] == [0.0] * (len(rewards) - 1)
                assert sum(rewards) == pytest.approx(score, abs=1e-5)
                want = reference_library(metric, [info["text"]], [info["references"]], train_docs)[0]
                assert score == pytest.approx(want, abs=1e-6)
    assert float(score_batch(reward, batch, out)["reward"].std()) > 0.01


@pytest.mark.needs_shared_data
def test_lookahead_masks_what_the_env_rejects(corpora):
    """Empty copy slots: -inf under invalid_copy="raise" (the env raises), the value of <unk>
    (what the env emits) under "unk"; references with words no action can produce do not
    leak into copy slots."""
    task, gen = corpora["aeslc"]
    batch = task.collate(task.split("validation")[:40])
    V, K = len(task.vocab), task.max_oovs
    # an example whose references hold words that are neither in the vocabulary nor in the source
    b = next(i for i, ex in enumerate(batch.examples) if len(batch.oovs[i]) < K and any(
        w not in task.vocab and w not in batch.oovs[i] for r in ex.references for w in r))
    ex = batch.examples[b]
    n = len(batch.oovs[b])
    for mode in ("raise", "unk"):
        env = TextGenEnv(data=task, model=gen, split="validation", reward="rougeL:0.5,bleu:0.5", invalid_copy=mode)
        env.reset(options={"example": ex})
        la = env.engine.lookahead()[0].numpy()
        assert la.shape == (V + K,)
        assert np.isfinite(la[: V + n]).all()
        if mode == "raise":
            assert np.isneginf(la[V + n:]).all()
            with pytest.raises(ValueError, match="copy slot"):
                env.step(V + n)
        else:
            assert (la[V + n:] == la[UNK_ID]).all()
            cand = env.engine.lookahead(np.array([[V + K - 1, UNK_ID]]))[0]
            assert cand[0] == cand[1]
            dense = TextGenEnv(data=task, model=gen, split="validation", reward="rougeL:0.5,bleu:0.5",
                               invalid_copy="unk", reward_mode="dense")
            dense.reset(options={"example": ex})
            dense.step(int(np.argmax(la[:V])))  # a word that scores, then the empty slot
            want = float(dense.engine.lookahead()[0, V + K - 1])
            _, r, *_ = dense.step(V + K - 1)
            assert r == pytest.approx(want, abs=1e-6)
        assert la.max() > 0  # some action does raise the score


@pytest.mark.needs_shared_data
def test_vector_env_terminal_mode_lookahead_stays_in_step_with_autoreset(corpora):
    """Terminal mode builds the prefix scorer on the first lookahead and keeps it through
    SAME_STEP autoresets: increments at the taken actions sum to each episode's score."""
    task, gen = corpora["multi30k"]
    env = TextGenVectorEnv(num_envs=3, autoreset_mode="same_step", data=task, model=gen, split="validation",
                           reward="bleu", max_length=8)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    sums = np.zeros(3)
    checked = 0
    for _ in range(40):
        mask = env.action_masks()
        a = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
        la = env.engine.lookahead().numpy()
        sums += la[np.arange(3), a]
        _, r, term, trunc, info = env.step(a)
        for i in np.flatnonzero(term | trunc):
            assert sums[i] == pytest.approx(env.last_episodes[i]["scores"]["bleu"], abs=1e-9)
            assert r[i] == pytest.approx(sums[i], abs=1e-6)
            sums[i] = 0.0
            checked += 1
    assert checked >= 5


def test_captioning_env_cider_with_training_df_equals_pycocoevalcap():
    """Seq2Seq/Captioning-v0's CIDEr-D uses document frequencies of the training references:
    by value against pycocoevalcap's CiderScorer given those frequencies (issue 9)."""
    task = make_task("captioning")
    env = TextGenEnv(task="captioning", split="validation")
    texts, refs, got = [], [], []
    for i in range(12):
        env.reset(options={"index": i})
        done = False
        while not done:
            lp = env.engine.log_probs[0].numpy()
            a = int(np.argmax(np.where(env.action_masks(), lp, -np.inf)))
            _, _, term, trunc, _ = env.step(a)
            done = term or trunc
        info = env.last_episode
        texts.append(info["text"])
        refs.append(info["references"])
        got.append(info["scores"]["cider"])
    tok = lambda s: " ".join(ptb_tokenize(s))  # noqa: E731
    train = [[tok(" ".join(r)) for r in ex.references] for ex in task.split("train")]
    want = ciderd_train_df(train, [tok(t) for t in texts], [[tok(r) for r in rr] for rr in refs])
    assert np.abs(np.asarray(got) - want).max() <= 1e-6
    assert np.std(want) > 0.05


def _readme_scores() -> dict[str, float]:
    """The shipped-generator column of the README's environment table."""
    out = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `Seq2Seq/(\w+)-v0` \|.*\| (ROUGE-L|CIDEr-D|BLEU) ([0-9.]+) \|$", line)
        if m:
            out[m.group(1).lower()] = float(m.group(3))
    return out


@pytest.mark.slow
def test_readme_shipped_generator_scores():
    """The README's greedy validation scores of the shipped generators, recomputed with the
    evaluate definition (issue 9)."""
    readme = _readme_scores()
    assert set(readme) == {"summarization", "captioning", "translation"}
    for name, want in readme.items():
        task = make_task(name)
        r = cli._evaluate(load_pretrained(task), task, "validation", None, None, 100, "greedy", 1, False)
        assert r["examples"] == len(task.split("validation"))
        assert r["score"] == pytest.approx(want, abs=0.002), (name, r["score"])


def test_evaluate_equals_reference_libraries_on_written_outputs(tmp_path, capsys):
    """Acceptance of issue 10: evaluate's ROUGE equals rouge-score on the outputs it writes
    (and BLEU sacrebleu, CIDEr-D pycocoevalcap); the output states the conventions."""
    import sacrebleu
    from pycocoevalcap.cider.cider import Cider
    from rouge_score import rouge_scorer

    for name, kind in (("summarization", "rougeL"), ("translation", "bleu"), ("captioning", "cider")):
        out = tmp_path / f"{name}.jsonl"
        model_dir = Path(cli.__file__).parent / "pretrained" / name
        assert cli.main(["evaluate", "--model", str(model_dir), "--task", name, "--limit", "48", "--no-progress",
                         "--output", str(out)]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["outputs"] == str(out) and result["examples"] == 48
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        hyps = [r["output"] for r in rows]
        refs = [r["references"] for r in rows]
        assert all("</s>" not in h for h in hyps)
        if kind == "rougeL":
            sc = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
            want = np.mean([sc.score_multi(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs)])
            assert "use_stemmer=True" in result["conventions"]["rougeL"]
        elif kind == "bleu":
            want = np.mean([sacrebleu.sentence_bleu(h, r).score / 100 for h, r in zip(hyps, refs)])
            streams = [list(x) for x in zip(*refs)]
            assert result["corpus"]["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, streams).score / 100,
                                                             abs=1e-6)
        else:
            tok = lambda s: " ".join(ptb_tokenize(s))  # noqa: E731
            task = make_task(name)
            train = [[" ".join(r) for r in ex.references] for ex in task.split("train")]
            want = np.mean(ciderd_train_df([[tok(x) for x in d] for d in train], [tok(h) for h in hyps],
                                           [[tok(x) for x in r] for r in refs]))
            corpus, _ = Cider().compute_score({i: [tok(x) for x in r] for i, r in enumerate(refs)},
                                              {i: [tok(h)] for i, h in enumerate(hyps)})
            assert result["corpus"]["cider"] == pytest.approx(corpus, abs=1e-6)
        assert result["score"] == pytest.approx(want, abs=1e-6)
        assert result["score"] > 0.2


def test_build_reward_rejects_a_reward_of_another_vocabulary():
    task = make_task("translation")
    other = Reward("bleu", ["<pad>", "<unk>", "<s>", "</s>", "x"], eos_id=EOS_ID)
    with pytest.raises(ValueError, match="vocabulary"):
        build_reward(task, other)
    with pytest.raises(ValueError, match="appears twice"):
        TextGenEnv(task="translation", reward="bleu,bleu")
    with pytest.raises(ValueError, match="every weight"):
        TextGenEnv(task="translation", reward="bleu:0,rougeL:0")
