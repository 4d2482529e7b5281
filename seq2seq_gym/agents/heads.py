r"""Critic heads: ``V(s)`` and ``Q(s, .)`` on the generator's decoder features.

A head reads the features ``[..., D]`` that :meth:`Seq2SeqModel.score` (or ``step``)
returns for each decoder state, ``D = model.feature_dim``, and maps them to a state
value ``[...]`` or to Q-values over the extended vocabulary ``[..., V + n_ext]``
(``id >= V`` is the copy slot of the ``(id - V)``-th out-of-vocabulary source word of
that row), or over given candidate ids ``[..., k]`` only.

Every head has the same call (extra arguments are ignored where a head has no use
for them, and checked where it does)::

    q = head(features, candidates=None, log_probs=None, attention=None, src_ext=None, n_ext=None)

- ``candidates [..., k]``: evaluate Q on these ids only (e.g. the actor's top-k);
  the ``[..., V]`` tensor is never built;
- ``log_probs``: the policy's log-probabilities (the advantage stream of
  :class:`DuelingQHead`), ``[..., V + n_ext]`` or, with ``candidates``, ``[..., k]``;
- ``attention [..., S]``, ``src_ext [B, S]``, ``n_ext``: the encoder attention of
  each state, the extended ids of the source positions and the number of copy
  columns, for the copy-slot Q-values of :class:`CopyQHead`.

Value-based agents over tens of thousands of tokens learn only when they start from
the generator (issue 12: a DQN from scratch did worse than random), so every Q head
has ``from_generator(model, ...)``: :class:`LinearQHead` then starts *equal* to the
generator's logits, as in soft Q-learning for text (Guo et al. 2022, "Efficient
(Soft) Q-Learning for Text Generation with Limited Good Data", where ``Q`` is the
logit and ``pi = softmax(Q)``).

The trunk (the generator's encoder-decoder) is not part of a head. A critic either
shares the generator's trunk (its features come from the policy's own ``score`` pass)
or has one copy of it (:func:`build_critic`); ``detach_trunk=True`` stops the
critic's gradients at the features (and at any generator weight a head reads, such
as the tied embedding). Target networks (:class:`~seq2seq_gym.agents.targets.TargetNetwork`)
copy the head only: at most two copies of the encoder-decoder exist, never three.

Write your own head by subclassing :class:`CriticHead` (``kind = "value"`` or ``"q"``),
implementing ``forward`` with the signature above, and :func:`register_head` it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_gym.agents import losses
from seq2seq_gym.data import PAD_ID

if TYPE_CHECKING:
    from seq2seq_gym.models import Seq2SeqModel

__all__ = [
    "HEADS",
    "CopyQHead",
    "Critic",
    "CriticHead",
    "DuelingQHead",
    "LinearQHead",
    "QHead",
    "TiedQHead",
    "TopKQHead",
    "ValueHead",
    "build_critic",
    "list_heads",
    "make_head",
    "register_head",
    "topk_candidates",
]


def _features(x: Any, dim: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"features must be a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.dim() < 1 or x.shape[-1] != dim:
        raise ValueError(f"features must have shape [..., {dim}], got {tuple(x.shape)}")
    return x


def _ids(x: Any, lead: tuple[int, ...], name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of token ids")
    if tuple(x.shape[:-1]) != lead or x.dim() != len(lead) + 1:
        raise ValueError(f"{name} must have shape [{', '.join(map(str, lead))}, k], got {tuple(x.shape)}")
    if x.numel() and int(x.min()) < 0:
        raise ValueError(f"{name} must hold non-negative ids")
    return x.long()


class CriticHead(nn.Module):
    """Base class of every critic head (see the module docstring for the call).

    Subclasses set ``kind`` (``"value"``: ``forward`` returns ``[...]``; ``"q"``:
    ``[..., A]``) and implement ``forward``. A head that reads a generator weight it
    does not own (the tied embedding) lists that module in :meth:`shared_modules`, so
    that target copies keep it shared instead of copying it.

    Args:
        detach_trunk: stop the critic's gradients at its inputs (features, log-probs,
            shared generator weights): the critic then never changes the generator.
    """

    kind: ClassVar[str] = "q"

    def __init__(self, *, detach_trunk: bool = False) -> None:
        super().__init__()
        if not isinstance(detach_trunk, bool):
            raise TypeError(f"detach_trunk must be a bool, got {detach_trunk!r}")
        self.detach_trunk = detach_trunk

    def _trunk(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return x.detach() if (self.detach_trunk and x is not None) else x

    def shared_modules(self) -> list[nn.Module]:
        """Generator modules this head reads but does not own (not in ``parameters()``)."""
        out: list[nn.Module] = []
        for child in self.children():
            if isinstance(child, CriticHead):
                out += child.shared_modules()
        return out

    def num_parameters(self) -> int:
        """Number of the head's own parameters (shared generator weights excluded)."""
        return sum(p.numel() for p in self.parameters())


def _share(head: nn.Module, name: str, module: nn.Module) -> None:
    """Keep a reference to a generator module without registering it (not owned, not in ``state_dict``)."""
    object.__setattr__(head, name, module)


# ----------------------------------------------------------------------------- V(s)


class ValueHead(CriticHead):
    r"""State value ``V(s)`` on the decoder features: the critic of A2C (the survey's
    eqs. 21-24; Mnih et al. 2016), of PPO (Schulman et al. 2017) and the value stream of
    the dueling architecture (Wang et al. 2016, eq. 9).

    ``V(s) = w^T tanh(W f(s) + b) + c`` with a hidden layer, or ``w^T f(s) + c``
    without one. The output weights start at 0, so ``V`` starts at ``init_value``.

    Args:
        feature_dim: ``D``, the width of the features.
        hidden_dim: width of the hidden layer; 0 for a linear head.
        init_value: the starting value ``c`` (e.g. the mean return of the start policy).
        detach_trunk: see :class:`CriticHead`.
    """

    kind = "value"

    def __init__(self, feature_dim: int, hidden_dim: int = 0, init_value: float = 0.0, *,
                 detach_trunk: bool = False) -> None:
        super().__init__(detach_trunk=detach_trunk)
        self.feature_dim = int(feature_dim)
        self.hidden = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.Tanh()) if hidden_dim else nn.Identity()
        self.out = nn.Linear(hidden_dim or feature_dim, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.constant_(self.out.bias, float(init_value))

    @classmethod
    def from_generator(cls, generator: Seq2SeqModel, **kwargs: Any) -> ValueHead:
        """A value head sized for ``generator``'s features (``kwargs`` as the constructor)."""
        return cls(generator.feature_dim, **kwargs)

    def forward(self, features: torch.Tensor, **_: Any) -> torch.Tensor:  # [...]
        f = self._trunk(_features(features, self.feature_dim))
        return self.out(self.hidden(f)).squeeze(-1)


# ----------------------------------------------------------------------------- Q heads


def _position_logsumexp(u: torch.Tensor, slot: torch.Tensor, n_slots: int, reduce: str) -> torch.Tensor:
    """Aggregate position scores ``u [..., S]`` into ``[..., n_slots]`` by ``slot [..., S]``
    (``slot == n_slots``: a position that belongs to no slot); empty slots are ``-inf``."""
    shape = (*u.shape[:-1], n_slots + 1)
    m = u.new_full(shape, float("-inf")).scatter_reduce(-1, slot, u, "amax", include_self=True)
    if reduce == "max":
        return m[..., :n_slots]
    top = m.detach().gather(-1, slot)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    s = u.new_zeros(shape).scatter_add(-1, slot, torch.exp(u - top))
    empty = s <= 0
    out = torch.log(s.clamp_min(torch.finfo(s.dtype).tiny)) + m.detach().masked_fill(empty, 0.0)
    return out.masked_fill(empty, float("-inf"))[..., :n_slots]


class CopyQHead(CriticHead):
    r"""Copy-slot Q-values of the pointer-generator (See et al. 2017, eq. 9) from
    per-source-position scores.

    Each source position ``i`` of a state gets an attention-like score
    ``u_i = alpha log a_i + w^T f(s) + b`` (``a`` the encoder attention of that state),
    and copy slot ``k`` (extended id ``V + k``) gets the soft maximum of the scores of
    the positions holding that row's ``k``-th out-of-vocabulary word,
    ``Q(s, V + k) = log sum_{i: src_ext_i = V + k} exp(u_i)`` (or their ``max``).
    Slots with no such word are ``-inf``. With ``alpha = 1, w = 0, b = 0`` (the start)
    ``Q(s, V + k)`` is the log of the attention mass on word ``k``, the generator's
    copy distribution before the ``1 - p_gen`` switch.

    Args:
        feature_dim: ``D``.
        vocab_size: ``V``; ids ``>= V`` in ``src_ext`` are copy slots.
        reduce: ``"logsumexp"`` or ``"max"`` over a word's positions.
        detach_trunk: see :class:`CriticHead`.
    """

    def __init__(self, feature_dim: int, vocab_size: int, reduce: str = "logsumexp", *,
                 detach_trunk: bool = False) -> None:
        super().__init__(detach_trunk=detach_trunk)
        if reduce not in ("logsumexp", "max"):
            raise ValueError(f"reduce must be 'logsumexp' or 'max', got {reduce!r}")
        self.feature_dim, self.vocab_size, self.reduce = int(feature_dim), int(vocab_size), reduce
        self.alpha = nn.Parameter(torch.ones(()))
        self.offset = nn.Linear(feature_dim, 1)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)

    @classmethod
    def from_generator(cls, generator: Seq2SeqModel, **kwargs: Any) -> CopyQHead:
        return cls(generator.feature_dim, generator.vocab_size, **kwargs)

    def forward(self, features: torch.Tensor, *, attention: torch.Tensor | None = None,
                src_ext: torch.Tensor | None = None, n_ext: int | None = None, **_: Any) -> torch.Tensor:
        """``[..., n_ext]`` Q-values of the copy slots (``features [B, D]`` or ``[B, T, D]``)."""
        f = self._trunk(_features(features, self.feature_dim))
        if attention is None or src_ext is None:
            raise ValueError("CopyQHead needs attention [..., S] and src_ext [B, S]")
        attention = self._trunk(attention)
        if not isinstance(src_ext, torch.Tensor) or src_ext.dim() != 2 or src_ext.shape[0] != f.shape[0]:
            raise ValueError(f"src_ext must be a [B={f.shape[0]}, S] tensor of extended ids")
        if tuple(attention.shape) != (*f.shape[:-1], src_ext.shape[1]):
            raise ValueError(f"attention must have shape {(*f.shape[:-1], src_ext.shape[1])}, "
                             f"got {tuple(attention.shape)}")
        V = self.vocab_size
        n_ext = int((src_ext.max() - V + 1).clamp(min=0)) if n_ext is None else int(n_ext)
        slot = src_ext.long() - V
        slot = torch.where((slot >= 0) & (slot < n_ext), slot, torch.full_like(slot, n_ext))  # [B, S]
        slot = slot.view(f.shape[0], *([1] * (f.dim() - 2)), -1).expand_as(attention)
        log_a = torch.log(attention.clamp_min(torch.finfo(attention.dtype).tiny))
        u = self.alpha * log_a + self.offset(f)  # [..., S]
        return _position_logsumexp(u, slot, n_ext, self.reduce)


class QHead(CriticHead):
    """A Q head over the extended vocabulary: an in-vocabulary part (:meth:`vocab_q`,
    implemented by subclasses) and, optionally, a :class:`CopyQHead` for the copy slots.

    ``forward`` returns ``[..., V]`` without copy inputs, ``[..., V + n_ext]`` with
    ``attention``/``src_ext`` (and a copy head), or ``[..., k]`` for ``candidates``.
    A copy candidate without a copy head or copy inputs is an error.

    Args:
        vocab_size: ``V``.
        copy: the copy-slot head, or None (no copy slots).
        detach_trunk: see :class:`CriticHead` (passed on to ``copy``).
    """

    def __init__(self, vocab_size: int, copy: CopyQHead | None = None, *, detach_trunk: bool = False) -> None:
        super().__init__(detach_trunk=detach_trunk)
        self.vocab_size = int(vocab_size)
        if copy is not None:
            if not isinstance(copy, CopyQHead):
                raise TypeError(f"copy must be a CopyQHead or None, got {type(copy).__name__}")
            copy.detach_trunk = copy.detach_trunk or detach_trunk
        self.copy = copy

    def vocab_q(self, f: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """``[..., V]`` Q-values of the vocabulary, or ``[..., k]`` of ``ids < V``."""
        raise NotImplementedError

    def forward(self, features: torch.Tensor, *, candidates: torch.Tensor | None = None,
                attention: torch.Tensor | None = None, src_ext: torch.Tensor | None = None,
                n_ext: int | None = None, **_: Any) -> torch.Tensor:
        f = self._trunk(_features(features, self.feature_dim))
        has_copy = self.copy is not None and attention is not None
        q_copy = self.copy(f, attention=attention, src_ext=src_ext, n_ext=n_ext) if has_copy else None
        if candidates is None:
            q = self.vocab_q(f)
            return q if q_copy is None else torch.cat([q, q_copy], dim=-1)
        c = _ids(candidates, tuple(f.shape[:-1]), "candidates")
        V = self.vocab_size
        in_vocab = c < V
        q = self.vocab_q(f, torch.where(in_vocab, c, torch.zeros_like(c)))
        if bool(in_vocab.all()):
            return q
        if q_copy is None:
            raise ValueError(f"candidates hold copy ids >= {V} but no copy head / attention was given")
        if int(c.max()) >= V + q_copy.shape[-1]:
            raise ValueError(f"candidates hold ids >= V + n_ext = {V + q_copy.shape[-1]}")
        qc = q_copy.gather(-1, torch.where(in_vocab, torch.zeros_like(c), c - V))
        return torch.where(in_vocab, q, qc)


def _copy_for(generator: Seq2SeqModel, copy: bool | None, detach_trunk: bool) -> CopyQHead | None:
    use = generator.config.pointer_gen if copy is None else copy
    return CopyQHead.from_generator(generator, detach_trunk=detach_trunk) if use else None


class LinearQHead(QHead):
    r"""Full linear Q head: ``Q(s, .) = W_2 (W_1 f(s) + b_1) + b_2 in R^V`` (or one
    linear map without a hidden width), the shape of the generator's output layer
    (See et al. 2017, eq. 4).

    :meth:`from_generator` copies the generator's output layer (``pre_out`` and the
    output matrix, tied or not), so ``Q(s, a)`` starts equal to the generator's logit
    of ``a`` (soft Q-learning for text, Guo et al. 2022): the greedy policy of Q is the
    greedy decoder, and ``softmax(Q)`` is the generator's vocabulary distribution. It
    owns ``V x H`` parameters (the memory of a second output layer).

    Args:
        feature_dim: ``D``.
        vocab_size: ``V``.
        hidden_dim: width ``H`` of the first linear map; 0 for ``Q = W f + b``.
        copy: an optional :class:`CopyQHead` for the copy slots.
        detach_trunk: see :class:`CriticHead`.
    """

    def __init__(self, feature_dim: int, vocab_size: int, hidden_dim: int = 0, copy: CopyQHead | None = None,
                 *, detach_trunk: bool = False) -> None:
        super().__init__(vocab_size, copy, detach_trunk=detach_trunk)
        self.feature_dim = int(feature_dim)
        self.pre = nn.Linear(feature_dim, hidden_dim) if hidden_dim else nn.Identity()
        self.out = nn.Linear(hidden_dim or feature_dim, vocab_size)

    @classmethod
    def from_generator(cls, generator: Seq2SeqModel, *, copy: bool | None = None,
                       detach_trunk: bool = False) -> LinearQHead:
        """A head whose Q equals ``generator``'s logits (a copy of its output layer).

        Args:
            generator: the :class:`~seq2seq_gym.models.Seq2SeqModel`.
            copy: add a :class:`CopyQHead` (default: when the generator copies).
            detach_trunk: see :class:`CriticHead`.
        """
        pre = generator.pre_out
        head = cls(generator.feature_dim, generator.vocab_size, pre.out_features,
                   _copy_for(generator, copy, detach_trunk), detach_trunk=detach_trunk)
        bias = generator.out.bias if generator.out is not None else generator.out_bias
        with torch.no_grad():
            head.pre.load_state_dict(pre.state_dict())
            head.out.weight.copy_(generator._output_weight())
            head.out.bias.copy_(bias)
        return head.to(pre.weight.device)

    def vocab_q(self, f: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        h = self.pre(f)  # [..., H]
        if ids is None:
            return self.out(h)  # [..., V]
        w = F.embedding(ids, self.out.weight)  # [..., k, H]
        return (w @ h.unsqueeze(-1)).squeeze(-1) + self.out.bias[ids]


class TiedQHead(QHead):
    r"""Q tied to the token embeddings: ``Q(s, a) = g(s) . e_a (+ b_a)``, with
    ``g(s) = P (W f(s) + b) + u`` and ``e_a`` the generator's (shared, not copied)
    embedding of ``a``; the tied output layer of Press & Wolf 2017 and Paulus et al.
    2018 (eq. 13) applied to the critic. ``u . e_a`` is a per-token bias tied to the
    embeddings, so without ``token_bias`` the head owns ``D H + H + H M + M``
    parameters whatever the vocabulary size (memory stays flat from 5k to 50k tokens).

    :meth:`from_generator` copies ``W, b`` from the generator's ``pre_out`` and fits
    ``P`` and ``u`` by least squares, ``E P ~ W_out`` and ``E u ~ b_out`` over the
    vocabulary: the closest tied head to the generator's logits (equal to them when the
    output matrix lies in the span of the embeddings, e.g. a small tied
    ``tanh(E W_proj)``).

    Args:
        embedding: the generator's token embedding ``[V, M]`` (read, not owned).
        feature_dim: ``D``.
        hidden_dim: width ``H`` of ``W``; 0 for ``g(s) = P f(s) + u``.
        token_bias: add an owned per-token bias ``b_a`` (``V`` parameters).
        copy: an optional :class:`CopyQHead`.
        detach_trunk: see :class:`CriticHead` (also detaches the embedding).
    """

    def __init__(self, embedding: nn.Embedding, feature_dim: int, hidden_dim: int = 0, token_bias: bool = False,
                 copy: CopyQHead | None = None, *, detach_trunk: bool = False) -> None:
        if not isinstance(embedding, nn.Embedding):
            raise TypeError(f"embedding must be an nn.Embedding, got {type(embedding).__name__}")
        super().__init__(embedding.num_embeddings, copy, detach_trunk=detach_trunk)
        _share(self, "embedding", embedding)
        self.feature_dim = int(feature_dim)
        self.pre = nn.Linear(feature_dim, hidden_dim) if hidden_dim else nn.Identity()
        self.proj = nn.Linear(hidden_dim or feature_dim, embedding.embedding_dim)
        self.token_bias = nn.Parameter(torch.zeros(embedding.num_embeddings)) if token_bias else None

    @classmethod
    def from_generator(cls, generator: Seq2SeqModel, *, token_bias: bool = False, copy: bool | None = None,
                       detach_trunk: bool = False) -> TiedQHead:
        """The least-squares tied fit of ``generator``'s logits (see the class docstring)."""
        pre = generator.pre_out
        head = cls(generator.embedding, generator.feature_dim, pre.out_features, token_bias,
                   _copy_for(generator, copy, detach_trunk), detach_trunk=detach_trunk)
        bias = generator.out.bias if generator.out is not None else generator.out_bias
        with torch.no_grad():
            rows = torch.arange(generator.vocab_size, device=bias.device) != PAD_ID  # PAD is never an action
            E = generator.embedding.weight[rows].double().cpu()  # [V', M]
            target = torch.cat([generator._output_weight()[rows], bias[rows, None]], 1).double().cpu()  # [V', H+1]
            sol = torch.linalg.lstsq(E, target).solution  # [M, H+1]
            head.pre.load_state_dict(pre.state_dict())
            head.proj.weight.copy_(sol[:, :-1])
            head.proj.bias.copy_(sol[:, -1])
        return head.to(pre.weight.device)

    def shared_modules(self) -> list[nn.Module]:
        return [self.embedding, *super().shared_modules()]

    def vocab_q(self, f: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        g = self.proj(self.pre(f))  # [..., M]
        E = self._trunk(self.embedding.weight)  # [V, M]
        if ids is None:
            q = g @ E.T  # [..., V]
            return q if self.token_bias is None else q + self.token_bias
        q = (F.embedding(ids, E) @ g.unsqueeze(-1)).squeeze(-1)  # [..., k]
        return q if self.token_bias is None else q + self.token_bias[ids]


class DuelingQHead(CriticHead):
    r"""Dueling Q head (Wang et al. 2016, "Dueling Network Architectures for Deep
    Reinforcement Learning", eqs. 8-9): ``Q(s, a) = V(s) + A(s, a) - agg_a' A(s, a')``
    with ``agg`` the mean (``mode="mean"``, eq. 9) or the max (``"max"``, eq. 8) over
    the allowed actions (over the candidates when ``candidates`` are given), or no
    aggregation (``"none"``: ``Q = V + A``).

    The advantage stream is a Q head (:class:`LinearQHead` / :class:`TiedQHead`
    started from the generator: ``A`` = the logits) or, with ``advantage=None``, the
    policy's log-probabilities scaled by a learned temperature, ``A = tau log pi(a|s)``
    (passed as ``log_probs``; no ``[V]``-sized parameter at all). With ``mode="none"``
    that is the soft-Q relation ``Q = V + tau log pi`` of Guo et al. 2022 (eq. 3),
    ``V`` the soft value; with ``"max"`` the generator's greedy token gets ``Q = V``.
    Disallowed actions (``-inf`` log-probabilities or advantages) get ``Q = -inf``.

    Args:
        value: the value stream (a :class:`ValueHead`).
        advantage: the advantage stream (a Q head), or None for ``tau log pi``.
        mode: ``"mean"``, ``"max"`` or ``"none"``.
        tau: the starting temperature of the log-probability stream (learned).
        detach_trunk: see :class:`CriticHead` (passed on to both streams).
    """

    def __init__(self, value: ValueHead, advantage: CriticHead | None = None, mode: str = "mean",
                 tau: float = 1.0, *, detach_trunk: bool = False) -> None:
        super().__init__(detach_trunk=detach_trunk)
        if not isinstance(value, ValueHead):
            raise TypeError(f"value must be a ValueHead, got {type(value).__name__}")
        if advantage is not None and (not isinstance(advantage, CriticHead) or advantage.kind != "q"):
            raise TypeError("advantage must be a Q head or None (the policy's log-probabilities)")
        if mode not in ("mean", "max", "none"):
            raise ValueError(f"mode must be 'mean', 'max' or 'none', got {mode!r}")
        for stream in (value, advantage):
            if stream is not None:
                stream.detach_trunk = stream.detach_trunk or detach_trunk
        self.value, self.advantage, self.mode = value, advantage, mode
        self.feature_dim = value.feature_dim
        self.log_tau = nn.Parameter(torch.tensor(float(tau)).log()) if advantage is None else None

    @classmethod
    def from_generator(cls, generator: Seq2SeqModel, *, advantage: str = "log_probs", mode: str = "mean",
                       value_hidden: int = 0, init_value: float = 0.0, tau: float = 1.0,
                       detach_trunk: bool = False, **advantage_kwargs: Any) -> DuelingQHead:
        """Dueling head on ``generator``: ``advantage`` is ``"log_probs"`` (the policy's),
        ``"linear"`` or ``"tied"`` (a Q head from the generator: the logits).

        Args:
            generator: the generator.
            advantage: the advantage stream.
            mode: ``"mean"``, ``"max"`` or ``"none"``.
            value_hidden, init_value: the :class:`ValueHead`'s.
            tau: the starting temperature of a log-probability stream.
            detach_trunk: see :class:`CriticHead`.
            **advantage_kwargs: passed to the advantage head's ``from_generator``.
        """
        streams = {"linear": LinearQHead, "tied": TiedQHead}
        if advantage != "log_probs" and advantage not in streams:
            raise ValueError(f"advantage must be 'log_probs', 'linear' or 'tied', got {advantage!r}")
        adv = None if advantage == "log_probs" else streams[advantage].from_generator(
            generator, detach_trunk=detach_trunk, **advantage_kwargs)
        value = ValueHead.from_generator(generator, hidden_dim=value_hidden, init_value=init_value)
        return cls(value, adv, mode, tau, detach_trunk=detach_trunk).to(generator.device)

    def forward(self, features: torch.Tensor, *, candidates: torch.Tensor | None = None,
                log_probs: torch.Tensor | None = None, **kw: Any) -> torch.Tensor:
        v = self.value(features)  # [...]
        if self.advantage is not None:
            a = self.advantage(features, candidates=candidates, **kw)
        else:
            if not isinstance(log_probs, torch.Tensor) or tuple(log_probs.shape[:-1]) != tuple(v.shape):
                raise ValueError(f"a dueling head without an advantage head needs log_probs of shape "
                                 f"[{', '.join(map(str, v.shape))}, A] (the candidates' log-probs with candidates)")
            if candidates is not None and candidates.shape != log_probs.shape:
                raise ValueError("with candidates, log_probs must be the candidates' log-probabilities [..., k]")
            a = self.log_tau.exp() * self._trunk(log_probs)
        allowed = torch.isfinite(a)
        a_safe = a.masked_fill(~allowed, 0.0)
        q = v.unsqueeze(-1) + a_safe if self.mode == "none" else losses.dueling_q(
            v, a_safe, mode=self.mode, action_mask=allowed)
        return q.masked_fill(~allowed, float("-inf"))


class TopKQHead(CriticHead):
    r"""Q on the actor's top-k candidates only: ``Q(s, c_j)`` for ``candidates [..., k]``
    (:func:`topk_candidates`), the ``[..., V]`` tensor never built (the memory of
    ``k`` output rows per state instead of ``V``). Bootstrap targets then maximise over
    the next state's candidates (``advantages.greedy_q_value`` on ``[..., k]``), the
    "top-k bootstrap" of large-action-space Q-learning (Dulac-Arnold et al. 2015,
    "Deep Reinforcement Learning in Large Discrete Action Spaces", sec. 4).

    Args:
        base: the Q head evaluated on the candidates (linear, tied or dueling).
        k: the number of candidates per state.
    """

    def __init__(self, base: CriticHead, k: int) -> None:
        if not isinstance(base, CriticHead) or base.kind != "q":
            raise TypeError("base must be a Q head")
        super().__init__(detach_trunk=base.detach_trunk)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        self.base, self.k = base, k
        self.feature_dim = base.feature_dim

    @classmethod
    def from_generator(cls, generator: Seq2SeqModel, *, k: int = 16, base: str = "linear",
                       **base_kwargs: Any) -> TopKQHead:
        """Top-k wrapper of the head ``base`` (a registered Q head name) built from ``generator``."""
        return cls(make_head(base, generator, **base_kwargs), k)

    def forward(self, features: torch.Tensor, *, candidates: torch.Tensor | None = None, **kw: Any) -> torch.Tensor:
        if not isinstance(candidates, torch.Tensor) or candidates.shape[-1:] != (self.k,):
            raise ValueError(f"TopKQHead needs candidates [..., k={self.k}] (see topk_candidates)")
        return self.base(features, candidates=candidates, **kw)


def topk_candidates(log_probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The actor's ``k`` most likely actions: ``(ids [..., k], their log-probs [..., k])``.

    Disallowed actions (``-inf``) are chosen only when fewer than ``k`` are allowed; pass
    ``k <= `` the number of allowed actions.
    """
    if not isinstance(log_probs, torch.Tensor) or not log_probs.is_floating_point():
        raise TypeError("log_probs must be a floating-point tensor")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= log_probs.shape[-1]:
        raise ValueError(f"k must be an int in [1, {log_probs.shape[-1]}], got {k!r}")
    _, ids = log_probs.detach().topk(k, dim=-1)
    return ids, log_probs.gather(-1, ids)


# ----------------------------------------------------------------------------- registry and trunk


HEADS: dict[str, type[CriticHead]] = {}


def register_head(name: str, cls: type[CriticHead] | None = None) -> Callable[[type[CriticHead]], type[CriticHead]]:
    """Register a head class under ``name`` (as ``register_head("mine", MyHead)`` or a decorator)."""

    def add(c: type[CriticHead]) -> type[CriticHead]:
        if not (isinstance(c, type) and issubclass(c, CriticHead)):
            raise TypeError(f"a head must subclass CriticHead, got {c!r}")
        HEADS[name] = c
        return c

    return add(cls) if cls is not None else add


for _name, _cls in {"value": ValueHead, "linear": LinearQHead, "tied": TiedQHead, "dueling": DuelingQHead,
                    "topk": TopKQHead, "copy": CopyQHead}.items():
    register_head(_name, _cls)


def list_heads() -> list[str]:
    """The registered head names."""
    return sorted(HEADS)


def make_head(head: str | type[CriticHead], generator: Seq2SeqModel | None = None, **kwargs: Any) -> CriticHead:
    """A head by registered name or class: ``cls.from_generator(generator, **kwargs)`` when a
    generator is given (heads that start from it), else ``cls(**kwargs)``."""
    cls = HEADS.get(head) if isinstance(head, str) else head
    if cls is None:
        raise ValueError(f"unknown head {head!r}; registered: {list_heads()}")
    if not (isinstance(cls, type) and issubclass(cls, CriticHead)):
        raise TypeError(f"head must be a registered name or a CriticHead subclass, got {head!r}")
    if generator is None:
        return cls(**kwargs)
    return cls.from_generator(generator, **kwargs)  # type: ignore[attr-defined]


class Critic(nn.Module):
    """A critic head with its trunk: the generator's own (``trunk is None``) or one copy.

    Attributes:
        head: the :class:`CriticHead`.
        trunk: None when the critic shares the generator's encoder-decoder (its features
            are those of the policy's ``score`` pass), else the critic's own copy.
        shares_trunk: ``trunk is None``.
        detach_trunk: whether critic gradients stop at the trunk.
    """

    def __init__(self, head: CriticHead, trunk: nn.Module | None = None) -> None:
        super().__init__()
        self.head, self.trunk = head, trunk

    @property
    def shares_trunk(self) -> bool:
        return self.trunk is None

    @property
    def detach_trunk(self) -> bool:
        return self.head.detach_trunk

    def shared_modules(self) -> list[nn.Module]:
        """The trunk and the generator modules the head reads: a target copy of the critic
        copies the head only."""
        return [*([self.trunk] if self.trunk is not None else []), *self.head.shared_modules()]

    def forward(self, features: torch.Tensor, **kw: Any) -> torch.Tensor:
        return self.head(features, **kw)


def build_critic(generator: Seq2SeqModel, head: str | type[CriticHead] = "linear", *, share_trunk: bool = True,
                 detach_trunk: bool = False, **head_kwargs: Any) -> Critic:
    """A critic for ``generator`` (what ``policy_kwargs`` will choose).

    Args:
        generator: the policy's generator.
        head: a registered head name or class, built with ``from_generator``.
        share_trunk: True: the head reads the generator's features (no copy of the
            encoder-decoder); False: the critic gets one copy of the generator as its trunk
            (and the head starts from that copy).
        detach_trunk: the critic's gradients do not reach the trunk it reads (with a shared
            trunk: the critic never moves the policy).
        **head_kwargs: the head's ``from_generator`` arguments.
    """
    if not isinstance(share_trunk, bool):
        raise TypeError(f"share_trunk must be a bool, got {share_trunk!r}")
    trunk = None if share_trunk else copy.deepcopy(generator)
    return Critic(make_head(head, trunk if trunk is not None else generator, detach_trunk=detach_trunk,
                            **head_kwargs), trunk)
