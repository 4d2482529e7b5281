import numpy as np
import pytest
from rouge_score import rouge_scorer

from seq2seq_gym.data import UNK_ID, clear_cache, describe, format_description, make_task
from seq2seq_gym.data.synthetic import captioning_task, summarization_task, translation_task
from seq2seq_gym.data.synthetic.captioning import CELL_CENTERS, COLORS
from seq2seq_gym.data.synthetic.translation import _ENGLISH as ENGLISH
from seq2seq_gym.data.synthetic.translation import lexicon

SMALL = dict(num_train=600, num_validation=50, num_test=200)


def contains_span(seq, sub):
    n = len(sub)
    return any(seq[i : i + n] == sub for i in range(len(seq) - n + 1))


# ----------------------------------------------------------------------------- summarization
def test_default_summarization_is_cached_and_in_range():
    clear_cache()
    task = make_task("summarization")
    assert make_task("summarization", seed=0) is task  # defaults normalised: one cache entry
    assert task.info["generator_version"].startswith("summarization-") and task.info["synthetic"]
    assert task.sizes == {"train": 20000, "validation": 1000, "test": 1000}
    assert 1000 <= len(task.vocab) <= 6000  # "a few thousand words"
    src = [len(e.source) for e in task.split("train")]
    assert min(src) >= 80 and max(src) <= 300 <= task.max_source_len + 20
    assert max(src) <= task.max_source_len  # never truncated
    refs = [len(r) for e in task.split("train") for r in e.references]
    assert min(refs) >= 10 and max(refs) <= 40 and max(refs) <= task.max_target_len
    assert task.metric == "rougeL" and 10 <= task.max_oovs <= 20
    names = oov = 0
    for ex in task.split("test"):  # at the default size every word but the rare names is in the vocabulary
        assert all(t in task.vocab for t in ex.references[0] if t not in ex.meta["names"])
        names += len(ex.meta["names"])
        oov += sum(n not in task.vocab for n in ex.meta["names"])
    assert 0.6 <= oov / names <= 0.9  # most names must be copied, recurring ones are known


def test_summarization_determinism():
    a = summarization_task.uncached(seed=1, **SMALL)
    b = summarization_task.uncached(seed=1, **SMALL)
    c = summarization_task.uncached(seed=2, **SMALL)
    assert [(e.source, e.references) for e in a.split("test")] == [(e.source, e.references) for e in b.split("test")]
    assert a.vocab == b.vocab
    assert [e.source for e in a.split("test")] != [e.source for e in c.split("test")]
    # the test split does not depend on the training size
    d = summarization_task.uncached(seed=1, num_train=50, num_validation=5, num_test=200)
    assert [e.source for e in d.split("test")] == [e.source for e in a.split("test")]


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_summarization_properties(difficulty):
    task = summarization_task(difficulty=difficulty, **SMALL)
    v = task.vocab
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    name_tokens = name_oov = 0
    for ex in task.split("test"):
        target = ex.references[0]
        # abstractive: the summary is never a contiguous span of the source
        assert not contains_span(ex.source, target)
        # all summary words are lower-case alphanumeric (no punctuation: text ROUGE == id ROUGE)
        assert all(t.isalnum() and t == t.lower() for r in ex.references for t in r)
        # oracle: the first reference is exactly recoverable by generating or copying
        _, oovs = v.encode_source(ex.source[: task.max_source_len], max_oovs=task.max_oovs)
        assert len(set(t for t in ex.source if t not in v)) <= task.max_oovs
        t_ids = v.encode_target(target, oovs)
        assert UNK_ID not in t_ids and v.decode(t_ids, oovs) == target
        assert scorer.score(" ".join(target), " ".join(v.decode(t_ids, oovs)))["rougeL"].fmeasure == 1.0
        # references paraphrase each other: different wording, the same names and number
        refs = ex.references
        assert len(refs) == 4 and len({tuple(r) for r in refs}) == 4
        for r in refs[1:]:
            assert set(ex.meta["names"]) <= set(r) and ex.meta["number"] in r
            assert scorer.score(" ".join(target), " ".join(r))["rougeL"].fmeasure < 1.0
        for name in ex.meta["names"]:
            assert name in ex.source and name in target
            name_tokens += 1
            name_oov += name not in v
    assert name_oov / name_tokens >= 0.6  # most names must be copied


def test_summarization_argument_errors():
    with pytest.raises(ValueError, match="difficulty"):
        summarization_task(difficulty="extreme")
    with pytest.raises(ValueError, match="num_references"):
        summarization_task(num_references=9)
    with pytest.raises(ValueError, match="num_test"):
        summarization_task(num_test=-1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        make_task("summarization", nope=1)


# ----------------------------------------------------------------------------- captioning
@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_captioning_images_and_captions(difficulty):
    task = captioning_task(difficulty=difficulty, **SMALL)
    assert task.modality == "image" and task.metric == "cider" and task.max_oovs == 0
    counts = set()
    for ex in task.split("test"):
        img = ex.source
        assert img.shape == (32, 32, 3) and img.dtype == np.uint8
        shapes = ex.meta["shapes"]
        counts.add(len(shapes))
        assert len(ex.references) == 5 and len({tuple(r) for r in ex.references}) == 5
        for sh in shapes:
            # the drawn shape has its colour at the centre of its cell
            assert tuple(img[CELL_CENTERS[sh["row"]], CELL_CENTERS[sh["col"]]]) == COLORS[sh["color"]]
            for cap in ex.references:  # every caption names every shape's colour and kind
                assert sh["color"] in cap and sh["kind"] in cap
        assert all(t in task.vocab for r in ex.references for t in r)
        assert max(len(r) for r in ex.references) <= task.max_target_len
        if len(shapes) >= 2:  # canonical caption states the relation of the first two (reading order)
            a, b = shapes[0], shapes[1]
            rel = ["to", "the", "left", "of"] if a["col"] < b["col"] else ["above"] if a["row"] < b["row"] else None
            assert rel is not None and contains_span(ex.references[0], rel)
    assert counts == ({1, 2} if difficulty == "easy" else {1, 2, 3})
    b = task.collate(task.split("train")[:4])
    assert b.src_feats.shape == (4, 32, 32, 3)


def test_captioning_determinism_and_hard_background():
    a = captioning_task.uncached(seed=5, num_train=20, num_validation=2, num_test=2, difficulty="hard")
    b = captioning_task.uncached(seed=5, num_train=20, num_validation=2, num_test=2, difficulty="hard")
    c = captioning_task.uncached(seed=6, num_train=20, num_validation=2, num_test=2, difficulty="hard")
    imgs = lambda t: np.stack([e.source for e in t.split("train")])  # noqa: E731
    assert np.array_equal(imgs(a), imgs(b)) and not np.array_equal(imgs(a), imgs(c))
    assert [e.references for e in a.split("train")] == [e.references for e in b.split("train")]
    assert imgs(a).std() > 0 and (imgs(a) > 0).mean() > 0.5  # noisy, non-black background


# ----------------------------------------------------------------------------- translation
@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_translation_is_a_function_with_agreement(difficulty):
    task = translation_task(difficulty=difficulty, **SMALL)
    lex = lexicon()
    verb_forms = {stem + suf for stem in lex["verbs"].values() for suf in lex["verb_suffix"].values()}
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for ex in task.split("train") + task.split("test"):
        src, tgt = tuple(ex.source), tuple(ex.references[0])
        assert seen.setdefault(src, tgt) == tgt  # the same source always has the same translation
        assert len(src) <= task.max_source_len and len(tgt) <= task.max_target_len
        # SOV: each clause ends with a verb form; the object marker precedes it
        clauses = " ".join(tgt).split(f" {lex['and']} ")
        for c in clauses:
            toks = c.split()
            assert toks[-1] in verb_forms and lex["object_marker"] in toks
        # names (words outside the English lexicon) are copied unchanged
        for t in src:
            if t not in ENGLISH:
                assert t in tgt
    if difficulty == "easy":
        assert all(len(e.source) <= 5 for e in task.split("train"))


def test_translation_direction_and_bleu_of_oracle():
    import sacrebleu

    fwd = translation_task(direction="en-syn", **SMALL)
    rev = translation_task(direction="syn-en", **SMALL)
    ex_f, ex_r = fwd.split("test")[0], rev.split("test")[0]
    assert ex_r.source == ex_f.references[0] and ex_r.references[0] == ex_f.source
    hyps = [" ".join(e.references[0]) for e in fwd.split("test")]
    assert sacrebleu.corpus_bleu(hyps, [hyps]).score == pytest.approx(100.0)
    other = translation_task.uncached(seed=9, **SMALL)
    assert [e.source for e in other.split("test")] != [e.source for e in fwd.split("test")]
    with pytest.raises(ValueError, match="direction"):
        translation_task(direction="de-en")


def test_describe_reports_sizes_lengths_and_oov():
    task = summarization_task(**SMALL)
    d = describe(task)
    s = d["splits"]["test"]
    assert d["sizes"]["test"] == 200 and s["examined"] == 200
    assert s["source_len"]["min"] >= 80 and s["target_len"]["max"] <= 40
    assert 0 < s["target_oov_rate"] < 0.5 and s["target_oov_copyable"] == 1.0
    assert s["sources_truncated"] == 0.0
    text = format_description(d)
    assert "summarization" in text and "validation" in text
    img = describe(captioning_task(**SMALL))
    assert img["splits"]["train"]["source_len"] == {"shapes": [(32, 32, 3)]}
