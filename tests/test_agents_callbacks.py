"""Callbacks against a fake agent that follows the documented protocol and learn loop."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pytest

from seq2seq_gym.agents.callbacks import (
    BaseCallback,
    CallbackList,
    CheckpointCallback,
    ConvertCallback,
    EvalCallback,
    EveryNTimesteps,
    ProgressBarCallback,
    StopTrainingOnMaxUpdates,
    StopTrainingOnMetricThreshold,
    as_callback,
)
from seq2seq_gym.agents.evaluation import ScoreInterval
from seq2seq_gym.agents.logger import CSVOutputFormat, Logger


def _csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class FakeAgent:
    """The callback protocol: num_timesteps, logger, save(path), evaluate(split) -> dict.

    Each update generates ``tokens_per_update`` tokens and bumps ``weights``; ``save``
    writes ``{"weights", "num_timesteps"}`` atomically at exactly ``path``; ``evaluate``
    returns the next of the scripted ``scores`` (a number or a ScoreInterval).
    """

    def __init__(self, tokens_per_update: int = 7, scores=(), folder=None) -> None:
        self.num_timesteps = 0
        self.weights = 0
        self.tokens_per_update = tokens_per_update
        self.scores = list(scores)
        self.eval_calls: list[tuple[str, dict]] = []
        self.saves: list[tuple[Path, int]] = []
        formats = [] if folder is None else [CSVOutputFormat(Path(folder) / "progress.csv")]
        self.logger = Logger(folder, formats)

    def save(self, path) -> None:
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump({"weights": self.weights, "num_timesteps": self.num_timesteps}, f)
        os.replace(tmp, path)
        self.saves.append((path, self.weights))

    def evaluate(self, split, **kwargs):
        self.eval_calls.append((split, kwargs))
        value = self.scores.pop(0)
        return value if isinstance(value, dict) else {"rougeL": value, "bleu": 0.5}

    def learn(self, total_timesteps: int, callback=None, progress_bar: bool = False) -> FakeAgent:
        """The learn loop of callbacks.py's module docstring."""
        callback = as_callback(callback, progress_bar)
        callback.init_callback(self)
        callback.on_training_start(locals(), globals())
        while self.num_timesteps < total_timesteps:
            callback.on_rollout_start()
            rollout = {"tokens": self.tokens_per_update}
            self.num_timesteps += rollout["tokens"]
            callback.update_locals(locals())
            callback.on_rollout_end()
            self.weights += 1
            if not callback.on_step():
                break
        callback.on_training_end()
        return self


class Recorder(BaseCallback):
    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.events: list[tuple[str, int, int]] = []
        self.stop_at = stop_at

    def _note(self, what: str) -> None:
        self.events.append((what, self.n_calls, self.num_timesteps))

    def _init_callback(self):
        self._note("init")

    def _on_training_start(self):
        self._note("start")

    def _on_rollout_start(self):
        self._note("rollout_start")

    def _on_rollout_end(self):
        self._note("rollout_end")
        assert self.locals["rollout"]["tokens"] == self.agent.tokens_per_update

    def _on_step(self):
        self._note("step")
        return self.stop_at is None or self.n_calls < self.stop_at

    def _on_training_end(self):
        self._note("end")


def test_hooks_order_counters_and_locals():
    agent = FakeAgent(tokens_per_update=7)
    rec = Recorder()
    agent.learn(20, rec)
    assert rec.agent is agent and rec.model is agent and rec.logger is agent.logger
    assert [e[0] for e in rec.events] == ["init", "start"] + ["rollout_start", "rollout_end", "step"] * 3 + ["end"]
    steps = [e for e in rec.events if e[0] == "step"]
    assert [(n, t) for _, n, t in steps] == [(1, 7), (2, 14), (3, 21)]
    assert rec.locals["total_timesteps"] == 20
    assert rec.n_calls == 3 and rec.num_timesteps == 21


def test_false_from_on_step_stops_training():
    agent = FakeAgent()
    agent.learn(1000, Recorder(stop_at=4))
    assert agent.weights == 4
    agent = FakeAgent()
    agent.learn(1000, lambda loc, glob: loc["self"].weights < 2)  # a function works too
    assert agent.weights == 2


def test_callback_list_runs_every_child_and_stops_if_one_says_so():
    a, b = Recorder(), Recorder(stop_at=2)
    agent = FakeAgent().learn(1000, [a, b])
    assert agent.weights == 2
    assert a.n_calls == b.n_calls == 2 and a.agent is b.agent is agent
    assert a.events[-1][0] == b.events[-1][0] == "end"
    with pytest.raises(TypeError, match="BaseCallback"):
        CallbackList([a, "b"])


def test_every_n_timesteps_and_max_updates():
    child = Recorder()
    agent = FakeAgent(tokens_per_update=7)
    agent.learn(1000, [EveryNTimesteps(20, child), StopTrainingOnMaxUpdates(10)])
    assert agent.weights == 10
    # tokens after each update: 7, 14, 21, ...; triggers once 20 tokens have passed since the last one
    assert [t for what, _, t in child.events if what == "step"] == [21, 42, 63]
    with pytest.raises(ValueError, match="n_steps"):
        EveryNTimesteps(0, child)
    with pytest.raises(ValueError, match="max_updates"):
        StopTrainingOnMaxUpdates(0)


def test_checkpoints_every_n_updates_keep_last(tmp_path):
    agent = FakeAgent(tokens_per_update=5)
    cb = CheckpointCallback(save_freq=2, save_path=tmp_path / "ckpt", name_prefix="scst", keep_last=2)
    agent.learn(50, cb)  # 10 updates: saves after updates 2, 4, 6, 8, 10
    assert [w for _, w in agent.saves] == [2, 4, 6, 8, 10]
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["scst_40_steps", "scst_50_steps"]
    assert json.loads((tmp_path / "ckpt" / "scst_50_steps").read_text()) == {"weights": 10, "num_timesteps": 50}
    all_kept = CheckpointCallback(save_freq=3, save_path=tmp_path / "all")
    FakeAgent(tokens_per_update=5).learn(50, all_kept)
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["agent_15_steps", "agent_30_steps",
                                                                    "agent_45_steps"]
    with pytest.raises(ValueError, match="save_freq"):
        CheckpointCallback(0, tmp_path)
    with pytest.raises(TypeError, match="save"):
        agent2 = FakeAgent()
        agent2.save = None
        agent2.learn(10, CheckpointCallback(1, tmp_path / "x"))


def test_eval_keeps_the_best_checkpoint_and_logs(tmp_path):
    scores = [0.10, 0.30, 0.20, 0.30, 0.35, 0.34]
    agent = FakeAgent(tokens_per_update=10, scores=scores, folder=tmp_path)
    ev = EvalCallback("validation", eval_freq=2, best_model_save_path=tmp_path / "best_dir",
                      log_path=tmp_path / "evals.json", eval_kwargs={"decode": "greedy"}, verbose=0)
    agent.learn(120, ev)  # 12 updates: evaluations after updates 2, 4, ..., 12
    assert len(agent.eval_calls) == 6 and agent.eval_calls[0] == ("validation", {"decode": "greedy"})
    assert ev.metric == "rougeL" and ev.best_score == 0.35
    best = json.loads((tmp_path / "best_dir" / "best").read_text())
    assert best == {"weights": 10, "num_timesteps": 100}  # the state at the 5th evaluation
    assert [w for _, w in agent.saves] == [2, 4, 10]  # new bests only (0.30 again is not better)
    history = json.loads((tmp_path / "evals.json").read_text())
    assert [h["rougeL"] for h in history] == scores and [h["best"] for h in history] == [1, 1, 0, 0, 1, 0]
    rows = _csv_rows(tmp_path / "progress.csv")
    assert [float(r["eval/rougeL"]) for r in rows] == scores
    assert [int(r["step"]) for r in rows] == [20, 40, 60, 80, 100, 120]
    assert all(float(r["eval/bleu"]) == 0.5 for r in rows)


def test_eval_early_stopping_threshold_and_lower_is_better(tmp_path):
    agent = FakeAgent(scores=[0.5, 0.4, 0.45, 0.5, 0.9])
    ev = EvalCallback(eval_freq=1, patience=3, min_delta=0.0, verbose=0)
    agent.learn(10_000, ev)
    assert agent.weights == 4 and ev.evals_without_improvement == 3  # stopped after 3 evals without a gain

    agent = FakeAgent(scores=[0.2, 0.5, 0.71, 0.6])
    stop = StopTrainingOnMetricThreshold(0.7)
    agent.learn(10_000, EvalCallback(eval_freq=1, callback_on_new_best=stop, verbose=0))
    assert agent.weights == 3 and stop.parent is not None

    loss = [{"nll": 3.0}, {"nll": 2.0}, {"nll": 2.5}, {"nll": 1.0}]
    agent = FakeAgent(scores=loss)
    ev = EvalCallback(eval_freq=1, metric="nll", higher_is_better=False, best_model_save_path=tmp_path, verbose=0)
    agent.learn(4 * agent.tokens_per_update, ev)
    assert ev.best_score == 1.0 and [w for _, w in agent.saves] == [1, 2, 4]

    agent = FakeAgent(scores=[0.1, 0.2, 0.3])
    ev = EvalCallback(eval_freq=5, eval_at_start=True, min_delta=0.05, verbose=0)
    agent.learn(5 * agent.tokens_per_update, ev)
    assert [h["n_calls"] for h in ev.evaluations] == [0, 5]  # the starting score, then update 5
    assert [h["best"] for h in ev.evaluations] == [True, True]


def test_eval_logs_intervals_and_after_eval_callbacks(tmp_path):
    ci = ScoreInterval(0.4, 0.35, 0.45, 0.95, 100, 1000)
    agent = FakeAgent(scores=[{"rougeL": ci}], folder=tmp_path)
    after = Recorder()
    agent.learn(agent.tokens_per_update, EvalCallback(eval_freq=1, callback_after_eval=after, verbose=0))
    row = _csv_rows(tmp_path / "progress.csv")[0]
    assert [float(row[f"eval/rougeL{k}"]) for k in ("", "_low", "_high")] == [0.4, 0.35, 0.45]
    assert after.n_calls == 1 and after.agent is agent


def test_eval_rejects_bad_results_and_agents():
    with pytest.raises(TypeError, match="mapping"):
        FakeAgent(scores=[{}]).learn(10, EvalCallback(eval_freq=1, verbose=0))
    with pytest.raises(TypeError, match="'rougeL'"):
        FakeAgent(scores=[{"rougeL": "high"}]).learn(10, EvalCallback(eval_freq=1, verbose=0))
    with pytest.raises(ValueError, match="cider"):
        FakeAgent(scores=[0.1]).learn(10, EvalCallback(eval_freq=1, metric="cider", verbose=0))
    agent = FakeAgent()
    agent.evaluate = None
    with pytest.raises(TypeError, match="evaluate"):
        agent.learn(10, EvalCallback(eval_freq=1))
    with pytest.raises(TypeError, match="num_timesteps"):
        Recorder().init_callback(object())
    with pytest.raises(ValueError, match="patience"):
        EvalCallback(patience=0)


def test_progress_bar_counts_tokens():
    buf = io.StringIO()
    bar = ProgressBarCallback(file=buf, mininterval=0)
    agent = FakeAgent(tokens_per_update=7)
    agent.learn(30, bar)  # 5 updates: 35 tokens (the last update overshoots the target)
    assert bar.pbar.n == 30 and bar.pbar.total == 30 and agent.num_timesteps == 35
    assert "30/30" in buf.getvalue() and "14/30" in buf.getvalue()
    resumed = ProgressBarCallback(file=io.StringIO())
    agent.learn(35 + 14, resumed)  # a second learn() call: the bar counts from where the agent is
    assert resumed.pbar.total == 14 and resumed.pbar.n == 14
    cb = as_callback(None, progress_bar=True)
    assert isinstance(cb, CallbackList) and isinstance(cb.callbacks[-1], ProgressBarCallback)


def test_as_callback_conversions():
    rec = Recorder()
    assert as_callback(rec) is rec
    assert isinstance(as_callback(None), CallbackList)
    assert isinstance(as_callback([rec]), CallbackList)
    assert isinstance(as_callback(lambda loc, glob: None), ConvertCallback)
    with pytest.raises(TypeError, match="callback"):
        as_callback(3)
