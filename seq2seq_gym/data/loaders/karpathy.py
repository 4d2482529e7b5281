"""Image captioning from a Karpathy-split JSON with precomputed features or raw image arrays.

The annotation file is the ``dataset_coco.json`` / ``dataset_flickr30k.json``
layout of Karpathy & Fei-Fei (2015)::

    {"images": [{"filename": "COCO_val2014_000000391895.jpg", "imgid": 0,
                 "split": "test", "cocoid": 391895,
                 "sentences": [{"tokens": ["a", "man", ...], "raw": "A man ..."}, ...]}, ...]}

Each image is one example; its references are all its sentences (the
``tokens`` lists, or the ``raw`` strings tokenized when ``use_raw``). The
Karpathy split names map to ``train``, ``validation`` (``val``) and ``test``;
``restval`` joins ``train`` by default (the common "Karpathy train" of 113k
COCO images).

Image features (the example's source array) come from one of:

- a **directory** of per-image files ``{key}.npy`` or ``{key}.npz``
  (vector features ``[F]``, grid / region features ``[N, F]``, or raw
  images ``[H, W, 3]``); the key is the image's ``cocoid`` when present,
  else its ``imgid`` (``feature_key`` picks ``"cocoid"``, ``"imgid"``,
  ``"filename"`` (the name without extension) or ``"auto"``). A ``.npz``
  holds one array, or the one named by ``npz_key``. Files are read eagerly.
- one **stacked** ``.npy`` file ``[num_images, ...]`` whose row ``i``
  belongs to the image with ``imgid == i`` (Karpathy's ``imgid`` is the
  image's position in the JSON), or to ``feature_index[i]`` when that list
  of keys (or a text file with one key per line) is given. It is
  memory-mapped, so only the rows a batch uses are read.
- one **stacked** ``.npz`` file with an array ``features`` (or ``npz_key``)
  ``[num_images, ...]`` and an array ``ids`` giving each row's key.
- a **mapping** ``{key: array}`` in memory (``features=`` or ``images=``;
  ``images`` arrays must be ``[H, W, 3]`` uint8 raw images).

Every example's array must have the same shape (checked). An image without
features follows ``on_error``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seq2seq_gym.data.builder import build_task
from seq2seq_gym.data.example import Example
from seq2seq_gym.data.loaders.common import dedupe
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.textio import SkipLog, check_file, check_on_error, decode_text
from seq2seq_gym.data.tokenize import Tokenizer, get_tokenizer
from seq2seq_gym.data.vocab import Vocab

__all__ = ["load_karpathy_task"]

_SPLIT_MAP = {"train": "train", "val": "validation", "validation": "validation", "test": "test"}


def _image_key(img: Mapping[str, Any], feature_key: str, where: str) -> str:
    if feature_key == "auto":
        feature_key = "cocoid" if "cocoid" in img else "imgid"
    if feature_key == "filename":
        if "filename" not in img:
            raise ValueError(f"{where}: image has no 'filename'")
        return Path(str(img["filename"])).stem
    if feature_key not in ("cocoid", "imgid"):
        raise ValueError(f"feature_key must be 'auto', 'cocoid', 'imgid' or 'filename', got {feature_key!r}")
    if feature_key not in img:
        raise ValueError(f"{where}: image has no {feature_key!r} (feature_key={feature_key!r})")
    return str(img[feature_key])


def _npz_array(path: Path, npz_key: str | None) -> np.ndarray:
    with np.load(path) as z:
        names = list(z.files)
        if npz_key is not None:
            if npz_key not in names:
                raise ValueError(f"{path}: no array {npz_key!r} (arrays: {names})")
            return z[npz_key]
        if len(names) != 1:
            raise ValueError(f"{path}: holds arrays {names}; pass npz_key= to choose one")
        return z[names[0]]


class _FeatureSource:
    """Resolve an image key to its array."""

    def __init__(
        self,
        features: Any,
        images: Mapping[str, np.ndarray] | None,
        npz_key: str | None,
        feature_index: Sequence[Any] | str | os.PathLike | None,
    ) -> None:
        self.kind = "none"
        self.mapping: dict[str, np.ndarray] | None = None
        self.dir: Path | None = None
        self.stacked: np.ndarray | None = None
        self.row_of: dict[str, int] | None = None
        self.npz_key = npz_key
        if features is not None and images is not None:
            raise ValueError("pass features= or images=, not both")
        if images is not None:
            if not isinstance(images, Mapping):
                raise TypeError(f"images must be a mapping key -> [H, W, 3] uint8 array, got {type(images).__name__}")
            for k, a in images.items():
                a = np.asarray(a)
                if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.uint8:
                    raise ValueError(f"images[{k!r}] must be an [H, W, 3] uint8 array, got {a.dtype} {a.shape}")
            self.mapping = {str(k): np.asarray(v) for k, v in images.items()}
            self.kind = "images"
        elif isinstance(features, Mapping):
            self.mapping = {str(k): np.asarray(v) for k, v in features.items()}
            self.kind = "mapping"
        elif isinstance(features, str | os.PathLike):
            p = Path(features)
            if p.is_dir():
                self.dir, self.kind = p, "directory"
            else:
                check_file(p, "features")
                if p.suffix == ".npy":
                    self.stacked = np.load(p, mmap_mode="r")
                    keys = self._index(feature_index)
                    self.kind = "stacked npy"
                elif p.suffix == ".npz":
                    with np.load(p) as z:
                        fk = npz_key or "features"
                        if fk not in z.files or "ids" not in z.files:
                            raise ValueError(f"features: {p} must hold arrays {fk!r} and 'ids' (has {list(z.files)})")
                        self.stacked = z[fk]
                        keys = [str(x) for x in z["ids"].tolist()]
                    self.kind = "stacked npz"
                else:
                    raise ValueError(f"features: expected a directory, a .npy or a .npz file, got {p}")
                if keys is not None:
                    if len(keys) != len(self.stacked):
                        raise ValueError(f"features: {len(self.stacked)} rows but {len(keys)} index keys")
                    self.row_of = {k: i for i, k in enumerate(keys)}
        elif features is not None:
            raise TypeError(f"features must be a path or a mapping, got {type(features).__name__}")

    @staticmethod
    def _index(feature_index: Sequence[Any] | str | os.PathLike | None) -> list[str] | None:
        if feature_index is None:
            return None
        if isinstance(feature_index, str | os.PathLike):
            p = check_file(feature_index, "feature_index")
            return [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
        return [str(k) for k in feature_index]

    def get(self, key: str, imgid: int | None) -> np.ndarray | None:
        if self.mapping is not None:
            return self.mapping.get(key)
        if self.dir is not None:
            for ext in (".npy", ".npz"):
                f = self.dir / f"{key}{ext}"
                if f.is_file():
                    return np.load(f) if ext == ".npy" else _npz_array(f, self.npz_key)
            return None
        if self.stacked is not None:
            if self.row_of is not None:
                i = self.row_of.get(key)
            else:
                i = imgid if imgid is not None and 0 <= imgid < len(self.stacked) else None
            return None if i is None else self.stacked[i]
        return None


def load_karpathy_task(
    annotations: str | os.PathLike,
    *,
    features: str | os.PathLike | Mapping[str, np.ndarray] | None = None,
    images: Mapping[str, np.ndarray] | None = None,
    feature_key: str = "auto",
    npz_key: str | None = None,
    feature_index: Sequence[Any] | str | os.PathLike | None = None,
    restval: str | None = "train",
    use_raw: bool = False,
    tokenizer: str | Tokenizer | Callable[[str], Sequence[str]] = "word_nopunct",
    lower: bool = True,
    max_references: int | None = None,
    vocab: Vocab | str | os.PathLike | None = None,
    vocab_size: int | None = None,
    min_count: int = 5,
    on_error: str = "skip",
    limit: int | None = None,
    name: str = "karpathy",
    max_target_len: int = 20,
) -> Task:
    """Image captioning from a Karpathy-split JSON (registered as ``"karpathy"``).

    See the module docstring for the annotation layout and the feature
    sources. The metric is CIDEr-D (``"cider"``); the vocabulary keeps words
    seen at least ``min_count`` = 5 times in the training captions, the
    threshold of Karpathy's preprocessing.

    Args:
        annotations: the JSON file.
        features, images, feature_key, npz_key, feature_index: where the
            image arrays come from (module docstring).
        restval: the split that ``restval`` images join (``"train"``), or
            ``None`` to keep them as a ``restval`` split.
        use_raw: tokenize each sentence's ``raw`` string instead of using its ``tokens``.
        tokenizer: used with ``use_raw`` (words only by default).
        lower: lower-case the captions.
        max_references: keep at most this many captions per image.
        vocab, vocab_size, min_count: the vocabulary.
        on_error: ``"skip"`` or ``"raise"`` for an image without features or captions.
        limit: images per split.
        name: task name.
        max_target_len: training captions are truncated to this length (logged).
    """
    check_on_error(on_error)
    if features is None and images is None:
        raise ValueError("karpathy: pass features= (a directory, .npy, .npz or mapping) or images= (raw arrays)")
    p = check_file(annotations, "annotations")
    try:
        doc = json.loads(decode_text(p.read_bytes(), str(p)))
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}:{e.lineno}: malformed JSON ({e.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise ValueError(f"{p}: expected an object with an 'images' list (Karpathy dataset_*.json layout)")
    src = _FeatureSource(features, images, npz_key, feature_index)
    tok = get_tokenizer(tokenizer, lower=lower)
    skips = SkipLog(p, on_error)
    splits: dict[str, list[Example]] = {}
    shape: tuple[int, ...] | None = None
    for pos, img in enumerate(doc["images"]):
        where = f"images[{pos}]"
        if not isinstance(img, dict) or "sentences" not in img or "split" not in img:
            raise ValueError(f"{p}: {where} must be an object with 'split' and 'sentences'")
        split = str(img["split"])
        if split == "restval":
            if restval is None:
                split = "restval"
            else:
                split = restval
        split = _SPLIT_MAP.get(split, split)
        bucket = splits.setdefault(split, [])
        if limit is not None and len(bucket) >= limit:
            continue
        refs: list[list[str]] = []
        for j, s in enumerate(img["sentences"]):
            if use_raw:
                if not isinstance(s, dict) or not isinstance(s.get("raw"), str):
                    raise ValueError(f"{p}: {where}.sentences[{j}] has no 'raw' string")
                refs.append(tok.tokenize(s["raw"]))
            else:
                if not isinstance(s, dict) or not isinstance(s.get("tokens"), list):
                    raise ValueError(f"{p}: {where}.sentences[{j}] has no 'tokens' list")
                refs.append([str(t).lower() if lower else str(t) for t in s["tokens"]])
        refs = dedupe([r for r in refs if r])
        if max_references is not None:
            refs = refs[:max_references]
        key = _image_key(img, feature_key, where)
        if not refs:
            skips.skip(f"image {key}", "no caption")
            continue
        imgid = img.get("imgid", pos)
        arr = src.get(key, int(imgid) if isinstance(imgid, int) else None)
        if arr is None:
            skips.skip(f"image {key}", "no features")
            continue
        if shape is None:
            shape = tuple(arr.shape)
        elif tuple(arr.shape) != shape:
            raise ValueError(f"features of image {key} have shape {tuple(arr.shape)}, others {shape}")
        bucket.append(Example(f"img:{key}", arr, refs, {"filename": img.get("filename"), "split": img["split"]}))
    skips.report()
    splits = {k: v for k, v in splits.items() if v}
    info = {"loader": "karpathy", "annotations": str(p), "features": src.kind, "feature_shape": shape,
            "use_raw": use_raw}
    return build_task(
        name, splits, vocab=vocab, vocab_size=vocab_size, min_count=min_count, modality="image", metric="cider",
        max_source_len=1, max_target_len=max_target_len, max_oovs=0,
        description="Image captioning from a Karpathy-split JSON (Karpathy & Fei-Fei 2015) with "
        f"{src.kind} image features.",
        info=info, tokenizer=tok,
    )
