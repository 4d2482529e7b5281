"""Edge cases, bad input, prefix-scorer bookkeeping, the registry and df persistence."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from seq2seq_gym.rewards import (
    Bleu,
    CiderD,
    DocumentFrequency,
    MixedReward,
    Rouge,
    RougeL,
    RougeLsum,
    list_metrics,
    make_reward,
    rouge_tokenize,
)

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
sacrebleu = pytest.importorskip("sacrebleu")
cider_mod = pytest.importorskip("pycocoevalcap.cider.cider")

ALL = [Rouge(1), Rouge(2), RougeL(), RougeLsum(sep_id=3), Bleu(), CiderD()]
ALL_IDS = ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "cider"]


def t(x):
    return torch.tensor(x, dtype=torch.int64)


def _words(ids):
    return " ".join(f"w{i}" for i in ids)


# ------------------------------------------------------------------------ edge cases


@pytest.mark.parametrize("metric", ALL, ids=ALL_IDS)
def test_empty_hypothesis_scores_zero(metric):
    refs = t([[[4, 5, 6], [5, 6, 0]]])
    assert metric.terminal(t([[0, 0]]), t([0]), refs).item() == 0.0
    assert metric.terminal(t([[0, 0]]), None, refs).item() == 0.0  # only padding: length 0
    assert torch.all(metric.dense(t([[0, 0]]), None, refs) == 0)
    # the increment of a first token is its whole score
    la = metric.lookahead(t([[0]]), t([0]), refs, None, 8)
    for v in range(8):
        assert la[0, v].item() == pytest.approx(metric.terminal(t([[v]]), t([1]), refs).item(), abs=1e-12)


@pytest.mark.parametrize("metric", ALL, ids=ALL_IDS)
def test_no_reference_scores_zero(metric):
    hyps = t([[4, 5, 6]])
    refs = t([[[0, 0], [0, 0]]])  # every slot empty: no reference
    assert metric.terminal(hyps, None, refs).item() == 0.0
    assert torch.all(metric.dense(hyps, None, refs) == 0)
    assert torch.all(metric.lookahead(hyps, t([1]), refs, None, 8) == 0)
    ps = metric.prefix_scorer(refs)
    assert ps.append(t([4])).item() == 0.0


def test_empty_reference_counts_when_masked():
    """An empty reference (ref_mask True, length 0) is a reference, as '' is for the libraries."""
    hyp, refs = [4, 5], [[], [4, 5, 6, 7]]
    h = t([hyp])
    rr = t([[[0, 0, 0, 0], refs[1]]])
    rl = t([[0, 4]])
    mask = torch.tensor([[True, True]])
    text_refs = ["", _words(refs[1])]
    want = sacrebleu.sentence_bleu(_words(hyp), text_refs).score / 100  # closest ref length is 0: BP = 1
    assert Bleu().terminal(h, None, rr, rl, ref_mask=mask).item() == pytest.approx(want, abs=1e-12)
    assert Bleu().terminal(h, None, rr, rl).item() < want  # without the empty one: BP < 1
    gts = {0: text_refs, 1: ["w9 w8"]}
    res = {0: [_words(hyp)], 1: ["w9"]}
    want_c = cider_mod.Cider().compute_score(gts, res)[1]
    got_c = CiderD().terminal(t([hyp, [9, 0]]), t([2, 1]), t([[[0, 0, 0, 0], refs[1]], [[9, 8, 0, 0], [0, 0, 0, 0]]]),
                              t([[0, 4], [2, 0]]), ref_mask=torch.tensor([[True, True], [True, False]]))
    assert np.allclose(got_c.numpy(), want_c, atol=1e-12)
    sc = rouge_scorer.RougeScorer(["rouge1"]).score_multi(text_refs, _words(hyp))["rouge1"]
    assert Rouge(1).terminal(h, None, rr, rl, ref_mask=mask).item() == pytest.approx(sc.fmeasure)


@pytest.mark.parametrize("metric", ALL, ids=ALL_IDS)
def test_empty_batch_and_zero_width(metric):
    out = metric.terminal(torch.zeros((0, 4), dtype=torch.int64), None, torch.zeros((0, 2, 3), dtype=torch.int64))
    assert out.shape == (0,)
    assert metric.dense(torch.zeros((0, 4), dtype=torch.int64), None,
                        torch.zeros((0, 1, 3), dtype=torch.int64)).shape == (0, 4)
    z = metric.terminal(torch.zeros((2, 0), dtype=torch.int64), None, t([[[4, 5]], [[6, 0]]]))
    assert torch.equal(z, torch.zeros(2, dtype=torch.float64))
    assert metric.dense(torch.zeros((2, 0), dtype=torch.int64), None, t([[[4, 5]], [[6, 0]]])).shape == (2, 0)
    la = metric.lookahead(torch.zeros((2, 0), dtype=torch.int64), None, t([[[4, 5]], [[6, 0]]]), None, 7)
    assert torch.allclose(la[:, 4], metric.terminal(t([[4], [4]]), None, t([[[4, 5]], [[6, 0]]])))
    # one reference per example: refs [B, L], ref_lens [B], ref_mask [B]
    one = metric.terminal(t([[4, 5]]), None, t([[4, 5, 0]]), t([2]), ref_mask=torch.tensor([True]))
    assert one.item() == metric.terminal(t([[4, 5]]), None, t([[[4, 5, 0]]])).item()


def test_length_one_sequences():
    """Hand-derived: [7] against [7]."""
    h, r = t([[7]]), t([[[7]]])
    assert Rouge(1).terminal(h, None, r).item() == 1.0
    assert Rouge(2).terminal(h, None, r).item() == 0.0  # no bigrams on either side (rouge-score: 0)
    assert RougeL().terminal(h, None, r).item() == 1.0
    assert Bleu().terminal(h, None, r).item() == pytest.approx(1.0, abs=1e-12)  # effective order 1: P 1, BP 1
    assert CiderD().terminal(h, None, r).item() == 0.0  # one image: idf = log 1 - log 1 = 0
    assert rouge_scorer.RougeScorer(["rouge2"]).score("w7", "w7")["rouge2"].fmeasure == 0.0
    assert sacrebleu.sentence_bleu("w7", ["w7"]).score / 100 == Bleu().terminal(h, None, r).item()


def test_eos_hand_example():
    """[5, EOS, 5] scores like [5]: rouge1 against [5, 5] is P=1, R=1/2, F=2/3."""
    m = Rouge(1, eos_id=2)
    assert m.terminal(t([[5, 2, 5]]), None, t([[[5, 5]]])).item() == pytest.approx(2 / 3)
    assert m.terminal(t([[5, 2, 5]]), None, t([[[5, 5, 2, 5]]])).item() == pytest.approx(2 / 3)  # refs too
    assert torch.equal(m.dense(t([[5, 2, 5]]), None, t([[[5, 5]]]))[0, 1:], torch.zeros(2, dtype=torch.float64))


def test_unknown_and_huge_ids():
    """Pointer-generator extended ids, private reference ids and ids beyond 2**32 are fine."""
    big = 2**62
    h = t([[big, 7, 10**12]])
    r = t([[[big, 10**12, 3]]])
    assert Rouge(1).terminal(h, None, r).item() == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    assert RougeL().terminal(h, None, r).item() == pytest.approx(2 / 3)
    la = Rouge(1).lookahead(h, t([1]), r, None, 10)  # ids >= V are simply not in the output
    assert la.shape == (1, 10)
    assert la[0, 3] > la[0, 4]  # the private-looking id 3 is a reference token


@pytest.mark.parametrize("lens", [(1, 5, 64, 65), (63, 64, 128, 129)])
def test_references_of_different_lengths(lens):
    """One batch, references of very different lengths (across 64-token words of the LCS)."""
    rng = np.random.default_rng(sum(lens))
    B = len(lens)
    L = max(lens)
    refs = np.zeros((B, 2, L), np.int64)
    rl = np.zeros((B, 2), np.int64)
    hyps = rng.integers(1, 9, (B, 70))
    for i, n in enumerate(lens):
        refs[i, 0, :n] = rng.integers(1, 9, n)
        refs[i, 1, : max(n // 2, 1)] = rng.integers(1, 9, max(n // 2, 1))
        rl[i] = (n, max(n // 2, 1))
    for typ, m in (("rouge2", Rouge(2)), ("rougeL", RougeL())):
        got = m.terminal(torch.from_numpy(hyps), None, torch.from_numpy(refs), torch.from_numpy(rl)).numpy()
        sc = rouge_scorer.RougeScorer([typ])
        want = [sc.score_multi([_words(refs[i, j, : rl[i, j]]) for j in range(2)], _words(hyps[i]))[typ].fmeasure
                for i in range(B)]
        assert np.allclose(got, want, atol=1e-12)


def test_long_sequences_512_plus():
    """600-700 token hypotheses and references: reference values, dense and lookahead."""
    rng = np.random.default_rng(512)
    B, T, L = 3, 600, 700
    hyps = rng.integers(1, 40, (B, T))
    refs = rng.integers(1, 40, (B, 1, L))
    h, r = torch.from_numpy(hyps), torch.from_numpy(refs)
    texts_h = [_words(x) for x in hyps]
    texts_r = [[_words(x[0])] for x in refs]
    for typ, m in (("rouge1", Rouge(1)), ("rouge2", Rouge(2)), ("rougeL", RougeL())):
        sc = rouge_scorer.RougeScorer([typ])
        want = [sc.score(tr[0], th)[typ].fmeasure for th, tr in zip(texts_h, texts_r)]
        assert np.allclose(m.terminal(h, None, r).numpy(), want, atol=1e-12)
    want = [sacrebleu.sentence_bleu(th, tr).score / 100 for th, tr in zip(texts_h, texts_r)]
    assert np.allclose(Bleu().terminal(h, None, r).numpy(), want, atol=1e-12)
    want = cider_mod.Cider().compute_score({i: x for i, x in enumerate(texts_r)},
                                           {i: [x] for i, x in enumerate(texts_h)})[1]
    assert np.allclose(CiderD().terminal(h, None, r).numpy(), want, atol=1e-9)
    V = 45
    for m in (RougeL(), Rouge(2), Bleu(), CiderD.from_corpus(refs)):
        assert torch.allclose(m.dense(h, None, r).sum(1), m.terminal(h, None, r), atol=1e-12)
        for p in (0, 1, 300, 599):
            pl = torch.full((B,), p)
            la = m.lookahead(h, pl, r, None, V)
            cur = m.terminal(h, pl, r, None)
            for v in (0, 1, 7, 39, 44):
                h2 = h.clone()
                h2[:, p] = v
                assert torch.allclose(la[:, v], m.terminal(h2, pl + 1, r, None) - cur, atol=1e-10)


def test_outputs_are_float64_on_the_input_device_and_inputs_untouched():
    h = t([[4, 5, 6]])
    r = t([[[4, 6]]])
    h0, r0 = h.clone(), r.clone()
    for m in ALL:
        for out in (m.terminal(h, None, r), m.dense(h, None, r), m.lookahead(h, t([1]), r, None, 9)):
            assert out.dtype == torch.float64 and out.device == h.device
    assert torch.equal(h, h0) and torch.equal(r, r0)
    # numpy arrays and int32 tensors are accepted too
    assert Rouge(1).terminal(h.numpy(), None, r.numpy()).item() == Rouge(1).terminal(h.int(), None, r.int()).item()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_round_trip():
    h = t([[4, 5, 6]]).cuda()
    r = t([[[4, 6]]]).cuda()
    out = RougeL().terminal(h, None, r)
    assert out.device.type == "cuda"
    assert out.cpu().item() == RougeL().terminal(h.cpu(), None, r.cpu()).item()


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("metric", ALL, ids=ALL_IDS)
def test_bad_inputs_raise_value_error_naming_the_argument(metric):
    h = t([[4, 5, 6], [4, 4, 0]])
    r = t([[[4, 6]], [[5, 5]]])
    cases = [
        (lambda: metric.terminal(h, None, r[:1]), "refs"),
        (lambda: metric.terminal(h.float(), None, r), "hyps"),
        (lambda: metric.terminal(h.bool(), None, r), "hyps"),
        (lambda: metric.terminal(h, None, r.double()), "refs"),
        (lambda: metric.terminal(h, torch.tensor([1.0, 2.0]), r), "hyp_lens"),
        (lambda: metric.terminal(h, t([1, -1]), r), "hyp_lens"),
        (lambda: metric.terminal(h, t([1, 4]), r), "hyp_lens"),
        (lambda: metric.terminal(h, t([1, 2, 3]), r), "hyp_lens"),
        (lambda: metric.terminal(h, None, r, t([[1], [-2]])), "ref_lens"),
        (lambda: metric.terminal(h, None, r, t([[1], [3]])), "ref_lens"),
        (lambda: metric.terminal(h, None, r, t([1, 1, 1])), "ref_lens"),
        (lambda: metric.terminal(t([[4, -5]]), None, r[:1]), "hyps"),
        (lambda: metric.terminal(h, None, t([[[4, -6]], [[5, 5]]])), "refs"),
        (lambda: metric.terminal(h[0], None, r), "hyps"),
        (lambda: metric.terminal(h, None, r, ref_mask=torch.ones(2, 2, dtype=torch.bool)), "ref_mask"),
        (lambda: metric.dense(h, t([1, 5]), r), "hyp_lens"),
        (lambda: metric.lookahead(h, t([1, 1]), r, None, 0), "vocab_size"),
        (lambda: metric.lookahead(h, t([1, 1]), r, None, 2.5), "vocab_size"),
        (lambda: metric.lookahead(h, t([1, -1]), r, None, 5), "prefix_lens"),
        (lambda: metric.lookahead(h.float(), None, r, None, 5), "prefix"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()
    # negative values beyond the lengths (e.g. -100 label padding) are fine
    assert metric.terminal(t([[4, -100]]), t([1]), t([[[4, -100]]]), t([[1]])).shape == (1,)


@pytest.mark.parametrize(
    "factory, name",
    [
        (lambda: Rouge(0), "n"),
        (lambda: Rouge(1, "x"), "measure"),
        (lambda: RougeL(eos_id=-1), "eos_id"),
        (lambda: RougeL(pad_id=None), "pad_id"),
        (lambda: RougeLsum(sep_id=-2), "sep_id"),
        (lambda: Bleu("foo"), "smooth_method"),
        (lambda: Bleu(max_ngram_order=0), "max_ngram_order"),
        (lambda: CiderD(df="batch"), "df"),
        (lambda: CiderD(sigma=0), "sigma"),
        (lambda: CiderD(n=0), "n"),
        (lambda: MixedReward([]), "components"),
        (lambda: MixedReward([(Rouge(1), "a")]), "weight"),
    ],
)
def test_bad_constructor_arguments(factory, name):
    with pytest.raises(ValueError, match=name):
        factory()


def test_text_layer_bad_input():
    m = RougeL()
    with pytest.raises(ValueError, match="hypotheses"):
        m.score("a b", ["a"])
    with pytest.raises(ValueError, match="references"):
        m.score(["a b"], ["a", "b"])
    with pytest.raises(ValueError, match="hypotheses"):
        m.score([3], ["a"])


# ------------------------------------------------------------------------ prefix scorer


@pytest.mark.parametrize("metric", ALL, ids=ALL_IDS)
def test_prefix_scorer_rejects_bad_calls_without_changing_state(metric):
    refs = t([[[4, 5, 6]], [[6, 5, 4]]])
    ps = metric.prefix_scorer(refs)
    ps.append(t([4, 6]))
    s0, l0 = ps.scores.clone(), ps.lengths.clone()
    la0 = ps.lookahead(8)
    bad = [
        (lambda: ps.append(t([4])), "tokens"),
        (lambda: ps.append(t([4, -1])), "tokens"),
        (lambda: ps.append(torch.tensor([4.0, 5.0])), "tokens"),
        (lambda: ps.append(t([4, 5]), torch.tensor([True])), "active"),
        (lambda: ps.lookahead(-3), "vocab_size"),
        (lambda: ps.reset_rows(t([2]), refs[:1]), "idx"),
        (lambda: ps.reset_rows(t([0, 0]), refs), "idx"),
        (lambda: ps.reset_rows(t([0]), refs), "refs"),
        (lambda: ps.reset_rows(t([0]), refs[:1].float()), "refs"),
        (lambda: ps.reset_rows(t([0]), refs[:1], t([[7]])), "ref_lens"),
    ]
    for fn, name in bad:
        with pytest.raises(ValueError, match=name):
            fn()
        assert torch.equal(ps.scores, s0) and torch.equal(ps.lengths, l0)
    assert torch.equal(ps.lookahead(8), la0)
    # a negative id in an inactive row is ignored
    inc = ps.append(t([5, -7]), torch.tensor([True, False]))
    assert inc[1].item() == 0.0 and ps.lengths.tolist() == [2, 1]


def test_prefix_scorer_reset_rows_grows_and_accepts_bool_masks():
    m = RougeL()
    ps = m.prefix_scorer(t([[[4, 5]], [[6, 7]], [[8, 9]]]))
    for tok in ([4, 6, 8], [5, 7, 9]):
        ps.append(t(tok))
    assert torch.allclose(ps.scores, torch.ones(3, dtype=torch.float64))
    long_refs = t([[list(range(10, 80)), [4, 5, 0, 0] + [0] * 66]])  # longer and more references
    ps.reset_rows(torch.tensor([False, True, False]), long_refs)
    assert ps.lengths.tolist() == [2, 0, 2]
    ps.append(t([1, 10, 1]))
    assert ps.scores[1].item() == pytest.approx(m.terminal(t([[10]]), None, long_refs).item())
    want0 = m.terminal(t([[4, 5, 1]]), None, t([[[4, 5]]])).item()
    assert ps.scores[0].item() == pytest.approx(want0)
    # many tokens: the history grows past its initial capacity
    for _ in range(40):
        ps.append(t([4, 11, 8]))
    assert ps.lengths.tolist() == [43, 41, 43]


@pytest.mark.parametrize("metric", [*ALL, CiderD.from_corpus([[[4, 5, 6]], [[6, 6, 7]]])],
                         ids=[*ALL_IDS, "cider_fitted"])
def test_prefix_scorer_long_episodes_and_pickling(metric):
    """Appending past the initial history capacity (state rebuilt by replay for the
    metrics whose state grows with the hypothesis) and pickling a used metric / scorer."""
    import pickle

    rng = np.random.default_rng(11)
    refs = torch.from_numpy(rng.integers(3, 9, (3, 2, 12)))
    toks = torch.from_numpy(rng.integers(3, 10, (3, 45)))
    ps = metric.prefix_scorer(refs)
    total = torch.zeros(3, dtype=torch.float64)
    for i in range(45):
        total += ps.append(toks[:, i])
    want = metric.terminal(toks, None, refs)
    assert torch.allclose(ps.scores, want, atol=1e-12) and torch.allclose(total, want, atol=1e-12)
    m2 = pickle.loads(pickle.dumps(metric))
    assert torch.equal(m2.terminal(toks, None, refs), want)
    ps2 = pickle.loads(pickle.dumps(ps))
    assert torch.equal(ps2.scores, ps.scores)
    assert torch.equal(ps2.append(toks[:, 0]), ps.append(toks[:, 0]))


# ------------------------------------------------------------------------ registry / mixed


def test_make_reward_names_and_specs():
    assert set(list_metrics()) >= {"rouge1", "rouge2", "rougeL", "rougeLsum", "bleu", "cider", "ciderD"}
    assert isinstance(make_reward("rougeL"), RougeL)
    assert isinstance(make_reward("ciderD"), CiderD) and isinstance(make_reward("cider"), CiderD)
    r3 = make_reward("rouge3_p")
    assert isinstance(r3, Rouge) and r3.n == 3 and r3.measure == "p"
    assert make_reward("rougeLsum", sep_id=7).sep_id == 7
    assert make_reward("bleu", eos_id=2).eos_id == 2
    m = RougeL()
    assert make_reward(m) is m
    mixed = make_reward("rougeL:0.5,bleu:0.5")
    assert isinstance(mixed, MixedReward) and [w for _, w in mixed.components] == [0.5, 0.5]
    assert isinstance(make_reward({"rouge1": 1, "cider": 0.1}), MixedReward)
    assert [w for _, w in make_reward("rouge1,rouge2:2").components] == [1.0, 2.0]
    with pytest.raises(ValueError, match="rougeL") as err:
        make_reward("meteor")
    assert "known" in str(err.value)
    for bad in ("rougeL:abc", "", {}, 3, "bleu_p"):
        with pytest.raises(ValueError):
            make_reward(bad)


def test_mixed_reward_is_the_weighted_sum_in_every_mode():
    rng = np.random.default_rng(3)
    h = torch.from_numpy(rng.integers(1, 7, (4, 8)))
    r = torch.from_numpy(rng.integers(1, 7, (4, 2, 6)))
    parts = [(RougeL(), 0.5), (Bleu(), 0.3), (CiderD(), 0.02)]
    mixed = MixedReward(parts)
    term = sum(w * m.terminal(h, None, r) for m, w in parts)
    assert torch.allclose(mixed.terminal(h, None, r), term, atol=1e-12)
    assert torch.allclose(mixed.dense(h, None, r).sum(1), term, atol=1e-12)
    la = sum(w * m.lookahead(h, t([3] * 4), r, None, 9) for m, w in parts)
    assert torch.allclose(mixed.lookahead(h, t([3] * 4), r, None, 9), la, atol=1e-12)
    ps = mixed.prefix_scorer(r)
    total = torch.zeros(4, dtype=torch.float64)
    for i in range(8):
        total += ps.append(h[:, i])
    assert torch.allclose(total, term, atol=1e-12) and torch.allclose(ps.scores, term, atol=1e-12)
    texts = ["a b c", "the cat"]
    refs = [["a b d"], ["the cat sat", "a cat"]]
    assert torch.allclose(mixed.score(texts, refs), sum(w * m.score(texts, refs) for m, w in parts))


# ------------------------------------------------------------------------ CIDEr-D df / BLEU corpus


def test_document_frequency_fit_save_load(tmp_path):
    corpus = [["a man rides a horse", "a person on a horse"], ["two dogs play"], "a dog runs on grass"]
    m = CiderD.from_corpus(corpus)
    assert isinstance(m.df, DocumentFrequency) and m.df.num_docs == 3 and m.df.vocab is not None
    hyps = ["a man on a horse", "a dog plays"]
    refs = [["a man rides a horse"], ["two dogs play", "a dog runs"]]
    s = m.score(hyps, refs)
    path = tmp_path / "df.npz"
    m.save_df(path)
    m2 = CiderD().load_df(path)
    assert m2.df.num_docs == 3 and m2.df.num_ngrams == m.df.num_ngrams
    assert torch.equal(m2.score(hyps, refs), s)
    # the id layer with the same vocabulary
    ids = [[m.df.vocab[w] for w in x.split()] for x in ("a man on a horse", "a man rides a horse")]
    h = t([ids[0] + [0]])
    r = t([[ids[1]]])
    ps1, ps2 = m.prefix_scorer(r, t([[5]])), m2.prefix_scorer(r, t([[5]]))
    assert torch.equal(ps1.lookahead(50), ps2.lookahead(50))
    assert m.terminal(h, t([5]), r, t([[5]])).item() == pytest.approx(m2.terminal(h, t([5]), r, t([[5]])).item())
    # an id-fitted df cannot score text
    mid = CiderD.from_corpus(torch.tensor([[[1, 2, 3]], [[2, 3, 0]]]))
    assert mid.df.vocab is None and mid.df.num_docs == 2
    with pytest.raises(ValueError, match="df"):
        mid.score(["a"], ["a"])
    with pytest.raises(ValueError, match="fitted"):
        CiderD().save_df(tmp_path / "x.npz")


def test_corpus_bleu_ids_equal_text():
    hyps = ["the cat sat on the mat", "a dog", "hello world again"]
    refs = [["the cat is on the mat"], ["a dog barks"], ["hello world"]]
    b = Bleu()
    text = b.corpus_score(hyps, refs)
    want = sacrebleu.corpus_bleu(hyps, [[r[0] for r in refs]]).score / 100
    assert text == pytest.approx(want, abs=1e-12)
    vocab: dict[str, int] = {}
    ids = lambda s: [vocab.setdefault(w, len(vocab) + 1) for w in s.split()]  # noqa: E731
    h = [ids(x) for x in hyps]
    r = [ids(x[0]) for x in refs]
    H = torch.zeros(3, 6, dtype=torch.int64)
    Rr = torch.zeros(3, 6, dtype=torch.int64)
    for i in range(3):
        H[i, : len(h[i])] = t(h[i])
        Rr[i, : len(r[i])] = t(r[i])
    assert b.corpus_score(H, None, Rr) == pytest.approx(want, abs=1e-12)
    with pytest.raises(ValueError, match="reference"):
        b.corpus_score(H, None, torch.zeros(3, 6, dtype=torch.int64))


def test_rouge_tokenizer_matches_rouge_score():
    from rouge_score import tokenize as rs_tokenize
    from rouge_score.tokenizers import DefaultTokenizer

    texts = ["The quick-brown FOX's jumps!! 3.14 café naïve ÉCOLE İstanbul", "running runs ran easily fairly",
             "", "  \n\t", "Huntley/question", "re: RE: fw: meeting @ 10am -- agenda_v2.doc"]
    stem = DefaultTokenizer(use_stemmer=True)
    for x in texts:
        assert rouge_tokenize(x) == rs_tokenize.tokenize(x, None)
        assert rouge_tokenize(x, use_stemmer=True) == stem.tokenize(x)


def test_import_direction():
    """seq2seq_gym.rewards imports nothing else of seq2seq_gym (beyond what ``import seq2seq_gym`` loads)."""
    code = ("import sys, seq2seq_gym; base = set(sys.modules); import seq2seq_gym.rewards; "
            "print(sorted(m for m in set(sys.modules) - base if m.startswith('seq2seq_gym.') "
            "and not m.startswith('seq2seq_gym.rewards')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
