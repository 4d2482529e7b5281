import sys

import pytest

from seq2seq_gym.data import (
    HFTokenizer,
    SentencePieceTokenizer,
    WhitespaceTokenizer,
    WordTokenizer,
    get_tokenizer,
    word_tokenize,
)


def test_word_rule_keeps_inner_joiners_and_splits_punctuation():
    text = "Don't e-mail me at 9:00 on 10/30/01; it costs $3.5 (1,000 units)... AT&T said."
    # expected tokens derived by hand from the documented rule
    assert WordTokenizer().tokenize(text) == [
        "Don't", "e-mail", "me", "at", "9:00", "on", "10/30/01", ";", "it", "costs", "$", "3.5", "(", "1,000",
        "units", ")", ".", ".", ".", "AT&T", "said", ".",
    ]


def test_word_lower_and_no_punct():
    assert WordTokenizer(lower=True).tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert WordTokenizer(lower=True, punct=False).tokenize("Hello, World! e-mail.") == ["hello", "world", "e-mail"]
    assert word_tokenize("A b.", lower=True) == ["a", "b", "."]


def test_word_unicode_and_whitespace():
    assert WordTokenizer().tokenize("  Zwei junge Männer\tim Freien.\n") == ["Zwei", "junge", "Männer", "im", "Freien",
                                                                            "."]
    assert WordTokenizer().tokenize("") == []


def test_word_detokenize_attaches_punctuation():
    tok = WordTokenizer()
    assert tok.detokenize(["hello", ",", "world", "(", "big", ")", "!"]) == "hello, world (big)!"


def test_word_rejects_non_string():
    with pytest.raises(TypeError, match="str"):
        WordTokenizer().tokenize(["a"])  # type: ignore[arg-type]


def test_whitespace_tokenizer():
    tok = WhitespaceTokenizer(lower=True)
    assert tok.tokenize("The  cat -LRB- x -RRB-") == ["the", "cat", "-lrb-", "x", "-rrb-"]
    assert tok.detokenize(["a", "b"]) == "a b"


def test_get_tokenizer_specs():
    assert isinstance(get_tokenizer("word"), WordTokenizer)
    assert get_tokenizer("word_nopunct").tokenize("a, b") == ["a", "b"]
    assert isinstance(get_tokenizer("whitespace"), WhitespaceTokenizer)
    fn_tok = get_tokenizer(lambda s: s.split("|"), lower=True)
    assert fn_tok.tokenize("A|B") == ["a", "b"]
    obj = WordTokenizer()
    assert get_tokenizer(obj) is obj
    with pytest.raises(ValueError, match="unknown name"):
        get_tokenizer("bpe")
    with pytest.raises(TypeError):
        get_tokenizer(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of str"):
        get_tokenizer(lambda s: s).tokenize("abc")


def test_adapters_name_the_extra_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    with pytest.raises(ImportError, match=r"seq2seq-gym\[tokenizers\]"):
        HFTokenizer("tokenizer.json")
    with pytest.raises(ImportError, match=r"seq2seq-gym\[tokenizers\]"):
        SentencePieceTokenizer("x.model")


CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog met on a mat",
    "the mat was on the floor near the log",
] * 25


def test_hf_tokenizer_adapter(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tk = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.decoder = decoders.WordPiece()
    tk.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=60, special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer.json"
    tk.save(str(path))
    for t in (HFTokenizer(tk, lower=True), get_tokenizer(str(path), lower=True)):
        pieces = t.tokenize("The cat sat on the floor")
        assert pieces == tk.encode("the cat sat on the floor").tokens
        assert t.detokenize(pieces) == "the cat sat on the floor"
        # a piece the tokenizer does not know (a copied word) survives detokenization
        assert "zorblax" in t.detokenize([*pieces, "zorblax"])
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        HFTokenizer(tmp_path / "missing.json")
    with pytest.raises(TypeError):
        HFTokenizer(42)


def test_sentencepiece_adapter(tmp_path):
    spm = pytest.importorskip("sentencepiece")
    import io

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_writer=buf, vocab_size=24,
                                   model_type="unigram", minloglevel=2)
    model = buf.getvalue()
    (tmp_path / "m.model").write_bytes(model)
    for t in (SentencePieceTokenizer(model), get_tokenizer(str(tmp_path / "m.model"))):
        pieces = t.tokenize("the cat sat on the log")
        sp = spm.SentencePieceProcessor(model_proto=model)
        assert pieces == sp.encode("the cat sat on the log", out_type=str)
        assert t.detokenize(pieces) == "the cat sat on the log"
        assert all(isinstance(p, str) and " " not in p for p in pieces)
