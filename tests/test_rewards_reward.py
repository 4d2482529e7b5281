"""The word-level Reward: equal to the reference libraries on the decoded text, in every mode.

Hypotheses are word ids of a task vocabulary (plus copy ids of source words); the
decoded text is the words up to </s> joined by single spaces. Checked on real text
(AESLC subjects, SciTLDR summaries, Multi30k captions) against rouge-score (Porter
stemmer), sacrebleu (13a) and pycocoevalcap's CIDEr-D (PTB tokens); dense increments
and lookahead against brute force (re-scoring every extended prefix).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _reward_helpers import noisy_outputs, reference_library
from hypothesis import given, settings
from hypothesis import strategies as st

from seq2seq_gym.data import EOS_ID, PAD_ID, load_aeslc, load_multi30k, load_scitldr
from seq2seq_gym.rewards import TEXT_TOKENIZERS, Reward, make_reward

pytest.importorskip("rouge_score.rouge_scorer")
pytest.importorskip("sacrebleu")
pytest.importorskip("pycocoevalcap.cider.cider_scorer")

TOL = 1e-6

# ------------------------------------------------------------------ compositionality

_PIECES = [*list("aZ09.,-'&;:/$%()\"<>`_!?éßİ"), "&amp;", "&quot;", "<skipped>", "n't", "'s", "...", "--", "U.S."]
_HOSTILE = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5).map("".join)


@settings(deadline=None, derandomize=True, max_examples=400)
@given(st.lists(_HOSTILE, min_size=1, max_size=6))
def test_text_tokenizers_are_compositional_over_words(words):
    """The word -> tokens maps rest on this: tokens of the joined text == concatenated
    tokens of each word, for every tokenizer (13a's period / comma rules included)."""
    text = " ".join(words)
    for name, fn in TEXT_TOKENIZERS.items():
        assert fn(text) == [t for w in words for t in fn(w)], (name, words)
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    assert TEXT_TOKENIZERS["13a"](text) == Tokenizer13a()(text.rstrip()).split()


# ------------------------------------------------------------------ real tasks


@pytest.fixture(scope="module")
def tasks(shared_data):
    kw = {"limit": 400, "vocab_size": 3000}
    return {
        "aeslc": load_aeslc(shared_data / "aeslc", **kw),
        "scitldr": load_scitldr(shared_data / "scitldr", **kw),
        "multi30k": load_multi30k(shared_data / "multi30k", direction="de-en", **kw),
    }


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("corpus", ["aeslc", "scitldr", "multi30k"])
@pytest.mark.parametrize("metric", ["rougeL", "rouge2", "bleu", "cider"])
def test_terminal_equals_reference_library_on_decoded_text(tasks, corpus, metric):
    task = tasks[corpus]
    train_docs = [[" ".join(r) for r in ex.references] for ex in task.split("train")]
    reward = Reward(metric, task.vocab.words, eos_id=EOS_ID, cider_df=train_docs if metric == "cider" else "corpus")
    batch, out = noisy_outputs(task, "validation", 120, seed=1)
    texts = reward.decode(out, None, batch.oovs)
    assert all("</s>" not in t and "<pad>" not in t for t in texts)
    refs = [[" ".join(r) for r in ex.references] for ex in batch.examples]
    got = reward.terminal(out, None, [ex.references for ex in batch.examples], batch.oovs).numpy()
    encoded = reward.encode([ex.references for ex in batch.examples], batch.oovs)  # encode once, score often
    assert np.array_equal(reward.terminal(out, None, encoded).numpy(), got)
    want = reference_library(metric, texts, refs, train_docs)
    assert np.abs(got - want).max() <= TOL
    assert want.std() > 0.02  # meaningful, varied scores
    assert np.abs(reward.score(texts, refs).numpy() - want).max() <= TOL
    dense = reward.dense(out, None, [ex.references for ex in batch.examples], batch.oovs).numpy()
    assert np.abs(dense.sum(1) - want).max() <= 1e-9
    assert (dense[out.numpy() == EOS_ID] == 0).all()


@pytest.mark.needs_shared_data
def test_eos_is_not_a_word(tasks):
    """Scoring a generate() output (ids, </s>, <pad>) scores the text before </s>; the old
    CLI path counted '</s>' as a word (rouge-score reads it as the token 's')."""
    task = tasks["aeslc"]
    reward = Reward("rougeL", task.vocab.words, eos_id=EOS_ID)
    batch, out = noisy_outputs(task, "validation", 60, seed=2)
    refs = [[" ".join(r) for r in ex.references] for ex in batch.examples]
    texts = reward.decode(out, None, batch.oovs)
    got = reward.terminal(out, None, refs, batch.oovs).numpy()
    assert np.abs(got - reward.score(texts, refs).numpy()).max() == 0
    with_eos = reward.score([t + " </s>" for t in texts], refs).numpy()
    assert (np.abs(with_eos - got) > 1e-3).mean() > 0.5
    # explicit lengths that reach past </s> give the same scores
    full = torch.full((out.shape[0],), out.shape[1])
    assert torch.equal(reward.terminal(out, full, refs, batch.oovs), torch.from_numpy(got))


def _brute_lookahead(reward, prefix, refs, oovs, A):
    """score(prefix + a) - score(prefix) for every action a < A (</s>: 0)."""
    P = len(prefix)
    H = np.zeros((A, P + 1), np.int64)
    H[:, :P] = prefix
    H[:, P] = np.arange(A)
    lens = np.full(A, P + 1)
    lens[EOS_ID] = P
    ext = reward.terminal(H, lens, [refs] * A, [oovs] * A).numpy()
    base = reward.terminal(H[:1], np.array([P]), [refs], [oovs]).numpy()[0]
    return ext - base


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("spec", ["rougeL", "rouge2", "rougeLsum", "bleu", "cider", "rougeL:0.5,bleu:0.3,cider:0.2"])
def test_lookahead_is_exact_for_every_action(tasks, spec):
    """Dense lookahead [B, V + K] == brute force on every action, including words of several
    metric tokens (probed), words without tokens, copy words; empty copy slots are masked;
    the candidate form gives the same values."""
    task = tasks["aeslc"]
    train_docs = [ex.references for ex in task.split("train")]
    reward = Reward(spec, task.vocab.words, eos_id=EOS_ID, cider_df=train_docs)
    for _, _, _, t in reward.components_:  # the vocabulary exercises the special columns
        tab = reward._tables[t]
        assert tab.multi.size > 10 and (tab.zero.size > 5 or t == "13a")  # 13a drops nothing
    batch, out = noisy_outputs(task, "validation", 6, seed=3)
    K = task.max_oovs
    V = len(task.vocab)
    refs = [ex.references for ex in batch.examples]
    rng = np.random.default_rng(0)
    changed = 0
    for b in range(len(refs)):
        row = out[b].tolist()
        cut = int(rng.integers(0, row.index(EOS_ID) + 1))
        prefix = row[:cut]
        la = reward.lookahead(torch.tensor([[*prefix, 0]]), torch.tensor([cut]), [refs[b]], [batch.oovs[b]],
                              copy_slots=K).numpy()[0]
        A = V + len(batch.oovs[b])
        want = _brute_lookahead(reward, prefix, refs[b], batch.oovs[b], A)
        assert np.abs(la[:A] - want).max() <= 1e-12
        assert np.isneginf(la[A:]).all()  # copy slots with no word behind them
        changed += int((np.abs(want) > 1e-9).sum())
        sc = reward.prefix_scorer([refs[b]], [batch.oovs[b]], copy_slots=K)
        for a in prefix:
            sc.append(np.array([a]))
        cand = rng.integers(0, V + K, size=(1, 40))
        cand[0, :3] = [EOS_ID, V, V + K - 1]
        got = sc.lookahead(cand).numpy()
        assert np.allclose(got, la[cand], rtol=0, atol=1e-12)
    assert changed > 10  # actions that change the score, not all equal


@pytest.mark.needs_shared_data
def test_prefix_scorer_follows_episodes_and_resets(tasks):
    """append increments == dense rewards; lookahead at the taken action == its increment;
    rows reset with new references and copy words; bad input changes nothing."""
    task = tasks["multi30k"]
    reward = Reward("bleu:0.5,rougeL:0.5", task.vocab.words, eos_id=EOS_ID)
    batch, out = noisy_outputs(task, "validation", 8, seed=4)
    refs = [ex.references for ex in batch.examples]
    K = task.max_oovs
    sc = reward.prefix_scorer(refs[:4], batch.oovs[:4], copy_slots=K)
    with pytest.raises(ValueError, match="names no word"):
        sc.append(np.array([0, 0, 0, len(task.vocab) + len(batch.oovs[3])]))
    with pytest.raises(ValueError, match="entries"):
        sc.append(np.array([0, 0]))
    assert (sc.lengths == 0).all()
    dense = reward.dense(out, None, refs, batch.oovs).numpy()
    arr = out.numpy()
    for phase, rows in ((0, [0, 1, 2, 3]), (1, [4, 5, 6, 7])):
        if phase:
            sc.reset_rows(np.arange(4), refs[4:], batch.oovs[4:])
            assert (sc.lengths == 0).all() and not sc.finished.any()
        total = np.zeros(4)
        for t in range(arr.shape[1]):
            a = arr[rows, t]
            la = sc.lookahead().numpy()
            inc = sc.append(a, a != PAD_ID)
            assert np.abs(la[np.arange(4), a] * (a != PAD_ID) - inc).max() <= 1e-12
            assert np.abs(inc - dense[rows, t]).max() <= 1e-12
            total += inc
        assert sc.finished.all()
        assert np.abs(total - reward.terminal(out[rows], None, [refs[r] for r in rows],
                                              [batch.oovs[r] for r in rows]).numpy()).max() <= 1e-12
        assert (sc.lookahead().numpy()[:, : len(task.vocab)] == 0).all()  # finished rows


def test_invalid_arguments_name_the_argument():
    words = ["<pad>", "<unk>", "<s>", "</s>", "the", "cat"]
    r = Reward("rougeL", words, eos_id=3)
    with pytest.raises(ValueError, match="words"):
        Reward("rougeL", [], eos_id=3)
    with pytest.raises(ValueError, match="names no word"):
        r.terminal(torch.tensor([[4, 7]]), None, [["the cat"]], [["dog"]])
    with pytest.raises(ValueError, match="oovs"):
        r.terminal(torch.tensor([[4, 5]]), None, [["the cat"]], ["dog"])
    with pytest.raises(ValueError, match="references"):
        r.terminal(torch.tensor([[4, 5]]), None, "the cat")
    with pytest.raises(ValueError, match="cider_df"):
        Reward("cider", words, cider_df="train")
    assert r.terminal(torch.tensor([[4, 6, 3, 0]]), None, [["the dog"]], [["dog"]]).item() == pytest.approx(1.0)


def test_conventions_are_stated():
    words = ["<pad>", "<unk>", "<s>", "</s>", "a"]
    conv = Reward("rougeL:0.4,bleu:0.3,cider:0.3", words, eos_id=3).conventions
    assert "use_stemmer=True" in conv["rougeL"]
    assert "tokenize='13a'" in conv["bleu"]
    assert "PTBTokenizer" in conv["cider"]


@pytest.mark.parametrize("spec, match", [
    ("rougeL:0,bleu:0", "every weight"),
    ("rougeL:0", "every weight"),
    ({"rougeL": 0.0}, "every weight"),
    ("rougeL,rougeL", "appears twice"),
    ("rougeL:0.5,rougeL_f:0.5", "appears twice"),
    ("cider,ciderD", "appears twice"),
])
def test_degenerate_mixtures_are_rejected(spec, match):
    with pytest.raises(ValueError, match=match):
        make_reward(spec)
    with pytest.raises(ValueError, match=match):
        Reward(spec, ["<pad>", "<unk>", "<s>", "</s>", "a"])


@pytest.mark.parametrize("spec", ["cider", "rouge2", "bleu", "rougeL"])
def test_lookahead_of_multi_token_words_is_exact(spec):
    """Words that tokenize to several (repeated) metric tokens, with and without tokens of the
    prefix or references: the closed forms (fresh tokens, CIDEr-D's idf of the new n-grams)
    and the probes agree with brute force."""
    base = ["<pad>", "<unk>", "<s>", "</s>", "a", "man", "dog", "red", "ball", "is", "on", "the", "grass"]
    tricky = ["(a)(a)", "man's", "dog's", "can't", "cannot", "red-ball", "a.b.", "x/y", "(dog)", "...",
              "isn't", "the-the", "zz'zz", "ball,ball", "u.s.", "--", "grass!", "'s", "q(q)q"]
    words = base + tricky
    rng = np.random.default_rng(5)
    train = [[" ".join(rng.choice(words[4:], size=rng.integers(3, 8))) for _ in range(3)] for _ in range(40)]
    reward = Reward(spec, words, eos_id=EOS_ID, cider_df=train)
    tab = reward._tables[reward.components_[0][3]]
    assert tab.multi.size >= 5
    for trial in range(12):
        refs = [" ".join(rng.choice(words[4:], size=rng.integers(3, 9))) for _ in range(int(rng.integers(1, 4)))]
        prefix = [int(x) for x in rng.choice(np.arange(4, len(words)), size=int(rng.integers(0, 6)))]
        oovs = ["(zz)", "dog's", "qq"][: trial % 4]
        la = reward.lookahead(torch.tensor([[*prefix, 0]]), torch.tensor([len(prefix)]), [refs], [oovs],
                              copy_slots=3).numpy()[0]
        A = len(words) + len(oovs)
        want = _brute_lookahead(reward, prefix, refs, oovs, A)
        assert np.abs(la[:A] - want).max() <= 1e-12, (trial, np.argmax(np.abs(la[:A] - want)))
