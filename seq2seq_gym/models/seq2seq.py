"""The attention encoder-decoder that the environments step and the agents train.

One decoder step, for a batch, in the notation of See et al. (2017, "Get To
The Point: Summarization with Pointer-Generator Networks") and Paulus et al.
(2018, "A Deep Reinforced Model for Abstractive Summarization"):

1. input feeding: ``x_t = W_x [emb(y_{t-1}); c_{t-1}] + b_x``, where ``y_{t-1}``
   is the previous token (copy ids are fed as ``<unk>``) and ``c_{t-1}`` the
   previous encoder context;
2. recurrence: ``s_t = LSTM(x_t, s_{t-1})`` (``dec_layers`` stacked cells);
3. attention over the encoder states ``h_i`` (:meth:`Seq2SeqModel._attend`):
   additive ``e_ti = v^T tanh(W_h h_i + W_s s_t + w_c cov_ti + b)`` (Bahdanau
   et al. 2015; See eq. 1 and 11) or bilinear ``e_ti = s_t^T W h_i`` (Luong et
   al. 2015; Paulus eq. 2), optionally divided by the exponentials of earlier
   steps (intra-temporal attention, Paulus eq. 3-5); ``a_t = softmax(e_t)``
   over real positions and ``c_t = sum_i a_ti h_i``; coverage
   ``cov_{t+1} = cov_t + a_t`` and its loss ``sum_i min(a_ti, cov_ti)``
   (See eq. 10-13);
4. intra-decoder attention over the previous decoder states (Paulus eq. 6-8)
   gives ``c^d_t`` (zero at the first step);
5. output: ``P_vocab = softmax(W' (W [s_t; c_t; c^d_t] + b) + b')`` (See eq. 4),
   where ``W'`` may be tied to the embedding as ``tanh(W_emb W_proj)`` (Paulus
   eq. 13);
6. copy: ``p_gen = sigmoid(w^T [s_t; c_t; c^d_t; x_t] + b)`` (See eq. 8) and
   ``P(w) = p_gen P_vocab(w) + (1 - p_gen) sum_{i: w_i = w} a_ti`` over the
   extended vocabulary (See eq. 9; Paulus eq. 9-12).

The observation that an environment exposes is ``features = [s_t; c_t; c^d_t]``:
the decoder state and the contexts the output layer reads.

:meth:`Seq2SeqModel.step` runs one such step (pure: it never writes into the
state or the memory it is given). :meth:`Seq2SeqModel.score` runs the whole
teacher-forced sequence in one call: the recurrence (steps 1-3) is a loop, the
rest is computed for all steps at once. The two agree to 1e-5.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seq2seq_gym.data import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Batch, Task, Vocab
from seq2seq_gym.models.config import ModelConfig
from seq2seq_gym.models.encoders import build_encoder
from seq2seq_gym.models.state import DecoderState, Memory

if TYPE_CHECKING:
    from seq2seq_gym.models.decoding import GenerationOutput
    from seq2seq_gym.models.input_policies import InputPolicy


@dataclass
class ScoreOutput:
    """What :meth:`Seq2SeqModel.score` returns for a batch of ``B`` action sequences of ``T`` steps.

    Positions beyond a sequence's length are masked: their ``log_probs``,
    ``entropy``, ``coverage_loss`` and ``attention`` are 0, so plain sums over
    ``T`` are the per-sequence totals.

    Attributes:
        log_probs: ``[B, T]`` ``log pi(a_t | a_<t, x)`` of the given actions.
        features: ``[B, T, D]`` the decoder features when choosing ``a_t``
            (what :meth:`Seq2SeqModel.step` returns as the observation).
        entropy: ``[B, T]`` entropy of the policy at each step, or ``None`` if not requested.
        mask: ``[B, T]`` bool, True on the positions of each sequence.
        lengths: ``[B]`` sequence lengths.
        coverage_loss: ``[B, T]`` ``sum_i min(a_ti, cov_ti)`` (See et al. 2017, eq. 12), or ``None``.
        aux_losses: unweighted scalar auxiliary losses (``"coverage"``: mean per token).
        aux_loss: the weighted sum of ``aux_losses`` to add to a training loss
            (``cov_loss_weight * coverage``; a zero tensor without coverage).
        attention: ``[B, T, S]`` the encoder attention ``a_t`` at each step (See et al.
            2017, eq. 2; after intra-temporal normalisation, Paulus et al. 2018, eq. 5),
            over the ``S`` source positions of the memory: each valid row sums to 1
            over the real source positions and is 0 on source padding. With the
            pointer-generator, ``(1 - p_gen) * attention`` is the copy distribution
            over source positions (what per-position copy Q-values read).
        full_log_probs: ``[B, T, V + n_ext]`` every action's log-probability, if requested.
    """

    log_probs: torch.Tensor
    features: torch.Tensor
    entropy: torch.Tensor | None
    mask: torch.Tensor
    lengths: torch.Tensor
    coverage_loss: torch.Tensor | None
    aux_losses: dict[str, torch.Tensor]
    aux_loss: torch.Tensor
    attention: torch.Tensor
    full_log_probs: torch.Tensor | None = None


def _as_long(name: str, value: Any, device: torch.device) -> torch.Tensor:
    """``value`` as a long tensor on ``device``; ``TypeError`` naming ``name`` for non-integer input."""
    if not isinstance(value, torch.Tensor):
        if isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.integer):
            raise TypeError(f"{name} must hold integer token ids, got numpy dtype {value.dtype}")
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"{name} must be an integer tensor of token ids: {e}") from None
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token ids, got dtype {value.dtype}")
    return value.to(device=device, dtype=torch.long)


class Seq2SeqModel(nn.Module):
    """Attention encoder-decoder with pointer-generator, coverage and intra-attention options.

    Implements the pointer-generator with coverage of See et al. (2017, eq.
    1-13), the intra-temporal and intra-decoder attention and the tied output
    projection of Paulus et al. (2018, eq. 2-13), additive (Bahdanau et al.
    2015) or bilinear (Luong et al. 2015) attention, and text, image (CNN) or
    precomputed-feature encoders, each chosen by a :class:`ModelConfig` field.
    The module docstring spells out one decoder step.

    The environment API (batch-first tensors, rows independent)::

        memory = model.encode(batch)                 # Memory
        state = model.init_state(memory)             # DecoderState
        prev = model.bos_tokens(len(batch))          # [B] <s>
        log_probs, features, state = model.step(prev, state, memory)   # choose a_1 from log_probs
        log_probs, features, state = model.step(a_1, state, memory)    # choose a_2 ...

    Rows never interact, so a vector environment restarts rows on its own
    with :meth:`Memory.replace_rows` / :meth:`DecoderState.replace_rows`
    (a row's numbers agree with running it alone to float rounding, ~1e-6).
    Training re-scores whole action sequences with :meth:`score` (with
    gradients) or the reference targets with :meth:`mle_loss`;
    :meth:`generate` decodes. Dropout (``config.dropout``) is active in
    training mode only; with dropout, :meth:`step` and :meth:`score` agree in
    eval mode.

    Args:
        config: the architecture.
        vocab: the vocabulary (kept for :meth:`decode_text` and checkpoints);
            ``len(vocab)`` must equal ``config.vocab_size``.
    """

    def __init__(self, config: ModelConfig, vocab: Vocab | None = None) -> None:
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
        config.validate()
        if vocab is not None:
            if not isinstance(vocab, Vocab):
                raise TypeError(f"vocab must be a seq2seq_gym.data.Vocab, got {type(vocab).__name__}")
            if len(vocab) != config.vocab_size:
                raise ValueError(f"len(vocab)={len(vocab)} does not match config.vocab_size={config.vocab_size}")
        self.config = config
        self.vocab = vocab
        V, M, H, E, L = config.vocab_size, config.emb_dim, config.hidden_dim, config.memory_dim, config.dec_layers
        out_in = H + E + (H if config.intra_decoder else 0)  # [s_t; c_t; c^d_t]

        self.embedding = nn.Embedding(V, M, padding_idx=PAD_ID)
        self.encoder = build_encoder(config, self.embedding)
        self.bridge_h = nn.Linear(E, L * H)  # initial decoder state from the encoder summary (See et al.)
        self.bridge_c = nn.Linear(E, L * H)
        self.dropout = nn.Dropout(config.dropout)

        self.input_proj = nn.Linear(M + E, M)  # x_t = W_x [emb(y_{t-1}); c_{t-1}] + b_x
        self.cells = nn.ModuleList(nn.LSTMCell(M if i == 0 else H, H) for i in range(L))

        if config.attention == "bahdanau":
            self.attn_enc = nn.Linear(E, H, bias=False)  # W_h
            self.attn_dec = nn.Linear(H, H)  # W_s and b_attn
            self.attn_v = nn.Linear(H, 1, bias=False)  # v
        else:
            self.attn_enc = nn.Linear(E, H, bias=False)  # W of s_t^T W h_i
        # coverage weight w_c: a vector inside tanh (additive), or a vector dotted with s_t (bilinear)
        self.attn_cov = nn.Parameter(torch.zeros(H)) if config.coverage else None
        self.dec_attn = nn.Linear(H, H, bias=False) if config.intra_decoder else None  # W^d_attn

        self.pre_out = nn.Linear(out_in, H)  # W, b of See eq. 4
        if config.share_embeddings:
            self.out_proj = nn.Parameter(torch.empty(M, H))  # W_proj of Paulus eq. 13
            self.out_bias = nn.Parameter(torch.zeros(V))
            self.out = None
        else:
            self.out = nn.Linear(H, V)  # W', b' of See eq. 4
        self.p_gen = nn.Linear(out_in + M, 1) if config.pointer_gen else None
        self._out_cache: tuple[tuple[int, ...], torch.Tensor] | None = None
        self._init_weights()

    def _init_weights(self) -> None:
        std = self.config.init_std
        nn.init.normal_(self.embedding.weight, std=std)
        with torch.no_grad():
            self.embedding.weight[PAD_ID].zero_()
        if self.out is not None:
            nn.init.normal_(self.out.weight, std=std)
            nn.init.zeros_(self.out.bias)
        else:
            nn.init.normal_(self.out_proj, std=std)

    # ------------------------------------------------------------------ sizes
    @property
    def vocab_size(self) -> int:
        """Size ``V`` of the in-vocabulary part of the action space."""
        return self.config.vocab_size

    @property
    def feature_dim(self) -> int:
        """Width ``D`` of the features :meth:`step` returns (the environment's observation)."""
        return self.config.feature_dim

    @property
    def device(self) -> torch.device:
        return self.embedding.weight.device

    @classmethod
    def from_task(cls, task: Task, preset: str = "small", **overrides: Any) -> Seq2SeqModel:
        """A fresh model sized for ``task`` (see :meth:`ModelConfig.for_task`), with the task's vocabulary."""
        return cls(ModelConfig.for_task(task, preset=preset, **overrides), vocab=task.vocab)

    # --------------------------------------------------------------- encoding
    def encode(self, batch: Batch, n_ext: int | None = None) -> Memory:
        """Run the encoder and precompute what every decoder step reads.

        Args:
            batch: a :class:`~seq2seq_gym.data.Batch` (moved to the model's device if needed).
            n_ext: number of copy columns in the log-probabilities (default
                ``batch.max_oovs``); an environment with a fixed action space
                ``Discrete(V + max_oovs)`` passes its ``max_oovs``.
        """
        batch = self._check_batch(batch)
        cfg = self.config
        if cfg.encoder == "lstm":
            if batch.src is None:
                raise ValueError("this model has a text encoder (encoder='lstm') but the batch has no token source")
            if int(batch.src.max()) >= cfg.vocab_size or int(batch.src.min()) < 0:
                raise ValueError(f"batch.src holds ids outside [0, {cfg.vocab_size}): was it built with another vocab?")
            enc_out, enc_mask, sum_h, sum_c = self.encoder(batch.src, batch.src_lens)
        else:
            if batch.src_feats is None:
                raise ValueError(
                    f"this model has an image encoder (encoder={cfg.encoder!r}) but batch.src_feats is None"
                )
            enc_out, enc_mask, sum_h, sum_c = self.encoder(batch.src_feats)
        B, L, H = enc_out.shape[0], cfg.dec_layers, cfg.hidden_dim
        n_oovs = torch.tensor([len(o) for o in batch.oovs], dtype=torch.long, device=enc_out.device)
        if n_ext is None:
            n_ext = batch.max_oovs
        elif isinstance(n_ext, bool) or not isinstance(n_ext, int):
            raise TypeError(f"n_ext must be an int, got {n_ext!r}")
        elif n_ext < batch.max_oovs:
            raise ValueError(
                f"n_ext={n_ext} is smaller than the batch's largest number of source OOVs ({batch.max_oovs})"
            )
        return Memory(
            enc_out=enc_out,
            enc_keys=self.attn_enc(enc_out),  # [B, S, H]: W_h h_i (additive) or W h_i (bilinear)
            enc_mask=enc_mask,
            src_ext=batch.src_ext,
            n_oovs=n_oovs,
            n_ext=int(n_ext),
            init_h=F.relu(self.bridge_h(sum_h)).view(B, L, H),
            init_c=F.relu(self.bridge_c(sum_c)).view(B, L, H),
        )

    def init_state(self, memory: Memory) -> DecoderState:
        """The decoder state before the first token (context, coverage and history empty)."""
        B, S = memory.enc_mask.shape
        H, dev = self.config.hidden_dim, memory.enc_out.device
        z = memory.enc_out.new_zeros
        return DecoderState(
            h=memory.init_h,
            c=memory.init_c,
            context=z(B, memory.enc_out.shape[2]),
            attn=z(B, S),
            coverage=z(B, S) if self.config.coverage else None,
            temporal=memory.enc_out.new_full((B, S), float("-inf")) if self.config.intra_temporal else None,
            history=z(B, 0, H) if self.config.intra_decoder else None,
            history_mask=torch.zeros(B, 0, dtype=torch.bool, device=dev) if self.config.intra_decoder else None,
            steps=torch.zeros(B, dtype=torch.long, device=dev),
        )

    def bos_tokens(self, batch_size: int) -> torch.Tensor:
        """``[B]`` of ``<s>``: the first ``prev_tokens`` of :meth:`step`."""
        return torch.full((batch_size,), BOS_ID, dtype=torch.long, device=self.device)

    def embed_tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """Embeddings of (extended) ids; copy ids ``>= vocab_size`` are embedded as ``<unk>`` (See et al.)."""
        ids = torch.where(ids >= self.config.vocab_size, torch.full_like(ids, UNK_ID), ids.clamp_min(0))
        return self.embedding(ids)

    # ------------------------------------------------------------ decoder core
    def _attend(
        self, s: torch.Tensor, state: DecoderState, memory: Memory
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """Encoder attention for decoder state ``s`` ``[B, H]``.

        Returns the attention ``a_t`` ``[B, S]``, the context ``c_t`` ``[B, E]``,
        the new coverage and intra-temporal accumulators and the step's
        coverage loss ``[B]`` (``None`` where the option is off).
        """
        cov = state.coverage
        if self.config.attention == "bahdanau":
            feat = memory.enc_keys + self.attn_dec(s)[:, None, :]  # [B, S, H]: W_h h_i + W_s s_t + b
            if cov is not None:
                feat = feat + cov[:, :, None] * self.attn_cov  # + w_c cov_ti (See eq. 11)
            e = self.attn_v(torch.tanh(feat)).squeeze(-1)  # [B, S]
        else:
            e = torch.bmm(memory.enc_keys, s[:, :, None]).squeeze(-1)  # [B, S]: s_t^T W h_i
            if cov is not None:
                e = e + cov * (s @ self.attn_cov)[:, None]  # coverage enters as s_t^T w_c cov_ti
        temporal = state.temporal
        if temporal is not None:  # Paulus eq. 3-4: e'_ti = exp(e_ti) / sum_{j<t} exp(e_ji); the first step keeps e_ti
            scores = torch.where((state.steps == 0)[:, None], e, e - temporal)
            temporal = torch.logaddexp(temporal, e)
        else:
            scores = e
        attn = torch.softmax(scores.masked_fill(~memory.enc_mask, float("-inf")), dim=-1)  # [B, S] (Paulus eq. 5)
        context = torch.bmm(attn[:, None, :], memory.enc_out).squeeze(1)  # [B, E]
        cov_loss = None
        if cov is not None:
            cov_loss = torch.minimum(attn, cov).sum(-1)  # See eq. 12
            cov = cov + attn  # See eq. 10
        return attn, context, cov, temporal, cov_loss

    def _recur(
        self, emb: torch.Tensor, state: DecoderState, memory: Memory
    ) -> tuple[DecoderState, torch.Tensor, torch.Tensor | None]:
        """Steps 1-3 of the module docstring for input embeddings ``emb`` ``[B, M]``.

        Returns the new state (history not yet extended), the decoder input
        ``x_t`` ``[B, M]`` and the coverage loss ``[B]`` (or ``None``).
        """
        x = self.input_proj(torch.cat([emb, state.context], dim=-1))  # [B, M]
        hs, cs, inp = [], [], x
        for i, (cell, h_prev, c_prev) in enumerate(zip(self.cells, state.h.unbind(1), state.c.unbind(1))):
            h, c = cell(inp, (h_prev, c_prev))
            hs.append(h)
            cs.append(c)
            inp = self.dropout(h) if i + 1 < len(self.cells) else h
        attn, context, coverage, temporal, cov_loss = self._attend(hs[-1], state, memory)
        new_state = dataclasses.replace(
            state,
            h=torch.stack(hs, dim=1),
            c=torch.stack(cs, dim=1),
            context=context,
            attn=attn,
            coverage=coverage,
            temporal=temporal,
            steps=state.steps + 1,
        )
        return new_state, x, cov_loss

    def _intra_decoder(self, s: torch.Tensor, history: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Intra-decoder context (Paulus eq. 6-8) of states ``s`` ``[B, T, H]`` over ``history`` ``[B, T_h, H]``.

        ``mask`` ``[B, T or 1, T_h]`` says which history states each step may
        attend to; a step with none gets a zero context (eq. 8: ``c^d_1 = 0``).
        """
        e = torch.bmm(self.dec_attn(s), history.transpose(1, 2))  # [B, T, T_h]: e^d_tt' = s_t^T W^d s_t'
        mask = mask.expand_as(e)
        any_valid = mask.any(dim=-1, keepdim=True)  # [B, T, 1]
        e = e.masked_fill(~mask, float("-inf")).masked_fill(~any_valid, 0.0)
        alpha = torch.softmax(e, dim=-1) * any_valid  # eq. 7
        return torch.bmm(alpha, history)  # [B, T, H] (eq. 8)

    def _output_weight(self) -> torch.Tensor:
        """``[V, H]`` output projection: ``W'`` or, tied, ``tanh(W_emb W_proj)`` (Paulus eq. 13).

        The tied matrix is cached while gradients are off and the weights are
        unchanged (decoding steps do not recompute a ``V x M x H`` product).
        """
        if self.out is not None:
            return self.out.weight
        if torch.is_grad_enabled():
            return torch.tanh(self.embedding.weight @ self.out_proj)
        key = (
            self.embedding.weight._version,
            self.out_proj._version,
            self.embedding.weight.data_ptr(),
            self.out_proj.data_ptr(),
        )
        if self._out_cache is None or self._out_cache[0] != key:
            self._out_cache = (key, torch.tanh(self.embedding.weight @ self.out_proj))
        return self._out_cache[1]

    def _output(
        self,
        s: torch.Tensor,
        context: torch.Tensor,
        dec_context: torch.Tensor | None,
        x: torch.Tensor,
        attn: torch.Tensor,
        memory: Memory,
        targets: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Steps 5-6 for ``T`` steps at once: log-probabilities and features ``[B, T, D]``.

        Inputs are ``[B, T, ...]``: ``s`` decoder states, ``context`` encoder
        contexts, ``dec_context`` intra-decoder contexts (or ``None``), ``x``
        decoder inputs, ``attn`` ``[B, T, S]`` attention distributions.

        Without ``targets`` the log-probabilities are the full ``[B, T, V + n_ext]``
        final distribution: copy columns that no source word of a row fills
        are ``-inf``, and every copy column is ``-inf`` without the
        pointer-generator. With ``targets`` ``[B, T]`` (valid extended ids) only
        their log-probabilities ``[B, T]`` are computed, without materialising
        the extended distribution (the fast path of :meth:`mle_loss`).
        """
        parts = [s, context] if dec_context is None else [s, context, dec_context]
        features = torch.cat(parts, dim=-1)  # [B, T, D]
        hidden = self.dropout(self.pre_out(features))  # [B, T, H]
        bias = self.out.bias if self.out is not None else self.out_bias
        logits = F.linear(hidden, self._output_weight(), bias)  # [B, T, V]
        p_gen = None
        if self.p_gen is not None:
            p_gen = torch.sigmoid(self.p_gen(torch.cat([features, x], dim=-1)))  # [B, T, 1] (See eq. 8)
        if targets is None:
            return self._final_log_probs(logits, p_gen, attn, memory), features
        return self._target_log_probs(logits, p_gen, attn, memory, targets), features

    def _final_log_probs(
        self, logits: torch.Tensor, p_gen: torch.Tensor | None, attn: torch.Tensor, memory: Memory
    ) -> torch.Tensor:
        """``[B, T, V + n_ext]`` log of ``p_gen P_vocab + (1 - p_gen) P_copy`` (See eq. 9)."""
        V = self.config.vocab_size
        if p_gen is None:
            log_probs = F.log_softmax(logits, dim=-1)
            return F.pad(log_probs, (0, memory.n_ext), value=float("-inf")) if memory.n_ext else log_probs
        B, T = logits.shape[:2]
        probs = F.pad(p_gen * torch.softmax(logits, dim=-1), (0, memory.n_ext))  # [B, T, V + n_ext]
        index = memory.src_ext[:, None, :].expand(B, T, memory.src_ext.shape[1])  # [B, T, S]
        probs = probs.scatter_add(-1, index, (1.0 - p_gen) * attn)  # copy mass onto the source words' ids
        log_probs = torch.log(probs.clamp_min(torch.finfo(probs.dtype).tiny))
        columns = torch.arange(V + memory.n_ext, device=probs.device)
        invalid = columns[None, :] >= V + memory.n_oovs[:, None]  # [B, V + n_ext]: copy slots without a word
        return log_probs.masked_fill(invalid[:, None, :], float("-inf"))

    def _target_log_probs(
        self,
        logits: torch.Tensor,
        p_gen: torch.Tensor | None,
        attn: torch.Tensor,
        memory: Memory,
        targets: torch.Tensor,
    ) -> torch.Tensor:
        """``[B, T]`` log-probabilities of ``targets`` under the same distribution as :meth:`_final_log_probs`."""
        V = self.config.vocab_size
        in_vocab = targets < V
        logit_y = logits.gather(-1, torch.where(in_vocab, targets, 0)[:, :, None]).squeeze(-1)  # [B, T]
        log_vocab_y = logit_y - torch.logsumexp(logits, dim=-1)  # log P_vocab(y)
        if p_gen is None:
            return log_vocab_y.masked_fill(~in_vocab, float("-inf"))  # copy ids cannot be generated
        p_gen = p_gen.squeeze(-1)
        is_y = memory.src_ext[:, None, :] == targets[:, :, None]  # [B, T, S]: source positions holding y
        copy_y = (attn * is_y).sum(-1)  # sum_{i: w_i = y} a_ti
        prob_y = torch.where(in_vocab, p_gen * log_vocab_y.exp(), 0.0) + (1.0 - p_gen) * copy_y
        return torch.log(prob_y.clamp_min(torch.finfo(prob_y.dtype).tiny))

    def _step_embedded(
        self, emb: torch.Tensor, state: DecoderState, memory: Memory
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState, torch.Tensor | None]:
        """One full decoder step from input embeddings ``emb`` ``[B, M]`` (also returns the coverage loss)."""
        new_state, x, cov_loss = self._recur(emb, state, memory)
        s = new_state.h[:, -1]  # [B, H]
        dec_context = None
        if self.config.intra_decoder:
            dec_context = self._intra_decoder(s[:, None], state.history, state.history_mask[:, None, :])
            new_state = dataclasses.replace(
                new_state,
                history=torch.cat([state.history, s[:, None]], dim=1),
                history_mask=F.pad(state.history_mask, (0, 1), value=True),
            )
        log_probs, features = self._output(
            s[:, None], new_state.context[:, None], dec_context, x[:, None], new_state.attn[:, None], memory
        )
        return log_probs[:, 0], features[:, 0], new_state, cov_loss

    def step(
        self, prev_tokens: torch.Tensor, state: DecoderState, memory: Memory, validate: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """Feed one token per row and return the distribution of the next one.

        Pure: ``state`` and ``memory`` are never modified, so a caller can keep
        the old state (an environment rejecting an action, a beam search).

        Args:
            prev_tokens: ``[B]`` integer ids, possibly extended (copy ids are fed as ``<unk>``).
            state: the decoder state before ``prev_tokens``.
            memory: the encoder memory (its source may be wider than ``state``'s after
                :meth:`Memory.replace_rows`; the state is padded to match).
            validate: check ids against each row's copy slots (one device sync);
                decoding loops that produce the ids themselves pass False.

        Returns:
            ``log_probs`` ``[B, V + memory.n_ext]`` (the pointer-generator's final
            distribution; invalid copy columns ``-inf``), ``features`` ``[B, D]``
            (the decoder state and contexts, the observation), and the new state.
        """
        prev = _as_long("prev_tokens", prev_tokens, self.device)
        B = memory.enc_out.shape[0]
        if prev.shape != (B,):
            raise ValueError(f"prev_tokens must have shape [{B}] (one id per memory row), got {tuple(prev.shape)}")
        if validate:
            self._check_ids("prev_tokens", prev, memory.n_oovs, None)
        if state.steps.shape[0] != B:
            raise ValueError(f"state has {state.steps.shape[0]} rows but memory has {B}")
        state = state.pad_source(memory.source_len)
        log_probs, features, new_state, _ = self._step_embedded(self.dropout(self.embed_tokens(prev)), state, memory)
        return log_probs, features, new_state

    # ----------------------------------------------------------------- scoring
    def score(
        self,
        batch: Batch,
        actions: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        input_policy: InputPolicy | None = None,
        return_full: bool = False,
        with_entropy: bool = False,
        memory: Memory | None = None,
        generator: torch.Generator | None = None,
    ) -> ScoreOutput:
        """Teacher-forced log-probabilities, features and attention (optionally entropy) of action sequences.

        The decoder reads ``<s>, a_1, ..., a_{T-1}`` and scores ``a_1 ... a_T``:
        the same numbers as calling :meth:`step` ``T`` times on those tokens
        (to 1e-5), with gradients. This is how agents re-score the actions an
        environment rollout took (the data flow of SCST and of DESIGN.md).
        Without the pointer-generator, copy ids have log-probability ``-inf``
        (the model cannot produce them; :meth:`mle_targets` maps reference
        copy ids to ``<unk>`` for training).

        Args:
            batch: the source batch (``B`` examples).
            actions: ``[B, T]`` integer extended ids. A sequence ends at its first
                ``</s>`` (included) unless ``lengths`` is given.
            lengths: ``[B]`` number of valid actions per row (``0 <= length <= T``).
            input_policy: what the decoder is fed at step ``t > 0``
                (:mod:`seq2seq_gym.models.input_policies`); default teacher forcing.
            return_full: also return ``full_log_probs`` ``[B, T, V + n_ext]``.
            with_entropy: also compute the per-step policy entropy (this builds
                the full ``[B, T, V + n_ext]`` distribution). By default neither
                is asked for and, with teacher forcing, only the actions'
                log-probabilities are computed: the extended distribution is
                never built (other input policies read each step's distribution anyway).
            memory: a precomputed ``encode(batch)`` (reuse it across several scorings).
            generator: random source for stochastic input policies.
        """
        from seq2seq_gym.models.input_policies import TeacherForcing

        batch = self._check_batch(batch)
        memory = self.encode(batch) if memory is None else memory
        acts = _as_long("actions", actions, self.device)
        B = memory.enc_out.shape[0]
        if acts.dim() != 2 or acts.shape[0] != B or acts.shape[1] < 1:
            raise ValueError(f"actions must have shape [B={B}, T>=1], got {tuple(acts.shape)}")
        T = acts.shape[1]
        if lengths is None:
            is_eos = acts == EOS_ID
            first = torch.where(is_eos.any(1), is_eos.float().argmax(1) + 1, torch.full_like(acts[:, 0], T))
            lens = first
        else:
            lens = _as_long("lengths", lengths, self.device)
            if lens.shape != (B,):
                raise ValueError(f"lengths must have shape [{B}], got {tuple(lens.shape)}")
            if bool((lens < 0).any()) or bool((lens > T).any()):
                raise ValueError(f"lengths must lie in [0, T={T}], got {lens.tolist()}")
        mask = torch.arange(T, device=acts.device)[None, :] < lens[:, None]  # [B, T]
        self._check_ids("actions", acts, memory.n_oovs, mask)
        inputs = torch.cat([self.bos_tokens(B)[:, None], acts[:, :-1]], dim=1)  # [B, T]
        targets = torch.where(mask, acts, torch.zeros_like(acts))  # padding scored as a harmless id
        need_full = return_full or with_entropy

        state = self.init_state(memory)
        cov_losses: list[torch.Tensor] = []
        if input_policy is None or isinstance(input_policy, TeacherForcing):
            # The recurrence is sequential; everything after it runs for all T steps at once.
            emb = self.dropout(self.embed_tokens(inputs))  # [B, T, M]
            ss, contexts, xs, attns = [], [], [], []
            for emb_t in emb.unbind(1):  # unbind: one cheap backward, unlike T slices
                state, x, cov_loss = self._recur(emb_t, state, memory)
                ss.append(state.h[:, -1])
                contexts.append(state.context)
                xs.append(x)
                attns.append(state.attn)
                if cov_loss is not None:
                    cov_losses.append(cov_loss)
            s = torch.stack(ss, dim=1)  # [B, T, H]
            dec_context = None
            if self.config.intra_decoder:  # step t attends to steps t' < t
                causal = torch.ones(T, T, dtype=torch.bool, device=s.device).tril(-1)
                dec_context = self._intra_decoder(s, s, causal[None])
            attention = torch.stack(attns, 1)  # [B, T, S]
            full, features = self._output(
                s, torch.stack(contexts, 1), dec_context, torch.stack(xs, 1), attention, memory,
                targets=None if need_full else targets,
            )
        else:
            outs, feats, attns = [], [], []
            prev_log_probs: torch.Tensor | None = None
            for t in range(T):
                if t == 0:
                    emb_t = self.embed_tokens(inputs[:, 0])
                else:
                    emb_t = input_policy.next_input(self, inputs[:, t], prev_log_probs, generator)
                log_probs, feat, state, cov_loss = self._step_embedded(self.dropout(emb_t), state, memory)
                outs.append(log_probs)
                feats.append(feat)
                attns.append(state.attn)
                prev_log_probs = log_probs
                if cov_loss is not None:
                    cov_losses.append(cov_loss)
            full, features = torch.stack(outs, 1), torch.stack(feats, 1)
            attention = torch.stack(attns, 1)  # [B, T, S]

        fmask = mask.to(features.dtype)
        attention = attention * fmask[:, :, None]  # [B, T, S], zero beyond each length
        if full.dim() == 3:
            log_probs = full.gather(-1, targets[:, :, None]).squeeze(-1) * fmask  # [B, T]
        else:  # the fast path computed the targets' log-probabilities only
            log_probs, full = full * fmask, None
        entropy = None
        if with_entropy:
            p = full.exp()
            entropy = -(p * full.masked_fill(torch.isneginf(full), 0.0)).sum(-1) * fmask  # [B, T]
        n_tokens = fmask.sum().clamp_min(1.0)
        coverage_loss, aux_losses = None, {}
        aux_loss = features.new_zeros(())
        if cov_losses:
            coverage_loss = torch.stack(cov_losses, 1) * fmask  # [B, T]
            aux_losses["coverage"] = coverage_loss.sum() / n_tokens
            aux_loss = self.config.cov_loss_weight * aux_losses["coverage"]
        return ScoreOutput(
            log_probs=log_probs,
            features=features,
            entropy=entropy,
            mask=mask,
            lengths=lens,
            coverage_loss=coverage_loss,
            aux_losses=aux_losses,
            aux_loss=aux_loss,
            attention=attention,
            full_log_probs=full if return_full else None,
        )

    def mle_loss(
        self, batch: Batch, input_policy: InputPolicy | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative log-likelihood of ``batch.tgt_out`` per target token, plus the weighted coverage loss.

        ``loss = -sum_t log P(y*_t) / n_tokens + cov_loss_weight * coverage`` (See et
        al. 2017, eq. 6-7 and 13), averaged over the batch's target tokens.

        Args:
            batch: the training batch (targets in extended ids, ending with ``</s>``).
            input_policy: decoder input policy against exposure bias (default teacher forcing).
            generator: random source for stochastic input policies.

        Returns:
            The scalar loss (with gradients) and float statistics: ``loss``,
            ``nll``, ``coverage_loss``, ``tokens``. Without the pointer-generator,
            target words copied from the source count as ``<unk>`` (:meth:`mle_targets`).
        """
        batch = self._check_batch(batch)
        out = self.score(
            batch, self.mle_targets(batch), lengths=batch.tgt_lens, input_policy=input_policy,
            with_entropy=False, generator=generator,
        )
        n_tokens = out.mask.sum().clamp_min(1)
        nll = -out.log_probs.sum() / n_tokens
        loss = nll + out.aux_loss
        stats = {
            "loss": float(loss.detach()),
            "nll": float(nll.detach()),
            "coverage_loss": float(out.aux_losses["coverage"].detach()) if "coverage" in out.aux_losses else 0.0,
            "tokens": int(n_tokens),
        }
        return loss, stats

    def mle_targets(self, batch: Batch) -> torch.Tensor:
        """``[B, T]`` training labels: ``batch.tgt_out``, with copy ids as ``<unk>`` when the model cannot copy."""
        tgt = batch.tgt_out.to(self.device)
        if self.config.pointer_gen:
            return tgt
        return torch.where(tgt >= self.config.vocab_size, torch.full_like(tgt, UNK_ID), tgt)

    # ---------------------------------------------------------------- decoding
    def generate(self, batch: Batch, strategy: str = "greedy", **kwargs: Any) -> GenerationOutput:
        """Decode ``batch`` without gradients: ``"greedy"``, ``"sample"`` or ``"beam"``.

        See :func:`seq2seq_gym.models.decoding.generate` for every argument
        (``max_len``, ``min_len``, ``temperature``, ``top_k``, ``top_p``,
        ``beam_size``, ``length_penalty``, ``block_trigrams``, ``n_best``, ``generator``).
        """
        from seq2seq_gym.models.decoding import generate

        return generate(self, batch, strategy=strategy, **kwargs)

    def decode_text(self, batch: Batch, output: GenerationOutput | torch.Tensor) -> list[Any]:
        """Words of generated ids, copied OOV words included (via ``vocab.decode`` with ``batch.oovs``).

        ``output`` is a :class:`GenerationOutput` or an id tensor ``[B, T]`` /
        ``[B, n, T]``. Returns ``B`` word lists, or ``B`` lists of ``n`` word
        lists for n-best output. Decoding stops at ``</s>``.
        """
        if self.vocab is None:
            raise ValueError("decode_text needs the model's vocab (pass vocab= when building the model)")
        tokens = output if isinstance(output, torch.Tensor) else output.tokens
        tokens = tokens.detach().cpu()
        if tokens.shape[0] != len(batch.oovs):
            raise ValueError(f"output has {tokens.shape[0]} rows but the batch has {len(batch.oovs)} examples")
        if tokens.dim() == 2:
            return [self.vocab.decode(row.tolist(), batch.oovs[b]) for b, row in enumerate(tokens)]
        return [[self.vocab.decode(r.tolist(), batch.oovs[b]) for r in rows] for b, rows in enumerate(tokens)]

    # ------------------------------------------------------------- checkpoints
    def save(self, directory: str | os.PathLike) -> None:
        """Write ``model.safetensors``, ``vocab.txt`` and ``config.json`` (atomically) into ``directory``."""
        from seq2seq_gym.models.checkpoint import save_model

        save_model(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike, map_location: str | torch.device | None = None) -> Seq2SeqModel:
        """Rebuild a model saved by :meth:`save` from the directory alone (in eval mode)."""
        from seq2seq_gym.models.checkpoint import load_model

        return load_model(directory, map_location=map_location)

    # -------------------------------------------------------------- validation
    def _check_batch(self, batch: Batch) -> Batch:
        if not isinstance(batch, Batch):
            raise TypeError(f"batch must be a seq2seq_gym.data.Batch, got {type(batch).__name__}")
        if batch.vocab_size != self.config.vocab_size:
            raise ValueError(
                f"batch.vocab_size={batch.vocab_size} does not match the model's vocab_size={self.config.vocab_size}"
            )
        return batch if batch.device == self.device else batch.to(self.device)

    def _check_ids(self, name: str, ids: torch.Tensor, n_oovs: torch.Tensor, mask: torch.Tensor | None) -> None:
        """``ValueError`` naming ``name`` if an id is negative or a copy id beyond its row's source OOVs.

        ``ids`` is ``[B]`` or ``[B, T]``; ``mask`` (same shape) limits the check to valid positions.
        """
        limit = self.config.vocab_size + n_oovs  # [B]
        if ids.dim() == 2:
            limit = limit[:, None]
        bad = (ids < 0) | (ids >= limit)
        if mask is not None:
            bad = bad & mask
        if bool(bad.any()):
            pos = tuple(int(i) for i in bad.nonzero()[0])
            b, where = pos[0], ", ".join(str(i) for i in pos)
            value = int(ids[pos])
            if value < 0:
                raise ValueError(f"{name}[{where}] = {value} is a negative token id")
            k = value - self.config.vocab_size
            raise ValueError(
                f"{name}[{where}] = {value} is copy slot {k}, but example {b} has only {int(n_oovs[b])} source OOV "
                f"word(s) (valid ids: 0..{self.config.vocab_size + int(n_oovs[b]) - 1})"
            )
