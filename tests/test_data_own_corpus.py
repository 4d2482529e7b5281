"""Your own corpus, end to end: a JSONL file, a generator trained on it, environments and the CLI on it."""

from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest
import torch

from seq2seq_gym.envs.text_gen import TextGenEnv

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
         "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"]


def write_corpus(path, n=60, seed=0):
    """A small JSONL corpus: ``id`` / ``source`` / ``target`` / ``references`` like AESLC."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            src = " ".join(rng.choice(WORDS, size=int(rng.integers(5, 12))))
            tgt = " ".join(src.split()[:3])
            f.write(json.dumps({"id": f"doc{i}", "source": src, "target": tgt, "references": [tgt]}) + "\n")
    return path


def test_env_without_a_generator_leaves_the_global_rngs_alone(tmp_path):
    path = write_corpus(tmp_path / "corpus.jsonl")
    torch_state, np_state, py_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    with pytest.warns(UserWarning, match="fresh, untrained"):
        env = TextGenEnv(data=str(path))
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == py_state
    np_after = np.random.get_state()
    assert np_after[0] == np_state[0] and np.array_equal(np_after[1], np_state[1]) and np_after[2:] == np_state[2:]
    # the fresh generator is still the same on every build (its own seed, not the global one)
    torch.manual_seed(123)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        other = TextGenEnv(data=str(path))
    a, b = env.generator.state_dict(), other.generator.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def corpus_and_generator(tmp_path):
    """A JSONL corpus and a (tiny, untrained) generator saved with a smaller vocabulary than a default load."""
    from seq2seq_gym.data import load_path
    from seq2seq_gym.models import Seq2SeqModel

    path = write_corpus(tmp_path / "corpus.jsonl")
    trained_on = load_path(path, vocab_size=12)  # 12 words + 4 specials: another vocabulary than the default
    torch.manual_seed(0)
    model = Seq2SeqModel.from_task(trained_on, preset="tiny")
    model.save(tmp_path / "gen")
    return path, tmp_path / "gen", model


def test_env_on_a_path_takes_the_generators_vocabulary(corpus_and_generator):
    import gymnasium as gym

    import seq2seq_gym  # noqa: F401  (registers the environments)
    from seq2seq_gym.data import UNK_ID, load_path

    path, ckpt, model = corpus_and_generator
    assert len(load_path(path).vocab) != len(model.vocab)  # a default load would not fit the generator
    env = gym.make("Seq2Seq/Summarization-v0", data=str(path), model=str(ckpt), max_length=4)
    task = env.unwrapped.task
    assert task.vocab == model.vocab and task.info["vocab"] == "given"
    _, info = env.reset(seed=0)
    env.step(int(env.unwrapped.action_masks().nonzero()[0][0]))
    # words outside the generator's vocabulary are <unk> for the encoder and copy slots for the pointer
    batch = task.collate(task.split("train")[:16])
    assert (batch.src == UNK_ID).any() and (batch.src_ext >= len(model.vocab)).any()
    # a model object is handled the same way
    env2 = TextGenEnv(data=str(path), model=model)
    assert env2.task.vocab == model.vocab and env2.generator is model


def test_a_task_with_another_vocabulary_gets_a_clear_error(corpus_and_generator):
    from seq2seq_gym.data import load_path, make_task

    path, ckpt, model = corpus_and_generator
    with pytest.raises(ValueError, match=r"the generator's vocabulary differs from task 'jsonl''s "
                                         r"\(16 vs \d+ ids, generator first\).*vocab=generator\.vocab"):
        TextGenEnv(data=load_path(path), model=str(ckpt))
    with pytest.raises(ValueError, match=r"differs from task 'translation''s"):
        TextGenEnv(data=make_task("translation", num_train=8, num_validation=2, num_test=2), model=model)
    # the same words in another order are caught too
    task = load_path(path, vocab_size=12)
    assert task.vocab == model.vocab
    from seq2seq_gym.data import Vocab

    w = model.vocab.words[4:]
    shuffled = Vocab([w[1], w[0], *w[2:]])
    assert model.vocab.difference(shuffled) == f"both 16 ids, but id 4 is {w[0]!r} vs {w[1]!r}"
    with pytest.raises(ValueError, match="but id 4 is"):
        TextGenEnv(data=load_path(path, vocab=shuffled), model=model)


def test_cli_evaluate_on_a_path_uses_the_checkpoints_vocabulary(corpus_and_generator, capsys):
    from seq2seq_gym import cli

    path, ckpt, _ = corpus_and_generator
    for task_args in (["--task", str(path)], ["--task", "jsonl", "--task-set", f"data={path}"]):
        assert cli.main(["evaluate", "--model", str(ckpt), *task_args, "--split", "train", "--limit", "6",
                         "--no-progress"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["examples"] == 6 and 0.0 <= result["score"] <= 1.0
    with pytest.raises(SystemExit, match=r"error: .*vocabulary differs from task 'translation''s"):
        cli.main(["evaluate", "--model", str(ckpt), "--task", "translation", "--task-set", "num_train=8",
                  "--no-progress"])
    with pytest.raises(SystemExit, match=r"error: --task='no/such/file.jsonl' is neither a registered task"):
        cli.main(["evaluate", "--model", str(ckpt), "--task", "no/such/file.jsonl", "--no-progress"])


@pytest.mark.needs_shared_data
@pytest.mark.slow
def test_pretrain_evaluate_and_make_on_a_jsonl_corpus_with_no_extra_arguments(shared_data, tmp_path):
    """The user's path from a corpus to an environment: pretrain, evaluate, gym.make, as separate commands."""
    import os
    import subprocess
    import sys

    import gymnasium as gym

    import seq2seq_gym  # noqa: F401  (registers the environments)
    from seq2seq_gym.data import load_path

    corpus = tmp_path / "aeslc300.jsonl"
    with open(shared_data / "aeslc" / "train.jsonl", encoding="utf-8") as f:
        corpus.write_text("".join(line for _, line in zip(range(300), f)), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # PYTHONPATH is inherited: this worktree's package

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "seq2seq_gym.cli", *args], capture_output=True, text=True,
                              env=env, timeout=300)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        return proc.stdout

    gen = tmp_path / "gen"
    # vocab_size=1000: the generator's vocabulary is not the one a default load of the path builds
    run("pretrain", "--task", str(corpus), "--task-set", "vocab_size=1000",
        "--preset", "tiny", "--steps", "20", "--batch-size", "8", "--eval-limit", "8", "--out", str(gen),
        "--no-progress")
    default = load_path(corpus)
    assert len(default.vocab) != 1004
    result = json.loads(run("evaluate", "--model", str(gen), "--task", str(corpus), "--no-progress"))
    assert result["split"] == "validation" and result["examples"] == len(default.split("validation"))
    assert 0.0 <= result["score"] <= 1.0 and result["metric"].lower().startswith("rouge")
    # the reported score is rouge-score's (stemmed, as summarization papers report it) on the written outputs
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    with open(result["outputs"], encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    want = [scorer.score_multi(r["references"], r["output"])["rougeL"].fmeasure for r in records]
    assert len(records) == result["examples"]
    assert abs(float(np.mean(want)) - result["score"]) <= 1e-6

    env_ = gym.make("Seq2Seq/Summarization-v0", data=str(corpus), model=str(gen))
    assert len(env_.unwrapped.task.vocab) == 1004 and env_.unwrapped.task.vocab == env_.unwrapped.generator.vocab
    assert {ex.id for ex in env_.unwrapped.task.split("train")} == {ex.id for ex in default.split("train")}
    env_.reset(seed=0)
    done, steps = False, 0
    while not done:
        _, reward, terminated, truncated, _ = env_.step(int(np.flatnonzero(env_.unwrapped.action_masks())[0]))
        done, steps = terminated or truncated, steps + 1
        assert np.isfinite(reward)
    assert steps <= env_.unwrapped.max_length
