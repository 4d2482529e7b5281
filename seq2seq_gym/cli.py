"""The ``seq2seq-gym`` command line.

Subcommands:

* ``info``      version and environment;
* ``tasks``     the registered tasks, or a description of one;
* ``pretrain``  supervised (MLE) training of a generator on a task, then its
  validation score; writes a checkpoint directory with a resumable training
  state and the training curves (``--resume``, ``--max-minutes``);
* ``evaluate``  decode a split with a checkpoint, score it as the reference libraries
  score the text (the environments' reward definition) and write the outputs;
* ``demo``      play one episode of an environment and print what happens.

Each subcommand is a function ``_cmd_<name>`` registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seq2seq_gym import __version__


def _load_config(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    import yaml

    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"error: config file not found: {p}")
    with open(p, encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    if not isinstance(cfg, dict):
        raise SystemExit(f"error: config file {p} must hold a mapping, got {type(cfg).__name__}")
    return cfg


def _parse_kv(items: Sequence[str] | None, what: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values parsed as YAML scalars)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {what} expects key=value, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _cmd_info(args: argparse.Namespace) -> int:
    """Print the version and what the installation provides."""
    import platform

    import torch

    import seq2seq_gym
    from seq2seq_gym.data import list_tasks
    from seq2seq_gym.envs import ENV_IDS

    print(f"seq2seq_gym {__version__} ({Path(seq2seq_gym.__file__).parent})")
    print(f"python {platform.python_version()}, torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
    print(f"environments: {', '.join(sorted(ENV_IDS))}")
    print(f"tasks: {', '.join(list_tasks())}")
    return 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    """List the registered tasks, or describe one."""
    from seq2seq_gym.data import describe, format_description, list_tasks, make_task

    if not args.name:
        for name in list_tasks():
            print(name)
        return 0
    task = make_task(args.name, **_parse_kv(args.set, "--set"))
    print(format_description(describe(task)))
    return 0


def _evaluate(model, task, split: str, metric_spec: str | None, limit: int | None, batch_size: int,
              strategy: str, beam_size: int, progress: bool, output: str | Path | None = None) -> dict[str, Any]:
    """Decode ``split`` and score it with the task's reward definition (or ``metric_spec``).

    Scores are those of :func:`seq2seq_gym.envs.build_reward` (the environments' reward):
    the reference library on each decoded text, averaged over the examples; BLEU and
    CIDEr-D are also given at corpus level as papers report them (sacrebleu
    ``corpus_bleu``; pycocoevalcap ``Cider`` with document frequencies of this split).
    With ``output``, one JSON line per example (id, output text, references, scores).
    """
    import torch
    from tqdm.auto import tqdm

    from seq2seq_gym.envs.reward import build_reward, score_batch
    from seq2seq_gym.rewards import Bleu, CiderD

    reward = build_reward(task, metric_spec)
    examples = task.split(split)[: limit or None]
    sums: dict[str, float] = {}
    texts: list[str] = []
    refs: list[list[str]] = []
    records: list[dict[str, Any]] = []
    model.eval()
    with torch.no_grad():
        for start in tqdm(range(0, len(examples), batch_size), desc=f"evaluate {split}", disable=not progress):
            batch = task.collate(examples[start : start + batch_size]).to(model.device)
            kw = {"beam_size": beam_size} if strategy == "beam" else {}
            out = model.generate(batch, strategy=strategy, max_len=task.max_target_len + 1, **kw)
            tokens = out.best().cpu()
            scores = score_batch(reward, batch, tokens)
            outs = reward.decode(tokens, None, batch.oovs)
            for key, v in scores.items():
                sums[key] = sums.get(key, 0.0) + float(v.sum())
            for j, ex in enumerate(batch.examples):
                ex_refs = [" ".join(r) for r in ex.references]
                texts.append(outs[j])
                refs.append(ex_refs)
                records.append({"id": ex.id, "output": outs[j], "references": ex_refs,
                                "scores": {k: float(v[j]) for k, v in scores.items()}})
    n = len(records)
    means = {k: v / max(n, 1) for k, v in sums.items()}
    corpus: dict[str, float] = {}
    if n and any(name == "bleu" for name in reward.names):
        corpus["bleu"] = Bleu().text_corpus_score(texts, refs)
    if n and any(name == "cider" for name in reward.names):
        corpus["cider"] = float(CiderD().score(texts, refs).mean())
    result = {"split": split, "metric": reward.name, "score": means.get("reward", 0.0), "examples": n,
              "strategy": strategy, "components": {k: v for k, v in means.items() if k != "reward"},
              "corpus": corpus, "conventions": reward.conventions,
              "samples": [{"id": r["id"], "output": r["output"], "reference": r["references"][0]} for r in records[:3]]}
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        tmp.replace(path)
        result["outputs"] = str(path)
    return result


def default_threads() -> int:
    """The default of ``pretrain --threads``: one torch thread per two available cores, at most 4.

    Measured on the shared 2-core development machine (median of 3, 10 MLE
    updates of batch 32 on the built-in summarization task): the small preset
    took 5.7 s with 1 thread against 4.1 s with 2 threads while the machine
    was idle, but 8.1 s against 37.5 s once other jobs ran; the default preset
    9.6 s against 63 s under load. Torch's own default (one thread per core)
    loses badly as soon as anything else runs, one thread rarely loses much,
    and these recurrent models of a few million parameters gain little beyond
    a few threads.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n // 2))


def _cmd_pretrain(args: argparse.Namespace) -> int:
    """Train a generator by maximum likelihood on a task, score it, save it (resumable)."""
    import torch

    from seq2seq_gym.models import Seq2SeqModel, has_training_state, read_training_state_info, train_mle
    from seq2seq_gym.models.checkpoint import resolve_device
    from seq2seq_gym.utils import atomic_write

    cfg = _load_config(args.config)
    task_name = args.task or cfg.get("task")
    if not task_name:
        raise SystemExit("error: give --task (or 'task:' in --config)")
    task_kwargs = {**cfg.get("task_kwargs", {}), **_parse_kv(args.task_set, "--task-set")}
    model_kwargs = {**cfg.get("model", {}), **_parse_kv(args.model_set, "--model-set")}
    train_cfg = cfg.get("train", {})

    def pick(value: Any, key: str, default: Any) -> Any:
        return value if value is not None else train_cfg.get(key, default)

    steps = int(pick(args.steps, "steps", 500))
    batch_size = int(pick(args.batch_size, "batch_size", 32))
    lr = float(pick(args.lr, "lr", 2e-3))  # YAML reads "2e-3" as a string
    seed = int(pick(args.seed, "seed", 0))
    eval_every = int(pick(args.eval_every, "eval_every", 50))
    checkpoint_every = int(pick(args.checkpoint_every, "checkpoint_every", 100))
    max_minutes = pick(args.max_minutes, "max_minutes", None)
    threads = int(pick(args.threads, "threads", default_threads()))
    for flag, value, low in (("--steps", steps, 1), ("--batch-size", batch_size, 1), ("--threads", threads, 1),
                             ("--eval-every", eval_every, 0), ("--checkpoint-every", checkpoint_every, 0)):
        if value < low:
            raise SystemExit(f"error: {flag} must be >= {low}, got {value}")
    if max_minutes is not None and not float(max_minutes) > 0:
        raise SystemExit(f"error: --max-minutes must be > 0, got {max_minutes}")
    try:
        device = resolve_device(args.device, "--device")
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    preset = model_kwargs.pop("preset", args.preset)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --out {out} exists and is not a directory")

    resumed_from = None
    if has_training_state(out):
        step, _ = read_training_state_info(out)
        if args.resume:
            resumed_from = step
            print(f"resuming from the training state at step {step} in {out}")
        else:
            print(f"note: {out} holds a training state at step {step}; starting afresh (--resume continues it)")
    elif args.resume:
        print(f"no training state in {out} yet: starting from step 0")

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):  # seed the initialisation without reseeding the caller's RNG
            torch.manual_seed(seed)
            task = _load_task_arg(task_name, task_kwargs)
            model = Seq2SeqModel.from_task(task, preset=preset, **model_kwargs)
        n_params = sum(p.numel() for p in model.parameters())
        print(f"task {task.name}: {len(task.split('train'))} training examples, vocabulary {len(task.vocab)}; "
              f"model {preset} with {n_params:,} parameters; {steps} steps of batch {batch_size}; "
              f"{threads} torch thread(s)")
        try:
            history = train_mle(
                model, task, steps=steps, batch_size=batch_size, lr=lr, seed=seed, eval_every=eval_every,
                device=device, progress=not args.no_progress, checkpoint_dir=out, checkpoint_every=checkpoint_every,
                resume=args.resume, time_budget=float(max_minutes) * 60.0 if max_minutes is not None else None,
            )
        except ValueError as e:
            if str(e).startswith("resume:"):
                raise SystemExit(f"error: {e}") from None
            raise
        steps_done = int(history.train[-1]["step"]) if history.train else 0
        result = _evaluate(model, task, "validation", None, args.eval_limit, 64, "greedy", 1, not args.no_progress)
    finally:
        torch.set_num_threads(previous_threads)
    last = history.train[-1] if history.train else {}
    report = {"task": task.name, "steps": steps, "steps_done": steps_done, "stopped_early": history.stopped_early,
              "stop_reason": history.stop_reason, "resumed_from_step": resumed_from, "batch_size": batch_size,
              "lr": lr, "seed": seed, "preset": preset, "parameters": n_params, "threads": threads,
              "train_seconds": last.get("time_s"), "final_train_loss": last.get("loss"), "validation": result,
              "eval": history.eval}
    atomic_write(out / "metrics.json", json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("validation", "eval")}, indent=None))
    if history.stop_reason == "time_budget":
        print(f"stopped after step {steps_done} of {steps}: --max-minutes {max_minutes} ran out; "
              f"run again with --resume to continue")
    print(f"validation {result['metric']} (greedy): {result['score']:.4f} on {result['examples']} examples")
    for s in result["samples"]:
        print(f"  output   : {s['output']}\n  reference: {s['reference']}")
    print(f"saved to {out} (model, training state, curves.csv, metrics.json)")
    return 0


def _load_task_arg(source: str, task_kwargs: dict[str, Any], vocab=None):
    """``--task``: a registered task name or a data path (``load_path``'s layouts); one error line if neither."""
    from seq2seq_gym.data import load_task

    try:
        return load_task(source, vocab=vocab, what="--task", **task_kwargs)
    except (FileNotFoundError, KeyError, TypeError, ValueError) as e:
        raise SystemExit(f"error: {e.args[0] if e.args else e}") from None


def _task_for_model(source: str, model, task_kwargs: dict[str, Any]):
    """The task ``source`` (a name or a data path) built with the checkpoint's vocabulary where read from files."""
    task = _load_task_arg(source, task_kwargs, vocab=model.vocab)
    diff = model.vocab.difference(task.vocab) if model.vocab is not None else None
    if diff is None and model.vocab_size != len(task.vocab):
        diff = f"{model.vocab_size} vs {len(task.vocab)} ids"
    if diff is not None:
        raise SystemExit(
            f"error: the checkpoint's vocabulary differs from task {task.name!r}'s ({diff}, checkpoint first); "
            "evaluate it on the corpus it was trained on (--task PATH, or a loader name with --task-set data=PATH)"
        )
    return task


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """Decode a split with a saved generator, score it, write the outputs and print the scores as JSON."""
    from seq2seq_gym.models import Seq2SeqModel

    model = Seq2SeqModel.load(args.model, map_location=args.device)
    task = _task_for_model(args.task, model, _parse_kv(args.task_set, "--task-set"))
    output = Path(args.output) if args.output else Path(args.model) / f"eval-{args.split}-{args.strategy}.jsonl"
    result = _evaluate(model, task, args.split, args.metric, args.limit, args.batch_size, args.strategy,
                       args.beam_size, not args.no_progress, output=output)
    print(json.dumps(result, indent=2))
    print("scores: " + "; ".join(result["conventions"].values()) + f"; outputs in {result['outputs']}",
          file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """Play one episode, choosing the generator's most likely token (or random allowed ones)."""
    import gymnasium as gym
    import numpy as np

    import seq2seq_gym  # noqa: F401  (registers the environments)

    env = gym.make(args.env, render_mode="ansi", reward_mode=args.reward_mode)
    rng = np.random.default_rng(args.seed)
    obs, info = env.reset(seed=args.seed)
    print(env.render())
    done = False
    while not done:
        mask = env.unwrapped.action_masks()
        if args.policy == "random":
            action = int(rng.choice(np.flatnonzero(mask)))
        else:
            lp = env.unwrapped.engine.log_probs[0].cpu().numpy()
            action = int(np.argmax(np.where(mask, lp, -np.inf)))
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        if args.verbose or done:
            print(env.render())
    record = env.unwrapped.last_episode  # the finished episode: text, scores, references, ...
    print(json.dumps({k: record[k] for k in ("text", "scores", "references")}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="seq2seq-gym",
        description="Text generation as reinforcement learning: environments, rewards, agents.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="print the version, environments and tasks")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("tasks", help="list the registered tasks, or describe one")
    p.add_argument("name", nargs="?", help="a task to describe (sizes, lengths, OOV rates)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="task argument (repeatable)")
    p.set_defaults(func=_cmd_tasks)

    p = sub.add_parser("pretrain", help="train a generator by maximum likelihood and save it")
    p.add_argument("--task", help="task name (see `seq2seq-gym tasks`) or a data path (a JSONL file or corpus folder)")
    p.add_argument("--config", help="YAML file with task / task_kwargs / model / train sections")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--preset", default="small", help="model size preset (small, tiny, default, see2017, paulus2018)")
    p.add_argument("--steps", type=int, help="number of updates (default 500)")
    p.add_argument("--batch-size", type=int, help="examples per update (default 32)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 2e-3)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--eval-every", type=int, help="validation NLL every this many steps, in curves.csv (default 50)")
    p.add_argument("--eval-limit", type=int, default=512, help="validation examples scored at the end")
    p.add_argument("--checkpoint-every", type=int,
                   help="save the resumable training state every this many steps (default 100; 0: at the end only)")
    p.add_argument("--resume", action="store_true",
                   help="continue the training state in --out (after a kill or --max-minutes); exact: the same "
                        "weights as a run that was never interrupted")
    p.add_argument("--max-minutes", type=float,
                   help="time budget of the training loop: stop after the update that ends it, save, evaluate")
    p.add_argument("--threads", type=int,
                   help=f"torch CPU threads (default: one per two cores, at most 4; here {default_threads()})")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ...")
    p.add_argument("--task-set", action="append", metavar="KEY=VALUE", help="task argument (repeatable)")
    p.add_argument("--model-set", action="append", metavar="KEY=VALUE", help="model config field (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("evaluate", help="decode a split with a saved generator and score it")
    p.add_argument("--model", required=True, help="checkpoint directory")
    p.add_argument("--task", required=True,
                   help="task name, or a data path (read with the checkpoint's vocabulary, as load_path reads it)")
    p.add_argument("--split", default="validation")
    p.add_argument("--metric", help="metric spec (default: the task's)")
    p.add_argument("--strategy", default="greedy", choices=["greedy", "sample", "beam"])
    p.add_argument("--beam-size", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, help="score only the first N examples")
    p.add_argument("--output", help="JSONL file for the decoded outputs and their scores "
                                    "(default: MODEL/eval-SPLIT-STRATEGY.jsonl)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--task-set", action="append", metavar="KEY=VALUE", help="task argument (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("demo", help="play one episode of an environment and print it")
    p.add_argument("--env", default="Seq2Seq/Summarization-v0", help="environment id")
    p.add_argument("--policy", default="generator", choices=["generator", "random"],
                   help="generator: its most likely allowed token; random: a random allowed token")
    p.add_argument("--reward-mode", default="dense", choices=["terminal", "dense"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", action="store_true", help="print every step, not only the last")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``seq2seq-gym`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
