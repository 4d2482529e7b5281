"""seq2seq_gym.rewards against the reference implementations on real text.

Thousands of pairs from ../shared/data (AESLC subjects vs their human references,
SciTLDR TLDRs vs each other, Multi30k sentences, plus word-dropout copies for
high-overlap pairs) are scored by rouge-score, sacrebleu and pycocoevalcap and by our
text layer; the token-id layer is checked on the same pairs. Fixed vectors: the
official ROUGE-1.5.5 values shipped with rouge-score's tests, and nlg-eval's
CIDEr-D / BLEU example values.
"""

from __future__ import annotations

import gzip
import json
import random
from functools import lru_cache

import numpy as np
import pytest
import torch

from seq2seq_gym.rewards import Bleu, CiderD, Rouge, RougeL, RougeLsum
from seq2seq_gym.rewards.text import Interner, pack, pack_refs, ptb_tokenize, rouge_tokenize

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
sacrebleu = pytest.importorskip("sacrebleu")
cider_mod = pytest.importorskip("pycocoevalcap.cider.cider")

pytestmark = pytest.mark.needs_shared_data

TOL = 1e-6


def _noisy_copy(text: str, rng: random.Random, filler: list[str]) -> str:
    """A high-overlap hypothesis: drop ~20% of the words, substitute ~10%."""
    out = []
    for w in text.split():
        u = rng.random()
        if u < 0.2:
            continue
        out.append(rng.choice(filler) if u < 0.3 else w)
    return " ".join(out)


@lru_cache(maxsize=1)
def _pairs(root: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """(hypotheses, references) built from the shared corpora (deterministic)."""
    rng = random.Random(0)
    hyps: list[str] = []
    refs: list[list[str]] = []
    with open(f"{root}/aeslc/test.jsonl", encoding="utf-8") as f:
        aeslc = [json.loads(line) for line in f]
    for ex in aeslc:  # the original subject against the human-written ones
        hyps.append(ex["target"])
        refs.append(ex["references"][1:])
    with open(f"{root}/scitldr/test.jsonl", encoding="utf-8") as f:
        sci = [json.loads(line) for line in f]
    for ex in sci:  # each TLDR against the other TLDRs of the paper
        t = ex["target"]
        if len(t) >= 2:
            hyps.append(t[0])
            refs.append(t[1:])
            hyps.append(t[-1])
            refs.append(t[:-1])
    with gzip.open(f"{root}/multi30k/raw/test_2016_flickr.de.gz", "rt", encoding="utf-8") as f:
        de = f.read().splitlines()
    with gzip.open(f"{root}/multi30k/raw/test_2016_flickr.en.gz", "rt", encoding="utf-8") as f:
        en = f.read().splitlines()
    filler = " ".join(en[:200]).split()
    for i in range(0, len(de) - 1, 2):
        hyps.append(de[i])
        refs.append([de[i + 1]])
    for i in range(0, len(en) - 2):  # noisy copies: high overlap, several references
        if i % 2 == 0:
            hyps.append(_noisy_copy(en[i], rng, filler))
            refs.append([en[i], en[i + 1], en[i + 2]] if i % 4 == 0 else [en[i]])
    return tuple(hyps), tuple(tuple(r) for r in refs)


@pytest.fixture(scope="module")
def pairs(shared_data):
    h, r = _pairs(str(shared_data))
    assert len(h) >= 3000
    return list(h), [list(x) for x in r]


def _report(name: str, diff: float) -> None:
    print(f"[max |ours - reference|] {name}: {diff:.3g}")


# ------------------------------------------------------------------------ ROUGE


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_matches_rouge_score(pairs, use_stemmer):
    hyps, refs = pairs
    if use_stemmer:  # the stemmer makes rouge-score slow: a third of the pairs
        hyps, refs = hyps[::3], refs[::3]
    types = ["rouge1", "rouge2", "rougeL"]
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=use_stemmer)
    expected = [scorer.score_multi(r, h) for h, r in zip(hyps, refs)]
    ours = Rouge(2, use_stemmer=use_stemmer).score_prf(hyps, refs, all_orders=True)
    ours.update(RougeL(use_stemmer=use_stemmer).score_prf(hyps, refs))
    for t in types:
        for field in ("precision", "recall", "fmeasure"):
            want = np.array([getattr(e[t], field) for e in expected])
            diff = float(np.abs(ours[t][field].numpy() - want).max())
            _report(f"{t} {field} stem={use_stemmer} ({len(hyps)} pairs)", diff)
            assert diff <= TOL
    # each measure as the metric's scalar score
    for m in (Rouge(1, "p", use_stemmer=use_stemmer), RougeL("r", use_stemmer=use_stemmer)):
        t = m.name.split("_")[0]
        field = {"p": "precision", "r": "recall"}[m.measure]
        want = np.array([getattr(e[t], field) for e in expected])
        assert np.abs(m.score(hyps, refs).numpy() - want).max() <= TOL


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rougelsum_matches_rouge_score(shared_data, use_stemmer):
    """Multi-sentence summaries (newline separated) from SciTLDR abstracts."""
    with open(shared_data / "scitldr" / "test.jsonl", encoding="utf-8") as f:
        sci = [json.loads(line) for line in f]
    hyps, refs = [], []
    for ex in sci[:400]:
        s = ex["source"]
        if len(s) >= 5:
            hyps.append("\n".join(s[:3]))
            refs.append(["\n".join(s[1:4]), "\n".join(ex["target"])])
    scorer = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=use_stemmer)
    want = np.array([[getattr(scorer.score_multi(r, h)["rougeLsum"], k) for k in ("precision", "recall", "fmeasure")]
                     for h, r in zip(hyps, refs)])
    got = RougeLsum(use_stemmer=use_stemmer).score_prf(hyps, refs)["rougeLsum"]
    got = np.stack([got[k].numpy() for k in ("precision", "recall", "fmeasure")], 1)
    diff = float(np.abs(got - want).max())
    _report(f"rougeLsum stem={use_stemmer} ({len(hyps)} multi-sentence pairs)", diff)
    assert diff <= TOL
    assert want[:, 2].std() > 0.05  # a meaningful spread of scores, not all zeros


def test_rouge_token_id_layer_equals_text_layer(pairs):
    """The id layer (what environments call) on the same tokens gives the same numbers."""
    hyps, refs = pairs
    intern = Interner(start=1)
    h_ids, h_lens = pack([intern(rouge_tokenize(h)) for h in hyps])
    r_ids, r_lens, valid = pack_refs([[intern(rouge_tokenize(s)) for s in r] for r in refs])
    for m in (Rouge(1, use_stemmer=False), Rouge(2, use_stemmer=False), RougeL(use_stemmer=False)):
        text = m.score(hyps, refs)
        ids = m.terminal(torch.from_numpy(h_ids), torch.from_numpy(h_lens), torch.from_numpy(r_ids),
                         torch.from_numpy(r_lens), ref_mask=torch.from_numpy(valid))
        assert torch.equal(text, ids)


def test_rouge155_fixed_vectors(shared_data):
    """Official ROUGE-1.5.5 values (5 decimals) and rouge-score on the same lines."""
    root = shared_data / "metrics" / "rouge_score"
    cases = json.loads((root / "expected_rouge155.json").read_text(encoding="utf-8"))["cases"]
    target = (root / "target.txt").read_text(encoding="utf-8").split("\n")
    pred = (root / "prediction.txt").read_text(encoding="utf-8").split("\n")
    assert len(cases) == 10
    for c in cases:
        typ, stem, line = c["rouge_type"], c["use_stemmer"], c["line"]
        metric = {"rouge1": Rouge(1), "rouge2": Rouge(2), "rougeL": RougeL()}[typ]
        metric.use_stemmer = stem
        got = metric.score_prf([pred[line]], [target[line]])[typ]
        ref = rouge_scorer.RougeScorer([typ], use_stemmer=stem).score(target[line], pred[line])[typ]
        for k in ("precision", "recall", "fmeasure"):
            assert abs(got[k].item() - c[k]) <= 5e-6 + 1e-12, (c, k, got[k].item())  # printed with 5 decimals
            assert got[k].item() == pytest.approx(getattr(ref, k), abs=1e-12)


# ------------------------------------------------------------------------ BLEU


def test_bleu_matches_sacrebleu(pairs):
    hyps, refs = pairs
    want = np.array([sacrebleu.sentence_bleu(h, r).score / 100 for h, r in zip(hyps, refs)])
    got = Bleu().score(hyps, refs).numpy()
    diff = float(np.abs(got - want).max())
    _report(f"sentence BLEU exp ({len(hyps)} pairs)", diff)
    assert diff <= TOL
    assert (want > 0).mean() > 0.3
    sub_h, sub_r = hyps[::4], refs[::4]
    for method, value, lower in (("floor", None, False), ("add-k", None, False), ("none", None, False),
                                 ("floor", 0.3, True), ("add-k", 2, True), ("exp", None, True)):
        want = np.array([sacrebleu.sentence_bleu(h, r, smooth_method=method, smooth_value=value,
                                                 lowercase=lower).score / 100 for h, r in zip(sub_h, sub_r)])
        got = Bleu(method, value, lowercase=lower).score(sub_h, sub_r).numpy()
        diff = float(np.abs(got - want).max())
        _report(f"sentence BLEU {method}[{value}] lowercase={lower} ({len(sub_h)} pairs)", diff)
        assert diff <= TOL


def test_corpus_bleu_matches_sacrebleu(pairs):
    hyps, refs = pairs
    # sacrebleu wants reference streams of equal length: use the first two references
    sel = [i for i, r in enumerate(refs) if len(r) >= 2][:1500]
    h = [hyps[i] for i in sel]
    r = [refs[i][:2] for i in sel]
    streams = [[x[0] for x in r], [x[1] for x in r]]
    for method in ("exp", "floor", "none"):
        want = sacrebleu.corpus_bleu(h, streams, smooth_method=method).score / 100
        got = Bleu(method).corpus_score(h, r)
        _report(f"corpus BLEU {method} ({len(h)} segments)", abs(got - want))
        assert abs(got - want) <= TOL
    want = sacrebleu.corpus_bleu(h, streams, lowercase=True, use_effective_order=True).score / 100
    assert Bleu(lowercase=True).text_corpus_score(h, r, use_effective_order=True) == pytest.approx(want, abs=TOL)


def _zero_count_corpora(pairs):
    """Corpora whose corpus-level n-gram counts are zero for some order (where the
    smoothing methods differ): (a) 1-2 reference words in reverse order and a filler
    word (no 4-gram at all); (b) whole references of 6+ words reversed, plus a
    filler word: unigrams match, higher orders (almost) never."""
    hyps, refs = pairs
    rng = random.Random(3)
    short_h, short_r, rev_h, rev_r = [], [], [], []
    filler = [w for h in hyps[:300] for w in h.split() if w.isalpha()]
    for r in refs:
        words = [w for w in r[0].split() if w.isalpha()]  # one 13a token each
        if len(words) >= 4 and len(short_h) < 400:  # plus a filler word: unigram precision < 1
            short_h.append(" ".join([*reversed(words[: rng.randint(1, 2)]), rng.choice(filler)]))
            short_r.append([r[0]])
        if len(words) >= 6 and len(rev_h) < 400:
            rev_h.append(" ".join([*reversed(words), rng.choice(filler)]))
            rev_r.append([r[0]])
    return {"short": (short_h, short_r), "reversed": (rev_h, rev_r)}


def test_corpus_bleu_smoothing_with_zero_counts_matches_sacrebleu(pairs):
    """Every smoothing of corpus BLEU where they disagree (issue 9: on the main corpus no
    count is zero, so exp / floor / none agree and mutants of ``bleu_compute`` survive)."""
    settings = [("exp", None), ("floor", 0.1), ("floor", 0.3), ("add-k", 1), ("add-k", 2), ("none", None)]
    for name, (h, r) in _zero_count_corpora(pairs).items():
        stats = Bleu().score_stats(h, r).sum(0)
        N = 4
        correct, total = stats[2: 2 + N], stats[2 + N:]
        assert (correct == 0).any(), (name, stats)  # the corpus exercises the zero-count branches
        stream = [[x[0] for x in r]]
        for eff in (False, True):
            got_all = {}
            for method, value in settings:
                want = sacrebleu.corpus_bleu(h, stream, smooth_method=method, smooth_value=value,
                                             use_effective_order=eff).score / 100
                got = Bleu(method, value).corpus_score(h, r, use_effective_order=eff)
                _report(f"corpus BLEU {method}[{value}] eff={eff} on {name} (totals {total.tolist()})",
                        abs(got - want))
                assert got == pytest.approx(want, abs=TOL)
                got_all[(method, value)] = got
            # the methods give different numbers here, so a wrong branch cannot pass
            if name == "reversed":
                vals = list(got_all.values())
                assert len({round(v, 9) for v in vals}) >= 5, got_all


def test_13a_tokenizer_matches_sacrebleu(pairs):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    from seq2seq_gym.rewards import tokenize_13a

    hyps, refs = pairs
    theirs = Tokenizer13a()
    lines = hyps + [s for r in refs for s in r]
    lines += ["3.14, 2-3 &amp; x&lt;y &quot;q&quot; <skipped> a-\nb c\nd (e) [f] {g} $5 100,000.5 e.g. U.S.A."]
    assert all(tokenize_13a(x) == theirs(x) for x in lines)


# ------------------------------------------------------------------------ CIDEr-D


def test_cider_matches_pycocoevalcap(pairs):
    """``tokenize="none"``: pycocoevalcap's ``Cider`` on the lines as they are."""
    hyps, refs = pairs
    hyps, refs = hyps[:2500], refs[:2500]
    gts = {i: r for i, r in enumerate(refs)}
    res = {i: [h] for i, h in enumerate(hyps)}
    mean, want = cider_mod.Cider().compute_score(gts, res)
    got = CiderD(tokenize="none").score(hyps, refs).numpy()
    diff = float(np.abs(got - np.asarray(want)).max())
    _report(f"CIDEr-D corpus df ({len(hyps)} pairs)", diff)
    assert diff <= TOL
    assert got.mean() == pytest.approx(mean, abs=TOL)


def test_cider_default_is_the_ptb_convention(pairs):
    """The default CIDEr-D is ``Cider`` after pycocoevalcap's PTB tokenization (lowercased,
    punctuation removed), which changes the scores of this raw text."""
    hyps, refs = pairs
    hyps, refs = hyps[:1500], refs[:1500]
    tok = lambda s: " ".join(ptb_tokenize(s))  # noqa: E731
    gts = {i: [tok(x) for x in r] for i, r in enumerate(refs)}
    res = {i: [tok(h)] for i, h in enumerate(hyps)}
    _, want = cider_mod.Cider().compute_score(gts, res)
    got = CiderD().score(hyps, refs).numpy()
    diff = float(np.abs(got - np.asarray(want)).max())
    _report(f"CIDEr-D on PTB tokens ({len(hyps)} pairs)", diff)
    assert diff <= TOL
    raw = CiderD(tokenize="none").score(hyps, refs).numpy()
    assert np.abs(raw - got).max() > 0.1  # the convention matters on raw text


def _java_ptb():
    import shutil

    ptb = pytest.importorskip("pycocoevalcap.tokenizer.ptbtokenizer")
    if shutil.which("java") is None:
        pytest.skip("java is not installed (pycocoevalcap's PTBTokenizer needs it)")
    return ptb


@pytest.mark.slow
def test_ptb_tokenize_equals_pycocoevalcap_ptbtokenizer_on_captions(shared_data):
    """Our PTB rewrite against the real Stanford tokenizer (java) on Multi30k English captions."""
    ptb = _java_ptb()
    lines = []
    for name in ("val", "test_2016_flickr", "test_2017_flickr"):
        with gzip.open(shared_data / "multi30k" / "raw" / f"{name}.en.gz", "rt", encoding="utf-8") as f:
            lines += f.read().splitlines()
    caps = {i: [{"caption": line}] for i, line in enumerate(lines)}
    theirs = ptb.PTBTokenizer().tokenize(caps)
    bad = [i for i, line in enumerate(lines) if " ".join(ptb_tokenize(line)) != theirs[i][0]]
    _report(f"PTB tokenization, lines that differ of {len(lines)} captions", len(bad))
    assert not bad, [(lines[i], theirs[i][0]) for i in bad[:5]]


@pytest.mark.slow
def test_cider_equals_pycocoevalcap_pipeline_with_java_ptb(shared_data):
    """CiderD().score on raw captions == PTBTokenizer (java) + Cider, as COCO evaluation runs."""
    ptb = _java_ptb()
    with gzip.open(shared_data / "multi30k" / "raw" / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as f:
        en = f.read().splitlines()
    rng = random.Random(1)
    filler = " ".join(en[:100]).split()
    hyps, refs = [], []
    for i in range(0, 600, 3):
        hyps.append(_noisy_copy(en[i], rng, filler))
        refs.append([en[i], en[i + 1], en[i + 2]])
    tok = ptb.PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": c} for c in r] for i, r in enumerate(refs)})
    res = tok.tokenize({i: [{"caption": h}] for i, h in enumerate(hyps)})
    _, want = cider_mod.Cider().compute_score(gts, res)
    got = CiderD().score(hyps, refs).numpy()
    assert np.abs(got - np.asarray(want)).max() <= TOL
    assert np.std(want) > 0.1


def test_cider_fitted_df_on_the_same_refs_equals_corpus_mode(pairs):
    hyps, refs = pairs
    hyps, refs = hyps[:800], refs[:800]
    fitted = CiderD.from_corpus(refs)
    assert torch.allclose(fitted.score(hyps, refs), CiderD().score(hyps, refs), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------ nlg-eval


def test_nlgeval_fixed_vectors(shared_data):
    """nlg-eval's example (pycocoevalcap 1.2 numbers): CIDEr-D 1.242192, Bleu_1..4.

    pycocoevalcap's Bleu_n is corpus BLEU of order n without smoothing (its 1e-9
    epsilons aside), i.e. sacrebleu's corpus BLEU with smooth_method="none" on these
    already tokenized, lowercase lines.
    """
    root = shared_data / "metrics" / "cider_nlgeval"
    hyp = (root / "nlgeval_hyp.txt").read_text(encoding="utf-8").splitlines()
    r1 = (root / "nlgeval_ref1.txt").read_text(encoding="utf-8").splitlines()
    r2 = (root / "nlgeval_ref2.txt").read_text(encoding="utf-8").splitlines()
    refs = [[a, b] for a, b in zip(r1, r2)]
    assert CiderD().score(hyp, refs).mean().item() == pytest.approx(1.242192, abs=5e-7)
    for n, want in zip(range(1, 5), (0.55, 0.428174, 0.284043, 0.201143)):
        got = Bleu("none", max_ngram_order=n, effective_order=False).corpus_score(hyp, refs)
        assert got == pytest.approx(want, abs=5e-7)
