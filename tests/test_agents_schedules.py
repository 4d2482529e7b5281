"""Schedules: values by hand, clamping, picklability, bad arguments."""

from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest

from seq2seq_gym.agents.schedules import (
    Constant,
    Cosine,
    Exponential,
    InverseSigmoid,
    Linear,
    MixerDelta,
    Schedule,
    as_schedule,
)


def test_values_by_hand():
    assert Constant(0.3)(0) == 0.3 and Constant(0.3)(1e9) == 0.3
    lin = Linear(1.0, 0.0)
    assert [lin(t) for t in (0, 0.25, 1.0, 2.0)] == [1.0, 0.75, 0.0, 0.0]
    assert Linear(0.0, 1.0, horizon=1000)(250) == 0.25  # a step count
    ex = Exponential(1.0, 0.01)
    assert ex(0) == 1.0 and ex(0.5) == pytest.approx(0.1) and ex(1.0) == 0.01 and ex(7) == 0.01
    cos = Cosine(2.0, 0.0, horizon=10)
    assert cos(0) == 2.0 and cos(5) == pytest.approx(1.0) and cos(10) == 0.0 and cos(2.5) == pytest.approx(1 + 2**-0.5)
    inv = InverseSigmoid(k=10.0)
    assert inv(0) == pytest.approx(10 / 11)
    assert inv(10 * math.log(10)) == pytest.approx(0.5)  # the midpoint at k ln k
    assert inv(1e6) == 0.0  # no overflow far out
    assert InverseSigmoid(k=10.0, start=0.5, end=0.1)(0) == pytest.approx(0.1 + 0.4 * 10 / 11)
    assert Linear(1.0, 0.0)(np.float32(0.5)) == 0.5  # numpy numbers are accepted


def test_ramps_are_monotone_between_their_ends():
    ts = np.linspace(0, 1.2, 50)
    for sched in (Linear(1.0, 0.1), Exponential(1.0, 0.1), Cosine(1.0, 0.1)):
        vals = [sched(float(t)) for t in ts]
        assert all(a >= b for a, b in itertools.pairwise(vals)), sched
        assert vals[0] == 1.0 and vals[-1] == 0.1
    rising = [Cosine(0.0, 1.0)(float(t)) for t in ts]
    assert all(a <= b for a, b in itertools.pairwise(rising))
    inv = [InverseSigmoid(100.0)(float(t)) for t in range(0, 2000, 37)]
    assert all(a > b for a, b in itertools.pairwise(inv))


def test_mixer_delta_follows_ranzato_algorithm_1():
    d = MixerDelta(step=2, every=5, max_delta=7, warmup=10)
    got = [d(t) for t in range(0, 40, 5)]
    assert got == [0, 0, 2, 4, 6, 7, 7, 7]
    assert isinstance(d(12), int)
    assert MixerDelta(1, 1, 3)(0) == 1  # without warmup the first stage starts at once


def test_schedules_are_state_free_and_picklable():
    for sched in (Constant(1.5), Linear(1.0, 0.0, horizon=3), Exponential(2.0, 0.5), Cosine(1.0, 0.0),
                  InverseSigmoid(5.0), MixerDelta(1, 2, 3)):
        assert isinstance(sched, Schedule)
        before = [sched(t) for t in (0, 1, 2, 2.5)]
        copy = pickle.loads(pickle.dumps(sched))
        assert copy == sched and repr(copy) == repr(sched)
        assert [copy(t) for t in (0, 1, 2, 2.5)] == before == [sched(t) for t in (0, 1, 2, 2.5)]
        with pytest.raises(AttributeError):
            sched.start = 0.0  # frozen


def test_bad_arguments():
    with pytest.raises(ValueError, match="t >= 0"):
        Linear(1.0, 0.0)(-0.1)
    with pytest.raises(ValueError, match="t >= 0"):
        Linear(1.0, 0.0)(float("nan"))
    with pytest.raises(TypeError, match="number"):
        Linear(1.0, 0.0)("0.5")
    with pytest.raises(ValueError, match="horizon"):
        Linear(1.0, 0.0, horizon=0)
    with pytest.raises(TypeError, match="start"):
        Cosine(float("inf"), 0.0)
    with pytest.raises(ValueError, match="same sign"):
        Exponential(1.0, 0.0)
    with pytest.raises(ValueError, match="k >= 1"):
        InverseSigmoid(0.5)
    with pytest.raises(ValueError, match="every"):
        MixerDelta(1, 0, 5)
    with pytest.raises(TypeError, match="step"):
        MixerDelta(1.5, 1, 5)


def test_as_schedule():
    assert as_schedule(3e-4) == Constant(3e-4)
    lin = Linear(1.0, 0.0)
    assert as_schedule(lin) is lin
    fn = lambda t: 1 - t  # noqa: E731
    assert as_schedule(fn) is fn
    with pytest.raises(TypeError, match="learning_rate"):
        as_schedule("fast", "learning_rate")
