"""The seq2seq-gym command line, run in-process on small settings."""

from __future__ import annotations

import json

import pytest

from seq2seq_gym import cli
from seq2seq_gym.models import Seq2SeqModel

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
