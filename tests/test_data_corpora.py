import gzip
import json

import pytest

from seq2seq_gym.data import load_path, make_task, word_tokenize

pytestmark = pytest.mark.needs_shared_data


def test_aeslc(shared_data):
    task = make_task("aeslc", root=shared_data)  # the parent folder is accepted
    assert task.sizes == {"train": 14436, "validation": 1960, "test": 1906}  # the README's counts
    assert task.metric == "rougeL"
    first = json.loads((shared_data / "aeslc" / "dev.jsonl").open(encoding="utf-8").readline())
    ex = task.split("validation")[0]
    assert ex.id == f"validation:{first['id']}"
    assert ex.source == word_tokenize(first["source"], lower=True)
    assert ex.references[0] == word_tokenize(first["target"], lower=True)
    assert len(ex.references) == 4
    assert max(len(e.references) for e in task.split("train")) == 1
    b = task.collate(task.split("test")[:8])
    assert b.refs.shape[:2] == (8, 4)


def test_load_path_reads_aeslc_references_and_ids_with_no_arguments(shared_data):
    """A user's path, no loader arguments: the four references of dev and the corpus' own ids."""
    path = shared_data / "aeslc" / "dev.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    task = load_path(path)
    got = {ex.id: ex for v in task.splits.values() for ex in v}
    assert sorted(got) == sorted(r["id"] for r in rows)  # every record, under its own id
    for r in rows[:300]:
        refs = [word_tokenize(t) for t in dict.fromkeys([r["target"], *r["references"]])]
        assert got[r["id"]].references == [x for i, x in enumerate(refs) if x not in refs[:i]]
    assert sum(len(ex.references) == 4 for ex in got.values()) > 0.9 * len(rows)


def test_scitldr_sentences_joined_and_several_references(shared_data):
    task = make_task("scitldr", root=shared_data / "scitldr", limit=50)
    rows = [json.loads(line) for line in (shared_data / "scitldr" / "test.jsonl").open(encoding="utf-8")][:50]
    ex = task.split("test")[0]
    assert ex.source == word_tokenize(" ".join(rows[0]["source"]), lower=True)
    assert ex.references == [word_tokenize(t, lower=True) for t in dict.fromkeys(rows[0]["target"])]
    assert sum(len(e.references) > 1 for e in task.split("test")) > 25
    assert ex.meta["title"] == rows[0]["title"]


@pytest.mark.parametrize("direction", ["en-de", "de-en"])
def test_multi30k(shared_data, direction):
    task = make_task("multi30k", root=shared_data, direction=direction, limit=300)
    raw = shared_data / "multi30k" / "raw"
    s, t = direction.split("-")
    with gzip.open(raw / f"val.{s}.gz", "rt", encoding="utf-8") as f:
        src = [next(f) for _ in range(3)]
    with gzip.open(raw / f"val.{t}.gz", "rt", encoding="utf-8") as f:
        tgt = [next(f) for _ in range(3)]
    for i in range(3):
        ex = task.split("validation")[i]
        assert ex.source == word_tokenize(src[i], lower=True)
        assert ex.references == [word_tokenize(tgt[i], lower=True)]
    assert task.metric == "bleu" and task.sizes == {"train": 300, "validation": 300, "test": 300}


def test_multi30k_full_line_counts(shared_data):
    task = make_task("multi30k", root=shared_data / "multi30k", test_set="test_2017_flickr")
    assert task.sizes["train"] == 29000 and task.sizes["validation"] == 1014
    assert task.info["test_set"] == "test_2017_flickr"
