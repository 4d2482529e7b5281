"""CIDEr-D, identical to ``pycocoevalcap``'s ``Cider`` (``cider_scorer.py``), on token ids.

Vedantam, Zitnick, Parikh, "CIDEr: Consensus-based Image Description Evaluation",
CVPR 2015, sec. 3: TF-IDF n-gram vectors, cosine per order averaged over references
and orders 1..4; and its CIDEr-D variant (Gaussian length
penalty with sigma = 6, clipped n-gram counts, x10). The details follow
pycocoevalcap exactly, including its choice of *bigram count* as the length.

Text is tokenized as pycocoevalcap's caption evaluation does before CIDEr-D
(``tokenize="ptb"``, the default: its ``PTBTokenizer`` convention, lowercased PTB
tokens with punctuation removed, see :func:`~seq2seq_gym.rewards.text.ptb_tokenize`),
or split on whitespace for text that is already tokenized (``tokenize="none"``, what
``Cider`` alone does).

Document frequencies either come from the references being scored (``df="corpus"``,
what ``Cider().compute_score(gts, res)`` does: df over all references of the batch,
N = number of examples) or from a training corpus fitted once
(:meth:`CiderD.from_corpus`, :class:`DocumentFrequency`) and reused, the way
self-critical sequence training caches them (Rennie et al. 2017).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from seq2seq_gym.rewards import _cider_kernels as K
from seq2seq_gym.rewards._inputs import Refs, prepare_refs
from seq2seq_gym.rewards._nb import table_capacity
from seq2seq_gym.rewards.base import Metric, _State
from seq2seq_gym.rewards.text import TEXT_TOKENIZERS, Interner, check_hypotheses, normalize_references, pack, pack_refs

_NO_GID = np.zeros((0, 1, 1, 1), np.int64)


class DocumentFrequency:
    """Document frequencies of all n-grams (orders 1..n) of a reference corpus.

    A document is one example's set of references (an image's captions): df(g) counts
    the documents with g in at least one reference, and ``num_docs`` is the N of the
    idf log(N) - log(max(1, df)). Build with :meth:`from_ids` or :meth:`from_text`;
    save / load with :meth:`save` / :meth:`load` (a ``.npz`` file, no pickle).

    Attributes:
        n: maximum n-gram order.
        num_docs: number of documents N.
        vocab: for a table fitted on text, the token -> id map used (else None).
        tokenizer: for a table fitted on text, the name of the text tokenizer used.
    """

    def __init__(self, table: tuple, n: int, num_docs: int, vocab: dict[str, int] | None = None,
                 tokenizer: str | None = None) -> None:
        self.table = table
        self.n = int(n)
        self.num_docs = int(num_docs)
        self.vocab = vocab
        self.tokenizer = tokenizer
        self._children: tuple[np.ndarray, np.ndarray] | None = None
        self._idf: np.ndarray | None = None
        self._ref_gid: np.ndarray | None = None  # entries of the fitting references (df="corpus")
        self._gid_src: np.ndarray | None = None

    def children(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR lists of the n-grams extending each n-gram (computed once, for lookahead)."""
        if self._children is None:
            self._children = K.df_children(self.table[1], self.table[3])
        return self._children

    @property
    def log_n(self) -> float:
        return math.log(float(self.num_docs)) if self.num_docs > 0 else 0.0

    @property
    def idf(self) -> np.ndarray:
        """``[num_ngrams]`` idf of every n-gram of the table: log(N) - log(max(1, df))."""
        if self._idf is None:
            ne = self.num_ngrams
            self._idf = self.log_n - np.log(np.maximum(1.0, self.table[4][: max(ne, 1)]))
        return self._idf

    @property
    def num_ngrams(self) -> int:
        return int(self.table[3][0])

    @classmethod
    def _from_arrays(cls, refs: np.ndarray, rlens: np.ndarray, valid: np.ndarray, n: int,
                     vocab: dict[str, int] | None = None, keep_gid: bool = False,
                     tokenizer: str | None = None) -> DocumentFrequency:
        D, R, L = refs.shape
        est = int(min(max(n * int(rlens[valid].sum()) // 2, 16), 1 << 22))
        gid = np.full((D, R, max(L, 1), n) if keep_gid else (0, 1, 1, 1), -1, np.int64)
        tab = K.df_add_docs(K.df_alloc(est), refs, rlens, valid, n, 0, gid)
        df = cls(tab, n, D, vocab, tokenizer)
        if keep_gid:
            df._ref_gid, df._gid_src = gid, refs
        return df

    @classmethod
    def from_ids(cls, refs: Any, ref_lens: Any = None, *, ref_mask: Any = None, n: int = 4,
                 pad_id: int = 0) -> DocumentFrequency:
        """Fit on token ids: ``refs [D, R, L]`` (one document per row), lengths / mask as
        :meth:`Metric.terminal`; or a list of documents, each a list of id sequences."""
        if isinstance(refs, (list, tuple)) and refs and isinstance(refs[0], (list, tuple)) and (
                not refs[0] or isinstance(refs[0][0], (list, tuple, np.ndarray))):
            ids, lens, valid = pack_refs([[list(map(int, s)) for s in doc] for doc in refs])
            if (ids < 0).any():
                raise ValueError("refs contains negative token ids")
            return cls._from_arrays(ids, lens, valid, n)
        r = prepare_refs(refs, ref_lens, ref_mask, None, pad_id, None)
        return cls._from_arrays(r.ids, r.lens, r.valid, n)

    @classmethod
    def from_text(cls, corpus: Sequence[Sequence[str]] | Sequence[str], n: int = 4,
                  tokenize: str = "ptb") -> DocumentFrequency:
        """Fit on text: one entry per document, a string or a list of reference strings.

        Args:
            corpus: the documents.
            n: maximum n-gram order.
            tokenize: ``"ptb"`` (pycocoevalcap's PTBTokenizer convention, default) or
                ``"none"`` (whitespace split, for already tokenized text).
        """
        if tokenize not in ("ptb", "none"):
            raise ValueError(f"tokenize must be 'ptb' or 'none', got {tokenize!r}")
        name = "ptb" if tokenize == "ptb" else "whitespace"
        fn = TEXT_TOKENIZERS[name]
        docs = normalize_references(corpus, len(corpus))
        intern = Interner(start=0)
        ids, lens, valid = pack_refs([[None if s is None else intern(fn(s)) for s in d] for d in docs])
        vocab = dict(intern._new)
        return cls._from_arrays(ids, lens, valid, n, vocab, tokenizer=name)

    def unigram_idf2(self, ids: np.ndarray) -> np.ndarray:
        """``[len(ids)]`` squared idf of each unigram id (0 where the id is negative)."""
        return K.df_unigram_idf2(self.table, self.idf, self.log_n, np.ascontiguousarray(ids, np.int64))

    def save(self, path: str | os.PathLike) -> None:
        """Write the table to ``path`` (.npz), atomically (temp file, then rename)."""
        ne = self.num_ngrams
        path = os.fspath(path)
        tmp = path + ".tmp.npz"
        np.savez_compressed(tmp, par=self.table[1][0, :ne], tok=self.table[2][0, :ne], df=self.table[4][:ne],
                            meta=np.array(json.dumps({"n": self.n, "num_docs": self.num_docs, "format": 1,
                                                      "tokenizer": self.tokenizer})),
                            vocab=np.array(json.dumps(self.vocab) if self.vocab is not None else "null"))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> DocumentFrequency:
        """Read a table written by :meth:`save`."""
        with np.load(os.fspath(path), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            par, tok, df = z["par"], z["tok"], z["df"]
            vocab = json.loads(str(z["vocab"]))
        ne = par.shape[0]
        tab = K.df_alloc(max(ne, 1))
        tab[1][0, :ne] = par
        tab[2][0, :ne] = tok
        tab[3][0] = ne
        tab[4][:ne] = df
        K.df_rehash(tab[0], tab[1], tab[2], tab[3])
        return cls(tab, meta["n"], meta["num_docs"], vocab, meta.get("tokenizer", "whitespace" if vocab else None))


class CiderD(Metric):
    """CIDEr-D (Vedantam et al. 2015, sec. 3 and its "-D" variant) as pycocoevalcap, x10 scale.

    ``dense`` and the prefix scorer update the hypothesis TF-IDF norms and clipped dot
    products incrementally; ``lookahead`` is exact: ids whose new n-grams are unseen in
    the row and have df 0 at orders >= 2 share a closed form through their unigram
    idf, every other id is re-scored from the state.

    Args:
        n: maximum n-gram order (4).
        sigma: standard deviation of the length penalty (6.0).
        df: ``"corpus"`` (document frequencies of the scored batch's references, N =
            batch size, as pycocoevalcap) or a fitted :class:`DocumentFrequency`.
        tokenize: text tokenization: ``"ptb"`` (default, pycocoevalcap's PTBTokenizer
            convention) or ``"none"`` (whitespace split).
        pad_id, eos_id: see :class:`~seq2seq_gym.rewards.base.Metric`.

    With ``df="corpus"`` one row's score depends on every row's references: a prefix
    scorer recomputes df and re-scores all rows on ``reset_rows``. Fit a corpus df for
    RL training.
    """

    _needs_T = True

    def __init__(self, n: int = 4, sigma: float = 6.0, df: str | DocumentFrequency = "corpus", *,
                 tokenize: str = "ptb", pad_id: int = 0, eos_id: int | None = None) -> None:
        super().__init__(pad_id=pad_id, eos_id=eos_id)
        if tokenize not in ("ptb", "none"):
            raise ValueError(f"tokenize must be 'ptb' or 'none', got {tokenize!r}")
        self.tokenize = tokenize
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if not isinstance(sigma, (int, float, np.floating)) or not sigma > 0:
            raise ValueError(f"sigma must be a positive number, got {sigma!r}")
        self.n = int(n)
        self.sigma = float(sigma)
        self.df: str | DocumentFrequency = "corpus"
        self.name = "cider"
        self._set_df(df)

    def _set_df(self, df: str | DocumentFrequency) -> None:
        if isinstance(df, str):
            if df != "corpus":
                raise ValueError(f"df must be 'corpus' or a DocumentFrequency, got {df!r}")
        elif isinstance(df, DocumentFrequency):
            if df.n < self.n:
                raise ValueError(f"df was fitted with n={df.n}, smaller than this metric's n={self.n}")
        else:
            raise ValueError(f"df must be 'corpus' or a DocumentFrequency, got {type(df).__name__}")
        self.df = df

    @property
    def _refs_global(self) -> bool:  # type: ignore[override]
        return isinstance(self.df, str)

    @property
    def text_tokenizer(self) -> str:  # type: ignore[override]
        return "ptb" if self.tokenize == "ptb" else "whitespace"

    @property
    def convention(self) -> str:  # type: ignore[override]
        tok = ("pycocoevalcap PTBTokenizer convention (lowercased PTB tokens, punctuation removed)"
               if self.tokenize == "ptb" else "whitespace tokens")
        if isinstance(self.df, DocumentFrequency):
            df = f"document frequencies of a fitted corpus of {self.df.num_docs} documents"
        else:
            df = "document frequencies of the scored set's references"
        return f"cider: CIDEr-D as pycocoevalcap Cider (n={self.n}, sigma={self.sigma:g}, x10) on {tok}, {df}"

    # ---------------------------------------------------------------- fitting

    @classmethod
    def from_corpus(cls, corpus: Any, ref_lens: Any = None, *, n: int = 4, sigma: float = 6.0, tokenize: str = "ptb",
                    pad_id: int = 0, eos_id: int | None = None) -> CiderD:
        """CIDEr-D with df fitted once on a training corpus (see :meth:`fit`)."""
        m = cls(n=n, sigma=sigma, tokenize=tokenize, pad_id=pad_id, eos_id=eos_id)
        return m.fit(corpus, ref_lens)

    def fit(self, corpus: Any, ref_lens: Any = None) -> CiderD:
        """Fit document frequencies on a corpus and keep them; returns self.

        Args:
            corpus: text (a list with, per document, a string or a list of reference
                strings, tokenized with this metric's ``tokenize``) or token ids (a ``[D, R, L]`` tensor /
                array with ``ref_lens``, or a list of documents, each a list of id lists).
            ref_lens: lengths for a padded id corpus (None: up to the first ``pad_id``).
        """
        is_text = isinstance(corpus, (list, tuple)) and corpus and (
            isinstance(corpus[0], str) or (isinstance(corpus[0], (list, tuple)) and corpus[0]
                                           and isinstance(corpus[0][0], str)))
        if is_text:
            self._set_df(DocumentFrequency.from_text(corpus, self.n, tokenize=self.tokenize))
        else:
            self._set_df(DocumentFrequency.from_ids(corpus, ref_lens, n=self.n, pad_id=self.pad_id))
        return self

    def save_df(self, path: str | os.PathLike) -> None:
        """Save the fitted document frequencies (see :meth:`DocumentFrequency.save`)."""
        if not isinstance(self.df, DocumentFrequency):
            raise ValueError("save_df needs a fitted df (call fit or from_corpus first)")
        self.df.save(path)

    def load_df(self, path: str | os.PathLike) -> CiderD:
        """Load document frequencies saved by :meth:`save_df`; returns self."""
        self._set_df(DocumentFrequency.load(path))
        return self

    # ---------------------------------------------------------------- kernels

    def _df_for(self, refs: np.ndarray, rlens: np.ndarray, valid: np.ndarray) -> DocumentFrequency:
        if isinstance(self.df, DocumentFrequency):
            return self.df
        return DocumentFrequency._from_arrays(refs, rlens, valid, self.n, keep_gid=True)

    def _alloc(self, B: int, R: int, L: int, T: int, refs: Refs) -> _State:
        df = self._df_for(refs.ids, refs.lens, refs.valid)
        cap = table_capacity(self.n * (R * L + T))
        return _State(K.cd_alloc(B, R, L, T, self.n, cap), T, df)

    def _refresh(self, state: _State, refs: Refs) -> None:
        state.extra = self._df_for(refs.ids, refs.lens, refs.valid)

    def _run(self, state, rows, build, refs, rlens, valid, toks, lens, eos, record, out, fin):
        df = state.extra
        # with df="corpus" the table was built from these very references (same array, one
        # document per item): their n-grams' table entries are known, no lookups needed
        gid = df._ref_gid if (build and df._ref_gid is not None and refs is df._gid_src) else _NO_GID
        K.cd_run(state.st, df.table, df.idf, df.log_n, gid, rows, build, refs, rlens, valid, toks, lens, self.n,
                 self.sigma, eos, record, out, fin)

    def _lookahead(self, state, cmap, out, rows):
        df = state.extra
        cptr, clist = df.children()
        # squared unigram idf of each column's token: cached per (map, df)
        hit = cmap._cache.get("uidf2")
        if hit is None or hit[0] is not df:
            hit = (df, df.unigram_idf2(cmap.single))
            cmap._cache["uidf2"] = hit
        K.cd_lookahead(state.st, rows, df.table, df.idf, df.log_n, cptr, clist, hit[1], cmap.iptr, cmap.iwords, self.n,
                       self.sigma, self._eos, out)

    def _refine_lookahead(self, state, rows, cols, V, offs, toks, ooffs, otoks, kind, kmax, out):
        # CIDEr-D's increment depends on the idf of every new n-gram: words without a
        # reference token are still computed (closed form), or probed if a token is in the prefix
        df = state.extra
        xi, xj, _, _ = K.cd_fresh(state.st, df.table, df.idf, df.log_n, rows, cols, V, offs, toks, ooffs, otoks,
                                  kind, self.n, self.sigma, out)
        kind[kind == 2] = 5
        kind[xi, xj] = 3

    def _probe(self, state, rows, seqs, slens, out):
        df = state.extra
        K.cd_probe(state.st, df.table, df.idf, df.log_n, rows, seqs, slens, self.n, self.sigma, out)

    # ---------------------------------------------------------------- text layer

    def _score_text(self, hypotheses, references):
        hyps = check_hypotheses(hypotheses)
        refs = normalize_references(references, len(hyps))
        vocab = None
        if isinstance(self.df, DocumentFrequency):
            if self.df.vocab is None:
                raise ValueError("this CiderD's df was fitted on token ids; the text layer needs a df fitted on "
                                 "text (CiderD.from_corpus(list_of_reference_lists)) or df='corpus'")
            if self.df.tokenizer != self.text_tokenizer:
                raise ValueError(f"this CiderD tokenizes text with {self.text_tokenizer!r} but its df was fitted on "
                                 f"{self.df.tokenizer!r} tokens; fit the df with the same tokenize")
            vocab = self.df.vocab
        fn = TEXT_TOKENIZERS[self.text_tokenizer]
        intern = Interner(start=0, vocab=vocab)
        h_ids, h_lens = pack([intern(fn(h)) for h in hyps])
        r_ids, r_lens, valid = pack_refs([[None if s is None else intern(fn(s)) for s in r] for r in refs])
        scores, _, _ = self._batch(h_ids, h_lens, r_ids, r_lens, valid, record=False)
        return scores, None

