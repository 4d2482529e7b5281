import numpy as np
import pytest
import torch

from seq2seq_gym.data import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    Example,
    Task,
    Vocab,
    collate,
)


@pytest.fixture
def vocab():
    return Vocab.build([["the", "cat", "sat"], ["the", "dog", "sat"], ["the"]], max_size=3)


def test_vocab_order_and_specials(vocab):
    assert vocab.words[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert vocab.words[4:] == ["the", "sat", "cat"]  # by count, ties alphabetical
    assert vocab.token_to_id("dog") == UNK_ID
    assert len(vocab) == 7


def test_vocab_save_load_roundtrip(vocab, tmp_path):
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    assert path.read_text().splitlines()[0] == "the 3"
    assert Vocab.load(path) == vocab
    assert len(Vocab.load(path, max_size=1)) == 5


def test_vocab_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocabulary file not found"):
        Vocab.load(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        Vocab.load(tmp_path / "empty.txt")
    (tmp_path / "bad.txt").write_text("a 1\nb x\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2"):
        Vocab.load(tmp_path / "bad.txt")


def test_extended_ids_roundtrip(vocab):
    ids, oovs = vocab.encode_source(["the", "zorg", "sat", "zorg", "blip"])
    V = len(vocab)
    assert oovs == ["zorg", "blip"]
    assert ids == [4, V, 5, V, V + 1]
    assert vocab.decode(ids, oovs) == ["the", "zorg", "sat", "zorg", "blip"]
    assert vocab.encode_target(["blip", "nope"], oovs) == [V + 1, UNK_ID]
    capped, oovs1 = vocab.encode_source(["zorg", "blip"], max_oovs=1)
    assert capped == [V, UNK_ID] and oovs1 == ["zorg"]
    with pytest.raises(ValueError, match="copy slot"):
        vocab.decode([V + 5], oovs)


def test_reference_ids_never_match_unk(vocab):
    extra: dict[str, int] = {}
    V = len(vocab)
    r1 = vocab.encode_reference(["the", "zorg", "qux", "qux"], ["zorg"], extra)
    r2 = vocab.encode_reference(["quux", "qux"], ["zorg"], extra)
    assert r1 == [4, V, V + 1, V + 1]
    assert r2 == [V + 2, V + 1]
    assert UNK_ID not in r1 + r2
    # with K copy slots in the action space, private ids start past every one of them
    extra = {}
    r3 = vocab.encode_reference(["the", "zorg", "qux"], ["zorg"], extra, copy_slots=4)
    assert r3 == [4, V, V + 4]


def test_collate_puts_reference_only_words_outside_the_action_space(vocab):
    """Issue 10: a reference word no action can produce never gets an id in [0, V + K)."""
    from seq2seq_gym.data import collate

    V, K = len(vocab), 3
    batch = collate([Example("a", ["zorg", "sat"], [["zorg", "qux"]])], vocab, max_oovs=K)
    ids = batch.refs[0, 0, : int(batch.ref_lens[0, 0])].tolist()
    assert ids == [V, V + K]


def test_collate_shapes_and_masks(vocab):
    exs = [
        Example("a", ["the", "zorg", "sat"], [["zorg", "sat"], ["the", "cat", "x"]]),
        Example("b", ["cat"], [["the"]]),
    ]
    b = collate(exs, vocab, max_source_len=2)
    V = len(vocab)
    assert b.src.tolist() == [[4, UNK_ID], [6, PAD_ID]]
    assert b.src_ext.tolist() == [[4, V], [6, PAD_ID]]
    assert b.src_mask.tolist() == [[True, True], [True, False]]
    assert b.tgt_in.tolist() == [[BOS_ID, UNK_ID, 5], [BOS_ID, 4, PAD_ID]]
    assert b.tgt_out.tolist() == [[V, 5, EOS_ID], [4, EOS_ID, PAD_ID]]
    assert b.tgt_lens.tolist() == [3, 2]
    assert b.refs.shape == (2, 2, 3)
    assert b.ref_lens.tolist() == [[2, 3], [1, 0]]
    assert b.refs[0, 1, 2].item() == V + 1  # "x": neither vocab nor source OOV
    sub = b.select([1])
    assert sub.ids == ["b"] and sub.src.shape == (1, 2)


def test_collate_rejects_empty(vocab):
    with pytest.raises(ValueError, match="empty source"):
        collate([Example("e", [], [["the"]])], vocab)
    with pytest.raises(ValueError, match="empty reference"):
        collate([Example("e", ["the"], [[]])], vocab)


def test_collate_images(vocab):
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    b = collate([Example("i", img, [["the", "cat"]]), Example("j", img, [["cat"]])], vocab)
    assert b.src is None and b.src_feats.shape == (2, 8, 8, 3)
    assert b.src_feats.dtype == torch.float32


def test_task_batches_deterministic(vocab):
    exs = [Example(str(i), ["the"] * (i + 1), [["cat"]]) for i in range(10)]
    task = Task("toy", vocab, {"train": exs})
    a = [b.ids for b in task.batches("train", 3, shuffle=True, seed=1)]
    b = [b.ids for b in task.batches("train", 3, shuffle=True, seed=1)]
    c = [b.ids for b in task.batches("train", 3, shuffle=True, seed=2)]
    assert a == b and a != c
    assert sorted(i for ids in a for i in ids) == sorted(e.id for e in exs)
    with pytest.raises(KeyError, match="known"):
        task.split("dev")


def test_cut_sources_and_targets_warn_once_with_the_count(vocab):
    """Truncation at batching time is explicit: one counted DataWarning per task and kind, not an INFO line."""
    import warnings

    from seq2seq_gym.data import DataWarning

    exs = [Example(f"e{i}", ["the"] * (6 if i in (1, 4, 8) else 2), [["cat"] * (5 if i == 2 else 1)])
           for i in range(10)]
    task = Task("toy", vocab, {"train": exs[:8], "test": exs[8:]}, max_source_len=4, max_target_len=3)
    with pytest.warns(DataWarning) as rec:
        b = task.collate(exs[:5])
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 2
    assert "task 'toy': sources longer than max_source_len=4 tokens are cut to their first 4" in msgs[0]
    assert "3 of 10 sources in the task's splits: train 2, test 1" in msgs[0]
    assert "training targets longer than max_target_len=3 tokens are cut to their first 3" in msgs[1]
    assert "1 of 10" in msgs[1] and "references scored by rewards are kept whole" in msgs[1]
    assert b.src.shape[1] == 4 and int(b.src_lens.max()) == 4  # cut, as announced
    assert int(b.ref_lens.max()) == 5  # the reward's references are not cut
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per task: later batches are quiet
        list(task.batches("train", 3))
        task.sample("test", 4, np.random.default_rng(0))
        Task("short", vocab, {"train": exs[:1]}, max_source_len=4).collate(exs[:1])  # nothing cut, no warning
