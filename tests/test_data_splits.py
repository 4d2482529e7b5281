import numpy as np
import pytest

from seq2seq_gym.data import Example, Task, Vocab, batch_order, check_disjoint, split_examples
from seq2seq_gym.data.splits import hash_fraction


def examples(n, length=lambda i: 1 + i % 7):
    return [Example(f"e{i}", ["w"] * length(i), [["w"]]) for i in range(n)]


def test_hash_split_disjoint_stable_under_growth_and_order():
    exs = examples(1000)
    a = split_examples(exs, seed=3)
    ids = {k: {e.id for e in v} for k, v in a.items()}
    assert set(ids) == {"train", "validation", "test"}
    assert sum(map(len, ids.values())) == 1000
    assert not (ids["train"] & ids["test"] or ids["train"] & ids["validation"] or ids["validation"] & ids["test"])
    assert 850 < len(ids["train"]) < 950  # fractions hold on average
    # an example keeps its split when the corpus grows or is reordered
    b = split_examples(list(reversed(examples(1500))), seed=3)
    for k in ids:
        assert ids[k] <= {e.id for e in b[k]}
    c = split_examples(exs, seed=4)
    assert {e.id for e in c["test"]} != ids["test"]


def test_hash_fraction_uniform():
    u = np.array([hash_fraction(f"id{i}") for i in range(4000)])
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.03
    assert hash_fraction("x", 1) != hash_fraction("x", 2)


def test_permutation_split_exact_sizes():
    out = split_examples(examples(100), {"train": 0.7, "dev": 0.2, "test": 0.1}, method="permutation", seed=1)
    assert {k: len(v) for k, v in out.items()} == {"train": 70, "dev": 20, "test": 10}
    assert out == split_examples(examples(100), {"train": 0.7, "dev": 0.2, "test": 0.1}, method="permutation",
                                 seed=1)


def test_split_argument_errors():
    with pytest.raises(ValueError, match="sum to 1"):
        split_examples(examples(3), {"train": 0.5})
    with pytest.raises(ValueError, match="method"):
        split_examples(examples(3), method="random")
    with pytest.raises(ValueError, match="duplicate id 'e0'"):
        split_examples(examples(2) + examples(1))


def test_task_rejects_overlapping_splits():
    v = Vocab(["w"])
    exs = examples(3)
    with pytest.raises(ValueError, match="share the example id 'e1'"):
        Task("t", v, {"train": exs, "test": exs[1:2]})
    check_disjoint({"train": exs[:1], "test": exs[1:]})


def test_batch_order_covers_every_example_once():
    lens = np.random.default_rng(0).integers(1, 50, size=103)
    for bucket in (False, True):
        for shuffle in (False, True):
            groups = batch_order(lens, 10, shuffle=shuffle, seed=5, bucket=bucket, bucket_pool=3)
            flat = np.concatenate(groups)
            assert sorted(flat.tolist()) == list(range(103))
            assert all(len(g) == 10 for g in groups[:-1]) or bucket
    g = batch_order(lens, 10, drop_last=True)
    assert len(g) == 10 and all(len(x) == 10 for x in g)
    with pytest.raises(ValueError, match="batch_size"):
        batch_order(lens, 0)


def test_bucketing_reduces_padding_and_is_deterministic():
    exs = examples(400, length=lambda i: 1 + (i * 37) % 60)
    task = Task("t", Vocab(["w"]), {"train": exs})

    def padding(bucket):
        total = 0
        for b in task.batches("train", 16, shuffle=True, seed=2, bucket=bucket):
            total += int((~b.src_mask).sum())
        return total

    plain, bucketed = padding(False), padding(True)
    assert bucketed < 0.25 * plain
    a = [b.ids for b in task.batches("train", 16, shuffle=True, seed=2, bucket=True)]
    b = [b.ids for b in task.batches("train", 16, shuffle=True, seed=2, bucket=True)]
    c = [b.ids for b in task.batches("train", 16, shuffle=True, seed=3, bucket=True)]
    assert a == b and a != c


def test_task_sample_and_repr():
    task = Task("t", Vocab(["w"]), {"train": examples(5), "test": []})
    b = task.sample("train", 3, np.random.default_rng(0))
    assert len(b) == 3
    with pytest.raises(ValueError, match="empty"):
        task.sample("test", 2, np.random.default_rng(0))
    assert "sizes={'train': 5, 'test': 0}" in repr(task)
