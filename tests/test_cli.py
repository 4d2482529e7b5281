"""The seq2seq-gym command line, run in-process on small settings."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seq2seq_gym import cli
from seq2seq_gym.models import CURVE_COLUMNS, Seq2SeqModel, has_training_state, read_training_state_info

SMALL = ["--task-set", "num_train=64", "--task-set", "num_validation=16", "--task-set", "num_test=16"]


def test_tasks_lists_and_describes(capsys):
    assert cli.main(["tasks"]) == 0
    names = capsys.readouterr().out.split()
    assert {"summarization", "captioning", "translation", "jsonl"} <= set(names)
    assert cli.main(["tasks", "translation", "--set", "num_train=32"]) == 0
    assert "train" in capsys.readouterr().out


def test_pretrain_writes_a_loadable_checkpoint_and_metrics(tmp_path, capsys):
    out = tmp_path / "gen"
    code = cli.main(["pretrain", "--task", "translation", "--preset", "tiny", "--steps", "3", "--batch-size", "8",
                     "--out", str(out), "--eval-limit", "8", "--no-progress", *SMALL])
    assert code == 0
    model = Seq2SeqModel.load(out)
    assert model.config.emb_dim == 16  # the tiny preset
    report = json.loads((out / "metrics.json").read_text())
    assert report["steps"] == 3 and report["validation"]["examples"] == 8
    assert 0.0 <= report["validation"]["score"] <= 1.0
    assert "validation bleu" in capsys.readouterr().out

    assert cli.main(["evaluate", "--model", str(out), "--task", "translation", "--limit", "8", "--strategy", "beam",
                     "--beam-size", "2", "--no-progress", *SMALL]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["strategy"] == "beam" and result["examples"] == 8


def test_pretrain_reads_a_config(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("task: translation\ntask_kwargs: {num_train: 64, num_validation: 16, num_test: 16}\n"
                   "model: {preset: tiny}\ntrain: {steps: 2, batch_size: 4, lr: 1e-3}\n")
    assert cli.main(["pretrain", "--config", str(cfg), "--out", str(tmp_path / "g"), "--eval-limit", "4",
                     "--no-progress"]) == 0
    assert json.loads((tmp_path / "g" / "metrics.json").read_text())["lr"] == pytest.approx(1e-3)


def test_pretrain_bad_arguments(tmp_path):
    with pytest.raises(SystemExit, match="--task"):
        cli.main(["pretrain", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="not found"):
        cli.main(["pretrain", "--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="key=value"):
        cli.main(["pretrain", "--task", "translation", "--task-set", "oops", "--out", str(tmp_path / "x")])


def test_demo_plays_an_episode(capsys):
    assert cli.main(["demo", "--env", "Seq2Seq/Translation-v0", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "output :" in out
    result = json.loads(out[out.index("{"):])
    assert set(result) == {"text", "scores", "references"} and "bleu" in result["scores"]


# ------------------------------------------------------- pretrain: resume, budget, curves, threads
TINY = ["--task", "translation", "--preset", "tiny", "--batch-size", "8", "--eval-limit", "8", "--no-progress",
        "--threads", "1", "--eval-every", "10", *SMALL]


def _weights(path):
    return Seq2SeqModel.load(path).state_dict()


def _curves(path):
    with open(path / "curves.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "time_s"} for row in csv.DictReader(f)]


@pytest.mark.slow
def test_pretrain_killed_midway_and_resumed_ends_as_an_uninterrupted_run(tmp_path, capsys):
    args = [*TINY, "--steps", "40", "--checkpoint-every", "5"]
    cut, full = tmp_path / "cut", tmp_path / "full"
    root = str(Path(__file__).resolve().parents[1])  # this checkout, ahead of any installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-m", "seq2seq_gym.cli", "pretrain", *args, "--out", str(cut)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while not has_training_state(cut) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)  # right after the first checkpoint, while it trains on
        proc.wait()
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    killed_at, _ = read_training_state_info(cut)
    assert 5 <= killed_at < 40 and not (cut / "metrics.json").exists()

    assert cli.main(["pretrain", *args, "--out", str(cut), "--resume"]) == 0
    assert f"resuming from the training state at step {killed_at}" in capsys.readouterr().out
    assert cli.main(["pretrain", *args, "--out", str(full)]) == 0
    a, b = _weights(cut), _weights(full)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bitwise
    assert _curves(cut) == _curves(full) and len(_curves(full)) == 40
    ra, rb = (json.loads((d / "metrics.json").read_text()) for d in (cut, full))
    assert ra["resumed_from_step"] == killed_at and rb["resumed_from_step"] is None
    assert ra["validation"] == rb["validation"] and ra["eval"] == rb["eval"]


def test_pretrain_writes_the_curves_csv_and_the_training_state(tmp_path):
    out = tmp_path / "g"
    assert cli.main(["pretrain", *TINY, "--steps", "12", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "curves.csv", "metrics.json", "model.safetensors",
                                                     "training_state.json", "training_state.pt", "vocab.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]  # no temporary entries beside it
    with open(out / "curves.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CURVE_COLUMNS and [int(r["step"]) for r in rows] == list(range(1, 13))
    assert [int(r["step"]) for r in rows if r["eval_nll"]] == [10, 12]
    report = json.loads((out / "metrics.json").read_text())
    assert report["steps_done"] == 12 and report["stop_reason"] is None and report["threads"] == 1
    assert read_training_state_info(out)[0] == 12


def test_pretrain_max_minutes_stops_cleanly_and_resumes(tmp_path, capsys):
    out = tmp_path / "g"
    before = torch.get_num_threads()
    assert cli.main(["pretrain", *TINY, "--steps", "30", "--max-minutes", "1e-9", "--out", str(out)]) == 0
    assert "--max-minutes 1e-09 ran out" in capsys.readouterr().out
    report = json.loads((out / "metrics.json").read_text())
    assert report["stop_reason"] == "time_budget" and report["steps_done"] == 1  # the budget is checked per update
    assert read_training_state_info(out)[0] == 1 and Seq2SeqModel.load(out).config.emb_dim == 16
    assert 0.0 <= report["validation"]["score"] <= 1.0  # evaluated and reported all the same
    assert cli.main(["pretrain", *TINY, "--steps", "30", "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps_done"] == 30
    assert torch.get_num_threads() == before  # --threads is restored for the caller


def test_pretrain_resume_and_option_errors(tmp_path, capsys):
    out = tmp_path / "g"
    assert cli.main(["pretrain", *TINY, "--steps", "3", "--out", str(out), "--resume"]) == 0
    assert "no training state" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"resume: .*batch_size=8, this call has batch_size=4"):
        cli.main(["pretrain", *TINY, "--steps", "3", "--out", str(out), "--resume", "--batch-size", "4"])
    for flag, value, match in (("--threads", "0", "--threads must be >= 1"),
                               ("--max-minutes", "0", "--max-minutes must be > 0"),
                               ("--checkpoint-every", "-1", "--checkpoint-every must be >= 0"),
                               ("--device", "bogus", "--device='bogus' is not a torch device")):
        with pytest.raises(SystemExit, match=match):
            cli.main(["pretrain", *TINY, "--steps", "3", "--out", str(tmp_path / "x"), flag, value])
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(SystemExit, match="exists and is not a directory"):
        cli.main(["pretrain", *TINY, "--steps", "3", "--out", str(tmp_path / "file")])


@pytest.mark.parametrize("cores, threads", [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, 4)])
def test_default_threads_leaves_half_the_cores_free(monkeypatch, cores, threads):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert cli.default_threads() == threads
