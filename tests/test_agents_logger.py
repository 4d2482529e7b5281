"""The agents' logger: outputs, key handling, optional TensorBoard."""

from __future__ import annotations

import csv
import io
import json
import math
import sys

import numpy as np
import pytest
import torch

from seq2seq_gym.agents.logger import (
    FORMATS,
    LOG_KEYS,
    CSVOutputFormat,
    HumanOutputFormat,
    JSONOutputFormat,
    Logger,
    configure,
)


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_keys_follow_sb3_and_add_ours():
    for key in ("rollout/ep_rew_mean", "train/loss", "train/learning_rate", "time/fps", "time/total_timesteps",
                "train/baseline", "train/advantage_std", "train/entropy", "train/kl_to_init", "train/grad_norm",
                "eval/<metric>"):
        assert key in LOG_KEYS
    assert set(FORMATS) == {"stdout", "csv", "json", "tensorboard"}


def test_stdout_table_groups_sections_and_dump_clears():
    buf = io.StringIO()
    log = Logger(None, [HumanOutputFormat(buf)])
    log.record("train/loss", torch.tensor(0.25))
    log.record("rollout/ep_rew_mean", np.float32(0.5))
    log.record("time/total_timesteps", 1280)
    log.record("eval/rougeL", 0.123456789)
    log.dump(step=1280)
    text = buf.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("---") and lines[-1].startswith("---")
    for section in ("eval/", "rollout/", "time/", "train/"):
        assert any(line.startswith(f"| {section}") for line in lines), section
    assert any("loss" in line and "0.25" in line for line in lines)
    assert any("rougeL" in line and "0.1235" in line for line in lines)
    assert any("step" in line and "1280" in line for line in lines)
    assert log.get_log_dict() == {}
    log.dump(step=1281)  # nothing recorded: nothing written
    assert buf.getvalue() == text


def test_csv_widens_its_header_when_keys_appear(tmp_path):
    log = configure(tmp_path, ["csv"])
    log.record("train/loss", 1.0)
    log.dump(10)
    log.record("train/loss", 0.5)
    log.record("eval/bleu", 0.3)
    log.dump(20)
    log.record("eval/bleu", 0.4)
    log.dump(30)
    log.close()
    path = tmp_path / "progress.csv"
    with open(path) as f:
        header = f.readline().strip().split(",")
    assert header == ["step", "train/loss", "eval/bleu"]
    rows = _read_csv(path)
    assert [r["step"] for r in rows] == ["10", "20", "30"]
    assert [r["train/loss"] for r in rows] == ["1.0", "0.5", ""]
    assert [r["eval/bleu"] for r in rows] == ["", "0.3", "0.4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.csv"]  # no temporary file left


def test_json_lines(tmp_path):
    fmt = JSONOutputFormat(tmp_path / "p.jsonl")
    log = Logger(tmp_path, [fmt])
    log.record("train/loss", float("nan"))
    log.record("train/note", "skipped")
    log.dump(3)
    log.close()
    rec = json.loads((tmp_path / "p.jsonl").read_text().strip())
    assert rec == {"step": 3, "train/loss": None, "train/note": "skipped"}


def test_record_mean_and_exclude(tmp_path):
    buf = io.StringIO()
    log = Logger(tmp_path, [HumanOutputFormat(buf), CSVOutputFormat(tmp_path / "p.csv")])
    for v in (1.0, 2.0, 6.0):
        log.record_mean("rollout/ep_rew_mean", v)
    assert log.get_log_dict()["rollout/ep_rew_mean"] == 3.0
    log.record("train/grad_norm", 9.5, exclude="stdout")
    log.dump(1)
    assert "grad_norm" not in buf.getvalue()
    row = _read_csv(tmp_path / "p.csv")[0]
    assert row["train/grad_norm"] == "9.5" and row["rollout/ep_rew_mean"] == "3.0"
    log.record_mean("rollout/ep_rew_mean", 10.0)  # the mean restarts after a dump
    assert log.get_log_dict()["rollout/ep_rew_mean"] == 10.0
    log.record("rollout/ep_rew_mean", 4.0)  # record overrides a running mean
    log.record_mean("rollout/ep_rew_mean", 6.0)
    assert log.get_log_dict()["rollout/ep_rew_mean"] == 6.0


def test_bad_keys_and_values_are_rejected():
    log = Logger(None, [])
    for key in ("", "/loss", "train/", 3, "step"):
        with pytest.raises(ValueError, match=r"key|step"):
            log.record(key, 1.0)
    with pytest.raises(ValueError, match="train/x"):
        log.record("train/x", torch.ones(2))
    with pytest.raises(TypeError, match="train/x"):
        log.record("train/x", [1.0])
    with pytest.raises(TypeError, match="train/x"):
        log.record_mean("train/x", "a")
    with pytest.raises(ValueError, match="exclude"):
        log.record("train/x", 1.0, exclude="screen")
    with pytest.raises(TypeError, match="step"):
        log.dump(step=1.5)
    assert log.get_log_dict() == {}  # rejected calls recorded nothing


def test_configure_defaults_and_errors(tmp_path, capsys):
    log = configure()
    assert [f.name for f in log.output_formats] == ["stdout"]
    log.record("time/fps", 100)
    log.dump(0)
    assert "fps" in capsys.readouterr().out
    assert [f.name for f in configure(tmp_path).output_formats] == ["stdout", "csv"]
    with pytest.raises(ValueError, match="valid"):
        configure(tmp_path, ["stdout", "wandb"])
    with pytest.raises(ValueError, match="folder"):
        configure(None, ["csv"])
    with pytest.raises(TypeError, match="list"):
        configure(tmp_path, "csv")


def test_tensorboard_output(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = configure(tmp_path, ["tensorboard"])
    for step, v in ((100, 0.5), (200, 0.25)):
        log.record("train/loss", v)
        log.record("train/note", "text is skipped")
        log.dump(step)
    log.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert acc.Tags()["scalars"] == ["train/loss"]
    events = acc.Scalars("train/loss")
    assert [e.step for e in events] == [100, 200]
    assert [e.value for e in events] == pytest.approx([0.5, 0.25])


def test_tensorboard_missing_is_skipped_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now raises ImportError
    with pytest.warns(UserWarning, match="tensorboard"):
        log = configure(tmp_path, ["csv", "tensorboard"])
    assert [f.name for f in log.output_formats] == ["csv"]
    log.record("train/loss", 1.0)
    log.dump(1)
    assert math.isclose(float(_read_csv(tmp_path / "progress.csv")[0]["train/loss"]), 1.0)
