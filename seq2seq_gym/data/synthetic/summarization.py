"""The built-in synthetic summarization task (registered as ``"summarization"``).

SYNTHETIC DATA. Short news stories generated from a seed by templates, with
summaries that a model can learn exactly:

- A story reports one main event (an opening, a takeover, an election, a cup
  final, an award, a discovery, a storm, a resignation or a product launch)
  by a named agent, with its day, its place and a number. These facts are
  spread over several sentences, between distractor sentences (quotes,
  background, weather, other news with other names and numbers).
- The summary states the salient facts in one sentence of its own wording
  and order (compressed, reordered, never a contiguous span of the source).
  The first reference (the training target) follows one canonical template
  per event type, so it is exactly recoverable from the source: an oracle
  reaches ROUGE 1.0. Further references are paraphrases (other templates:
  synonyms, clause order, passive voice) of the same facts.
- Person surnames, organisation and team names are pseudo-words drawn from
  millions of combinations, so most appear in one document only; the
  vocabulary keeps words found in at least ``min_doc_count`` training
  documents, so these names are out-of-vocabulary and must be *copied* (a
  pointer-generator's copy slots). A small pool of recurring "famous" names
  is in the vocabulary. Every other word (first names, places, numbers,
  template words) is in the vocabulary. Tokens are lower-case alphanumeric
  words; sources end sentences with ``.``; summaries have no punctuation.

Difficulty: ``"easy"`` has 1-3 distractors and the facts in a fixed order,
``"medium"`` (default) 5-16 distractors (sources of 80-300 tokens) and varied wording, ``"hard"`` 8-20
distractors, the main event anywhere, a decoy event of another agent, and
a second salient fact (an official's reaction) that the summary adds.
The generator is versioned (``info["generator_version"]``): the same version
and seed always give the same data. Validation and test documents do not
depend on ``num_train``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from seq2seq_gym.data.example import Example
from seq2seq_gym.data.synthetic.common import (
    Rng,
    cached_task,
    check_difficulty,
    check_sizes,
    compile_template,
    fill,
    pseudo_word,
    template_words,
    word_pool,
)
from seq2seq_gym.data.task import Task
from seq2seq_gym.data.vocab import Vocab

GENERATOR_VERSION = "summarization-1"

FIRST_NAMES = [
    "anna", "omar", "lena", "david", "maria", "paul", "sara", "james", "nina", "peter", "laura", "adam", "clara",
    "ivan", "rosa", "tom", "julia", "samuel", "eva", "hugo", "alice", "leon", "mia", "oscar", "ruth", "victor",
    "helen", "felix", "irene", "max", "olga", "noah", "grace", "carl", "lucy", "emil", "diana", "jonas", "vera",
    "amir", "hannah", "marco", "zara", "liam", "ines", "milan", "yara", "teo",
]
ROLES = ["mayor", "director", "manager", "coach", "minister", "chairman", "professor", "engineer", "editor", "judge"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
]
ORG_SUFFIX = ["group", "labs", "motors", "bank", "systems", "foods", "energy", "media"]
TEAM_SUFFIX = ["united", "rovers", "city", "athletic", "wanderers"]
PRODUCTS = ["phone", "tablet", "camera", "drone", "scooter", "laptop", "watch", "speaker"]
FIELDS = ["physics", "poetry", "medicine", "history", "music", "chemistry", "economics", "painting"]
ANIMALS = ["frog", "beetle", "lizard", "orchid", "spider", "moth", "snail", "bat"]
GOODS = ["bread", "fuel", "coffee", "milk", "rice", "steel"]
WEATHER = ["cold", "warm", "wet", "dry", "windy", "sunny"]
JOBS = ["teacher", "nurse", "farmer", "driver", "baker", "student", "shopkeeper", "pilot"]
BODIES = ["council", "parliament", "board", "committee"]
ADJ = ["good", "bad", "surprising", "important", "welcome", "worrying"]
WHEN = ("next week", "later this month", "in the coming days", "before the end of the year")
PRIZES = ("golden pen", "silver star", "national science", "royal arts", "grand")

# Each event type: agent kind, objects, numbers, the source sentences for the main fact, the place and the
# number (several wordings), the canonical summary and >= 4 paraphrases. Slots: A agent (full name), S agent
# short name, B second entity, O object, P place, D day, N number.
EVENTS: list[dict[str, Any]] = [
    dict(
        kind="open", agent="org", n=(20, 900),
        obj=("a new factory", "a research centre", "a new store", "a training school", "a data centre"),
        main=("{A} opened {O} on {D} .", "on {D} {A} officially opened {O} .",
              "{A} has opened {O} the company said on {D} ."),
        place=("the site is located in {P} near the old railway station .",
               "the new building stands in the centre of {P} .", "the doors opened to visitors in {P} ."),
        num=("the project will create {N} new jobs in the region .",
             "managers expect to hire {N} workers by the end of the year .",
             "about {N} people will work there ."),
        sum="{A} opens {O} in {P} on {D} creating {N} jobs",
        para=("on {D} {A} opened {O} in {P} with {N} new jobs", "{O} opened by {A} in {P} will bring {N} jobs",
              "{A} launches {O} in {P} and plans {N} jobs", "{N} jobs created as {A} opens {O} in {P} on {D}"),
    ),
    dict(
        kind="acquire", agent="org", second="org", n=(5, 950), obj=("",),
        main=("{A} agreed on {D} to buy its rival {B} .", "on {D} {A} announced a deal to take over {B} .",
              "{A} will take control of {B} after both boards met on {D} ."),
        place=("{B} is based in {P} and employs many people there .", "the headquarters of {B} are in {P} .",
               "{B} started as a small workshop in {P} ."),
        num=("the deal is worth {N} million dollars .", "analysts valued the sale at {N} million dollars .",
             "{S} will pay {N} million dollars in cash ."),
        sum="{A} buys {P} firm {B} for {N} million dollars on {D}",
        para=("{B} of {P} is sold to {A} for {N} million dollars", "on {D} {A} agreed to acquire {B} for {N} million "
              "dollars", "{A} takes over {B} from {P} in a {N} million dollar deal",
              "{N} million dollar deal on {D} gives {A} control of {B} of {P}"),
    ),
    dict(
        kind="election", agent="person", n=(35, 80), obj=("",),
        main=("{A} was elected mayor of {P} on {D} after a long campaign .",
              "voters in {P} chose {A} as their new mayor on {D} .",
              "on {D} {A} won the race to become mayor of {P} ."),
        place=(),
        num=("{S} received {N} percent of the vote .", "official results gave {S} {N} percent of the votes .",
             "{S} won with {N} percent according to the count ."),
        sum="{A} wins {P} mayor election with {N} percent on {D}",
        para=("{P} elects {A} as mayor with {N} percent of the vote", "on {D} {A} became mayor of {P} winning "
              "{N} percent", "{A} takes {N} percent and wins the race for mayor of {P}",
              "new {P} mayor {A} won {N} percent of votes on {D}"),
    ),
    dict(
        kind="final", agent="team", second="team", n=(2, 90), obj=("",),
        main=("{A} beat {B} in the cup final on {D} .", "on {D} {A} defeated {B} to lift the cup .",
              "{A} won the cup against {B} on {D} ."),
        place=("the final was played in {P} in front of a full stadium .", "fans filled the stadium in {P} .",
               "the match took place in {P} ."),
        num=("the winning goal came after {N} minutes .", "the only goal was scored in minute {N} .",
             "{S} scored after {N} minutes of play ."),
        sum="{A} beat {B} in {P} cup final with a goal after {N} minutes",
        para=("{B} lose the cup final in {P} to {A} after a goal in minute {N}",
              "a goal after {N} minutes gives {A} the cup against {B} in {P}",
              "{A} win the cup in {P} beating {B} with a goal after {N} minutes",
              "cup final in {P} goes to {A} over {B} after {N} minutes"),
    ),
    dict(
        kind="award", agent="person", n=(10, 500), obj=PRIZES,
        main=("{A} received the {O} prize on {D} for work on {F} .",
              "on {D} the {O} prize went to {A} for a life of work in {F} .",
              "{A} was named winner of the {O} prize for {F} on {D} ."),
        place=("the ceremony was held in {P} .", "guests gathered in {P} for the evening ceremony .",
               "the prize was handed over at the town hall of {P} ."),
        num=("the prize comes with {N} thousand dollars .", "winners receive {N} thousand dollars .",
             "{S} will receive {N} thousand dollars ."),
        sum="{A} wins the {O} prize for {F} in {P} worth {N} thousand dollars",
        para=("the {O} prize for {F} goes to {A} in {P} with {N} thousand dollars",
              "{A} receives {N} thousand dollars and the {O} prize for {F} in {P}",
              "in {P} {A} is given the {O} prize for {F} and {N} thousand dollars",
              "{F} prize {O} awarded to {A} in {P} worth {N} thousand dollars"),
    ),
    dict(
        kind="discovery", agent="org", n=(3, 400), obj=ANIMALS,
        main=("researchers at {A} discovered a new species of {O} .",
              "a team from {A} reported the discovery of an unknown {O} species on {D} .",
              "scientists working for {A} described a new kind of {O} on {D} ."),
        place=("the animals were found in a forest near {P} .", "the discovery was made in hills close to {P} .",
               "the team worked in wetlands outside {P} ."),
        num=("the team counted {N} of the animals .", "so far {N} of them have been seen .",
             "only {N} are thought to exist ."),
        sum="{A} researchers find a new {O} species near {P} with {N} counted",
        para=("a new {O} species is found near {P} by {A} with {N} animals counted",
              "near {P} scientists from {A} discover a new {O} species and count {N}",
              "{A} team reports {N} animals of a new {O} species near {P}",
              "new species of {O} discovered near {P} by {A} researchers who counted {N}"),
    ),
    dict(
        kind="storm", agent="storm", n=(10, 990), obj=("",),
        main=("{A} hit the coast on {D} .", "on {D} {A} reached the coast bringing heavy rain .",
              "{A} swept across the region on {D} ."),
        place=("the town of {P} was hit hardest .", "the worst damage was reported in {P} .",
               "roads around {P} were closed ."),
        num=("officials said {N} homes were damaged .", "{N} houses lost their roofs .",
             "damage to {N} homes was reported ."),
        sum="{A} hits the coast on {D} and damages {N} homes in {P}",
        para=("{N} homes in {P} damaged as {A} hits the coast on {D}",
              "on {D} {A} reached the coast and damaged {N} homes in {P}",
              "{A} hits {P} on {D} and damages {N} homes", "{P} counts {N} damaged homes after {A} hit the coast"),
    ),
    dict(
        kind="resign", agent="person", second="org", n=(2, 30), obj=ROLES,
        main=("{A} resigned as {O} of {B} on {D} .", "on {D} {A} stepped down as {O} of {B} .",
              "{A} announced on {D} the decision to leave the post of {O} at {B} ."),
        place=("{B} is based in {P} .", "the offices of {B} are in {P} .", "{B} has its main office in {P} ."),
        num=("{S} had held the post for {N} years .", "{S} led {B} for {N} years .",
             "{S} joined {B} {N} years ago ."),
        sum="{A} quits as {O} of {P} firm {B} after {N} years",
        para=("after {N} years {A} leaves {B} of {P} as {O}", "{B} of {P} loses its {O} {A} after {N} years",
              "{O} {A} resigns from {B} in {P} after {N} years",
              "{A} steps down as {O} of {B} in {P} after {N} years"),
    ),
    dict(
        kind="launch", agent="org", n=(50, 999), obj=PRODUCTS,
        main=("{A} unveiled its new {O} on {D} .", "on {D} {A} showed a new {O} to the press .",
              "{A} presented the latest version of its {O} on {D} ."),
        place=("the launch event took place in {P} .", "the {O} was shown at a hall in {P} .",
               "reporters travelled to {P} for the event ."),
        num=("it will sell for {N} dollars .", "the price was set at {N} dollars .",
             "buyers will pay {N} dollars ."),
        sum="{A} launches a new {O} in {P} on {D} for {N} dollars",
        para=("a new {O} from {A} costs {N} dollars after a launch in {P}",
              "on {D} {A} shows its new {N} dollar {O} in {P}",
              "{A} unveils a {O} priced at {N} dollars in {P}",
              "in {P} {A} presents a {O} that sells for {N} dollars"),
    ),
]

# Distractors. Slots: W/W2 other people (full), X another organisation, P2 another place, D2 a day, M a number,
# Y a year, S the agent short name, plus word slots.
DISTRACTORS = (
    "{W} said the news was {ADJ} for the region .",
    "the weather in {P2} was {WEATHER} for most of the week .",
    "{W} who works as a {JOB} in {P2} said people had expected the news .",
    "local newspapers reported the story on {D2} .",
    "more details are expected {WHEN} .",
    "the {BODY} of {P2} will meet again in {MONTH} .",
    "traffic in {P2} was slow on {D2} because of road works .",
    "prices of {GOODS} rose by {PCT} percent last month .",
    "{W2} an analyst at {X} expects more changes in {Y} .",
    "the {BODY} of {P2} has {M} members .",
    "{W} told reporters that the day had been long .",
    "a spokesperson for {X} declined to comment .",
    "schools in {P2} will stay open as usual .",
    "{W2} recalled a similar story from {Y} .",
    "the local museum in {P2} attracts {M} visitors a year .",
    "many people in {P2} followed the news on the radio .",
    "{W} a {JOB} from {P2} said the town had changed a lot since {Y} .",
    "the {BODY} of {P2} approved a new budget on {D2} .",
    "a new bus line between {P2} and the airport opens in {MONTH} .",
    "{X} reported higher sales of {GOODS} this year .",
    "the library of {P2} will close for repairs in {MONTH} .",
    "{W2} wrote about the story in a local newspaper .",
    "a festival in {P2} is planned for {MONTH} .",
    "the price of {GOODS} fell for the third week in a row .",
)
BACKGROUND = {
    "org": ("{S} was founded in {Y} .", "{S} has grown quickly since {Y} ."),
    "team": ("{S} last won a title in {Y} .", "{S} was founded in {Y} by local workers ."),
    "person": ("{S} was born in {P2} in {Y} .", "{S} studied {F2} before starting a career in {Y} ."),
    "storm": ("forecasters had warned about {S} since {D2} .", "it is the strongest storm since {Y} ."),
}
# A second salient fact at "hard": a named official's reaction, stated in the summary too.
REACTION = ("{W3} the {ROLE3} of {P} called the news {ADJ3} .", "the news is {ADJ3} said {W3} who is {ROLE3} of {P} .")
REACTION_SUM = "and {W3} calls it {ADJ3}"
REACTION_PARA = ("while {W3} says it is {ADJ3}", "and the {ROLE3} {W3} finds it {ADJ3}", "with {W3} calling it {ADJ3}")
DECOYS = (
    "last year {X} opened a small office in {P2} .",
    "in {Y} {W2} won an election in {P2} with {VOTE} percent .",
    "a storm damaged {M} homes in {P2} in {Y} .",
    "{X} launched a {PRODUCT2} for {M} dollars in {Y} .",
)


def _compile_all() -> tuple[list[dict[str, Any]], tuple, dict, tuple]:
    events = []
    for e in EVENTS:
        c = dict(e)
        for key in ("main", "place", "num", "para"):
            c[key] = tuple(compile_template(t) for t in e[key])
        c["sum"] = compile_template(e["sum"])
        c["obj"] = tuple(tuple(o.split()) for o in e["obj"])
        events.append(c)
    distractors = tuple(compile_template(t) for t in DISTRACTORS)
    background = {k: tuple(compile_template(t) for t in v) for k, v in BACKGROUND.items()}
    decoys = tuple(compile_template(t) for t in DECOYS)
    reaction = (tuple(compile_template(t) for t in REACTION), compile_template(REACTION_SUM),
                tuple(compile_template(t) for t in REACTION_PARA))
    return events, distractors, background, decoys, reaction


_EVENTS, _DISTRACTORS, _BACKGROUND, _DECOYS, _REACTION = _compile_all()


def _lexicon() -> set[str]:
    words: set[str] = set()
    for e in _EVENTS:
        words |= template_words([*e["main"], *e["place"], *e["num"], *e["para"], e["sum"]])
        words |= {t for o in e["obj"] for t in o}
    words |= template_words([*_DISTRACTORS, *_DECOYS, *[t for v in _BACKGROUND.values() for t in v],
                             *_REACTION[0], _REACTION[1], *_REACTION[2]])
    for lst in (FIRST_NAMES, ROLES, DAYS, MONTHS, ORG_SUFFIX, TEAM_SUFFIX, PRODUCTS, FIELDS, ANIMALS, GOODS, WEATHER,
                JOBS, BODIES, ADJ, *[w.split() for w in WHEN], *[p.split() for p in PRIZES]):
        words |= set(lst)
    words |= {"storm"}
    return words


_LEXICON = _lexicon()
# Fixed pools (independent of the task seed, so the vocabulary is stable): places and recurring names.
_PLACES = word_pool(f"{GENERATOR_VERSION}/places", 500, 2, _LEXICON)
_FAMOUS = word_pool(f"{GENERATOR_VERSION}/famous", 100, 2, _LEXICON | set(_PLACES))
_NUMS = [str(i) for i in range(1000)]
_YEARS = [str(y) for y in range(1950, 2025)]
_AVOID = _LEXICON | set(_PLACES) | set(_FAMOUS)

_SETTINGS = {
    "easy": dict(distractors=(1, 3), fixed=True, main_pos=0, decoy=False, famous=0.25, background=0.5, min_len=0,
                 reaction=False),
    "medium": dict(distractors=(5, 16), fixed=False, main_pos=2, decoy=False, famous=0.25, background=0.8, min_len=80,
                   reaction=False),
    "hard": dict(distractors=(8, 20), fixed=False, main_pos=None, decoy=True, famous=0.25, background=1.0, min_len=100,
                 reaction=True),
}


class _Gen:
    """State of one split's generator (a seeded stream)."""

    def __init__(self, seed: str, difficulty: str, num_references: int) -> None:
        self.r = Rng(seed)
        self.s = _SETTINGS[difficulty]
        self.nref = num_references

    def rare(self) -> str:
        r = self.r
        while True:
            w = pseudo_word(r, 2 + (r.random() < 0.5))
            if w not in _AVOID and len(w) > 3:
                return w

    def name(self) -> str:
        """A surname / organisation root: a recurring famous name or a fresh rare pseudo-word."""
        return self.r.choice(_FAMOUS) if self.r.random() < self.s["famous"] else self.rare()

    def agent(self, kind: str) -> tuple[list[str], list[str], str]:
        """(full name, short name, the name word) of an agent of ``kind``."""
        r = self.r
        name = self.name()
        if kind == "person":
            return [r.choice(FIRST_NAMES), name], [name], name
        if kind in ("org", "team"):
            full = [name, r.choice(ORG_SUFFIX if kind == "org" else TEAM_SUFFIX)]
            return full, full, name
        return ["storm", name], ["storm", name], name

    def person(self) -> list[str]:
        return [self.r.choice(FIRST_NAMES), self.rare()]

    def document(self) -> tuple[list[str], list[list[str]], dict[str, Any]]:
        r, s = self.r, self.s
        ev = r.choice(_EVENTS)
        A, S, a_name = self.agent(ev["agent"])
        names = [a_name]
        second = ev.get("second")
        B: list[str] = []
        if second:
            B, _, b_name = self.agent(second)
            while b_name == a_name:
                B, _, b_name = self.agent(second)
            names.append(b_name)
        P = [r.choice(_PLACES)]
        P2 = [r.choice(_PLACES)]
        while P2 == P:
            P2 = [r.choice(_PLACES)]
        lo, hi = ev["n"]
        slots = {
            "A": A, "S": S, "B": B, "O": list(r.choice(ev["obj"])), "P": P, "D": [r.choice(DAYS)],
            "N": [_NUMS[r.randint(lo, hi)]], "F": [r.choice(FIELDS)],
            "W": self.person(), "W2": self.person(), "X": [self.rare(), r.choice(ORG_SUFFIX)], "P2": P2,
            "D2": [r.choice(DAYS)], "M": [_NUMS[r.randint(2, 999)]], "PCT": [_NUMS[r.randint(1, 30)]],
            "VOTE": [_NUMS[r.randint(35, 80)]],
            "Y": [r.choice(_YEARS)],
            "ADJ": [r.choice(ADJ)], "WEATHER": [r.choice(WEATHER)], "JOB": [r.choice(JOBS)],
            "WHEN": r.choice(WHEN).split(), "BODY": [r.choice(BODIES)], "MONTH": [r.choice(MONTHS)],
            "GOODS": [r.choice(GOODS)], "F2": [r.choice(FIELDS)], "PRODUCT2": [r.choice(PRODUCTS)],
        }
        if s["reaction"]:
            slots["W3"] = self.person()
            slots["ROLE3"] = [r.choice(ROLES)]
            slots["ADJ3"] = [r.choice(ADJ)]
        pick = (lambda opts: opts[0]) if s["fixed"] else r.choice
        facts = [pick(ev["main"])]
        if ev["place"]:
            facts.append(pick(ev["place"]))
        facts.append(pick(ev["num"]))
        if s["reaction"]:
            facts.append(pick(_REACTION[0]))
        k = r.randint(*s["distractors"])
        others = r.sample(_DISTRACTORS, k)
        if r.random() < s["background"]:
            others.append(r.choice(_BACKGROUND[ev["agent"]]))
        if s["decoy"]:
            others.append(r.choice(_DECOYS))
        if s["fixed"]:
            order = facts + others
        else:
            # the main fact within the first main_pos sentences; the place and number facts after it
            r.shuffle(others)
            limit = len(others) if s["main_pos"] is None else min(s["main_pos"], len(others))
            at = r.randint(0, limit)
            tail = others[at:]
            for f in facts[1:]:
                tail.insert(r.randint(0, len(tail)), f)
            order = [*others[:at], facts[0], *tail]
        src: list[str] = []
        for tpl in order:
            fill(tpl, slots, src)
        if len(src) < s["min_len"]:  # top up a short story with unused distractors at the end
            for tpl in r.sample([d for d in _DISTRACTORS if d not in others], len(_DISTRACTORS) - len(others)):
                fill(tpl, slots, src)
                if len(src) >= s["min_len"]:
                    break
        refs = [fill(ev["sum"], slots)]
        paras = r.sample(ev["para"], min(self.nref - 1, len(ev["para"])))
        refs += [fill(t, slots) for t in paras]
        if s["reaction"]:
            refs[0] += fill(_REACTION[1], slots)
            for ref in refs[1:]:
                ref += fill(r.choice(_REACTION[2]), slots)
            names.append(slots["W3"][1])
        return src, refs, {"event": ev["kind"], "names": names, "number": slots["N"][0]}


def _split(seed: int, name: str, n: int, difficulty: str, num_references: int) -> list[Example]:
    g = _Gen(f"{GENERATOR_VERSION}/{seed}/{difficulty}/{name}", difficulty, num_references)
    out = []
    for i in range(n):
        src, refs, meta = g.document()
        out.append(Example(f"sum-{name}-{i:06d}", src, refs, meta))
    return out


def _doc_frequency_vocab(examples: list[Example], min_doc_count: int, vocab_size: int | None) -> Vocab:
    counts: Counter[str] = Counter()
    upd = counts.update
    for ex in examples:
        words = set(ex.source)
        for r in ex.references:
            words.update(r)
        upd(words)
    items = sorted((kv for kv in counts.items() if kv[1] >= min_doc_count), key=lambda kv: (-kv[1], kv[0]))
    if vocab_size is not None:
        items = items[:vocab_size]
    return Vocab([w for w, _ in items], counts=dict(items))


@cached_task
def summarization_task(
    seed: int = 0,
    num_train: int = 20_000,
    num_validation: int = 1_000,
    num_test: int = 1_000,
    difficulty: str = "medium",
    num_references: int = 4,
    min_doc_count: int = 5,
    vocab_size: int | None = None,
    max_oovs: int = 20,
) -> Task:
    """The built-in synthetic summarization task (see the module docstring).

    Cached in-process on the arguments: the same :class:`Task` object is
    returned for the same arguments; treat it as read-only.

    Args:
        seed: the data seed (same seed and version, same data).
        num_train, num_validation, num_test: documents per split.
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"``.
        num_references: references per document (1-5): the canonical summary
            then paraphrases.
        min_doc_count: a word is in the vocabulary when it occurs in at least
            this many training documents (rare names are not).
        vocab_size: optional cap on the vocabulary words.
        max_oovs: pointer-generator copy slots (no document has more distinct
            out-of-vocabulary source words at the default settings).
    """
    check_difficulty(difficulty)
    check_sizes(seed=abs(seed), num_train=num_train, num_validation=num_validation, num_test=num_test)
    if not 1 <= num_references <= 5:
        raise ValueError(f"num_references must be in [1, 5], got {num_references}")
    if num_train < 1:
        raise ValueError(f"num_train must be >= 1 (the vocabulary is built from it), got {num_train}")
    splits = {
        "train": _split(seed, "train", num_train, difficulty, num_references),
        "validation": _split(seed, "validation", num_validation, difficulty, num_references),
        "test": _split(seed, "test", num_test, difficulty, num_references),
    }
    vocab = _doc_frequency_vocab(splits["train"], min_doc_count, vocab_size)
    return Task(
        name="summarization",
        vocab=vocab,
        splits=splits,
        modality="text",
        metric="rougeL",
        max_source_len=320,
        max_target_len=32,
        max_oovs=max_oovs,
        description=(
            "SYNTHETIC news summarization generated from a seed: stories about one event with distractor "
            "sentences; the summary restates the event's agent, object, place, day and number in its own order. "
            "Rare pseudo-word names are out of vocabulary and must be copied; the first reference is exactly "
            "recoverable (oracle ROUGE 1.0), the others are paraphrases."
        ),
        info={"generator_version": GENERATOR_VERSION, "seed": seed, "difficulty": difficulty, "synthetic": True,
              "min_doc_count": min_doc_count, "num_references": num_references},
    )
