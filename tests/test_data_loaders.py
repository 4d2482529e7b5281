import gzip
import hashlib
import json

import numpy as np
import pytest

from seq2seq_gym.data import (
    DataWarning,
    WordTokenizer,
    load_cnn_dm_task,
    load_jsonl_task,
    load_karpathy_task,
    load_parallel_task,
    load_path,
    load_tsv_task,
    make_task,
)
from seq2seq_gym.data.loaders import read_jsonl
from seq2seq_gym.data.loaders.cnn_dm import fix_missing_period, parse_story, read_bin, split_abstract, write_bin


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- JSONL / TSV
def test_jsonl_strings_lists_and_references(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [
        {"id": "a", "body": "The cat sat.", "subject": "Cat", "more": ["cat sits", "Cat"]},
        {"id": "b", "body": ["First sentence.", "Second one."], "subject": ["ref one", "ref two"]},
    ])
    test = write_jsonl(tmp_path / "test.jsonl", [{"id": "c", "body": "A dog.", "subject": "Dog"}])
    task = load_jsonl_task(train=train, test=test, source_field="body", target_field="subject",
                           references_field="more", id_field="id", lower=True, vocab_size=None)
    a, b = task.split("train")
    assert a.id == "train:a" and a.source == ["the", "cat", "sat", "."]
    assert a.references == [["cat"], ["cat", "sits"]]  # the repeated "Cat" is dropped
    assert b.source == ["first", "sentence", ".", "second", "one", "."]  # sentences joined
    assert b.references == [["ref", "one"], ["ref", "two"]]  # a list of strings is several references
    assert task.split("test")[0].id == "test:c"
    assert "sat" in task.vocab and "dog" not in task.vocab  # vocabulary from train only
    assert task.detokenize(["the", "cat", "."]) == "the cat."


def test_jsonl_pretokenized_and_make_task(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"src": [["A", "b"], ["c"]], "tgt": [["x", "y"], ["z"]]},
        {"src": ["p", "q"], "tgt": ["r"]},
    ])
    task = make_task("jsonl", train=path, source_field="src", target_field="tgt", pretokenized=True, lower=True)
    ex0, ex1 = task.split("train")
    assert ex0.source == ["a", "b", "c"] and ex0.references == [["x", "y"], ["z"]]
    assert ex1.source == ["p", "q"] and ex1.references == [["r"]]
    assert ex0.id == "train:d:1"


def test_jsonl_data_split_is_disjoint_and_stable(tmp_path):
    rows = [{"source": f"word{i} text", "target": f"t{i}"} for i in range(200)]
    path = write_jsonl(tmp_path / "all.jsonl", rows)
    t1 = load_jsonl_task(data=path, fractions={"train": 0.8, "test": 0.2})
    t2 = load_jsonl_task(data=path, fractions={"train": 0.8, "test": 0.2})
    ids = {k: {e.id for e in v} for k, v in t1.splits.items()}
    assert not ids["train"] & ids["test"] and len(ids["train"]) + len(ids["test"]) == 200
    assert ids == {k: {e.id for e in v} for k, v in t2.splits.items()}
    assert 120 < len(ids["train"]) < 190
    with pytest.raises(ValueError, match="either data="):
        load_jsonl_task(train=path, data=path)


def test_tsv_header_and_several_reference_columns(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("id\tsrc\tref1\tref2\nx1\tHello world\tHi\tHey there\nx2\tGood bye\tBye\t\n", encoding="utf-8")
    task = load_tsv_task(train=p, header=True, source_column="src", target_columns=["ref1", "ref2"],
                         id_column="id", lower=True)
    e1, e2 = task.split("train")
    assert e1.id == "train:x1" and e1.source == ["hello", "world"] and e1.references == [["hi"], ["hey", "there"]]
    assert e2.references == [["bye"]]  # an empty further reference column is dropped
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nonly-one-column\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv:2: expected at least 2"):
        load_tsv_task(train=bad)
    with pytest.raises(ValueError, match="header=False"):
        load_tsv_task(train=bad, source_column="src")


# ----------------------------------------------------------------------------- bad input
def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train: file not found: .*nope\.jsonl"):
        load_jsonl_task(train=tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="train: file is empty"):
        load_jsonl_task(train=tmp_path / "empty.jsonl")
    (tmp_path / "blank.jsonl").write_text("\n  \n")
    with pytest.raises(ValueError, match="only white space"):
        load_jsonl_task(train=tmp_path / "blank.jsonl")


def test_malformed_jsonl_line_reports_file_and_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"source": "a", "target": "b"}\n\n{"source": "a", "target": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.jsonl:3: malformed JSON"):
        load_jsonl_task(train=p)
    p.write_text('{"source": "a"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.jsonl:1: missing field 'target'"):
        load_jsonl_task(train=p)
    p.write_text('[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.jsonl:1: expected a JSON object"):
        load_jsonl_task(train=p)
    p.write_text('{"source": 3, "target": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.jsonl:1: field 'source' must be"):
        load_jsonl_task(train=p)


def test_empty_examples_skip_with_count_or_raise(tmp_path):
    p = write_jsonl(tmp_path / "e.jsonl", [
        {"source": "ok", "target": "fine"},
        {"source": "", "target": "x"},
        {"source": "...", "target": "y"},  # tokens exist: punctuation only is not empty
        {"source": "z", "target": ""},
        {"source": "  ", "target": "w"},
    ])
    with pytest.warns(DataWarning) as rec:
        task = load_jsonl_task(train=p)
    msgs = sorted(str(w.message).split(": ", 1)[1] for w in rec)
    assert msgs == ["skipped 1 example(s) with an empty reference (line 4)",
                    "skipped 2 example(s) with an empty source (line 2, line 5)"]
    assert [e.source for e in task.split("train")] == [["ok"], [".", ".", "."]]
    with pytest.raises(ValueError, match=r"e\.jsonl:2: an empty source"):
        load_jsonl_task(train=p, on_error="raise")
    with pytest.raises(ValueError, match="on_error"):
        load_jsonl_task(train=p, on_error="ignore")
    only_bad = write_jsonl(tmp_path / "b.jsonl", [{"source": "", "target": "x"}])
    with pytest.warns(DataWarning), pytest.raises(ValueError, match="no usable examples"):
        load_jsonl_task(train=only_bad)


def test_non_utf8_bytes_are_replaced_and_counted(tmp_path):
    p = tmp_path / "u.jsonl"
    p.write_bytes(b'{"source": "caf\xe9 ok", "target": "b"}\n{"source": "x\xff\xfe", "target": "c"}\n')
    with pytest.warns(DataWarning, match=r"replaced 3 invalid UTF-8 byte\(s\) on 2 line\(s\) \(first at line 1\)"):
        task = load_jsonl_task(train=p)
    assert task.split("train")[0].source == ["caf", "\ufffd", "ok"]


def test_repeated_ids_keep_a_suffix_or_raise_naming_the_option(tmp_path):
    rows = [{"id": 1, "source": "a", "target": "b"}, {"id": "x", "source": "c", "target": "d"},
            {"id": 1, "source": "e", "target": "f"}, {"id": 1, "source": "g", "target": "h"}]
    p = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.warns(DataWarning, match=r"2 repeated example id\(s\) kept with a '#k' suffix .*duplicate_ids='raise'"):
        task = load_jsonl_task(train=p, id_field="id")
    exs = task.split("train")
    assert [ex.id for ex in exs] == ["train:1", "train:x", "train:1#2", "train:1#3"]
    assert [ex.source for ex in exs] == [["a"], ["c"], ["e"], ["g"]]  # nothing dropped
    assert exs[2].meta["repeat_of"] == "train:1" and "repeat_of" not in exs[0].meta
    with pytest.raises(ValueError, match=r"d.jsonl:3: repeated example id 'train:1' \(first at .*d.jsonl:1\); "
                                         r"pass duplicate_ids='suffix'"):
        load_jsonl_task(train=p, duplicate_ids="raise")
    with pytest.raises(ValueError, match="duplicate_ids must be one of"):
        load_jsonl_task(train=p, duplicate_ids="drop")
    # a repeat whose suffixed id is taken moves on to the next free one
    q = write_jsonl(tmp_path / "q.jsonl", [{"id": "a", "source": "s", "target": "t"},
                                          {"id": "a#2", "source": "s", "target": "t"},
                                          {"id": "a", "source": "s", "target": "t"}])
    with pytest.warns(DataWarning):
        assert [ex.id for ex in read_jsonl(q)] == ["a", "a#2", "a#3"]
    # ids repeated across the files of one split
    r = write_jsonl(tmp_path / "r.jsonl", [{"id": 1, "source": "a", "target": "b"}])
    with pytest.warns(DataWarning, match="1 repeated"):
        assert [ex.id for ex in load_jsonl_task(train=[r, r]).split("train")] == ["train:1", "train:1#2"]
    # TSV id columns follow the same policy
    t = tmp_path / "d.tsv"
    t.write_text("k\ta\tb\nk\tc\td\n")
    with pytest.warns(DataWarning, match="1 repeated"):
        assert [ex.id for ex in load_tsv_task(train=t, id_column=0, source_column=1, target_columns=2)
                .split("train")] == ["train:k", "train:k#2"]
    with pytest.raises(ValueError, match="duplicate_ids='suffix'"):
        load_tsv_task(train=t, id_column=0, source_column=1, target_columns=2, duplicate_ids="raise")


def test_repeated_ids_share_a_hash_split(tmp_path):
    rows = [{"id": f"pkg{i % 40}", "source": f"w{i} text", "target": f"t{i}"} for i in range(200)]
    p = write_jsonl(tmp_path / "all.jsonl", rows)
    with pytest.warns(DataWarning, match="160 repeated"):
        task = load_jsonl_task(data=p)
    owner = {}
    for split, exs in task.splits.items():
        for ex in exs:
            owner.setdefault(ex.meta.get("repeat_of", ex.id), set()).add(split)
    assert len(owner) == 40 and all(len(s) == 1 for s in owner.values())
    assert sum(task.sizes.values()) == 200


def test_record_ids_and_references_are_read_by_default(tmp_path):
    rows = [{"id": "m1", "source": "Body one.", "target": "Subject", "references": ["Subject", "Other one"]},
            {"id": "m2", "source": "Body two.", "references": ["Only refs", "Second"]},  # no target field
            {"source": "Body three.", "target": "T"}]  # no id, no references
    p = write_jsonl(tmp_path / "train.jsonl", rows)
    a, b, c = load_path(tmp_path).split("train")  # a directory with train.jsonl
    assert (a.id, b.id, c.id) == ("train:m1", "train:m2", "train:train:3")
    assert a.references == [["Subject"], ["Other", "one"]]  # target first, repeats dropped
    assert b.references == [["Only", "refs"], ["Second"]] and b.target == ["Only", "refs"]
    assert c.references == [["T"]]
    one = load_path(p).splits  # a single file, cut by id hash: the ids are the records' own
    assert sorted(ex.id for v in one.values() for ex in v) == ["m1", "m2", "train:3"]
    # the old behaviour stays one argument away
    plain = load_jsonl_task(train=write_jsonl(tmp_path / "x.jsonl", [rows[0], rows[2]]), id_field=None,
                            references_field=None).split("train")
    assert [ex.id for ex in plain] == ["train:x:1", "train:x:2"] and plain[0].references == [["Subject"]]
    with pytest.raises(ValueError, match=r"missing field 'target' and no 'references' field"):
        load_jsonl_task(train=write_jsonl(tmp_path / "y.jsonl", [{"source": "s"}]))
    with pytest.raises(ValueError, match=r"y.jsonl:1: missing id field 'key'"):
        load_jsonl_task(train=write_jsonl(tmp_path / "y.jsonl", [{"source": "s", "target": "t"}]), id_field="key")
    with pytest.raises(ValueError, match=r"id field 'id' must be a non-empty string or an integer.*id_field=None"):
        load_jsonl_task(train=write_jsonl(tmp_path / "y.jsonl", [{"id": [1], "source": "s", "target": "t"}]))


def test_overlapping_splits_raise(tmp_path):
    one = write_jsonl(tmp_path / "one.jsonl", [{"source": "a", "target": "b"}])
    # the same story in two splits of a CNN/DM-style loader (ids without split prefix) must be rejected
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "abc.story").write_text("text\n\n@highlight\n\nhl\n")
    with pytest.raises(ValueError, match="share the example id 'abc'"):
        load_cnn_dm_task(train=tmp_path / "s", test=tmp_path / "s")
    assert load_jsonl_task(train=one, test=one).sizes == {"train": 1, "test": 1}  # prefixed ids: distinct


# ----------------------------------------------------------------------------- CNN / DailyMail
STORY = """(CNN) -- The cat sat on the mat

It was "happy" about it.

@highlight

Cat sits on mat

@highlight

It was happy!
"""


def test_parse_story_and_period_fixing():
    assert fix_missing_period("a b") == "a b ."
    assert fix_missing_period('he said "no"') == 'he said "no"'
    assert fix_missing_period("") == ""
    art, hl = parse_story(STORY)
    assert art == ["(cnn) -- the cat sat on the mat .", 'it was "happy" about it.']
    assert hl == ["cat sits on mat .", "it was happy!"]
    art, hl = parse_story(STORY, lower=False, fix_periods=False)
    assert art[0] == "(CNN) -- The cat sat on the mat" and hl[0] == "Cat sits on mat"


def test_split_abstract():
    assert split_abstract("<s> a b . </s> <s> c . </s>") == ["a b .", "c ."]
    assert split_abstract("no tags here") == ["no tags here"]


def test_cnn_dm_stories_with_url_lists(tmp_path):
    root = tmp_path / "cnndm"
    (root / "cnn" / "stories").mkdir(parents=True)
    (root / "url_lists").mkdir()
    urls = {"train": ["http://a/1", "http://a/2"], "val": ["http://a/3"], "test": ["http://a/4"]}
    for split, us in urls.items():
        (root / "url_lists" / f"all_{split}.txt").write_text("\n".join(us) + "\n")
        for u in us:
            name = hashlib.sha1(u.encode()).hexdigest()  # independent of our url_hash()
            (root / "cnn" / "stories" / f"{name}.story").write_text(STORY.replace("cat", f"cat{u[-1]}"))
    task = make_task("cnn_dm", root=root)
    assert task.sizes == {"train": 2, "validation": 1, "test": 1}
    ex = task.split("validation")[0]
    assert ex.id == hashlib.sha1(b"http://a/3").hexdigest()
    assert ex.source[:8] == ["(", "cnn", ")", "-", "-", "the", "cat3", "sat"]
    assert ex.references[0] == ["cat", "sits", "on", "mat", ".", "it", "was", "happy", "!"]
    assert task.info["format"] == "story"


def test_cnn_dm_stories_hash_split_without_url_lists(tmp_path):
    for i in range(40):
        (tmp_path / f"s{i:02d}.story").write_text(f"Article {i} text\n\n@highlight\n\nsummary {i}\n")
    (tmp_path / "s40.story").write_text("@highlight\n\nonly a highlight\n")
    with pytest.warns(DataWarning, match="empty article"):
        task = load_cnn_dm_task(root=tmp_path, fractions={"train": 0.5, "test": 0.5}, lower=False, fix_periods=False)
    assert sum(task.sizes.values()) == 40 and min(task.sizes.values()) > 5
    ex = next(e for e in task.split("train") + task.split("test") if e.id == "s07")
    assert ex.source == ["Article", "7", "text"] and ex.references == [["summary", "7"]]


def test_cnn_dm_bin_written_and_parsed_back(tmp_path):
    chunked = tmp_path / "finished_files" / "chunked"
    chunked.mkdir(parents=True)
    pairs = [("the cat sat on the mat .", ["cat sits .", "on mat ."]), ("a dog ran .", ["dog runs ."])]
    write_bin(chunked / "train_000.bin", pairs[:1])
    write_bin(chunked / "train_001.bin", pairs[1:])
    write_bin(chunked / "test_000.bin", [("an owl flew .", ["owl flies ."]), ("", ["empty article ."])])
    (tmp_path / "finished_files" / "vocab").write_text("the 10\ncat 5\nsat 2\n")
    with pytest.warns(DataWarning, match="skipped 1 example"):
        task = load_cnn_dm_task(root=tmp_path)
    assert task.info["format"] == "bin" and task.sizes == {"train": 2, "test": 1}
    a = task.split("train")[0]
    assert a.id == "train:train_000:0" and a.source == ["the", "cat", "sat", "on", "the", "mat", "."]
    assert a.references == [["cat", "sits", ".", "on", "mat", "."]] and a.meta["highlights"] == 2
    assert task.vocab.words[4:] == ["the", "cat", "sat"]  # the pipeline's vocab file was found and used
    with pytest.raises(ValueError, match="empty article"):
        read_bin(chunked / "test_000.bin", on_error="raise")


def test_cnn_dm_bin_missing_feature(tmp_path):
    from seq2seq_gym.data.protobuf import encode_example, write_bin_records

    p = tmp_path / "x.bin"
    write_bin_records(p, [encode_example({"article": [b"a b"]})])
    with pytest.raises(ValueError, match="record 0: missing feature 'abstract'"):
        load_cnn_dm_task(train=p)


# ----------------------------------------------------------------------------- captioning
def karpathy_json(tmp_path, n=6):
    images = []
    for i in range(n):
        images.append({
            "filename": f"COCO_{i:04d}.jpg", "imgid": i, "cocoid": 100 + i,
            "split": ["train", "restval", "val", "test", "train", "train"][i % 6],
            "sentences": [{"tokens": ["a", "cat", str(i)], "raw": f"A cat {i}."},
                          {"tokens": ["one", "cat"], "raw": "One cat!"}],
        })
    p = tmp_path / "dataset_coco.json"
    p.write_text(json.dumps({"images": images, "dataset": "coco"}))
    return p


def test_karpathy_per_image_directory(tmp_path):
    ann = karpathy_json(tmp_path)
    d = tmp_path / "feats"
    d.mkdir()
    for i in range(6):
        if i % 2:
            np.save(d / f"{100 + i}.npy", np.full((4, 8), i, dtype=np.float32))  # grid features [N, F]
        else:
            np.savez(d / f"{100 + i}.npz", feat=np.full((4, 8), i, dtype=np.float32))
    task = make_task("karpathy", annotations=ann, features=d, min_count=1)
    assert task.modality == "image" and task.metric == "cider"
    assert task.sizes == {"train": 4, "validation": 1, "test": 1}  # restval joined train
    ex = task.split("validation")[0]
    assert ex.id == "img:102" and ex.source.shape == (4, 8) and float(ex.source[0, 0]) == 2.0
    assert ex.references == [["a", "cat", "2"], ["one", "cat"]]
    b = task.collate(task.split("train"))
    assert b.src_feats.shape == (4, 4, 8) and b.refs.shape[1] == 2


def test_karpathy_stacked_npy_npz_and_raw_images(tmp_path):
    ann = karpathy_json(tmp_path)
    stacked = np.arange(6 * 5, dtype=np.float32).reshape(6, 5)  # vector features [F], row i = imgid i
    np.save(tmp_path / "f.npy", stacked)
    t1 = load_karpathy_task(ann, features=tmp_path / "f.npy", restval=None, min_count=1)
    assert set(t1.splits) == {"train", "restval", "validation", "test"}
    assert np.array_equal(t1.split("test")[0].source, stacked[3])
    np.savez(tmp_path / "f.npz", features=stacked[::-1], ids=np.array([105, 104, 103, 102, 101, 100]))
    t2 = load_karpathy_task(ann, features=tmp_path / "f.npz", min_count=1)
    assert np.array_equal(t2.split("test")[0].source, stacked[3])
    (tmp_path / "index.txt").write_text("\n".join(f"COCO_{i:04d}" for i in range(6)))
    t3 = load_karpathy_task(ann, features=tmp_path / "f.npy", feature_key="filename",
                            feature_index=tmp_path / "index.txt", use_raw=True, min_count=1)
    assert t3.split("test")[0].references == [["a", "cat", "3"], ["one", "cat"]]
    imgs = {str(100 + i): np.full((8, 8, 3), i, dtype=np.uint8) for i in range(5)}  # image 105 missing
    with pytest.warns(DataWarning, match="skipped 1 example"):
        t4 = load_karpathy_task(ann, images=imgs, min_count=1)
    assert t4.split("validation")[0].source.shape == (8, 8, 3)
    with pytest.raises(ValueError, match="uint8"):
        load_karpathy_task(ann, images={"100": np.zeros((8, 8), dtype=np.float32)})
    with pytest.raises(ValueError, match="pass features="):
        load_karpathy_task(ann)


def test_karpathy_shape_mismatch_and_bad_json(tmp_path):
    ann = karpathy_json(tmp_path, n=2)
    feats = {"100": np.zeros(4), "101": np.zeros(5)}
    with pytest.raises(ValueError, match="shape"):
        load_karpathy_task(ann, features=feats)
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [')
    with pytest.raises(ValueError, match="malformed JSON"):
        load_karpathy_task(bad, features=feats)


# ----------------------------------------------------------------------------- parallel
def gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(x + "\n" for x in lines))
    return path


def test_parallel_gzip_and_plain(tmp_path):
    src = gz(tmp_path / "train.en.gz", ["A man runs.", "Two dogs."])
    tgt = gz(tmp_path / "train.de.gz", ["Ein Mann läuft.", "Zwei Hunde."])
    (tmp_path / "t.en").write_text("A dog.\n")
    (tmp_path / "t.de").write_text("Ein Hund.\n")
    (tmp_path / "t2.de").write_text("Hund.\n")
    task = make_task("parallel", train=(src, tgt), test=(tmp_path / "t.en", [tmp_path / "t.de", tmp_path / "t2.de"]))
    assert task.metric == "bleu"
    assert task.split("train")[0].source == ["a", "man", "runs", "."]
    assert task.split("train")[0].references == [["ein", "mann", "läuft", "."]]
    assert task.split("test")[0].references == [["ein", "hund", "."], ["hund", "."]]
    assert "läuft" in task.vocab and "runs" in task.vocab  # one vocabulary for both languages


def test_parallel_inconsistent_files_name_both_counts(tmp_path):
    src = gz(tmp_path / "a.en.gz", ["one", "two", "three"])
    tgt = gz(tmp_path / "a.de.gz", ["eins", "zwei"])
    with pytest.raises(ValueError, match=r"a\.en\.gz has 3 lines, .*a\.de\.gz has 2 lines"):
        load_parallel_task(train=(src, tgt))


def test_parallel_empty_line_skipped_keeps_alignment(tmp_path):
    src = gz(tmp_path / "a.en.gz", ["one", "", "three"])
    tgt = gz(tmp_path / "a.de.gz", ["eins", "zwei", "drei"])
    with pytest.warns(DataWarning, match=r"skipped 1 example\(s\) with an empty source \(line 2\)"):
        task = load_parallel_task(train=(src, tgt))
    assert [(e.id, e.references[0]) for e in task.split("train")] == [("train:1", ["eins"]), ("train:3", ["drei"])]
    with pytest.raises(ValueError, match=r"a\.en\.gz:2: an empty source"):
        load_parallel_task(train=(src, tgt), on_error="raise")
    with pytest.raises(TypeError, match="pair"):
        load_parallel_task(train=src)


def test_custom_tokenizer_object_is_kept(tmp_path):
    p = write_jsonl(tmp_path / "x.jsonl", [{"source": "A, b", "target": "c"}])
    tok = WordTokenizer(lower=True, punct=False)
    task = load_jsonl_task(train=p, tokenizer=tok)
    assert task.split("train")[0].source == ["a", "b"] and task.tokenizer is tok


def test_corpus_root_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="root"):
        make_task("aeslc", root=tmp_path)
    with pytest.raises(ValueError, match="root="):
        make_task("scitldr")
    with pytest.raises(ValueError, match="direction"):
        make_task("multi30k", root=tmp_path, direction="fr-en")


def test_load_path_guesses_layouts(tmp_path):
    import json

    from seq2seq_gym.data import load_path

    rows = [{"id": str(i), "source": f"the cat number {i} sat on the mat", "target": f"cat {i} sat"} for i in range(40)]
    f = tmp_path / "all.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    task = load_path(f)
    assert sum(len(v) for v in task.splits.values()) == 40
    d = tmp_path / "dir"
    d.mkdir()
    (d / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:30]) + "\n")
    (d / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in rows[30:]) + "\n")
    task = load_path(d)
    assert len(task.split("train")) == 30 and len(task.split("validation")) == 10
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_path(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(ValueError, match="cannot tell the format"):
        load_path(tmp_path / "notes.txt")
