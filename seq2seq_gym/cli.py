"""The ``seq2seq-gym`` command line.

Subcommands:

* ``info``      version and environment;
* ``tasks``     the registered tasks, or a description of one;
* ``pretrain``  supervised (MLE) training of a generator on a task, then its
  validation score; writes a checkpoint directory;
* ``evaluate``  decode a split with a checkpoint, score it as the reference libraries
  score the text (the environments' reward definition) and write the outputs;
* ``demo``      play one episode of an environment and print what happens.

Each subcommand is a function ``_cmd_<name>`` registered in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import json
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


def _cmd_pretrain(args: argparse.Namespace) -> int:
    """Train a generator by maximum likelihood on a task, score it, save it."""
    import torch

    from seq2seq_gym.data import make_task
    from seq2seq_gym.models import Seq2SeqModel, train_mle

    cfg = _load_config(args.config)
    task_name = args.task or cfg.get("task")
    if not task_name:
        raise SystemExit("error: give --task (or 'task:' in --config)")
    task_kwargs = {**cfg.get("task_kwargs", {}), **_parse_kv(args.task_set, "--task-set")}
    model_kwargs = {**cfg.get("model", {}), **_parse_kv(args.model_set, "--model-set")}
    train_cfg = cfg.get("train", {})
    steps = int(args.steps or train_cfg.get("steps", 500))
    batch_size = int(args.batch_size or train_cfg.get("batch_size", 32))
    lr = float(args.lr or train_cfg.get("lr", 2e-3))  # YAML reads "2e-3" as a string
    seed = int(args.seed if args.seed is not None else train_cfg.get("seed", 0))
    preset = model_kwargs.pop("preset", args.preset)
    out = Path(args.out)

    torch.manual_seed(seed)
    task = make_task(task_name, **task_kwargs)
    model = Seq2SeqModel.from_task(task, preset=preset, **model_kwargs)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"task {task.name}: {len(task.split('train'))} training examples, vocabulary {len(task.vocab)}; "
          f"model {preset} with {n_params:,} parameters; {steps} steps of batch {batch_size}")
    history = train_mle(model, task, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                        eval_every=int(args.eval_every or train_cfg.get("eval_every", 0)),
                        device=args.device, progress=not args.no_progress)
    model.save(out)
    result = _evaluate(model, task, "validation", None, args.eval_limit, 64, "greedy", 1, not args.no_progress)
    last = history.train[-1] if history.train else {}
    report = {"task": task.name, "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed, "preset": preset,
              "parameters": n_params, "final_train_loss": last.get("loss"), "validation": result,
              "eval": history.eval}
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(out / "metrics.json")
    print(json.dumps({k: v for k, v in report.items() if k != "validation"}, indent=None))
    print(f"validation {result['metric']} (greedy): {result['score']:.4f} on {result['examples']} examples")
    for s in result["samples"]:
        print(f"  output   : {s['output']}\n  reference: {s['reference']}")
    print(f"saved to {out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """Decode a split with a saved generator, score it, write the outputs and print the scores as JSON."""
    from seq2seq_gym.data import make_task
    from seq2seq_gym.models import Seq2SeqModel

    model = Seq2SeqModel.load(args.model, map_location=args.device)
    task = make_task(args.task, **_parse_kv(args.task_set, "--task-set"))
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
    print(json.dumps({"text": info["text"], "scores": info["scores"], "references": info["references"]}, indent=2))
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
    p.add_argument("--task", help="task name (see `seq2seq-gym tasks`)")
    p.add_argument("--config", help="YAML file with task / task_kwargs / model / train sections")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--preset", default="small", help="model size preset (small, tiny, default, see2017, paulus2018)")
    p.add_argument("--steps", type=int, help="number of updates (default 500)")
    p.add_argument("--batch-size", type=int, help="examples per update (default 32)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 2e-3)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--eval-every", type=int, help="log validation NLL every this many steps")
    p.add_argument("--eval-limit", type=int, default=512, help="validation examples scored at the end")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ...")
    p.add_argument("--task-set", action="append", metavar="KEY=VALUE", help="task argument (repeatable)")
    p.add_argument("--model-set", action="append", metavar="KEY=VALUE", help="model config field (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser("evaluate", help="decode a split with a saved generator and score it")
    p.add_argument("--model", required=True, help="checkpoint directory")
    p.add_argument("--task", required=True, help="task name")
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
