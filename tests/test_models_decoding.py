"""Decoding: greedy, sampling (temperature, top-k, top-p), beam search, trigram blocking, lengths, n-best."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from seq2seq_gym.data import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Example, Vocab, collate
from seq2seq_gym.models import ModelConfig, Seq2SeqModel, banned_trigram_mask
from seq2seq_gym.models.decoding import _filter_top_k_top_p

WORDS = [f"w{i}" for i in range(8)]
VOCAB = Vocab(WORDS)
V = len(VOCAB)


def batch_of(seed=0, n=3, oov=True):
    rng = np.random.default_rng(seed)
    pool = WORDS + (["zz", "yy"] if oov else [])
    exs = []
    for i in range(n):
        src = [str(w) for w in rng.choice(pool, size=int(rng.integers(3, 8)))]
        exs.append(Example(f"{seed}-{i}", src, [src[:3]]))
    return collate(exs, VOCAB)


def model_of(seed=0, **kw):
    torch.manual_seed(seed)
    return Seq2SeqModel(ModelConfig.tiny(V, **kw), VOCAB).eval()


def repeated_trigrams(seq):
    grams = [tuple(seq[i : i + 3]) for i in range(len(seq) - 2)]
    return len(grams) - len(set(grams))


def sequences(out):
    """Generated sequences as lists, cut at their lengths."""
    return [row[: int(n)].tolist() for row, n in zip(out.tokens, out.lengths)]


# ------------------------------------------------------------------- greedy / beam
@pytest.mark.parametrize(
    "opts", [{}, {"coverage": True, "intra_decoder": True}, {"intra_temporal": True, "attention": "bilinear"}]
)
@pytest.mark.parametrize("block", [False, True])
def test_beam_of_one_equals_greedy(opts, block):
    model = model_of(1, **opts)
    batch = batch_of(1, n=5)
    greedy = model.generate(batch, "greedy", max_len=25, block_trigrams=block)
    beam = model.generate(batch, "beam", beam_size=1, max_len=25, block_trigrams=block, length_penalty=1.0)
    assert torch.equal(greedy.lengths, beam.lengths)
    assert torch.equal(greedy.tokens, beam.tokens)


def test_greedy_follows_the_argmax_of_step():
    model = model_of(2, pointer_gen=True)
    batch = batch_of(2)
    out = model.generate(batch, "greedy", max_len=6)
    with torch.no_grad():
        memory = model.encode(batch)
        state = model.init_state(memory)
        prev = model.bos_tokens(len(batch))
        for t in range(out.tokens.shape[1]):
            lp, _, state = model.step(prev, state, memory)
            lp[:, [PAD_ID, BOS_ID]] = float("-inf")
            for b in range(len(batch)):
                if t < out.lengths[b]:
                    assert int(out.tokens[b, t]) == int(lp[b].argmax())
                    assert float(out.token_log_probs[b, t]) == pytest.approx(float(lp[b].max()), abs=1e-6)
                else:
                    assert int(out.tokens[b, t]) == PAD_ID
            prev = out.tokens[:, t]
    torch.testing.assert_close(out.scores, out.token_log_probs.sum(1))


def test_beam_search_is_exact_when_the_beam_covers_every_prefix():
    """With length_penalty=0 and a beam wider than the search space, beam search finds the best sequences.

    The reference enumerates every sequence of at most 4 tokens (PAD and BOS are never generated)
    and scores it with an independent teacher-forced pass.
    """
    vocab = Vocab(["a", "b", "c"])  # generatable: <unk>, </s>, a, b, c
    torch.manual_seed(3)
    model = Seq2SeqModel(ModelConfig.tiny(len(vocab), pointer_gen=False), vocab).eval()
    batch = collate([Example("x", ["a", "b", "c", "a"], [["a"]])], vocab)
    max_len, non_eos = 4, [UNK_ID, 4, 5, 6]
    candidates = [[*p, EOS_ID] for j in range(max_len) for p in itertools.product(non_eos, repeat=j)]
    candidates += [list(p) for p in itertools.product(non_eos, repeat=max_len)]
    acts = torch.tensor([c + [PAD_ID] * (max_len - len(c)) for c in candidates])
    lens = torch.tensor([len(c) for c in candidates])
    many = batch.select([0] * len(candidates))
    with torch.no_grad():
        totals = model.score(many, acts, lengths=lens).log_probs.sum(1)
    order = totals.argsort(descending=True)
    out = model.generate(batch, "beam", beam_size=256, n_best=3, max_len=max_len, length_penalty=0.0)
    for rank in range(3):
        best = candidates[int(order[rank])]
        assert sequences_nbest(out, 0, rank) == best
        assert float(out.scores[0, rank]) == pytest.approx(float(totals[order[rank]]), abs=1e-4)


def sequences_nbest(out, b, rank):
    return out.tokens[b, rank, : int(out.lengths[b, rank])].tolist()


def test_beam_scores_are_length_normalised_sums():
    model = model_of(4)
    batch = batch_of(4)
    for lp in (0.0, 1.0, 0.6):
        out = model.generate(batch, "beam", beam_size=3, max_len=8, length_penalty=lp)
        total = model.score(batch, out.tokens, lengths=out.lengths).log_probs.sum(1)
        torch.testing.assert_close(out.scores, total / out.lengths.float() ** lp, atol=1e-5, rtol=0)


def test_n_best_output():
    model = model_of(5)
    batch = batch_of(5)
    out = model.generate(batch, "beam", beam_size=4, n_best=3, max_len=10)
    assert out.tokens.shape[:2] == (3, 3) and out.lengths.shape == (3, 3) and out.scores.shape == (3, 3)
    assert torch.all(out.scores[:, :-1] >= out.scores[:, 1:])
    for b in range(3):
        seqs = {tuple(sequences_nbest(out, b, r)) for r in range(3)}
        assert len(seqs) == 3
    assert torch.equal(out.best(), out.tokens[:, 0])
    words = model.decode_text(batch, out)
    assert len(words) == 3 and all(len(w) == 3 for w in words)


# -------------------------------------------------------------------- lengths
@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_min_len_and_max_len(strategy):
    model = model_of(6, pointer_gen=False)  # the output bias alone decides when to stop
    batch = batch_of(6)
    with torch.no_grad():
        model.out.bias[EOS_ID] = 20.0  # the model wants to stop at once
    out = model.generate(batch, strategy, max_len=10, generator=torch.Generator().manual_seed(0))
    assert out.lengths.tolist() == [1, 1, 1] and out.tokens[:, 0].tolist() == [EOS_ID] * 3
    out = model.generate(batch, strategy, min_len=4, max_len=10, generator=torch.Generator().manual_seed(0))
    assert out.lengths.tolist() == [5, 5, 5]
    assert torch.all(out.tokens[:, :4] != EOS_ID) and torch.all(out.tokens[:, 4] == EOS_ID)
    with torch.no_grad():
        model.out.bias[EOS_ID] = -20.0  # never stops
    out = model.generate(batch, strategy, max_len=7, generator=torch.Generator().manual_seed(0))
    assert out.tokens.shape == (3, 7) and out.lengths.tolist() == [7, 7, 7]
    assert not torch.any(out.tokens == EOS_ID)


def test_tokens_after_the_end_are_padding():
    model = model_of(7)
    batch = batch_of(7, n=6)
    out = model.generate(batch, "sample", max_len=30, generator=torch.Generator().manual_seed(1))
    for row, n in zip(out.tokens, out.lengths):
        n = int(n)
        assert torch.all(row[n:] == PAD_ID)
        assert torch.all(row[: n - 1] != EOS_ID)
        assert int(row[n - 1]) == EOS_ID or n == 30
        assert not torch.any(row[:n] == PAD_ID) and not torch.any(row[:n] == BOS_ID)


# ------------------------------------------------------------------ trigram blocking
def test_banned_trigram_mask_matches_a_naive_scan():
    rng = np.random.default_rng(0)
    for _ in range(20):
        hist = torch.as_tensor(rng.integers(0, 4, size=(5, int(rng.integers(0, 12)))))
        mask = banned_trigram_mask(hist, 6)
        for r in range(5):
            h = hist[r].tolist()
            banned = {h[i + 2] for i in range(len(h) - 2) if len(h) >= 3 and (h[i], h[i + 1]) == (h[-2], h[-1])}
            got = set() if mask is None else set(torch.nonzero(mask[r]).flatten().tolist())
            assert got == banned


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_trigram_blocking_never_repeats_a_trigram(strategy):
    model = model_of(8)  # untrained: loops a lot
    batch = batch_of(8, n=6)
    with torch.no_grad():
        model.out.bias[EOS_ID] = -20.0
    kw = {"max_len": 40, "beam_size": 3, "generator": torch.Generator().manual_seed(0)}
    plain = model.generate(batch, strategy, **kw)
    assert sum(repeated_trigrams(s) for s in sequences(plain)) > 0  # the test has teeth
    kw["generator"] = torch.Generator().manual_seed(0)
    blocked = model.generate(batch, strategy, block_trigrams=True, **kw)
    for s in sequences(blocked):
        assert repeated_trigrams(s) == 0


# ----------------------------------------------------------------------- sampling
def test_sampling_follows_the_model_distribution():
    model = model_of(9)
    batch = batch_of(9, n=1).select([0] * 4000)
    memory = model.encode(batch.select([0]))
    with torch.no_grad():
        lp, _, _ = model.step(model.bos_tokens(1), model.init_state(memory), memory)
    lp[0, [PAD_ID, BOS_ID]] = float("-inf")
    for temperature in (1.0, 0.5):
        p = torch.softmax(lp[0] / temperature, -1)
        gen = torch.Generator().manual_seed(3)
        out = model.generate(batch, "sample", max_len=1, temperature=temperature, generator=gen)
        freq = torch.bincount(out.tokens[:, 0], minlength=p.shape[0]).float() / 4000
        tol = 4 * torch.sqrt(p * (1 - p) / 4000) + 2e-3
        assert torch.all((freq - p).abs() <= tol), (freq, p)


def test_top_k_and_top_p_filters_match_their_definitions():
    torch.manual_seed(0)
    logits = torch.randn(6, 12)
    logits[0, 3] = float("-inf")
    k_only = _filter_top_k_top_p(logits, 3, 1.0)
    for r in range(6):
        kept = set(torch.isfinite(k_only[r]).nonzero().flatten().tolist())
        assert kept == set(logits[r].topk(3).indices.tolist())
    p_only = _filter_top_k_top_p(logits, 0, 0.7)
    for r in range(6):
        probs = torch.softmax(logits[r], -1).tolist()
        order = sorted(range(12), key=lambda i: -probs[i])
        nucleus, mass = [], 0.0
        for i in order:  # smallest prefix of the sorted tokens with mass >= 0.7
            nucleus.append(i)
            mass += probs[i]
            if mass >= 0.7:
                break
        assert set(torch.isfinite(p_only[r]).nonzero().flatten().tolist()) == set(nucleus)
        torch.testing.assert_close(p_only[r][torch.isfinite(p_only[r])], logits[r][torch.isfinite(p_only[r])])


def test_top_k_one_sampling_is_greedy_and_seeds_reproduce():
    model = model_of(10)
    batch = batch_of(10, n=4)
    greedy = model.generate(batch, "greedy", max_len=12)
    top1 = model.generate(batch, "sample", top_k=1, max_len=12, generator=torch.Generator().manual_seed(5))
    assert torch.equal(greedy.tokens, top1.tokens)
    a = model.generate(batch, "sample", max_len=12, generator=torch.Generator().manual_seed(7))
    b = model.generate(batch, "sample", max_len=12, generator=torch.Generator().manual_seed(7))
    c = model.generate(batch, "sample", max_len=12, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.scores, b.scores)
    assert not torch.equal(a.tokens, c.tokens)
    # token_log_probs are the model's own log-probabilities of the sampled tokens
    scored = model.score(batch, a.tokens, lengths=a.lengths).log_probs
    torch.testing.assert_close(a.token_log_probs, scored, atol=1e-5, rtol=0)


def test_copy_ids_decode_to_source_words():
    model = model_of(11, pointer_gen=True)
    batch = batch_of(11)
    b = next(i for i, o in enumerate(batch.oovs) if o)
    tokens = torch.full((3, 3), PAD_ID)
    tokens[b] = torch.tensor([V, 4, EOS_ID])  # copy slot 0, then "w0"
    words = model.decode_text(batch, tokens)
    assert words[b] == [batch.oovs[b][0], "w0"]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"strategy": "topk"}, "strategy"),
        ({"max_len": 0}, "max_len"),
        ({"min_len": 5, "max_len": 5}, "min_len"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"strategy": "beam", "beam_size": 2, "n_best": 3}, "n_best"),
        ({"strategy": "greedy", "n_best": 2}, "n_best"),
        ({"strategy": "beam", "beam_size": 0}, "beam_size"),
    ],
)
def test_generate_argument_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        model_of(0).generate(batch_of(0), **kw)
