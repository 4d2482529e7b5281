"""Critic heads on a real Seq2SeqModel: Q starts as the generator's logits, candidates
agree with the full evaluation, the tied head stays flat in the vocabulary size, copy
slots follow the pointer-generator's copy distribution, trunk sharing and detaching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seq2seq_gym.agents import heads as H
from seq2seq_gym.agents.targets import TargetNetwork
from seq2seq_gym.data import PAD_ID, Example, Vocab, collate
from seq2seq_gym.models import ModelConfig, Seq2SeqModel

WORDS = [f"w{i}" for i in range(12)]
VOCAB = Vocab(WORDS)
V = len(VOCAB)  # 16


def tiny(seed: int = 0, vocab: Vocab | None = VOCAB, vocab_size: int = V, **kw) -> Seq2SeqModel:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return Seq2SeqModel(ModelConfig.tiny(vocab_size, **kw), vocab).eval()


def text_batch(seed: int = 0, n: int = 4):
    """Sources with repeated OOV words (so copy slots gather several positions)."""
    rng = np.random.default_rng(seed)
    pool = [*WORDS, "oov0", "oov1", "oov2"]
    examples = []
    for i in range(n):
        src = [str(w) for w in rng.choice(pool, size=9)] + ["oov0"]
        tgt = [str(w) for w in rng.choice(src, size=4)]
        examples.append(Example(f"{seed}-{i}", src, [tgt]))
    return collate(examples, VOCAB)


def logits_by_hand(model: Seq2SeqModel, features: torch.Tensor) -> torch.Tensor:
    bias = model.out.bias if model.out is not None else model.out_bias
    return F.linear(model.pre_out(features), model._output_weight(), bias)


def steps_with_attention(model: Seq2SeqModel, batch, tokens: torch.Tensor):
    """Run step() over ``<s>, tokens[:, :-1]``: stacked log-probs, features and attention."""
    memory = model.encode(batch)
    state = model.init_state(memory)
    prev = model.bos_tokens(len(batch))
    lps, feats, attns = [], [], []
    for t in range(tokens.shape[1]):
        lp, f, state = model.step(prev, state, memory)
        lps.append(lp)
        feats.append(f)
        attns.append(state.attn)
        prev = tokens[:, t]
    return torch.stack(lps, 1), torch.stack(feats, 1), torch.stack(attns, 1), memory


OUTPUT_LAYERS = [dict(pointer_gen=False), dict(pointer_gen=False, share_embeddings=True),
                 dict(pointer_gen=True), dict(pointer_gen=True, intra_decoder=True, share_embeddings=True)]


@pytest.mark.parametrize("opts", OUTPUT_LAYERS, ids=lambda o: "+".join(k for k, v in o.items() if v) or "plain")
def test_linear_head_starts_equal_to_the_generator_logits(opts):
    model = tiny(**opts)
    batch = text_batch()
    out = model.score(batch, batch.tgt_out, return_full=True)
    head = H.LinearQHead.from_generator(model, copy=False)
    with torch.no_grad():
        q = head(out.features)  # [B, T, V]
        want = logits_by_hand(model, out.features)
    assert q.shape == (*out.features.shape[:2], V)
    assert torch.allclose(q, want, atol=1e-6)
    m = out.mask
    if not opts["pointer_gen"]:  # softmax(Q) is the generator's policy, argmax Q its greedy decoder
        assert torch.allclose(torch.log_softmax(q, -1)[m], out.full_log_probs[..., :V][m], atol=1e-5)
        assert torch.equal(q.argmax(-1)[m], out.full_log_probs.argmax(-1)[m])
    # its own parameters: changing the copy leaves the generator untouched
    with torch.no_grad():
        head.out.bias.add_(1.0)
    assert torch.allclose(logits_by_hand(model, out.features), want)


def test_candidates_agree_with_the_full_evaluation_for_every_q_head():
    model = tiny(pointer_gen=True)
    batch = text_batch(1)
    lp, feats, attn, memory = steps_with_attention(model, batch, batch.tgt_out)
    B, T = feats.shape[:2]
    copy_inputs = dict(attention=attn, src_ext=memory.src_ext, n_ext=memory.n_ext)
    gen = torch.Generator().manual_seed(0)
    n_valid = V + memory.n_oovs  # [B]: copy ids below V + n_oovs[b] are real words
    cand = (torch.rand(B, T, 5, generator=gen) * n_valid[:, None, None]).long()
    cand[..., 0] = V  # the first OOV of every row (each source holds oov0)
    heads = {
        "linear": H.LinearQHead.from_generator(model),
        "tied": H.TiedQHead.from_generator(model, token_bias=True),
        "dueling-linear": H.DuelingQHead.from_generator(model, advantage="linear", value_hidden=8),
        "topk-tied": H.TopKQHead.from_generator(model, k=5, base="tied"),
    }
    with torch.no_grad():
        for name, head in heads.items():
            full = head(feats, **copy_inputs) if name != "topk-tied" else head.base(feats, **copy_inputs)
            assert full.shape == (B, T, V + memory.n_ext), name
            got = head(feats, candidates=cand, **copy_inputs)
            assert got.shape == (B, T, 5), name
            if name.startswith("dueling"):  # the mean runs over the candidates: equal up to a per-state shift
                shift = (full.gather(-1, cand) - got)
                assert torch.allclose(shift, shift[..., :1].expand_as(shift), atol=1e-5), name
            else:
                assert torch.allclose(got, full.gather(-1, cand), atol=1e-5), name
        with pytest.raises(ValueError, match="copy"):
            heads["linear"](feats, candidates=cand)  # copy ids without attention
        with pytest.raises(ValueError, match="candidates"):
            heads["topk-tied"](feats, **copy_inputs)
        with pytest.raises(TypeError, match="candidates"):
            heads["linear"](feats, candidates=cand.float())


@pytest.mark.parametrize("vocab_size", [5_000, 20_000, 50_000])
def test_tied_head_parameters_stay_flat_as_the_vocabulary_grows(vocab_size):
    model = tiny(vocab=None, vocab_size=vocab_size, pointer_gen=False)
    cfg = model.config
    tied = H.TiedQHead.from_generator(model)
    linear = H.LinearQHead.from_generator(model)
    D, Hd, M = cfg.feature_dim, cfg.hidden_dim, cfg.emb_dim
    assert tied.num_parameters() == D * Hd + Hd + Hd * M + M  # no term in V
    assert linear.num_parameters() == D * Hd + Hd + (Hd + 1) * vocab_size
    assert all(p is not model.embedding.weight for p in tied.parameters())  # the embedding is read, not owned
    f = torch.randn(3, D, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        q = tied(f)
        cand = torch.tensor([[1, vocab_size - 1], [7, 8], [vocab_size // 2, 3]])
        assert q.shape == (3, vocab_size)
        assert torch.allclose(tied(f, candidates=cand), q.gather(1, cand), atol=1e-5)


def test_tied_head_is_the_least_squares_fit_and_exact_in_the_span_of_the_embeddings():
    model = tiny(pointer_gen=False)
    rows = torch.arange(V) != PAD_ID
    with torch.no_grad():  # an output layer in the span of the embeddings: the tied fit is exact
        R = torch.randn(model.config.emb_dim, model.config.hidden_dim, generator=torch.Generator().manual_seed(1))
        model.out.weight.copy_(model.embedding.weight @ R)
        model.out.bias.copy_(model.embedding.weight @ torch.randn(model.config.emb_dim))
    batch = text_batch(2)
    feats = model.score(batch, batch.tgt_out).features.detach()
    tied = H.TiedQHead.from_generator(model)
    with torch.no_grad():
        assert torch.allclose(tied(feats)[..., rows], logits_by_hand(model, feats)[..., rows], atol=1e-4)
    # a generic output layer: the normal equations E^T (E P - W) = 0 hold for the fitted P
    other = tiny(seed=3, vocab=None, vocab_size=200, pointer_gen=False)  # V - 1 > M rows: overdetermined
    fit = H.TiedQHead.from_generator(other)
    rows = torch.arange(200) != PAD_ID
    E = other.embedding.weight[rows].double()
    resid = E @ fit.proj.weight.double() - other.out.weight[rows].double()
    assert (E.T @ resid).abs().max() < 1e-5
    assert resid.abs().max() > 1e-3  # not exact there: the test can tell


def test_dueling_aggregations_and_the_log_prob_stream():
    model = tiny(pointer_gen=True)
    batch = text_batch(3)
    out = model.score(batch, batch.tgt_out, return_full=True)
    f, lp = out.features.detach(), out.full_log_probs.detach()  # lp: [B, T, V + n_ext], -inf on empty copy slots
    allowed = torch.isfinite(lp)
    for mode in ("mean", "max", "none"):
        head = H.DuelingQHead.from_generator(model, mode=mode, value_hidden=8, init_value=0.5, tau=2.0)
        with torch.no_grad():
            q, v = head(f, log_probs=lp), head.value(f)
        a = 2.0 * lp
        ref = {"mean": (a.masked_fill(~allowed, 0).sum(-1) / allowed.sum(-1)), "max": a.amax(-1),
               "none": torch.zeros_like(v)}[mode]
        want = v[..., None] + a - ref[..., None]
        assert torch.allclose(q[allowed], want[allowed], atol=1e-5), mode
        assert torch.isneginf(q[~allowed]).all(), mode
        assert torch.equal(q.argmax(-1), lp.argmax(-1))  # the greedy action of Q is the generator's
        assert torch.allclose(v, torch.full_like(v, 0.5))  # V starts at init_value
    assert torch.allclose(2.0 * (q / 2.0).logsumexp(-1), v, atol=1e-5)  # soft value V = tau lse(Q / tau), tau = 2
    # with candidates the log-prob stream takes the candidates' log-probabilities
    ids, cand_lp = H.topk_candidates(lp, 3)
    head = H.DuelingQHead.from_generator(model, mode="max")
    qc = head(f, candidates=ids, log_probs=cand_lp)
    assert torch.allclose(qc[..., 0], head.value(f), atol=1e-6)  # the top candidate gets Q = V with "max"
    with pytest.raises(ValueError, match="log_probs"):
        head(f)
    with pytest.raises(ValueError, match="candidates"):
        head(f, candidates=ids, log_probs=lp)


def test_copy_slots_follow_the_pointer_generator_copy_distribution():
    """Q(s, V + k) = log sum of the attention on OOV word k: exp(log pi(V + k)) / exp(Q)
    is the same 1 - p_gen for every copy slot of a state (the generator's mixture)."""
    model = tiny(pointer_gen=True)
    batch = text_batch(4)
    lp, feats, attn, memory = steps_with_attention(model, batch, batch.tgt_out)
    copy = H.CopyQHead.from_generator(model)
    with torch.no_grad():
        q = copy(feats, attention=attn, src_ext=memory.src_ext, n_ext=memory.n_ext)  # [B, T, n_ext]
    B, T = feats.shape[:2]
    for b in range(B):
        k_real = int(memory.n_oovs[b])
        assert torch.isneginf(q[b, :, k_real:]).all()  # slots without a word
        for k in range(k_real):
            positions = memory.src_ext[b] == V + k
            assert torch.allclose(q[b, :, k], attn[b][:, positions].sum(-1).log(), atol=1e-5)
        ratio = (lp[b, :, V:V + k_real] - q[b, :, :k_real]).exp()  # [T, k]: 1 - p_gen, the same for each k
        assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)
        assert ((ratio > 0) & (ratio < 1)).all()
    # the max variant, by hand on one state with a repeated word
    u = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    src = torch.tensor([[V, V + 1, V, 5]])
    mx = H.CopyQHead(model.feature_dim, V, reduce="max")
    with torch.no_grad():
        got = mx(torch.zeros(1, model.feature_dim), attention=u, src_ext=src, n_ext=3)
    assert torch.allclose(got[0, :2], torch.tensor([0.3, 0.2]).log()) and torch.isneginf(got[0, 2])
    # gradients stay finite with empty slots
    copy.alpha.grad = None
    qg = copy(feats, attention=attn, src_ext=memory.src_ext, n_ext=memory.n_ext)
    qg[torch.isfinite(qg)].sum().backward()
    assert torch.isfinite(copy.alpha.grad) and torch.isfinite(copy.offset.weight.grad).all()


@pytest.mark.parametrize("name", ["linear", "tied", "dueling", "value"])
def test_detach_trunk_decides_whether_critic_gradients_reach_the_generator(name):
    model = tiny(pointer_gen=False).train()
    batch = text_batch(5)
    grads = {}
    for detach in (False, True):
        model.zero_grad()
        critic = H.build_critic(model, name, detach_trunk=detach)
        with torch.no_grad():  # the value stream's output weights start at 0: move them off it
            for p in critic.head.parameters():
                p.add_(0.05)
        out = model.score(batch, batch.tgt_out, return_full=name == "dueling")
        kw = {"log_probs": out.full_log_probs} if name == "dueling" else {}
        q = critic(out.features, **kw)
        q[torch.isfinite(q)].square().mean().backward()
        grads[detach] = {n: p.grad for n, p in model.named_parameters()}
        assert all(p.grad is not None for p in critic.head.parameters() if p.requires_grad)
    lstm = grads[False]["cells.0.weight_hh"]  # the decoder recurrence, under the features
    assert lstm is not None and lstm.abs().sum() > 0
    assert all(g is None or not g.any() for g in grads[True].values())
    if name == "tied":  # the shared embedding gets the critic's gradient unless detached
        assert grads[False]["embedding.weight"].abs().sum() > 0


def test_shared_or_own_trunk_and_targets_never_copy_the_generator():
    model = tiny(pointer_gen=True)
    n_gen = sum(p.numel() for p in model.parameters())
    shared = H.build_critic(model, "tied")
    assert shared.shares_trunk and shared.trunk is None
    assert sum(p.numel() for p in shared.parameters()) == shared.head.num_parameters()  # no generator weight
    own = H.build_critic(model, "tied", share_trunk=False)
    assert not own.shares_trunk and sum(p.numel() for p in own.trunk.parameters()) == n_gen
    assert own.head.embedding is own.trunk.embedding and own.head.embedding is not model.embedding
    target = TargetNetwork(shared.head, update="polyak", tau=0.1)
    assert target.target.embedding is model.embedding  # shared, not copied
    assert sum(p.numel() for p in target.target.parameters()) == shared.head.num_parameters()
    f = torch.randn(2, model.feature_dim, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(target(f), shared(f))
    # a critic with its own trunk: its target copies the head, keeps the trunk shared and trainable
    own_target = TargetNetwork(own, update="hard", interval=1)
    assert own_target.target.trunk is own.trunk and own_target.num_parameters() == own.head.num_parameters()
    assert all(p.requires_grad for p in own.trunk.parameters())
    assert set(own_target.state_dict()["target"]) == {f"head.{k}" for k in own.head.state_dict()}
    with torch.no_grad():
        own.head.proj.bias.add_(1.0)
    own_target.step()
    assert torch.equal(own_target.target.head.proj.bias, own.head.proj.bias)


def test_registry_and_bad_inputs():
    assert {"value", "linear", "tied", "dueling", "topk", "copy"} <= set(H.list_heads())
    model = tiny(pointer_gen=False)
    assert isinstance(H.make_head("dueling", model, advantage="tied"), H.DuelingQHead)
    assert isinstance(H.make_head("value", feature_dim=4), H.ValueHead)

    @H.register_head("scaled-linear")
    class Scaled(H.LinearQHead):
        """A user head: the linear head times two (registered by name)."""

        def vocab_q(self, f, ids=None):
            return 2 * super().vocab_q(f, ids)

    try:
        f = torch.randn(2, model.feature_dim)
        with torch.no_grad():
            assert torch.allclose(H.make_head("scaled-linear", model)(f), 2 * logits_by_hand(model, f), atol=1e-6)
    finally:
        H.HEADS.pop("scaled-linear")
    with pytest.raises(ValueError, match="unknown head"):
        H.make_head("nope", model)
    with pytest.raises(TypeError, match="CriticHead"):
        H.register_head("bad", int)
    head = H.LinearQHead.from_generator(model)
    with pytest.raises(ValueError, match="features"):
        head(torch.zeros(2, model.feature_dim + 1))
    with pytest.raises(TypeError, match="features"):
        head(torch.zeros(2, model.feature_dim, dtype=torch.long))
    with pytest.raises(ValueError, match="candidates"):
        head(torch.zeros(2, model.feature_dim), candidates=torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="mode"):
        H.DuelingQHead(H.ValueHead(4), mode="sum")
    with pytest.raises(ValueError, match="k"):
        H.TopKQHead(head, 0)
    with pytest.raises(ValueError, match="attention"):
        H.CopyQHead(model.feature_dim, V)(torch.zeros(2, model.feature_dim))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))])
def test_heads_and_targets_follow_the_generator_device(device):
    """Heads built from a generator live on its device; Q, candidates, copy slots and the
    Q-learning targets compute there and agree with the CPU numbers."""
    from seq2seq_gym.agents.targets import q_targets

    cpu_model = tiny(pointer_gen=True)
    model = tiny(pointer_gen=True).to(device)
    batch = text_batch(6)
    lp, feats, attn, memory = steps_with_attention(cpu_model, batch, batch.tgt_out)
    kw = dict(attention=attn, src_ext=memory.src_ext, n_ext=memory.n_ext)
    on = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
    cand = torch.full((*feats.shape[:2], 2), V)  # the first copy slot and ...
    cand[..., 1] = 5  # ... an in-vocabulary id
    for name in ("linear", "tied", "dueling"):
        extra = {"advantage": "linear"} if name == "dueling" else {}
        head_cpu, head = H.make_head(name, cpu_model, **extra), H.make_head(name, model, **extra)
        assert all(p.device.type == device for p in head.parameters()), name
        with torch.no_grad():
            got = head(feats.to(device), **on)
            assert got.device.type == device and got.dtype == torch.float32
            assert torch.allclose(got.cpu(), head_cpu(feats, **kw), atol=1e-4), name
            got_c = head(feats.to(device), candidates=cand.to(device), **on)
            assert torch.allclose(got_c.cpu(), head_cpu(feats, candidates=cand, **kw), atol=1e-4), name
    target = TargetNetwork(head, update="polyak", tau=0.5)
    target.step()
    q_next = target(feats.to(device)[:, 0], **{**on, "attention": on["attention"][:, 0]})
    n = q_next.shape[0]
    y = q_targets(torch.ones(n, device=device), 0.9, torch.zeros(n, dtype=torch.bool, device=device),
                  q_next, kind="double", next_q_online=q_next + 1)
    assert y.device.type == device and torch.isfinite(y).all()
