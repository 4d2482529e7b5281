"""Speed of seq2seq_gym.models: training, decoding and re-scoring throughput, printed as JSON.

For the default summarization model (RLSeq2Seq sizes: embeddings 128, hidden
256, one bidirectional LSTM encoder layer, pointer-generator) at batch 32 and
128 it measures, as medians over repeats:

- ``train_tokens_per_s``: target tokens per second of one teacher-forced
  update (``mle_loss`` forward, backward, Adam step);
- ``greedy_tokens_per_s`` / ``beam4_tokens_per_s``: output tokens per second
  of ``generate`` (each example decodes ``max_len`` steps: the untrained model
  rarely stops, so every run does the same work); beam counts one token per
  example and step, not per beam;
- ``step_loop_tokens_per_s``: the environment's inner loop, ``model.step`` on
  given tokens without gradients;
- ``score_cost_vs_mle``: time of ``score`` (forward + backward, with the
  per-step entropy that policy-gradient agents use) over the time of one
  ``mle_loss`` forward + backward on the same batch; ``score_fast_cost_vs_mle``
  the same without entropy (only the actions' log-probabilities).

Data: the built-in ``make_task("summarization")`` when ``seq2seq_gym.data``
provides it, else synthetic batches (Zipf-distributed words, vocabulary 5,000,
sources of 80-300 tokens, targets of 10-40 tokens with source OOV words).

Usage::

    PYTHONPATH=$PWD python benchmarks/bench_models.py              # CPU, 1 thread, batch 32 and 128
    PYTHONPATH=$PWD python benchmarks/bench_models.py --quick      # batch 8, short sequences
    PYTHONPATH=$PWD python benchmarks/bench_models.py --device cuda --threads 0
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from seq2seq_gym.data import Batch, Example, Vocab, collate, list_tasks, make_task
from seq2seq_gym.models import ModelConfig, Seq2SeqModel


def synthetic_examples(n: int, vocab_size: int, src_len: tuple[int, int], tgt_len: tuple[int, int], seed: int):
    """Summarisation-like examples: Zipf words (rare ones are OOV), targets mostly drawn from the source."""
    rng = np.random.default_rng(seed)
    examples = []
    for i in range(n):
        ranks = np.minimum(rng.zipf(1.3, size=int(rng.integers(src_len[0], src_len[1] + 1))), 50 * vocab_size)
        src = [f"w{r}" for r in ranks]
        m = int(rng.integers(tgt_len[0], tgt_len[1] + 1))
        tgt = [src[j] if rng.random() < 0.8 else f"w{int(rng.zipf(1.3))}" for j in rng.integers(0, len(src), size=m)]
        examples.append(Example(f"syn{i}", src, [tgt]))
    return examples


def load_data(args: argparse.Namespace) -> tuple[Vocab, list[Example], str]:
    if "summarization" in list_tasks() and not args.synthetic:
        task = make_task("summarization")
        return task.vocab, task.split("train"), "make_task('summarization')"
    vocab = Vocab([f"w{r}" for r in range(1, args.vocab_size - 3)])
    examples = synthetic_examples(4 * max(args.batch_sizes), len(vocab), args.src_len, args.tgt_len, seed=0)
    return vocab, examples, f"synthetic (vocab {len(vocab)}, sources {args.src_len}, targets {args.tgt_len})"


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timed_interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, device: torch.device
) -> dict[str, list[float]]:
    """Run the functions in turn ``repeats`` times (after one warm-up each); every run's wall time, by name.

    Interleaving puts the same machine load on each function of a round, so
    per-round ratios are robust on a shared machine.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t0)
    return times


def ratio(times: dict[str, list[float]], num: str, den: str) -> float:
    """Median over rounds of ``time(num) / time(den)``."""
    return statistics.median(a / b for a, b in zip(times[num], times[den]))


def bench_batch(model: Seq2SeqModel, batch: Batch, args: argparse.Namespace, device: torch.device) -> dict:
    B = len(batch)
    batch = batch.to(device)
    target_tokens = int(batch.tgt_lens.sum())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def train_update() -> None:
        loss, _ = model.mle_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def mle_fwd_bwd() -> None:
        loss, _ = model.mle_loss(batch)
        loss.backward()
        model.zero_grad(set_to_none=True)

    def score_fwd_bwd(entropy: bool) -> Callable[[], None]:
        def run() -> None:
            out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, with_entropy=entropy)
            loss = -out.log_probs.sum() - (out.entropy.sum() if entropy else 0.0)
            loss.backward()
            model.zero_grad(set_to_none=True)

        return run

    t_train = timed(train_update, args.repeats, device)
    training = timed_interleaved(
        {"mle": mle_fwd_bwd, "score": score_fwd_bwd(True), "score_fast": score_fwd_bwd(False)}, args.repeats, device
    )

    model.eval()
    L = args.max_len
    decoding = timed_interleaved(
        {
            "greedy": lambda: model.generate(batch, "greedy", max_len=L, min_len=L - 1),
            "beam": lambda: model.generate(batch, "beam", beam_size=4, max_len=L, min_len=L - 1),
        },
        args.repeats,
        device,
    )
    t_greedy, t_beam = (statistics.median(decoding[k]) for k in ("greedy", "beam"))
    tokens = torch.randint(4, model.vocab_size, (L, B), generator=torch.Generator().manual_seed(0)).to(device)

    @torch.no_grad()
    def step_loop() -> None:
        memory = model.encode(batch)
        state = model.init_state(memory)
        prev = model.bos_tokens(B)
        for t in range(L):
            _, _, state = model.step(prev, state, memory)
            prev = tokens[t]

    t_steps = timed(step_loop, args.repeats, device)
    return {
        "batch_size": B,
        "source_len_mean": float(batch.src_lens.float().mean()),
        "target_tokens": target_tokens,
        "train_tokens_per_s": target_tokens / t_train,
        "train_update_s": t_train,
        "greedy_tokens_per_s": B * L / t_greedy,
        "beam4_tokens_per_s": B * L / t_beam,
        "step_loop_tokens_per_s": B * L / t_steps,
        "score_cost_vs_mle": ratio(training, "score", "mle"),
        "score_fast_cost_vs_mle": ratio(training, "score_fast", "mle"),
        "beam4_vs_greedy_time": ratio(decoding, "beam", "greedy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-len", type=int, default=40, help="decoding steps per example")
    parser.add_argument("--vocab-size", type=int, default=5000)
    parser.add_argument("--src-len", type=int, nargs=2, default=[80, 300])
    parser.add_argument("--tgt-len", type=int, nargs=2, default=[10, 40])
    parser.add_argument("--synthetic", action="store_true", help="synthetic data even if the built-in task exists")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--quick", action="store_true", help="batch 8, short sequences, 1 repeat (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.batch_sizes, args.repeats, args.max_len, args.src_len, args.tgt_len = [8], 1, 10, [20, 40], [5, 10]
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    vocab, examples, source = load_data(args)
    torch.manual_seed(0)
    model = Seq2SeqModel(ModelConfig(len(vocab), pointer_gen=True), vocab).to(device)
    results = []
    for B in args.batch_sizes:
        batch = collate(examples[:B], vocab, max_source_len=400, max_target_len=100)
        results.append(bench_batch(model, batch, args, device))
    print(
        json.dumps(
            {
                "benchmark": "bench_models",
                "device": str(device),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "data": source,
                "config": model.config.to_dict(),
                "parameters": sum(p.numel() for p in model.parameters()),
                "repeats": args.repeats,
                "max_len": args.max_len,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
