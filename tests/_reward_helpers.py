"""Helpers of the reward tests: generate()-style outputs and the reference libraries' scores."""

from __future__ import annotations

import numpy as np
import torch

from seq2seq_gym.data import EOS_ID, PAD_ID, UNK_ID
from seq2seq_gym.rewards.text import ptb_tokenize


def noisy_outputs(task, split: str, n: int, seed: int):
    """generate()-style outputs for n examples: a noisy copy of a reference (words dropped,
    source words and <unk> inserted, copy ids for out-of-vocabulary source words), then
    </s> and <pad>; and the batch."""
    rng = np.random.default_rng(seed)
    examples = task.split(split)[:n]
    batch = task.collate(examples)
    rows = []
    for b, ex in enumerate(examples):
        ref = ex.references[int(rng.integers(len(ex.references)))]
        src = batch.src_ext[b, : int(batch.src_lens[b])].tolist()
        ids = []
        for w in ref:
            u = rng.random()
            if u < 0.15:
                continue
            if u < 0.3:
                ids.append(int(rng.choice(src)))
            elif u < 0.33:
                ids.append(UNK_ID)
            else:
                ids.extend(task.vocab.encode_target([w], batch.oovs[b]))
        rows.append(ids)
    T = max(len(r) for r in rows) + 3
    out = torch.full((n, T), PAD_ID, dtype=torch.long)
    for b, r in enumerate(rows):
        out[b, : len(r)] = torch.tensor(r, dtype=torch.long)
        out[b, len(r)] = EOS_ID
    return batch, out


def ciderd_train_df(train_docs, hyps, refs):
    """pycocoevalcap's CiderScorer with document frequencies of a training corpus (N = its size)."""
    from pycocoevalcap.cider import cider_scorer

    train = cider_scorer.CiderScorer(n=4, sigma=6.0)
    for doc in train_docs:
        train.cook_append(None, doc)
    train.compute_doc_freq()

    class _N(list):  # compute_cider takes N as len(self.crefs): the training corpus's size
        def __len__(self):
            return len(train.crefs)

    sc = cider_scorer.CiderScorer(n=4, sigma=6.0)
    for h, r in zip(hyps, refs):
        sc.cook_append(h, r)
    sc.document_frequency = train.document_frequency
    sc.crefs = _N(sc.crefs)
    return np.asarray(sc.compute_cider())


def reference_library(metric: str, texts, refs, train_docs=None):
    """Per-pair scores of the reference library: rouge-score (stemmed), sacrebleu
    sentence_bleu, CIDEr-D (CiderScorer, training df) on PTB tokens."""
    import sacrebleu
    from rouge_score import rouge_scorer

    if metric == "rougeL":
        s = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        return np.array([s.score_multi(r, h)["rougeL"].fmeasure for h, r in zip(texts, refs)])
    if metric == "rouge2":
        s = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
        return np.array([s.score_multi(r, h)["rouge2"].fmeasure for h, r in zip(texts, refs)])
    if metric == "bleu":
        return np.array([sacrebleu.sentence_bleu(h, r).score / 100 for h, r in zip(texts, refs)])
    if metric == "cider":
        tok = lambda s: " ".join(ptb_tokenize(s))  # noqa: E731  (equal to the Java PTBTokenizer on captions)
        return ciderd_train_df([[tok(x) for x in d] for d in train_docs], [tok(h) for h in texts],
                                [[tok(x) for x in r] for r in refs])
    raise AssertionError(metric)
