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
