"""Training states (model + optimizers + RNG + counters + history as one unit) and train_mle's exact resume."""

from __future__ import annotations

import csv
import json
import os
import random
from itertools import count

import numpy as np
import pytest
import torch

from seq2seq_gym.data import make_task
from seq2seq_gym.models import (
    CURVE_COLUMNS,
    ScheduledSampling,
    Seq2SeqModel,
    has_training_state,
    load_model,
    load_training_state,
    read_training_state_info,
    save_training_state,
    train_mle,
)

TASK = make_task("translation", num_train=48, num_validation=16, num_test=16)  # 6 batches of 8 per epoch


def fresh(dropout: float = 0.1, **kw) -> Seq2SeqModel:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return Seq2SeqModel.from_task(TASK, preset="tiny", dropout=dropout, **kw)


def weights(model: Seq2SeqModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def equal_states(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def no_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time_s"} for r in rows]


def trained_objects(seed: int = 0):
    """A model and an Adam optimizer after two updates, a scheduler and three kinds of generators."""
    model = fresh()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    batch = next(TASK.batches("train", batch_size=8))
    for _ in range(2):
        loss, _ = model.mle_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    gens = {"torch": torch.Generator().manual_seed(seed), "numpy": np.random.default_rng(seed),
            "random": random.Random(seed)}
    draw(gens)  # advance past the seeded states
    return model, opt, sched, gens


def draw(gens) -> tuple:
    return (torch.rand(4, generator=gens["torch"]).tolist(), gens["numpy"].random(4).tolist(),
            [gens["random"].random() for _ in range(4)])


# ------------------------------------------------------------ the unit itself
def test_training_state_round_trip(tmp_path):
    model, opt, sched, gens = trained_objects()
    d = tmp_path / "state"
    save_training_state(d, model, step=7, stateful={"optimizer": opt, "scheduler": sched}, generators=gens,
                        state={"epoch": 1, "history": [0.5, 0.25]}, files={"curves.csv": "step\n1\n"})
    assert has_training_state(d) and read_training_state_info(d) == (7, {"epoch": 1, "history": [0.5, 0.25]})
    assert sorted(os.listdir(d)) == ["config.json", "curves.csv", "model.safetensors", "training_state.json",
                                     "training_state.pt", "vocab.txt"]
    expected = draw(trained_objects()[3])  # what copies of the saved generators draw next

    model2, gens2 = fresh(), trained_objects(seed=99)[3]
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    ts = load_training_state(d, model2, stateful={"optimizer": opt2, "scheduler": sched2}, generators=gens2)
    assert ts.model is model2 and ts.step == 7 and ts.state["history"] == [0.5, 0.25]
    assert equal_states(weights(model2), weights(model))
    assert sched2.state_dict() == sched.state_dict() and opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for s1, s2 in zip(opt.state_dict()["state"].values(), opt2.state_dict()["state"].values()):
        assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert draw(gens2) == expected
    # the directory is a plain model checkpoint too
    assert equal_states(weights(load_model(d)), weights(model))
    assert equal_states(weights(load_training_state(d).model), weights(model))


def test_torch_rng_is_saved_and_restored_only_on_request(tmp_path):
    model = fresh()
    with torch.random.fork_rng():
        torch.manual_seed(5)
        save_training_state(tmp_path / "s", model, step=0)
        want = torch.rand(3)
    outside = torch.get_rng_state()
    ts = load_training_state(tmp_path / "s")
    assert torch.equal(torch.get_rng_state(), outside)  # loading does not touch the global generator
    with torch.random.fork_rng():
        ts.restore_torch_rng()
        assert torch.equal(torch.rand(3), want)
    save_training_state(tmp_path / "n", model, step=0, torch_rng=False)
    with pytest.raises(ValueError, match="without torch_rng"):
        load_training_state(tmp_path / "n").restore_torch_rng()


def test_rejected_loads_change_nothing(tmp_path):
    model, opt, _, gens = trained_objects()
    d = tmp_path / "state"
    save_training_state(d, model, step=3, stateful={"optimizer": opt}, generators={"g": gens["torch"]})

    other = fresh(hidden_dim=40)
    with pytest.raises(ValueError, match=r"model does not match .*hidden_dim=40 \(saved 32\)"):
        load_training_state(d, other)
    target = fresh()
    target_opt = torch.optim.Adam(target.parameters(), lr=1e-2)
    before, before_opt = weights(target), json.dumps(str(target_opt.state_dict()))
    g = torch.Generator().manual_seed(1)
    g_state = g.get_state()
    with pytest.raises(ValueError, match=r"stateful\['sched'\].*has no such entry"):
        load_training_state(d, target, stateful={"optimizer": target_opt, "sched": target_opt}, generators={"g": g})
    with pytest.raises(ValueError, match=r"generators\['g'\] is a numpy generator but a torch one was saved"):
        load_training_state(d, target, stateful={"optimizer": target_opt}, generators={"g": np.random.default_rng()})
    # an optimizer over other parameters: fails inside load_state_dict, after the model was loaded: rolled back
    wrong_opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=1e-2)
    with pytest.raises(ValueError, match=r"stateful\['optimizer'\] does not fit"):
        load_training_state(d, target, stateful={"optimizer": wrong_opt}, generators={"g": g})
    assert equal_states(weights(target), before) and json.dumps(str(target_opt.state_dict())) == before_opt
    assert torch.equal(g.get_state(), g_state)


def test_mixed_or_edited_training_states_are_refused(tmp_path):
    model, opt, _, _ = trained_objects()
    d = tmp_path / "state"
    save_training_state(d, model, step=3, stateful={"optimizer": opt})
    (d / "metrics.json").write_text("{}")
    fresh().save(d)  # a model saved later over the training state: the model files change, the rest stays
    assert sorted(os.listdir(d)) == ["config.json", "metrics.json", "model.safetensors", "training_state.json",
                                     "training_state.pt", "vocab.txt"]
    with pytest.raises(ValueError, match="not the model this training state was saved with"):
        load_training_state(d)
    load_model(d)  # still a valid model checkpoint

    save_training_state(d, model, step=3, stateful={"optimizer": opt})
    assert (d / "metrics.json").exists()  # foreign files survive the training state's save too
    meta = json.loads((d / "training_state.json").read_text())
    meta["step"] = 4
    (d / "training_state.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="edited or corrupted"):
        load_training_state(d)
    save_training_state(d, model, step=3, stateful={"optimizer": opt})
    (d / "training_state.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="do not match"):
        load_training_state(d)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_training_state(tmp_path / "nothing")
    fresh().save(tmp_path / "model_only")
    with pytest.raises(FileNotFoundError, match="no training state"):
        load_training_state(tmp_path / "model_only")


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"step": -1}, ValueError, "step"),
    ({"step": 1.5}, ValueError, "step"),
    ({"step": 0, "state": {"x": object()}}, ValueError, "JSON-safe"),
    ({"step": 0, "files": {"config.json": "x"}}, ValueError, "part of the training state"),
    ({"step": 0, "files": {"../x": "x"}}, ValueError, "plain file names"),
    ({"step": 0, "generators": {"g": 3}}, TypeError, r"generators\['g'\]"),
    ({"step": 0, "stateful": {"o": 3}}, TypeError, r"stateful\['o'\]"),
])
def test_save_training_state_bad_arguments(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        save_training_state(tmp_path / "s", fresh(), **kwargs)
    assert not (tmp_path / "s").exists() and os.listdir(tmp_path) == []


# --------------------------------------------------------- train_mle resume
KW = dict(steps=15, batch_size=8, eval_every=4, progress=False, checkpoint_every=4,
          input_policy=None, seed=3)


class Interrupt(Exception):
    pass


def interrupt_at(step: int):
    def callback(s, model, row):
        if s == step:
            raise Interrupt

    return callback


def run(tmp_path, name, policy=None, **kw):
    model = fresh()
    hist = train_mle(model, TASK, checkpoint_dir=tmp_path / name, **{**KW, "input_policy": policy, **kw})
    return model, hist


@pytest.mark.parametrize("stop_at", [6, 9, 13])  # mid-epoch, just past an epoch boundary, near the end
def test_train_mle_interrupted_and_resumed_equals_uninterrupted(tmp_path, stop_at):
    """Dropout (global RNG), scheduled sampling (the local generator), Adam and the data order all continue."""
    policy = lambda: ScheduledSampling("constant", k=0.5)  # noqa: E731 - feeds its own samples half the time
    full, h_full = run(tmp_path, "full", policy())
    with pytest.raises(Interrupt):
        run(tmp_path, "cut", policy(), callback=interrupt_at(stop_at))
    saved_step, _ = read_training_state_info(tmp_path / "cut")
    assert saved_step == 4 * (stop_at // 4) and saved_step < stop_at  # the last periodic checkpoint
    resumed = fresh()
    h_res = train_mle(resumed, TASK, checkpoint_dir=tmp_path / "cut", resume=True, **{**KW, "input_policy": policy()})
    assert equal_states(weights(resumed), weights(full))  # bitwise
    assert no_time(h_res.train) == no_time(h_full.train) and h_res.eval == h_full.eval
    assert [r["step"] for r in h_res.train] == list(range(1, 16))
    assert (tmp_path / "cut" / "curves.csv").read_text().splitlines()[1:] != []
    a = load_training_state(tmp_path / "cut")
    b = load_training_state(tmp_path / "full")
    assert a.step == b.step == 15 and equal_states(weights(a.model), weights(b.model))


def test_train_mle_resume_checks_before_changing_anything(tmp_path):
    run(tmp_path, "ck", steps=8)
    before = (tmp_path / "ck" / "training_state.json").read_text()
    model = fresh()
    w = weights(model)
    with pytest.raises(ValueError, match=r"resume: .*batch_size=8, this call has batch_size=4"):
        train_mle(model, TASK, checkpoint_dir=tmp_path / "ck", resume=True, **{**KW, "batch_size": 4})
    with pytest.raises(ValueError, match=r"input_policy=None, this call has input_policy='ScheduledSampling'"):
        train_mle(model, TASK, checkpoint_dir=tmp_path / "ck", resume=True,
                  **{**KW, "input_policy": ScheduledSampling("constant", k=0.5)})
    with pytest.raises(ValueError, match=r"step 8 > steps=5"):
        train_mle(model, TASK, checkpoint_dir=tmp_path / "ck", resume=True, **{**KW, "steps": 5})
    assert equal_states(weights(model), w) and (tmp_path / "ck" / "training_state.json").read_text() == before
    # resuming a finished run does nothing more; extending it continues
    h = train_mle(model, TASK, checkpoint_dir=tmp_path / "ck", resume=True, **{**KW, "steps": 8})
    assert len(h.train) == 8 and (tmp_path / "ck" / "training_state.json").read_text() == before
    with pytest.raises(ValueError, match="need checkpoint_dir"):
        train_mle(model, TASK, resume=True, steps=2, progress=False)


def test_time_budget_stops_cleanly_with_an_injected_clock(tmp_path):
    ticks = count()
    clock = lambda: float(next(ticks))  # noqa: E731 - one second per call: start, then one call per update
    model, hist = run(tmp_path, "budget", time_budget=4.5, clock=clock)
    assert hist.stopped_early and hist.stop_reason == "time_budget"
    assert [r["step"] for r in hist.train] == [1, 2, 3, 4, 5]  # the update ending at t=5 >= 4.5 is the last
    assert [r["time_s"] for r in hist.train] == [1.0, 2.0, 3.0, 4.0, 5.0]
    step, state = read_training_state_info(tmp_path / "budget")
    assert step == 5 and state["position"] == [0, 5]  # saved at the stop, not only at checkpoint_every
    assert equal_states(weights(load_model(tmp_path / "budget")), weights(model))
    # a resumed run gets a fresh budget and continues; the clock keeps counting the training time
    resumed = fresh()
    h2 = train_mle(resumed, TASK, checkpoint_dir=tmp_path / "budget", resume=True, **KW, time_budget=100.0,
                   clock=lambda: float(next(ticks)))
    assert not h2.stopped_early and [r["step"] for r in h2.train] == list(range(1, 16))
    full, _ = run(tmp_path, "full")
    assert equal_states(weights(resumed), weights(full))
    with pytest.raises(ValueError, match="time_budget"):
        train_mle(fresh(), TASK, time_budget=0, steps=2, progress=False)


def test_curves_csv_has_the_training_and_validation_columns(tmp_path):
    _, hist = run(tmp_path, "c", steps=9)
    with open(tmp_path / "c" / "curves.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CURVE_COLUMNS
    assert [int(r["step"]) for r in rows] == list(range(1, 10))
    evaluated = [int(r["step"]) for r in rows if r["eval_nll"]]
    assert evaluated == [4, 8, 9]  # eval_every=4 and after the last update
    for r, h in zip(rows, hist.train):
        assert float(r["loss"]) == h["loss"] and float(r["time_s"]) == h["time_s"]
    assert [float(r["eval_nll"]) for r in rows if r["eval_nll"]] == [e["nll"] for e in hist.eval]
