"""Batched decoding: greedy, sampling (temperature, top-k, top-p) and beam search.

Every strategy steps all examples (and all beams) of a batch together with
:meth:`Seq2SeqModel.step`; the only Python loop is over time steps. Output ids
are in the extended vocabulary (copied source OOV words have ids
``>= vocab_size``); :meth:`Seq2SeqModel.decode_text` maps them back to words.

``<pad>`` and ``<s>`` are never generated. Trigram blocking (Paulus et al.
2018, sec. 2.5) forbids any token that would repeat a trigram already in the
hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from seq2seq_gym.data import BOS_ID, EOS_ID, PAD_ID, Batch
from seq2seq_gym.models.input_policies import gumbel

if TYPE_CHECKING:
    from seq2seq_gym.models.seq2seq import Seq2SeqModel

STRATEGIES = ("greedy", "sample", "beam")
NEG_INF = float("-inf")


@dataclass
class GenerationOutput:
    """Decoded sequences.

    Attributes:
        tokens: ``[B, T]`` extended ids ending with ``</s>`` (unless cut by
            ``max_len``), ``<pad>`` after; ``[B, n_best, T]`` when ``n_best > 1``.
        lengths: ``[B]`` (or ``[B, n_best]``) number of tokens, ``</s>`` included.
        scores: ``[B]`` (or ``[B, n_best]``): greedy and sampling give the sum
            of the model's log-probabilities of the tokens; beam search gives
            that sum divided by ``length ** length_penalty``.
        token_log_probs: ``[B, T]`` the model's (untempered, unfiltered)
            log-probability of each generated token, 0 after the end; greedy
            and sampling only (``None`` for beam search).
        strategy: the strategy that produced the output.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    scores: torch.Tensor
    token_log_probs: torch.Tensor | None
    strategy: str

    def best(self) -> torch.Tensor:
        """``[B, T]`` the best sequence of each example (n-best output included)."""
        return self.tokens[:, 0] if self.tokens.dim() == 3 else self.tokens


def banned_trigram_mask(history: torch.Tensor, n_columns: int) -> torch.Tensor | None:
    """``[N, n_columns]`` True for each token that would repeat a trigram of ``history`` ``[N, t]``.

    The next trigram is ``(h[t-2], h[t-1], w)``; ``w`` is banned where
    ``(h[i], h[i+1]) == (h[t-2], h[t-1])`` and ``w == h[i+2]`` for some
    ``i <= t-3``. Returns ``None`` when ``t < 3`` (no earlier trigram).
    """
    t = history.shape[1]
    if t < 3:
        return None
    a, b = history[:, -2:-1], history[:, -1:]  # [N, 1]
    match = (history[:, : t - 2] == a) & (history[:, 1 : t - 1] == b)  # [N, t-2]
    counts = torch.zeros(history.shape[0], n_columns, device=history.device)
    counts.scatter_add_(1, history[:, 2:], match.float())
    return counts > 0


def _constrain(
    log_probs: torch.Tensor, step: int, min_len: int, history: torch.Tensor | None, block_trigrams: bool
) -> torch.Tensor:
    """Apply the decoding constraints to ``[N, V_ext]`` log-probabilities (a new tensor)."""
    out = log_probs.clone()
    out[:, PAD_ID] = NEG_INF
    out[:, BOS_ID] = NEG_INF
    if step < min_len:
        out[:, EOS_ID] = NEG_INF
    if block_trigrams and history is not None:
        ban = banned_trigram_mask(history, out.shape[1])
        if ban is not None:
            out = out.masked_fill(ban, NEG_INF)
    stuck = torch.isneginf(out).all(-1)  # every token banned: let the row end
    if bool(stuck.any()):
        out[stuck, EOS_ID] = 0.0
    return out


def _filter_top_k_top_p(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Keep the ``top_k`` best tokens and the smallest set with probability ``>= top_p`` (Holtzman et al. 2020)."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # [N, 1]
        logits = logits.masked_fill(logits < kth, NEG_INF)
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        before = probs.cumsum(-1) - probs  # mass of the better tokens
        drop_sorted = before >= top_p  # the best token is always kept
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, NEG_INF)
    return logits


def generate(
    model: Seq2SeqModel,
    batch: Batch,
    strategy: str = "greedy",
    max_len: int | None = None,
    min_len: int = 0,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    beam_size: int = 4,
    length_penalty: float = 1.0,
    block_trigrams: bool = False,
    n_best: int = 1,
    generator: torch.Generator | None = None,
) -> GenerationOutput:
    """Decode a batch without gradients (the model's train/eval mode is left as it is).

    Args:
        model: the :class:`Seq2SeqModel`.
        batch: the sources.
        strategy: ``"greedy"`` (argmax), ``"sample"`` (ancestral sampling) or ``"beam"``.
        max_len: most tokens per sequence, ``</s>`` included (default ``config.max_decode_len``).
        min_len: ``</s>`` is forbidden before this many tokens.
        temperature: sampling temperature (``"sample"``), ``> 0``.
        top_k: sample among the ``k`` most likely tokens only (0: all).
        top_p: nucleus sampling, keep the smallest set of tokens with total probability ``>= top_p`` (1: all).
        beam_size: beams per example (``"beam"``).
        length_penalty: beam scores are ``sum log P / length ** length_penalty``
            (0: raw sums; 1: per-token average).
        block_trigrams: never produce a trigram twice in one sequence (Paulus et al. 2018).
        n_best: number of hypotheses returned per example (``"beam"``, ``<= beam_size``).
        generator: random source for sampling (the same seed gives the same samples).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    max_len = model.config.max_decode_len if max_len is None else max_len
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be a positive int, got {max_len!r}")
    if not isinstance(min_len, int) or not 0 <= min_len < max_len:
        raise ValueError(f"min_len must be an int in [0, max_len={max_len}), got {min_len!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"top_k must be an int >= 0, got {top_k!r}")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be a positive int, got {beam_size!r}")
    if not isinstance(n_best, int) or n_best < 1:
        raise ValueError(f"n_best must be a positive int, got {n_best!r}")
    if n_best > 1 and strategy != "beam":
        raise ValueError(f"n_best={n_best} needs strategy='beam'")
    if n_best > beam_size:
        raise ValueError(f"n_best={n_best} cannot exceed beam_size={beam_size}")
    with torch.no_grad():
        if strategy == "beam":
            return _beam_search(model, batch, max_len, min_len, beam_size, length_penalty, block_trigrams, n_best)
        return _greedy_or_sample(
            model, batch, strategy, max_len, min_len, temperature, top_k, top_p, block_trigrams, generator
        )


def _greedy_or_sample(
    model: Seq2SeqModel,
    batch: Batch,
    strategy: str,
    max_len: int,
    min_len: int,
    temperature: float,
    top_k: int,
    top_p: float,
    block_trigrams: bool,
    generator: torch.Generator | None,
) -> GenerationOutput:
    memory = model.encode(batch)
    state = model.init_state(memory)
    B, device = memory.enc_out.shape[0], memory.enc_out.device
    prev = model.bos_tokens(B)
    tokens = torch.full((B, max_len), PAD_ID, dtype=torch.long, device=device)
    token_log_probs = torch.zeros(B, max_len, device=device)
    lengths = torch.full((B,), max_len, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    steps = 0
    for t in range(max_len):
        log_probs, _, state = model.step(prev, state, memory, validate=False)
        scores = _constrain(log_probs, t, min_len, tokens[:, :t], block_trigrams)
        if strategy == "greedy":
            tok = scores.argmax(-1)
        else:
            logits = _filter_top_k_top_p(scores / temperature, top_k, top_p)
            tok = (logits + gumbel(tuple(logits.shape), device, generator)).argmax(-1)
        tok = tok.masked_fill(done, PAD_ID)
        tokens[:, t] = tok
        token_log_probs[:, t] = log_probs.gather(1, tok[:, None]).squeeze(1).masked_fill(done, 0.0)
        ended = ~done & (tok == EOS_ID)
        lengths = torch.where(ended, torch.full_like(lengths, t + 1), lengths)
        done = done | ended
        prev = tok
        steps = t + 1
        if bool(done.all()):
            break
    return GenerationOutput(
        tokens=tokens[:, :steps],
        lengths=lengths,
        scores=token_log_probs.sum(1),
        token_log_probs=token_log_probs[:, :steps],
        strategy=strategy,
    )


def _beam_search(
    model: Seq2SeqModel,
    batch: Batch,
    max_len: int,
    min_len: int,
    K: int,
    length_penalty: float,
    block_trigrams: bool,
    n_best: int,
) -> GenerationOutput:
    """Batched beam search over ``B * K`` rows.

    Each step expands every live beam, keeps the ``2K`` best continuations per
    example, moves those ending in ``</s>`` (among the first ``K``) into a pool
    of ``n_best`` finished hypotheses ranked by ``score / length **
    length_penalty``, and keeps the ``K`` best others alive. An example is done
    when its pool is full and no live beam scores better at the current length.
    Examples not done at ``max_len`` add their live beams (without ``</s>``) to the pool.
    """
    memory0 = model.encode(batch)
    B, device = memory0.enc_out.shape[0], memory0.enc_out.device
    N = B * K
    memory = memory0.index_select(torch.arange(B, device=device).repeat_interleave(K))
    state = model.init_state(memory)
    prev = model.bos_tokens(N)
    beam_scores = torch.zeros(B, K, device=device)
    beam_scores[:, 1:] = NEG_INF  # all beams start identical: expand only the first
    beam_scores = beam_scores.view(N)
    seqs = torch.zeros(N, 0, dtype=torch.long, device=device)
    P = n_best
    pool_tokens = torch.full((B, P, max_len), PAD_ID, dtype=torch.long, device=device)
    pool_scores = torch.full((B, P), NEG_INF, device=device)
    pool_lens = torch.zeros(B, P, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    example = torch.arange(B, device=device)[:, None]  # [B, 1]

    def add_to_pool(cand_tokens: torch.Tensor, cand_scores: torch.Tensor, cand_len: int) -> None:
        """Merge candidates ``[B, C, cand_len]`` with scores ``[B, C]`` into the pool, keeping the best ``P``."""
        nonlocal pool_tokens, pool_scores, pool_lens
        C = cand_tokens.shape[1]
        padded = torch.full((B, C, max_len), PAD_ID, dtype=torch.long, device=device)
        padded[:, :, :cand_len] = cand_tokens
        all_tokens = torch.cat([pool_tokens, padded], dim=1)
        all_scores = torch.cat([pool_scores, cand_scores], dim=1)
        all_lens = torch.cat([pool_lens, torch.full((B, C), cand_len, dtype=torch.long, device=device)], dim=1)
        pool_scores, keep = all_scores.topk(P, dim=1)
        pool_tokens = all_tokens[example, keep]
        pool_lens = all_lens.gather(1, keep)

    t = 0
    for t in range(max_len):
        log_probs, _, state = model.step(prev, state, memory, validate=False)
        V_ext = log_probs.shape[1]
        log_probs = _constrain(log_probs, t, min_len, seqs, block_trigrams)
        cand = (beam_scores[:, None] + log_probs).view(B, K * V_ext)
        top_scores, top_idx = cand.topk(2 * K, dim=1)  # [B, 2K]
        beam_idx, tok = top_idx // V_ext, top_idx % V_ext
        src_rows = (example * K + beam_idx).view(-1)  # [B * 2K] rows of the flat beams
        norm = (t + 1) ** length_penalty
        # finished hypotheses: </s> among the first K continuations of examples not yet done
        is_eos = tok == EOS_ID
        fin = is_eos.clone()
        fin[:, K:] = False
        fin &= ~done[:, None]
        if bool(fin.any()):
            cand_tokens = torch.cat([seqs[src_rows].view(B, 2 * K, t), tok[:, :, None]], dim=2)
            add_to_pool(cand_tokens, torch.where(fin, top_scores / norm, NEG_INF), t + 1)
        # live beams: the K best continuations that do not end
        alive_scores, pos = top_scores.masked_fill(is_eos, NEG_INF).topk(K, dim=1)  # [B, K]
        rows = (example * K + beam_idx.gather(1, pos)).view(-1)  # [N]
        next_tok = tok.gather(1, pos).view(-1)
        state = state.index_select(rows)
        seqs = torch.cat([seqs[rows], next_tok[:, None]], dim=1)
        beam_scores, prev = alive_scores.view(-1), next_tok
        pool_full = torch.isfinite(pool_scores[:, -1])
        done |= pool_full & (pool_scores[:, -1] >= alive_scores[:, 0] / norm)
        if bool(done.all()):
            break
    if not bool(done.all()):  # out of length: live beams compete unfinished
        live = torch.where(done[:, None], NEG_INF, beam_scores.view(B, K) / (t + 1) ** length_penalty)
        add_to_pool(seqs.view(B, K, t + 1), live, t + 1)
    width = max(int(pool_lens.max()), 1)
    tokens = pool_tokens[:, :, :width]
    if n_best == 1:
        return GenerationOutput(tokens[:, 0], pool_lens[:, 0], pool_scores[:, 0], None, "beam")
    return GenerationOutput(tokens, pool_lens, pool_scores, None, "beam")
