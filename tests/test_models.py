"""Seq2SeqModel architecture: shapes, masks, step/score agreement, row independence, encoders, errors, checkpoints."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
import torch

from seq2seq_gym.data import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Example, Vocab, collate
from seq2seq_gym.models import DecoderState, Memory, ModelConfig, ScheduledSampling, Seq2SeqModel
from seq2seq_gym.models.checkpoint import sha256_json

WORDS = [f"w{i}" for i in range(12)]
VOCAB = Vocab(WORDS)
V = len(VOCAB)  # 16


def text_batch(seed: int = 0, n: int = 4, min_len: int = 3, max_len: int = 9):
    """Random sources mixing vocabulary words and OOV words; targets drawn from the source and the vocabulary."""
    rng = np.random.default_rng(seed)
    pool = WORDS + [f"oov{j}" for j in range(6)]
    examples = []
    for i in range(n):
        src = [str(w) for w in rng.choice(pool, size=int(rng.integers(min_len, max_len + 1)))]
        tgt = [str(w) for w in rng.choice(src + WORDS[:3], size=int(rng.integers(2, 7)))]
        examples.append(Example(f"{seed}-{i}", src, [tgt]))
    return collate(examples, VOCAB)


def tiny(**kw) -> Seq2SeqModel:
    torch.manual_seed(kw.pop("seed", 0))
    return Seq2SeqModel(ModelConfig.tiny(V, **kw), VOCAB).eval()


def run_steps(model, batch, tokens, memory=None, state=None):
    """Feed ``<s>, tokens[:, :-1]`` through step(); return stacked log-probs and features."""
    memory = model.encode(batch) if memory is None else memory
    state = model.init_state(memory) if state is None else state
    prev = model.bos_tokens(len(batch))
    lps, feats = [], []
    for t in range(tokens.shape[1]):
        lp, f, state = model.step(prev, state, memory)
        lps.append(lp)
        feats.append(f)
        prev = tokens[:, t]
    return torch.stack(lps, 1), torch.stack(feats, 1), state


OPTIONS = ["pointer_gen", "coverage", "intra_temporal", "intra_decoder", "share_embeddings"]
COMBOS = [
    dict(zip(OPTIONS, flags), attention=att)
    for flags in itertools.product([False, True], repeat=len(OPTIONS))
    for att in ("bahdanau", "bilinear")
]


def combo_id(c):
    on = [k for k in OPTIONS if c[k]]
    return c["attention"] + ("+" + "+".join(on) if on else "")


# --------------------------------------------------------------------------- config
def test_config_roundtrip_and_presets():
    cfg = ModelConfig.paulus2018(100, hidden_dim=64)
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert cfg.intra_temporal and cfg.intra_decoder and cfg.share_embeddings and cfg.attention == "bilinear"
    assert ModelConfig.small(50).hidden_dim == 128 and ModelConfig.small(50).emb_dim == 64
    assert ModelConfig.see2017(50).coverage and ModelConfig(50).hidden_dim == 256 and ModelConfig(50).emb_dim == 128
    assert cfg.feature_dim == 64 + 128 + 64  # s_t, bidirectional context, intra-decoder context


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"encoder": "rnn"}, "encoder"),
        ({"attention": "dot"}, "attention"),
        ({"encoder": "cnn"}, "pointer_gen"),
        ({"encoder": "features", "pointer_gen": False}, "source_feature_dim"),
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"vocab_size": 3}, "vocab_size"),
    ],
)
def test_config_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**{"vocab_size": 50, **kw})


def test_config_rejects_non_bool_flags():
    with pytest.raises(TypeError, match="pointer_gen"):
        ModelConfig(50, pointer_gen="yes")


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="hidden_size"):
        ModelConfig.from_dict({"vocab_size": 50, "hidden_size": 3})


def test_model_rejects_vocab_of_other_size():
    with pytest.raises(ValueError, match="vocab_size"):
        Seq2SeqModel(ModelConfig.tiny(V + 1), VOCAB)


# ------------------------------------------------------- shapes, masks, agreement
@pytest.mark.parametrize("opts", COMBOS, ids=combo_id)
def test_shapes_masks_and_step_score_agreement(opts):
    model = tiny(**opts)
    batch = text_batch(1)
    B, T = batch.tgt_out.shape
    n_ext = batch.max_oovs
    assert n_ext > 0
    targets = model.mle_targets(batch)
    out = model.score(batch, targets, lengths=batch.tgt_lens, return_full=True, with_entropy=True)
    D = model.feature_dim
    assert out.log_probs.shape == (B, T) and out.entropy.shape == (B, T) and out.features.shape == (B, T, D)
    assert out.full_log_probs.shape == (B, T, V + n_ext)
    assert torch.equal(out.mask, batch.tgt_mask)
    # masked positions contribute nothing; valid ones are proper log-probabilities
    assert torch.all(out.log_probs[~out.mask] == 0) and torch.all(out.entropy[~out.mask] == 0)
    assert torch.all(out.log_probs[out.mask] < 0) and torch.all(torch.isfinite(out.log_probs))
    # each step's distribution sums to one over the extended vocabulary
    torch.testing.assert_close(out.full_log_probs.exp().sum(-1), torch.ones(B, T), atol=1e-5, rtol=0)
    # copy columns: -inf beyond each row's OOVs, and everywhere without the pointer-generator
    for b, oovs in enumerate(batch.oovs):
        n_valid = len(oovs) if opts["pointer_gen"] else 0
        copy = out.full_log_probs[b, :, V:]
        assert torch.isneginf(copy[:, n_valid:]).all()
        assert torch.isfinite(copy[:, :n_valid]).all()
    # entropy equals -sum p log p of the full distribution
    p = out.full_log_probs.exp()
    ent = -(p * out.full_log_probs.nan_to_num(neginf=0.0)).sum(-1) * out.mask
    torch.testing.assert_close(out.entropy, ent, atol=1e-5, rtol=0)
    assert (out.coverage_loss is not None) == opts["coverage"]

    # step() T times on the same tokens gives the same numbers (1e-5)
    lps, feats, _ = run_steps(model, batch, targets)
    full = out.full_log_probs
    finite = torch.isfinite(full)
    assert torch.equal(finite, torch.isfinite(lps))
    assert (lps[finite] - full[finite]).abs().max() < 1e-5
    assert (feats - out.features).abs().max() < 1e-5
    # the fast path (targets only) agrees with the full distribution
    fast = model.score(batch, targets, lengths=batch.tgt_lens, with_entropy=False)
    assert fast.full_log_probs is None and fast.entropy is None
    assert (fast.log_probs - out.log_probs).abs().max() < 1e-5


@pytest.mark.parametrize("opts", [
    {}, {"coverage": True, "intra_temporal": True}, {"attention": "bilinear", "intra_decoder": True},
    {"pointer_gen": False, "share_embeddings": True},
], ids=lambda o: "+".join(o) or "base")
@pytest.mark.parametrize("policy", ["teacher", "scheduled"])
def test_score_returns_the_step_attention(opts, policy):
    """ScoreOutput.attention [B, T, S] is each step's encoder attention (what copy Q-values read)."""
    model = tiny(**opts)
    batch = text_batch(21)
    targets = model.mle_targets(batch)
    kw = {"input_policy": ScheduledSampling("constant", k=1.0)} if policy == "scheduled" else {}
    out = model.score(batch, targets, lengths=batch.tgt_lens, **kw)
    memory = model.encode(batch)
    state, prev, want = model.init_state(memory), model.bos_tokens(len(batch)), []
    for t in range(targets.shape[1]):
        _, _, state = model.step(prev, state, memory)
        want.append(state.attn)
        prev = targets[:, t]
    want = torch.stack(want, 1) * batch.tgt_mask[:, :, None]  # [B, T, S]
    B, T = targets.shape
    assert out.attention.shape == (B, T, memory.source_len)
    torch.testing.assert_close(out.attention, want, atol=1e-5, rtol=0)
    # each valid step is a distribution over the real source positions; padding and masked steps are 0
    torch.testing.assert_close(out.attention.sum(-1), batch.tgt_mask.float(), atol=1e-5, rtol=0)
    assert torch.all(out.attention.masked_select(~batch.src_mask[:, None, :].expand(B, T, -1)) == 0)
    assert out.attention.requires_grad  # agents train through it


def test_default_score_does_not_build_the_full_distribution(monkeypatch):
    """score() by default computes the actions' log-probabilities only, never the [B, T, V + n_ext] mixture."""
    model = tiny()
    batch = text_batch(22)
    full = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, return_full=True)

    def forbidden(*args, **kwargs):
        raise AssertionError("the full distribution was built")

    monkeypatch.setattr(model, "_final_log_probs", forbidden)
    out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens)
    assert out.entropy is None and out.full_log_probs is None
    torch.testing.assert_close(out.log_probs, full.log_probs, atol=1e-5, rtol=0)
    with pytest.raises(AssertionError, match="full distribution"):
        model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, with_entropy=True)


def test_pointer_generator_mixture_matches_hand_computation():
    """See et al. eq. 9 recomputed with Python loops from the model's own p_gen, attention and P_vocab."""
    model = tiny(pointer_gen=True)
    batch = text_batch(2)
    memory = model.encode(batch)
    state = model.init_state(memory)
    log_probs, _, new_state = model.step(model.bos_tokens(len(batch)), state, memory)
    # recompute the pieces of the mixture from the step's state
    s, ctx, attn = new_state.h[:, -1], new_state.context, new_state.attn
    emb = model.embed_tokens(model.bos_tokens(len(batch)))
    x = model.input_proj(torch.cat([emb, state.context], -1))
    logits = model.out(model.pre_out(torch.cat([s, ctx], -1)))
    p_vocab = torch.softmax(logits, -1)
    p_gen = torch.sigmoid(model.p_gen(torch.cat([s, ctx, x], -1))).squeeze(-1)
    for b in range(len(batch)):
        expected = [float((p_gen[b] * p_vocab[b, w]).detach()) for w in range(V)] + [0.0] * batch.max_oovs
        for i in range(int(batch.src_lens[b])):
            expected[int(batch.src_ext[b, i])] += float(((1 - p_gen[b]) * attn[b, i]).detach())
        got = log_probs[b].exp().tolist()
        assert got == pytest.approx(expected, abs=1e-6)
        assert sum(expected) == pytest.approx(1.0, abs=1e-5)


def test_attention_ignores_padding_and_coverage_accumulates():
    model = tiny(coverage=True)
    batch = text_batch(3)
    memory = model.encode(batch)
    state = model.init_state(memory)
    prev = model.bos_tokens(len(batch))
    total = torch.zeros_like(state.attn)
    for t in range(3):
        cov_before = state.coverage
        _, _, state = model.step(prev, state, memory)
        assert torch.all(state.attn[~batch.src_mask] == 0)
        torch.testing.assert_close(state.attn.sum(-1), torch.ones(len(batch)))
        total = total + state.attn
        torch.testing.assert_close(state.coverage, total)  # See eq. 10
        if t == 0:
            assert torch.all(cov_before == 0)
        prev = batch.tgt_out[:, t]
    # coverage loss of score = sum_i min(a_ti, c_ti) (See eq. 12), recomputed from step attentions
    out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens)
    mem, st = model.encode(batch), model.init_state(memory)
    prev, cov = model.bos_tokens(len(batch)), torch.zeros_like(st.attn)
    for t in range(batch.tgt_out.shape[1]):
        _, _, st = model.step(prev, st, mem)
        expected = torch.minimum(st.attn, cov).sum(-1) * batch.tgt_mask[:, t]
        torch.testing.assert_close(out.coverage_loss[:, t], expected, atol=1e-6, rtol=0)
        cov = cov + st.attn
        prev = batch.tgt_out[:, t]


def test_intra_temporal_attention_matches_paulus_equations():
    """Paulus et al. eq. 3-5 with explicit exponentials: e'_t = exp(e_t) / sum_{j<t} exp(e_j)."""
    model = tiny(intra_temporal=True, attention="bilinear")
    batch = text_batch(4)
    memory = model.encode(batch)
    state = model.init_state(memory)
    prev = model.bos_tokens(len(batch))
    past_exp = []
    for t in range(4):
        new = model.step(prev, state, memory)[2]
        s = new.h[:, -1]
        e = torch.bmm(memory.enc_keys, s[:, :, None]).squeeze(-1).double()  # bilinear scores e_ti
        e_prime = e.exp() if t == 0 else e.exp() / torch.stack(past_exp).sum(0)
        e_prime = e_prime * batch.src_mask
        alpha = e_prime / e_prime.sum(-1, keepdim=True)
        torch.testing.assert_close(new.attn.double(), alpha, atol=1e-6, rtol=0)
        past_exp.append(e.exp())
        state, prev = new, batch.tgt_out[:, t]


def test_step_is_pure():
    model = tiny(coverage=True, intra_temporal=True, intra_decoder=True)
    batch = text_batch(5)
    memory = model.encode(batch)
    state = model.init_state(memory)
    _, _, state = model.step(batch.tgt_in[:, 0], state, memory)
    snap_m = {k: v.clone() for k, v in vars(memory).items() if isinstance(v, torch.Tensor)}
    snap_s = {k: v.clone() for k, v in vars(state).items() if isinstance(v, torch.Tensor)}
    a = model.step(batch.tgt_in[:, 1], state, memory)
    b = model.step(batch.tgt_in[:, 1], state, memory)  # again from the same (kept) state
    for k, v in snap_m.items():
        assert torch.equal(getattr(memory, k), v), k
    for k, v in snap_s.items():
        assert torch.equal(getattr(state, k), v), k
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_copy_ids_are_fed_as_unk():
    model = tiny()
    batch = text_batch(6)
    memory = model.encode(batch)
    state = model.init_state(memory)
    assert batch.max_oovs > 0
    row = max(range(len(batch)), key=lambda b: len(batch.oovs[b]))
    copy = torch.full((len(batch),), UNK_ID)
    copy[row] = V  # copy slot 0 of that row
    a = model.step(copy, state, memory)
    b = model.step(torch.full((len(batch),), UNK_ID), state, memory)
    assert torch.equal(a[1], b[1])


def test_sequence_ends_at_first_eos_without_lengths():
    model = tiny()
    batch = text_batch(7)
    acts = torch.full((len(batch), 6), 5)
    acts[0, 2] = EOS_ID
    acts[1, 0] = EOS_ID
    out = model.score(batch, acts)
    assert out.lengths.tolist() == [3, 1, 6, 6]
    assert out.mask.sum(1).tolist() == [3, 1, 6, 6]


# ------------------------------------------------------------------ rows
def test_rows_are_independent_of_batch_padding():
    """An example encoded and decoded alone gives the same numbers as inside a padded batch."""
    model = tiny(coverage=True, intra_temporal=True, intra_decoder=True)
    batch = text_batch(8, n=5, min_len=2, max_len=12)
    out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, return_full=True)
    for b in range(len(batch)):
        ex = batch.examples[b]
        alone = collate([ex], VOCAB)
        one = model.score(alone, alone.tgt_out, lengths=alone.tgt_lens, return_full=True)
        T = alone.tgt_out.shape[1]
        n = V + len(batch.oovs[b])
        torch.testing.assert_close(one.log_probs[0], out.log_probs[b, :T], atol=1e-5, rtol=0)
        torch.testing.assert_close(one.features[0], out.features[b, :T], atol=1e-5, rtol=0)
        torch.testing.assert_close(one.full_log_probs[0, :, :n], out.full_log_probs[b, :T, :n], atol=1e-5, rtol=0)


@pytest.mark.parametrize("first_longer", [True, False])
def test_replace_rows_gives_the_same_outputs_as_running_alone(first_longer):
    """Autoreset: rows of a running batch are replaced by fresh examples; every row computes what it would alone."""
    model = tiny(coverage=True, intra_temporal=True, intra_decoder=True, pointer_gen=True)
    a = text_batch(9, n=4, min_len=8 if first_longer else 2, max_len=12 if first_longer else 4)
    b = text_batch(10, n=2, min_len=2 if first_longer else 8, max_len=4 if first_longer else 12)
    rng = np.random.default_rng(0)
    a_tokens = torch.as_tensor(rng.integers(4, V, size=(4, 8)))
    b_tokens = torch.as_tensor(rng.integers(4, V, size=(2, 5)))
    ref_a, ref_fa, _ = run_steps(model, a, a_tokens)
    ref_b, ref_fb, _ = run_steps(model, b, b_tokens)

    mem_a, mem_b = model.encode(a), model.encode(b)
    state = model.init_state(mem_a)
    prev = model.bos_tokens(4)
    rows = torch.tensor([1, 3])
    for t in range(3):  # three steps of batch a
        lp, f, state = model.step(prev, state, mem_a)
        prev = a_tokens[:, t]
    memory = mem_a.replace_rows(rows, mem_b)
    state = state.replace_rows(rows, model.init_state(mem_b))
    prev = prev.index_copy(0, rows, model.bos_tokens(2))
    assert memory.n_ext == max(a.max_oovs, b.max_oovs)
    assert memory.source_len == max(a.src.shape[1], b.src.shape[1])
    for t in range(5):
        lp, f, state = model.step(prev, state, memory)
        for r, (ref, ref_f, k) in {0: (ref_a, ref_fa, 0), 2: (ref_a, ref_fa, 2)}.items():
            n = V + len(a.oovs[k])
            torch.testing.assert_close(lp[r, :n], ref[k, t + 3, :n], atol=1e-5, rtol=0)
            assert torch.isneginf(lp[r, n:]).all()
            torch.testing.assert_close(f[r], ref_f[k, t + 3], atol=1e-5, rtol=0)
        for j, r in enumerate(rows.tolist()):
            n = V + len(b.oovs[j])
            torch.testing.assert_close(lp[r, :n], ref_b[j, t, :n], atol=1e-5, rtol=0)
            torch.testing.assert_close(f[r], ref_fb[j, t], atol=1e-5, rtol=0)
        nxt = a_tokens[:, min(t + 3, 7)].clone()
        nxt[rows] = b_tokens[:, t]
        prev = nxt
    # the decoder history stays bounded: columns no row uses any more are dropped
    state2 = state.replace_rows(torch.arange(4), model.init_state(model.encode(text_batch(11))))
    assert state2.history.shape[1] == 0


def test_index_select_matches_sub_batch():
    model = tiny(coverage=True, intra_decoder=True)
    batch = text_batch(12, n=5)
    idx = torch.tensor([4, 1, 1])
    memory = model.encode(batch).index_select(idx)
    lp, f, _ = run_steps(model, batch.select(idx), batch.tgt_out[idx], memory=memory)
    ref, ref_f, _ = run_steps(model, batch.select(idx), batch.tgt_out[idx])
    torch.testing.assert_close(lp, ref)
    torch.testing.assert_close(f, ref_f)
    assert isinstance(memory, Memory) and memory.batch_size == 3
    assert isinstance(model.init_state(memory).index_select([0]), DecoderState)


def test_replace_rows_errors():
    model = tiny()
    mem = model.encode(text_batch(13))
    other = model.encode(text_batch(14, n=2))
    with pytest.raises(ValueError, match="row indices"):
        mem.replace_rows([0], other)
    with pytest.raises(ValueError, match="distinct"):
        mem.replace_rows([1, 1], other)
    with pytest.raises(ValueError, match="lie in"):
        mem.replace_rows([0, 9], other)
    with pytest.raises(TypeError, match="Memory"):
        mem.replace_rows([0, 1], model.init_state(other))


# --------------------------------------------------------------------- errors
def test_score_rejects_copy_ids_beyond_the_examples_oovs():
    model = tiny()
    batch = text_batch(15)
    b = min(range(len(batch)), key=lambda i: len(batch.oovs[i]))
    acts = torch.full((len(batch), 3), 5)
    acts[b, 1] = V + len(batch.oovs[b])  # one copy slot too far
    with pytest.raises(ValueError, match=rf"actions\[{b}, 1\].*copy slot {len(batch.oovs[b])}.*example {b}"):
        model.score(batch, acts)
    acts[b, 1] = -2
    with pytest.raises(ValueError, match="negative"):
        model.score(batch, acts)
    # positions beyond the given lengths are not checked (padding may hold anything)
    acts[b, 1] = 10**6
    model.score(batch, acts, lengths=torch.ones(len(batch), dtype=torch.long))


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (lambda a: a.float(), TypeError, "integer"),
        (lambda a: a.bool(), TypeError, "integer"),
        (lambda a: a[0], ValueError, "shape"),
        (lambda a: a[:2], ValueError, "shape"),
        (lambda a: a[:, :0], ValueError, "shape"),
        (lambda a: np.asarray(a, dtype=np.float64), TypeError, "integer"),
    ],
)
def test_score_rejects_bad_action_tensors(bad, exc, match):
    model = tiny()
    batch = text_batch(16)
    with pytest.raises(exc, match=match):
        model.score(batch, bad(torch.full((len(batch), 3), 5)))


def test_score_accepts_numpy_and_lists_of_ids():
    model = tiny()
    batch = text_batch(16)
    ref = model.score(batch, torch.full((4, 3), 5)).log_probs
    torch.testing.assert_close(model.score(batch, np.full((4, 3), 5, dtype=np.int32)).log_probs, ref)
    torch.testing.assert_close(model.score(batch, [[5] * 3] * 4).log_probs, ref)


def test_other_bad_inputs():
    model = tiny()
    batch = text_batch(17)
    memory = model.encode(batch)
    state = model.init_state(memory)
    with pytest.raises(ValueError, match="lengths"):
        model.score(batch, torch.full((4, 3), 5), lengths=[1, 2, 3, 4])
    with pytest.raises(TypeError, match="prev_tokens"):
        model.step(torch.zeros(4), state, memory)
    with pytest.raises(ValueError, match="prev_tokens"):
        model.step(torch.zeros(3, dtype=torch.long), state, memory)
    with pytest.raises(ValueError, match=r"prev_tokens.*copy slot"):
        model.step(torch.full((4,), V + 50), state, memory)
    with pytest.raises(ValueError, match="n_ext"):
        model.encode(batch, n_ext=0)
    with pytest.raises(TypeError, match="Batch"):
        model.encode({"src": batch.src})
    other = collate(batch.examples, Vocab([*WORDS, "extra"]))
    with pytest.raises(ValueError, match="vocab_size"):
        model.encode(other)


def test_fixed_copy_columns_with_n_ext():
    model = tiny()
    batch = text_batch(18)
    memory = model.encode(batch, n_ext=10)
    lp, _, _ = model.step(model.bos_tokens(4), model.init_state(memory), memory)
    assert lp.shape == (4, V + 10)
    ref, _, _ = model.step(model.bos_tokens(4), model.init_state(model.encode(batch)), model.encode(batch))
    torch.testing.assert_close(lp[:, : ref.shape[1]], ref)
    assert torch.isneginf(lp[:, ref.shape[1]:]).all()


# -------------------------------------------------------------- image encoders
def image_batch(n=3, size=32, seed=0):
    rng = np.random.default_rng(seed)
    exs = [
        Example(f"img{i}", rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8), [["w1", "w2", "w3"][: i + 1]])
        for i in range(n)
    ]
    return collate(exs, VOCAB)


@pytest.mark.parametrize("opts", [{}, {"coverage": True, "intra_temporal": True, "intra_decoder": True}])
def test_cnn_encoder_on_raw_images(opts):
    model = tiny(encoder="cnn", pointer_gen=False, **opts)
    batch = image_batch()
    assert batch.src_feats.shape == (3, 32, 32, 3) and batch.src is None
    memory = model.encode(batch)
    grid = 32 // 2 ** len(model.config.cnn_channels)
    assert memory.enc_out.shape == (3, grid * grid, model.config.memory_dim)
    out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, return_full=True)
    assert out.full_log_probs.shape[-1] == V
    lps, _, _ = run_steps(model, batch, batch.tgt_out)
    assert (lps - out.full_log_probs).abs().max() < 1e-5
    # channels-first input is read the same way
    nchw = model.encoder(batch.src_feats.permute(0, 3, 1, 2))[0]
    torch.testing.assert_close(nchw, memory.enc_out)
    loss, _ = model.mle_loss(batch)
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    g = model.generate(batch, max_len=5)
    assert g.tokens.shape[0] == 3 and int(g.tokens.max()) < V


def test_cnn_encoder_errors():
    model = tiny(encoder="cnn", pointer_gen=False)
    with pytest.raises(ValueError, match="32x32"):
        model.encode(image_batch(size=16))
    with pytest.raises(ValueError, match=r"token source|src_feats"):
        model.encode(text_batch(0))
    with pytest.raises(ValueError, match="no token source"):
        tiny().encode(image_batch())


@pytest.mark.parametrize("shape", [(10,), (5, 10)])
def test_feature_encoder_vectors_and_grids(shape):
    rng = np.random.default_rng(0)
    exs = [Example(f"f{i}", rng.normal(size=shape).astype(np.float32), [["w1", "w2"]]) for i in range(3)]
    batch = collate(exs, VOCAB)
    model = tiny(encoder="features", pointer_gen=False, source_feature_dim=10, intra_decoder=True)
    memory = model.encode(batch)
    assert memory.enc_out.shape[:2] == (3, 1 if len(shape) == 1 else 5)
    out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, return_full=True)
    lps, _, _ = run_steps(model, batch, batch.tgt_out)
    assert (lps - out.full_log_probs).abs().max() < 1e-5
    bad = tiny(encoder="features", pointer_gen=False, source_feature_dim=7)
    with pytest.raises(ValueError, match="source_feature_dim"):
        bad.encode(batch)


def test_config_for_task():
    from seq2seq_gym.data import Task

    img = Task("img", VOCAB, {"train": image_batch().examples}, modality="image")
    cfg = ModelConfig.for_task(img)
    assert cfg.encoder == "cnn" and cfg.image_size == 32 and not cfg.pointer_gen and cfg.vocab_size == V
    txt = Task("txt", VOCAB, {"train": text_batch(0).examples})
    model = Seq2SeqModel.from_task(txt, preset="tiny", coverage=True)
    assert model.config.encoder == "lstm" and model.config.pointer_gen and model.config.coverage
    assert model.vocab == VOCAB
    with pytest.raises(ValueError, match="preset"):
        ModelConfig.for_task(txt, preset="huge")


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip(tmp_path):
    model = tiny(coverage=True, intra_decoder=True, share_embeddings=True)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))  # not the initial weights
    batch = text_batch(19)
    model.save(tmp_path / "ck")
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    loaded = Seq2SeqModel.load(tmp_path / "ck")
    assert loaded.config == model.config and loaded.vocab == model.vocab and not loaded.training
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    a = model.score(batch, batch.tgt_out, return_full=True).full_log_probs
    b = loaded.score(batch, batch.tgt_out, return_full=True).full_log_probs
    assert torch.equal(a, b)
    assert torch.equal(model.generate(batch, "beam").tokens, loaded.generate(batch, "beam").tokens)
    # saving again over the same directory replaces it and leaves no temporary files
    model.save(tmp_path / "ck")
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]


def test_checkpoint_without_vocab(tmp_path):
    model = Seq2SeqModel(ModelConfig.tiny(V))
    model.save(tmp_path)
    loaded = Seq2SeqModel.load(tmp_path)
    assert loaded.vocab is None and not (tmp_path / "vocab.txt").exists()
    with pytest.raises(ValueError, match="vocab"):
        loaded.decode_text(text_batch(0), torch.zeros(4, 2, dtype=torch.long))


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Seq2SeqModel.load(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"config\.json is missing"):
        Seq2SeqModel.load(tmp_path)
    model = tiny()
    ck = tmp_path / "ck"
    model.save(ck)
    weights = (ck / "model.safetensors").read_bytes()

    (ck / "model.safetensors").write_bytes(weights[: len(weights) // 2])  # truncated
    with pytest.raises(ValueError, match="do not match"):
        Seq2SeqModel.load(ck)
    (ck / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="weights not found"):
        Seq2SeqModel.load(ck)
    (ck / "model.safetensors").write_bytes(weights)
    Seq2SeqModel.load(ck)

    meta = json.loads((ck / "config.json").read_text())
    meta["weights"]["sha256"] = None  # make the hash agree with a corrupt file below
    (ck / "model.safetensors").write_bytes(b"\x00garbage")
    import hashlib

    meta["weights"]["sha256"] = hashlib.sha256(b"\x00garbage").hexdigest()
    meta["sha256"] = sha256_json({k: v for k, v in meta.items() if k != "sha256"})  # a consistent forgery
    (ck / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="corrupt checkpoint weights"):
        Seq2SeqModel.load(ck)

    (ck / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt checkpoint file"):
        Seq2SeqModel.load(ck)
    (ck / "config.json").write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(ValueError, match="unsupported checkpoint format"):
        Seq2SeqModel.load(ck)

    model.save(ck)
    (ck / "vocab.txt").write_text("a 1\nb 2\n")
    with pytest.raises(ValueError, match="vocabulary"):
        Seq2SeqModel.load(ck)


def test_model_state_dataclasses_are_batch_first():
    model = tiny(coverage=True, intra_temporal=True, intra_decoder=True, dec_layers=2)
    batch = text_batch(20)
    memory = model.encode(batch)
    state = model.init_state(memory)
    for f in dataclasses.fields(state):
        v = getattr(state, f.name)
        assert v is None or v.shape[0] == len(batch), f.name
    assert state.h.shape == (4, 2, model.config.hidden_dim)
    assert torch.isneginf(state.temporal).all() and state.history.shape == (4, 0, model.config.hidden_dim)
    assert memory.init_h.shape == (4, 2, model.config.hidden_dim)
    assert math.isclose(float(state.attn.sum()), 0.0)
    assert BOS_ID != PAD_ID  # BOS starts decoding, PAD pads
