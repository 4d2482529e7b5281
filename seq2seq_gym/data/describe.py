"""Summaries of a task's data: sizes, lengths, truncation and out-of-vocabulary rates."""

from __future__ import annotations

from typing import Any

import numpy as np

from seq2seq_gym.data.task import Task

__all__ = ["describe", "format_description"]


def _stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "mean": 0.0, "p95": 0.0, "max": 0}
    a = np.asarray(values)
    return {"min": int(a.min()), "mean": round(float(a.mean()), 2), "p95": float(np.percentile(a, 95)),
            "max": int(a.max())}


def describe(task: Task, max_examples: int | None = 2000, seed: int = 0) -> dict[str, Any]:
    """Facts about each split of ``task``, as a JSON-serializable dict.

    Per split: the number of examples; source lengths (tokens; the array
    shape for image sources); first-reference (target) lengths; references
    per example; the fraction of sources longer than ``max_source_len`` and
    of targets longer than ``max_target_len`` (what ``collate`` truncates);
    the out-of-vocabulary rate of source and target tokens; and the
    fraction of target OOV tokens the pointer can copy (they occur among
    the first ``max_oovs`` distinct OOV words of the truncated source).

    Args:
        task: the task.
        max_examples: examine at most this many examples per split (a seeded
            sample); ``None`` examines all.
        seed: the sampling seed.
    """
    v = task.vocab
    out: dict[str, Any] = {
        "name": task.name, "modality": task.modality, "metric": task.metric, "vocab_size": len(v),
        "max_source_len": task.max_source_len, "max_target_len": task.max_target_len, "max_oovs": task.max_oovs,
        "sizes": task.sizes, "info": {k: val for k, val in task.info.items() if isinstance(val, str | int | float)},
        "splits": {},
    }
    rng = np.random.default_rng(seed)
    for name, exs in task.splits.items():
        if max_examples is not None and len(exs) > max_examples:
            idx = np.sort(rng.choice(len(exs), size=max_examples, replace=False))
            sample = [exs[i] for i in idx]
        else:
            sample = list(exs)
        src_lens, tgt_lens, n_refs = [], [], []
        src_tok = src_oov = tgt_tok = tgt_oov = tgt_copyable = src_cut = tgt_cut = 0
        shapes: set[tuple[int, ...]] = set()
        for ex in sample:
            tgt = ex.references[0]
            tgt_lens.append(len(tgt))
            n_refs.append(len(ex.references))
            tgt_cut += len(tgt) > task.max_target_len
            if ex.is_image:
                shapes.add(tuple(np.shape(ex.source)))
                oovs: set[str] = set()
            else:
                src = ex.source
                src_lens.append(len(src))
                src_cut += len(src) > task.max_source_len
                _, oov_list = v.encode_source(src[: task.max_source_len], max_oovs=task.max_oovs)
                src_tok += len(src)
                src_oov += sum(1 for t in src if t not in v)
                oovs = set(oov_list)
            for t in tgt:
                tgt_tok += 1
                if t not in v:
                    tgt_oov += 1
                    tgt_copyable += (t.lower() if v.lower else t) in oovs
        n = max(len(sample), 1)
        out["splits"][name] = {
            "examples": len(exs),
            "examined": len(sample),
            "source_len": _stats(src_lens) if src_lens else {"shapes": sorted(shapes)},
            "target_len": _stats(tgt_lens),
            "references": _stats(n_refs),
            "sources_truncated": round(src_cut / n, 4),
            "targets_truncated": round(tgt_cut / n, 4),
            "source_oov_rate": round(src_oov / src_tok, 4) if src_tok else 0.0,
            "target_oov_rate": round(tgt_oov / tgt_tok, 4) if tgt_tok else 0.0,
            "target_oov_copyable": round(tgt_copyable / tgt_oov, 4) if tgt_oov else 1.0,
        }
    return out


def format_description(d: dict[str, Any]) -> str:
    """Render :func:`describe`'s dict as a short plain-text table."""
    lines = [
        f"task {d['name']} ({d['modality']}, metric {d['metric']}): vocabulary {d['vocab_size']}, "
        f"max_source_len {d['max_source_len']}, max_target_len {d['max_target_len']}, max_oovs {d['max_oovs']}",
    ]
    for k, val in d["info"].items():
        lines.append(f"  {k}: {val}")
    head = f"  {'split':<11}{'examples':>9}{'src len':>16}{'tgt len':>16}{'refs':>6}{'src oov':>9}" \
           f"{'tgt oov':>9}{'copyable':>9}{'src cut':>9}"
    lines.append(head)
    for name, s in d["splits"].items():
        sl = s["source_len"]
        src = f"{sl['mean']:.0f} [{sl['min']}-{sl['max']}]" if "mean" in sl else "x".join(map(str, sl["shapes"][0]))
        tl = s["target_len"]
        lines.append(
            f"  {name:<11}{s['examples']:>9}{src:>16}{tl['mean']:>7.1f} [{tl['min']}-{tl['max']}]".ljust(54)
            + f"{s['references']['mean']:>6.1f}{s['source_oov_rate']:>9.3f}{s['target_oov_rate']:>9.3f}"
            f"{s['target_oov_copyable']:>9.3f}{s['sources_truncated']:>9.3f}"
        )
    return "\n".join(lines)
