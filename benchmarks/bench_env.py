"""Speed of the native vector environment against the bare decode loop and SyncVectorEnv.

For N sequences of the built-in summarization task, three ways of generating
T tokens each with the same generator and the same greedy policy (the
generator's most likely token other than ``</s>``, so every sequence runs the
full T steps):

* ``bare``: ``model.encode`` + T ``model.step`` calls, reading the features
  out as numpy (what any environment has to do at least);
* ``native``: :class:`~seq2seq_gym.envs.TextGenVectorEnv` with N envs, T
  ``step`` calls (validation, bookkeeping, terminal ROUGE-L of the N
  sequences, autoreset with encoding of N new sources at the last step);
* ``sync``: ``gymnasium.vector.SyncVectorEnv`` of N :class:`TextGenEnv`
  (one decoder step per sequence).

Prints JSON: tokens/s of each (median of ``--repeats``), ``overhead`` =
native time / bare time (target <= 1.15) and ``native_over_sync``.

    python benchmarks/bench_env.py --num-envs 64 256 --steps 32 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import gymnasium as gym
import numpy as np
import torch

from seq2seq_gym.data import EOS_ID, make_task
from seq2seq_gym.envs import TextGenEnv, TextGenVectorEnv
from seq2seq_gym.envs.text_gen import load_pretrained
from seq2seq_gym.models import Seq2SeqModel


def greedy_no_eos(log_probs: torch.Tensor) -> torch.Tensor:
    lp = log_probs.clone()
    lp[:, EOS_ID] = float("-inf")
    return lp.argmax(dim=1)


@torch.no_grad()
def run_bare(model, task, examples, steps: int) -> float:
    t0 = time.perf_counter()
    batch = task.collate(examples)
    memory = model.encode(batch)
    state = model.init_state(memory)
    lp, feats, state = model.step(model.bos_tokens(len(examples)), state, memory)
    feats.numpy()
    for _ in range(steps):
        a = greedy_no_eos(lp)
        lp, feats, state = model.step(a, state, memory)
        feats.numpy()
    return time.perf_counter() - t0


def run_native(venv: TextGenVectorEnv, examples, steps: int) -> float:
    venv.reset(seed=0, options={"examples": examples})
    t0 = time.perf_counter()
    for _ in range(steps):
        a = greedy_no_eos(venv.engine.log_probs).numpy()
        venv.step(a)
    return time.perf_counter() - t0


def run_sync(sync, examples, steps: int) -> float:
    sync.reset(seed=0)  # gymnasium bookkeeping; the examples are set again below
    for env, ex in zip(sync.envs, examples):
        env.unwrapped.reset(options={"example": ex})
    t0 = time.perf_counter()
    for _ in range(steps):
        a = np.array([int(greedy_no_eos(env.unwrapped.engine.log_probs)[0]) for env in sync.envs])
        sync.step(a)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-sync", action="store_true", help="skip the SyncVectorEnv comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")

    task = make_task("summarization")
    model = load_pretrained(task)
    shipped = model is not None
    if model is None:
        torch.manual_seed(0)
        model = Seq2SeqModel.from_task(task)
    model.eval()
    rng = np.random.default_rng(0)
    results = []
    for n in args.num_envs:
        examples = [task.split("train")[i] for i in rng.choice(len(task.split("train")), n, replace=False)]
        kw = {"task": task, "model": model, "reward": "rougeL", "max_length": args.steps}
        venv = TextGenVectorEnv(num_envs=n, autoreset_mode="SameStep", **kw)  # the last step encodes N new sources
        bare, native, sync_t = [], [], []
        run_bare(model, task, examples, 2)  # warm-up (allocator, numba)
        run_native(venv, examples, args.steps)
        sync = None
        if not args.no_sync:
            sync = gym.vector.SyncVectorEnv(
                [lambda kw=kw: TextGenEnv(**kw) for _ in range(n)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
            )
        for _ in range(args.repeats):
            bare.append(run_bare(model, task, examples, args.steps))
            native.append(run_native(venv, examples, args.steps))
            if sync is not None:
                sync_t.append(run_sync(sync, examples, args.steps))
        tokens = n * args.steps
        row = {
            "num_envs": n,
            "bare_tokens_per_s": tokens / statistics.median(bare),
            "native_tokens_per_s": tokens / statistics.median(native),
            "overhead": statistics.median(native) / statistics.median(bare),
            "overhead_per_repeat": [nt / bt for nt, bt in zip(native, bare)],
        }
        if sync_t:
            row["sync_tokens_per_s"] = tokens / statistics.median(sync_t)
            row["native_over_sync"] = statistics.median(sync_t) / statistics.median(native)
        results.append(row)
    print(json.dumps({
        "benchmark": "bench_env",
        "task": "summarization",
        "generator": "shipped" if shipped else "untrained (same size)",
        "steps": args.steps,
        "repeats": args.repeats,
        "threads": args.threads,
        "torch": torch.__version__,
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
