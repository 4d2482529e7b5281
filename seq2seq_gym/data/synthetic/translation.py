"""The built-in synthetic translation task (registered as ``"translation"``).

SYNTHETIC DATA. Sentences of a small English fragment (subject, verb,
object, optional adjectives, prepositional phrases, adverbs, names and, at
``"hard"``, two clauses joined by ``and``) are translated into a generated
language "Synthetic" (``syn``) by fixed rules:

- **Lexicon**: every English stem has one Synthetic stem (pseudo-words fixed
  by the generator version, independent of the seed). Person names are
  pseudo-words too, rare (mostly out-of-vocabulary), and are copied
  unchanged.
- **Word order**: subject, prepositional phrase, object, adverb, verb (SOV;
  English puts the clause's prepositional phrase first, an object's own
  phrase after the object, so the English is unambiguous);
  inside a noun phrase the adjective follows the noun; prepositions become
  postpositions after their noun phrase; the object is marked by the
  particle ``ra``.
- **Agreement**: each noun has a gender (0 or 1, fixed in the lexicon).
  Determiners and adjectives agree with their noun in gender and number;
  the verb agrees with the subject in number and carries the tense.

The translation is a function of the source, so a perfect model reaches
BLEU 100; a model must learn the lexicon, reorder, and carry gender and
number across the phrase. One reference per sentence. ``direction="syn-en"``
swaps the two sides. Versioned by ``info["generator_version"]``.

Difficulty: ``"easy"``: subject-verb-object, singular, present tense, no
modifiers. ``"medium"`` (default): adjectives, plurals, past tense, a
prepositional phrase and an adverb at times, names. ``"hard"``: up to two
adjectives per noun phrase, phrases on the object, and two coordinated
clauses.
"""

from __future__ import annotations

from typing import Any

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.synthetic.common import (
    Rng,
    cached_task,
    check_difficulty,
    check_sizes,
    pseudo_word,
    word_pool,
)
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.vocab import Vocab

GENERATOR_VERSION = "translation-1"

# (singular, plural)
NOUNS = [
    ("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("horse", "horses"), ("girl", "girls"), ("boy", "boys"),
    ("man", "men"), ("woman", "women"), ("child", "children"), ("farmer", "farmers"), ("teacher", "teachers"),
    ("doctor", "doctors"), ("king", "kings"), ("queen", "queens"), ("student", "students"), ("friend", "friends"),
    ("house", "houses"), ("car", "cars"), ("book", "books"), ("ball", "balls"), ("apple", "apples"),
    ("boat", "boats"), ("tree", "trees"), ("river", "rivers"), ("garden", "gardens"), ("letter", "letters"),
    ("box", "boxes"), ("bridge", "bridges"), ("picture", "pictures"), ("table", "tables"), ("window", "windows"),
    ("flower", "flowers"), ("lamp", "lamps"), ("song", "songs"), ("cake", "cakes"), ("key", "keys"),
    ("mouse", "mice"), ("fox", "foxes"), ("city", "cities"), ("village", "villages"),
]
# (base, third person singular, past)
VERBS = [
    ("see", "sees", "saw"), ("find", "finds", "found"), ("like", "likes", "liked"),
    ("follow", "follows", "followed"), ("carry", "carries", "carried"), ("watch", "watches", "watched"),
    ("push", "pushes", "pushed"), ("help", "helps", "helped"), ("call", "calls", "called"),
    ("meet", "meets", "met"), ("hold", "holds", "held"), ("draw", "draws", "drew"),
    ("chase", "chases", "chased"), ("visit", "visits", "visited"), ("clean", "cleans", "cleaned"),
    ("build", "builds", "built"), ("buy", "buys", "bought"), ("sell", "sells", "sold"),
    ("open", "opens", "opened"), ("paint", "paints", "painted"), ("love", "loves", "loved"),
    ("remember", "remembers", "remembered"),
]
ADJECTIVES = [
    "big", "small", "old", "young", "red", "blue", "green", "happy", "sad", "quiet", "loud", "fast", "slow", "tall",
    "short", "bright", "dark", "strange", "kind", "brave",
]
PREPS = ["in", "near", "behind", "under", "with", "from"]
ADVERBS = ["quickly", "slowly", "often", "never", "again", "today"]

OBJ_MARK = "ra"
AND = "e"
_DEF = {(0, 0): "ko", (0, 1): "kos", (1, 0): "ka", (1, 1): "kas"}  # (gender, plural) -> "the"
_INDEF = {0: "un", 1: "una"}  # "a" (singular only)
_SOME = {0: "alu", 1: "ala"}  # "some" (plural)
_NUMERAL = {"two": "du", "three": "tri"}  # plural, no agreement
_ADJ_SUFFIX = {(0, 0): "o", (0, 1): "os", (1, 0): "a", (1, 1): "as"}
_VERB_SUFFIX = {("present", 0): "at", ("present", 1): "anti", ("past", 0): "ev", ("past", 1): "evi"}

_ENGLISH = {w for n in NOUNS for w in n} | {w for v in VERBS for w in v} | set(ADJECTIVES) | set(PREPS) | \
    set(ADVERBS) | {"the", "a", "some", "two", "three", "and"}
_fixed = _ENGLISH | {OBJ_MARK, AND, *_DEF.values(), *_INDEF.values(), *_SOME.values(), *_NUMERAL.values()}
_STEMS = word_pool(f"{GENERATOR_VERSION}/lexicon", len(NOUNS) + len(VERBS) + len(ADJECTIVES) + len(PREPS) +
                   len(ADVERBS), 2, _fixed)
_it = iter(_STEMS)
NOUN_STEM = {n[0]: next(_it) for n in NOUNS}
NOUN_GENDER = {n[0]: i % 2 for i, n in enumerate(NOUNS)}
VERB_STEM = {v[0]: next(_it) for v in VERBS}
ADJ_STEM = {a: next(_it) for a in ADJECTIVES}
POSTP = {p: next(_it) for p in PREPS}
ADV = {a: next(_it) for a in ADVERBS}
# Target forms are stem + suffix; to keep every form one token, inflected forms are new strings built once.
_NOUN_FORM = {(n, pl): NOUN_STEM[n] + ("i" if pl else "") for n in NOUN_STEM for pl in (0, 1)}
_ADJ_FORM = {(a, g, pl): ADJ_STEM[a] + _ADJ_SUFFIX[(g, pl)] for a in ADJ_STEM for g in (0, 1) for pl in (0, 1)}
_VERB_FORM = {(v, t, pl): VERB_STEM[v] + _VERB_SUFFIX[(t, pl)] for v in VERB_STEM for t in ("present", "past")
              for pl in (0, 1)}
_AVOID = _fixed | set(_STEMS) | set(_NOUN_FORM.values()) | set(_ADJ_FORM.values()) | set(_VERB_FORM.values())
_NAMES = word_pool(f"{GENERATOR_VERSION}/names", 40, 2, _AVOID)  # recurring names (in the vocabulary)

_SETTINGS = {
    "easy": dict(adj=0.0, plural=0.0, past=0.0, pp=0.0, adv=0.0, name=0.1, adj2=0.0, obj_pp=0.0, clause2=0.0),
    "medium": dict(adj=0.45, plural=0.4, past=0.5, pp=0.35, adv=0.25, name=0.15, adj2=0.0, obj_pp=0.0,
                   clause2=0.0),
    "hard": dict(adj=0.55, plural=0.45, past=0.5, pp=0.45, adv=0.3, name=0.15, adj2=0.3, obj_pp=0.3, clause2=0.4),
}


class _Gen:
    def __init__(self, seed: str, difficulty: str) -> None:
        self.r = Rng(seed)
        self.s = _SETTINGS[difficulty]

    def name(self) -> str:
        r = self.r
        if r.random() < 0.3:
            return r.choice(_NAMES)
        while True:
            w = pseudo_word(r, 2 + (r.random() < 0.5))
            if w not in _AVOID and len(w) > 3:
                return w

    def np(self, allow_pp: bool) -> tuple[list[str], list[str], int]:
        """(english, synthetic, plural) of a noun phrase."""
        r, s = self.r, self.s
        if r.random() < s["name"]:
            n = self.name()
            return [n], [n], 0
        noun = r.choice(NOUNS)
        pl = int(r.random() < s["plural"])
        g = NOUN_GENDER[noun[0]]
        adjs: list[str] = []
        if r.random() < s["adj"]:
            adjs = r.sample(ADJECTIVES, 2 if r.random() < s["adj2"] else 1)
        if pl:
            det = r.choice(("the", "some", "two", "three"))
            syn_det = _DEF[(g, 1)] if det == "the" else _SOME[g] if det == "some" else _NUMERAL[det]
        else:
            det = "the" if r.random() < 0.6 else "a"
            syn_det = _DEF[(g, 0)] if det == "the" else _INDEF[g]
        en = [det, *adjs, noun[pl]]
        syn = [syn_det, _NOUN_FORM[(noun[0], pl)], *[_ADJ_FORM[(a, g, pl)] for a in adjs]]
        if allow_pp and r.random() < s["obj_pp"]:
            p_en, p_syn = self.pp()
            en += p_en
            syn += p_syn
        return en, syn, pl

    def pp(self) -> tuple[list[str], list[str]]:
        prep = self.r.choice(PREPS)
        en, syn, _ = self.np(allow_pp=False)
        return [prep, *en], [*syn, POSTP[prep]]

    def clause(self) -> tuple[list[str], list[str]]:
        r, s = self.r, self.s
        subj_en, subj_syn, pl = self.np(allow_pp=False)
        verb = r.choice(VERBS)
        tense = "past" if r.random() < s["past"] else "present"
        v_en = verb[2] if tense == "past" else (verb[0] if pl else verb[1])
        obj_en, obj_syn, _ = self.np(allow_pp=True)
        pp_en: list[str] = []
        pp_syn: list[str] = []
        if r.random() < s["pp"]:
            pp_en, pp_syn = self.pp()
        adv = r.choice(ADVERBS) if r.random() < s["adv"] else None
        # English fronts the clause's prepositional phrase, so that it never reads as the object's phrase
        en = [*pp_en, *subj_en, v_en, *obj_en] + ([adv] if adv else [])
        syn = [*subj_syn, *pp_syn, *obj_syn, OBJ_MARK] + ([ADV[adv]] if adv else [])
        syn.append(_VERB_FORM[(verb[0], tense, pl)])
        return en, syn

    def sentence(self) -> tuple[list[str], list[str]]:
        en, syn = self.clause()
        if self.r.random() < self.s["clause2"]:
            en2, syn2 = self.clause()
            en, syn = [*en, "and", *en2], [*syn, AND, *syn2]
        return en, syn


def _split(seed: int, name: str, n: int, difficulty: str, reverse: bool) -> list[Example]:
    g = _Gen(f"{GENERATOR_VERSION}/{seed}/{difficulty}/{name}", difficulty)
    out = []
    for i in range(n):
        en, syn = g.sentence()
        src, tgt = (syn, en) if reverse else (en, syn)
        out.append(Example(f"tr-{name}-{i:06d}", src, [tgt]))
    return out


def lexicon() -> dict[str, Any]:
    """The fixed English -> Synthetic lexicon and grammar tables (for documentation and tests)."""
    return {
        "nouns": {n: (NOUN_STEM[n], NOUN_GENDER[n]) for n in NOUN_STEM},
        "verbs": dict(VERB_STEM), "adjectives": dict(ADJ_STEM), "postpositions": dict(POSTP),
        "adverbs": dict(ADV), "definite": dict(_DEF), "indefinite": dict(_INDEF), "some": dict(_SOME),
        "numerals": dict(_NUMERAL), "adjective_suffix": dict(_ADJ_SUFFIX), "verb_suffix": dict(_VERB_SUFFIX),
        "plural_suffix": "i", "object_marker": OBJ_MARK, "and": AND,
    }


@cached_task
def translation_task(
    seed: int = 0,
    num_train: int = 20_000,
    num_validation: int = 1_000,
    num_test: int = 1_000,
    difficulty: str = "medium",
    direction: str = "en-syn",
    min_count: int = 3,
) -> Task:
    """The built-in synthetic translation task (see the module docstring).

    Cached in-process on the arguments; treat the returned task as read-only.

    Args:
        seed: the data seed.
        num_train, num_validation, num_test: sentence pairs per split.
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"``.
        direction: ``"en-syn"`` (English source) or ``"syn-en"``.
        min_count: vocabulary threshold (rare names fall below it and are copied).
    """
    check_difficulty(difficulty)
    check_sizes(seed=abs(seed), num_train=num_train, num_validation=num_validation, num_test=num_test)
    if direction not in ("en-syn", "syn-en"):
        raise ValueError(f"direction must be 'en-syn' or 'syn-en', got {direction!r}")
    if num_train < 1:
        raise ValueError(f"num_train must be >= 1 (the vocabulary is built from it), got {num_train}")
    rev = direction == "syn-en"
    splits = {
        "train": _split(seed, "train", num_train, difficulty, rev),
        "validation": _split(seed, "validation", num_validation, difficulty, rev),
        "test": _split(seed, "test", num_test, difficulty, rev),
    }
    vocab = Vocab.build((t for ex in splits["train"] for t in (ex.source, ex.references[0])), min_count=min_count)
    return Task(
        name="translation",
        vocab=vocab,
        splits=splits,
        modality="text",
        metric="bleu",
        max_source_len=48,
        max_target_len=48,
        max_oovs=10,
        description=(
            "SYNTHETIC translation generated from a seed between an English fragment and a generated language "
            "with SOV order, postpositions, noun-adjective order and gender/number agreement; names are copied. "
            "The target is a function of the source (BLEU 100 is reachable)."
        ),
        info={"generator_version": GENERATOR_VERSION, "seed": seed, "difficulty": difficulty, "synthetic": True,
              "direction": direction},
    )
