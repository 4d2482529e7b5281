"""Training: input policies against exposure bias, gradient flow, train_mle, the copy task."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seq2seq_gym.data import Example, Task, Vocab, collate
from seq2seq_gym.models import (
    InputPolicy,
    ModelConfig,
    ScheduledSampling,
    Seq2SeqModel,
    SoftArgmax,
    TeacherForcing,
    TopKEmbedding,
    evaluate_mle,
    train_mle,
)

WORDS = [f"w{i}" for i in range(10)]
VOCAB = Vocab(WORDS)
V = len(VOCAB)


def batch_of(seed=0, n=4):
    rng = np.random.default_rng(seed)
    pool = [*WORDS[:6], "zz", "yy"]  # w6..w9 never appear in sources or targets
    exs = []
    for i in range(n):
        src = [str(w) for w in rng.choice(pool, size=int(rng.integers(3, 8)))]
        exs.append(Example(f"{seed}-{i}", src, [list(rng.choice(src, size=4))]))
    return collate(exs, VOCAB)


def model_of(seed=0, **kw):
    torch.manual_seed(seed)
    return Seq2SeqModel(ModelConfig.tiny(V, **kw), VOCAB)


ALL_ON = {"coverage": True, "intra_temporal": True, "intra_decoder": True, "pointer_gen": True}
POLICIES = {
    "teacher": TeacherForcing(),
    "scheduled": ScheduledSampling("constant", k=0.5),
    "scheduled_argmax": ScheduledSampling("constant", k=0.0, mode="argmax"),
    "soft_argmax": SoftArgmax(alpha=2.0),
    "gumbel_st": SoftArgmax(alpha=1.0, gumbel=True, straight_through=True),
    "topk": TopKEmbedding(3),
}


# ------------------------------------------------------------------- schedules
def test_schedules_match_bengio_et_al():
    assert ScheduledSampling("linear", k=1.0, c=0.1).teacher_prob(5) == pytest.approx(0.5)
    assert ScheduledSampling("linear", k=1.0, c=0.1, eps_min=0.2).teacher_prob(50) == pytest.approx(0.2)
    assert ScheduledSampling("exponential", k=0.5).teacher_prob(2) == pytest.approx(0.25)
    assert ScheduledSampling("inverse_sigmoid", k=10).teacher_prob(0) == pytest.approx(10 / 11)
    assert ScheduledSampling("inverse_sigmoid", k=10).teacher_prob(30) == pytest.approx(10 / (10 + math.exp(3)))
    assert ScheduledSampling("inverse_sigmoid", k=10).teacher_prob(10**6) == pytest.approx(0.0, abs=1e-300)
    policy = ScheduledSampling("linear", k=1.0, c=0.25)
    policy.set_step(2)
    assert policy.teacher_prob() == pytest.approx(0.5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ScheduledSampling("cosine"), "schedule"),
        (lambda: ScheduledSampling("exponential", k=1.5), "exponential"),
        (lambda: ScheduledSampling("inverse_sigmoid", k=0.5), "inverse_sigmoid"),
        (lambda: ScheduledSampling(mode="beam"), "mode"),
        (lambda: SoftArgmax(alpha=0), "alpha"),
        (lambda: TopKEmbedding(0), "k"),
    ],
)
def test_policy_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --------------------------------------------------------- what the policies feed
def test_scheduled_sampling_extremes():
    model = model_of(1, **ALL_ON).eval()
    batch = batch_of(1)
    ref = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens)
    always_gold = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, input_policy=ScheduledSampling("constant"))
    torch.testing.assert_close(always_gold.log_probs, ref.log_probs, atol=1e-5, rtol=0)
    torch.testing.assert_close(always_gold.features, ref.features, atol=1e-5, rtol=0)
    # never gold, argmax: the decoder reads its own argmax, as a step() loop does
    own = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, input_policy=POLICIES["scheduled_argmax"])
    with torch.no_grad():
        memory = model.encode(batch)
        state = model.init_state(memory)
        prev = model.bos_tokens(len(batch))
        for t in range(batch.tgt_out.shape[1]):
            lp, _, state = model.step(prev, state, memory)
            expected = lp.gather(1, batch.tgt_out[:, t : t + 1]).squeeze(1) * batch.tgt_mask[:, t]
            torch.testing.assert_close(own.log_probs[:, t], expected, atol=1e-5, rtol=0)
            prev = lp.argmax(-1)


def test_relaxations_agree_with_their_limits():
    model = model_of(2, **ALL_ON).eval()
    batch = batch_of(2)
    args = (batch, batch.tgt_out)
    kw = {"lengths": batch.tgt_lens}
    argmax = model.score(*args, input_policy=POLICIES["scheduled_argmax"], **kw).log_probs
    # a very peaked soft argmax feeds the argmax embedding; so does top-1
    peaked = model.score(*args, input_policy=SoftArgmax(alpha=1e4), **kw).log_probs
    top1 = model.score(*args, input_policy=TopKEmbedding(1), **kw).log_probs
    torch.testing.assert_close(peaked, argmax, atol=1e-5, rtol=0)
    torch.testing.assert_close(top1, argmax, atol=1e-5, rtol=0)
    # top-k over the whole extended vocabulary is the expected embedding, like soft argmax with alpha=1
    every = model.score(*args, input_policy=TopKEmbedding(V + batch.max_oovs), **kw).log_probs
    soft = model.score(*args, input_policy=SoftArgmax(alpha=1.0), **kw).log_probs
    torch.testing.assert_close(every, soft, atol=1e-5, rtol=0)
    # straight-through Gumbel feeds one-hot tokens: its forward pass is a sampled-token pass
    st = model.score(*args, input_policy=SoftArgmax(gumbel=True, straight_through=True), **kw,
                     generator=torch.Generator().manual_seed(0)).log_probs
    assert torch.isfinite(st).all()


class Recorder(InputPolicy):
    """Wraps a policy and keeps the previous-step log-probabilities it was given (to inspect their gradient)."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def next_input(self, model, gold, log_probs, generator=None):
        log_probs.retain_grad()
        self.seen.append(log_probs)
        return self.inner.next_input(model, gold, log_probs, generator)


@pytest.mark.parametrize("name", ["scheduled", "scheduled_argmax", "soft_argmax", "gumbel_st", "topk"])
def test_gradient_flows_through_the_fed_input_only_for_relaxations(name):
    """Goyal et al. and Ranzato et al. backpropagate through the fed input; scheduled sampling does not."""
    model = model_of(3, **ALL_ON)
    batch = batch_of(3)
    rec = Recorder(POLICIES[name])
    out = model.score(batch, batch.tgt_out, lengths=batch.tgt_lens, input_policy=rec,
                      generator=torch.Generator().manual_seed(0))
    out.log_probs[:, -1].sum().backward()  # a loss on the last step only
    earlier = rec.seen[0]  # the distribution of the first step, fed (in some form) to the second
    differentiable = name in ("soft_argmax", "gumbel_st", "topk")
    got = earlier.grad is not None and bool(earlier.grad.abs().sum() > 0)
    assert got == differentiable


@pytest.mark.parametrize("name", list(POLICIES))
@pytest.mark.parametrize("share", [False, True])
def test_every_parameter_gets_a_gradient_in_every_mode(name, share):
    model = model_of(4, share_embeddings=share, attention="bilinear" if share else "bahdanau", **ALL_ON)
    loss, stats = model.mle_loss(batch_of(4), input_policy=POLICIES[name], generator=torch.Generator().manual_seed(0))
    assert math.isfinite(stats["loss"]) and stats["coverage_loss"] > 0
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, pname


@pytest.mark.parametrize("name, expect", [("teacher", False), ("soft_argmax", True), ("topk", True)])
def test_relaxations_train_the_embeddings_of_unseen_tokens(name, expect):
    """Tokens w6..w9 are neither in the sources nor the targets: only soft inputs give their embeddings a gradient."""
    model = model_of(5)
    loss, _ = model.mle_loss(batch_of(5), input_policy=POLICIES[name])
    loss.backward()
    unseen = model.embedding.weight.grad[VOCAB.token_to_id("w6") :]
    assert bool(unseen.abs().sum() > 0) == expect


# --------------------------------------------------------------------- train_mle
def tiny_task(n=64, seed=0):
    rng = np.random.default_rng(seed)

    def ex(i):
        src = [str(w) for w in rng.choice([*WORDS, "zz", "yy"], size=int(rng.integers(3, 7)))]
        return Example(f"t{i}", src, [src[:3]])

    return Task("tiny", VOCAB, {"train": [ex(i) for i in range(n)], "validation": [ex(n + i) for i in range(16)]})


def test_train_mle_is_deterministic_with_a_seed():
    task = tiny_task()
    runs = []
    for seed in (0, 0, 1):
        model = model_of(6, dropout=0.1, coverage=True)
        hist = train_mle(model, task, steps=6, batch_size=8, seed=seed, progress=False,
                         input_policy=ScheduledSampling("constant", k=0.5))
        runs.append(([r["loss"] for r in hist.train], torch.cat([p.detach().flatten() for p in model.parameters()])))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_train_mle_reduces_the_loss_and_reports():
    task = tiny_task()
    model = model_of(7)
    before = evaluate_mle(model, [task.collate(task.split("validation"))])
    seen = []
    policy = ScheduledSampling("linear", k=1.0, c=0.01)
    hist = train_mle(model, task, steps=40, batch_size=16, lr=1e-2, eval_every=20, progress=False,
                     input_policy=policy, callback=lambda step, m, row: seen.append(step))
    after = evaluate_mle(model, [task.collate(task.split("validation"))])
    assert after["nll"] < before["nll"] - 0.5
    assert [r["step"] for r in hist.eval] == [20, 40] and len(hist.train) == 40 and seen == list(range(1, 41))
    assert set(hist.train[0]) >= {"step", "loss", "nll", "coverage_loss", "tokens", "grad_norm"}
    assert policy.step == 39 and not model.training
    stopped = train_mle(model, task, steps=10, batch_size=16, progress=False, callback=lambda s, m, r: s < 3)
    assert stopped.stopped_early and len(stopped.train) == 3


def test_train_mle_argument_errors():
    task = tiny_task(8)
    with pytest.raises(ValueError, match="steps"):
        train_mle(model_of(), task, steps=0, progress=False)
    with pytest.raises(ValueError, match="vocab"):
        train_mle(Seq2SeqModel(ModelConfig.tiny(V + 3)), task, steps=1, progress=False)
    with pytest.raises(TypeError, match="input_policy"):
        train_mle(model_of(), task, steps=1, progress=False, input_policy="teacher")
    with pytest.raises(KeyError, match="split"):
        train_mle(model_of(), task, steps=1, progress=False, split="dev")


def test_train_mle_on_images():
    rng = np.random.default_rng(0)
    colours = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
    vocab = Vocab(["a", "red", "green", "blue", "square"])

    def ex(i):
        name = list(colours)[i % 3]
        img = np.zeros((32, 32, 3), dtype=np.uint8)
        x, y = rng.integers(0, 20, size=2)
        img[y : y + 12, x : x + 12] = colours[name]
        return Example(f"i{i}", img, [["a", name, "square"]])

    task = Task("shapes", vocab, {"train": [ex(i) for i in range(48)], "validation": [ex(100 + i) for i in range(12)]},
                modality="image")
    torch.manual_seed(0)
    model = Seq2SeqModel.from_task(task, preset="tiny")
    assert model.config.encoder == "cnn"
    hist = train_mle(model, task, steps=150, batch_size=12, lr=1e-2, eval_every=150, progress=False)
    assert hist.eval[-1]["accuracy"] > 0.9
    batch = task.collate(task.split("validation"))
    words = model.decode_text(batch, model.generate(batch, max_len=5))
    assert sum(w == ex.target for w, ex in zip(words, batch.examples)) >= 10


def test_copy_task_is_learned_through_the_pointer():
    """Sources of rare words that are all out of vocabulary; the target repeats the source.

    Only the copy mechanism can produce these words, so a near-perfect score means
    the pointer-generator puts its mass on the right OOV source words.
    """
    rng = np.random.default_rng(0)
    vocab = Vocab([f"c{i}" for i in range(20)])
    rare = [f"r{i}" for i in range(1000)]

    def ex(i):
        src = [str(w) for w in rng.choice(rare, size=int(rng.integers(3, 8)), replace=False)]
        return Example(f"e{i}", src, [list(src)])

    task = Task("copy", vocab, {"train": [ex(i) for i in range(2000)], "validation": [ex(2000 + i) for i in range(64)]},
                max_oovs=10)
    torch.manual_seed(0)
    model = Seq2SeqModel(ModelConfig.tiny(len(vocab)), vocab)
    train_mle(model, task, steps=300, batch_size=32, lr=5e-3, seed=0, progress=False)
    batch = task.collate(task.split("validation"))
    assert all(t >= len(vocab) for t in batch.tgt_out[batch.tgt_mask & (batch.tgt_out != 3)].tolist())
    words = model.decode_text(batch, model.generate(batch, max_len=12))
    exact = sum(w == ex.target for w, ex in zip(words, batch.examples))
    assert exact >= 60, exact
    assert evaluate_mle(model, [batch])["accuracy"] > 0.98
