"""Words of diagnosis text, normalised the same way for the tabular and for notes.

The term index (`engine/tables/icd10cm_*_terms.tsv.gz`) is built from tabular titles with
`title_terms`, and a note's phrase is read with `phrase_words`; both go through the one
`normal_words` so "Diabetic", "renal", "type II" and "stage IIIa" meet "diabetes",
"kidney", "type2" and "stage3a" on both sides. Vocabulary is data:
`notecoder/refdata/curated/dx_synonyms.csv` (kind `word`: both sides; `abbr`: note
language -> tabular wording; `also`: note words that add a softer tabular word, "leg" ->
"lower limb"; `keep`: note words the speller leaves as they are, "resection").
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

SYNONYMS_FILE = "dx_synonyms.csv"


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no axis and no condition; "or"/"and"/"with"/"without"/"not" are read
# as structure before this list applies.
STOPWORDS = _wordset(
    "a an the of in on at to by for from as is are be due than into also code "
    "classified elsewhere nos nec specified side region"
)
# Words kept whole although they end in "s" (not plurals).
NOT_PLURAL = _wordset(
    "diabetes herpes rabies scabies feces faeces varices menses series species caries mumps "
    "measles rickets tetanus mellitus sepsis psoriasis lupus status pectoris glaucoma "
    "abscess pancreas ductus uterus bronchus thorax coccyx pubis pelvis penis iris "
    "testis ileus nucleus meatus hallux"
)

_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}
_TYPE = re.compile(r"\btype\s*-?\s*(1|2|i|ii)\b")
_STAGE = re.compile(r"\bstage\s*-?\s*(1|2|3|4|5|i|ii|iii|iv|v)\s*([ab])?\b")
# "grade 2", "grade II", "Grade/stage II hemorrhoids" (K64.1), "follicular lymphoma grade IIIa".
_GRADE = re.compile(r"\bgrade(?:/stage)?\s*-?\s*(1|2|3|4|i|ii|iii|iv)\s*([ab])?\b")
_STAGE_RANGE = re.compile(r"\bstage (\d) through stage (\d)")
_WORD = re.compile(r"[a-z0-9][a-z0-9.'/-]*[a-z0-9]|[a-z0-9]")
_FIXED = [
    # Phrases of the tabular that say "nothing more is known"; read as no words at all.
    (re.compile(r"\bnot elsewhere classified\b|\bnot otherwise specified\b"), " "),
    (re.compile(r"\bas the cause of diseases classified elsewhere\b"), " "),
    (re.compile(r"\bsite not specified\b|\bunspecified site\b"), " "),
    (re.compile(r"\bnot specified as\b"), " not "),
    (re.compile(r"\bwithout mention of\b"), " without "),
    (re.compile(r"\bnot having achieved remission\b"), " "),
    (re.compile(r"\bacute on chronic\b"), " acute chronic "),
    # "(skin of) left ear and external auricular canal" (C43.2-, C44.2-, D04.2, D22.2-):
    # one site, the canal part of the ear; never a list that swallows "skin" or needs
    # "auricular canal" stated.
    (re.compile(r"\bear and external auricular canal\b"), " ear (external auricular canal) "),
    # "CKD 3a", "chronic kidney disease IV": a bare stage after the disease name.
    (re.compile(r"\bsecondary to\b"), " due to "),
    (re.compile(r"\bkidney disease,?\s+(?=(?:[1-5][ab]?|i{1,3}[ab]?|iv|v)\b)"),
     " kidney disease stage "),
    (re.compile(r"\bend[- ]stage\b"), " endstage "),
    (re.compile(r"\bin situ\b"), " insitu "),
    (re.compile(r"\bnon[- ]st elevation\b"), " nstemi "),
    # "Fractures of two or more ribs" (S22.4-) is "multiple"; "Fracture of one rib" (S22.3-)
    # is the default a fracture of "rib" takes (Index: Fracture, rib S22.3-).
    (re.compile(r"\b(?:two|three|2|3) or more\b"), " multiple "),
    (re.compile(r"\bof one\b"), " of (one) "),
    # "Influenza A", "hepatitis A", "vitamin A": the letter names the kind, never an article.
    (re.compile(r"\b(influenza|hepatitis|vitamin|group|type) a\b"), r"\1 lettera"),
    # "Malignant neoplasm of right kidney, except renal pelvis": what the code leaves out.
    (re.compile(r",?\s*\bexcept\b"), " without "),
    # "Do not resuscitate" (Z66) is a status, not a negation.
    (re.compile(r"\bdo not resuscitate\b|\bdo-not-resuscitate\b"), " dnr "),
    # "Intestinal adhesions, unspecified as to partial versus complete obstruction": the
    # axis is left open; stating it voids the title (like "without").
    (re.compile(r"\bunspecified as to\b"), " without "),
    # "Hyperemesis gravidarum, mild or unspecified, starting before the end of the 20th
    # week of gestation" (O21.0/O21.1 inclusion terms): hyperemesis gravidarum is the early
    # vomiting of pregnancy by definition (late vomiting is O21.2, "vomiting ... after 20
    # completed weeks"); a note never writes the timing, so it is not required.
    (re.compile(r",?\s*\bstarting before the end of the 20th week of gestation\b"), " "),
    (re.compile(r"\bwith metabolic disturbance such as\b"), " with "),
    # "Chronic or unspecified gastric ulcer with hemorrhage" (K25.4): the acuity is the
    # default, not a requirement.
    (re.compile(r"\b([a-z]+) or unspecified\b"), r"(\1)"),
    # "Ankylosing spondylitis of unspecified sites in spine": the place of an open axis is
    # as nonessential as the axis.
    (re.compile(r"\bunspecified (sites?|parts?|regions?) (?:in|of) (?:the )?([a-z]+)"),
     r"unspecified \1 (\2)"),
    # "Malignant melanoma of right upper limb, including shoulder": the site is widened,
    # not narrowed; the words after "including" are nonessential.
    (re.compile(r",?\s*\bincluding ([^,()]+)"), r" (\1) "),
    # ICD-G I.A.13: an "in diseases classified elsewhere" code is a manifestation, coded
    # only beside its etiology; no note phrase names it by words alone.
    (re.compile(r"\bin (?:other )?diseases classified elsewhere\b"), " in elsewhereclassified "),
]


def _stage_token(m: re.Match) -> str:
    num = _ROMAN.get(m.group(1), m.group(1))
    return f" stage{num}{m.group(2) or ''} "


def _stage_range(m: re.Match) -> str:
    lo, hi = int(m.group(1)), int(m.group(2))
    stages = [f"stage{n}" for n in range(lo, hi + 1)]
    if lo <= 3 <= hi:
        stages += ["stage3a", "stage3b"]
    return " (" + " ".join(stages) + ") "


@dataclass(frozen=True)
class Synonyms:
    """The curated vocabulary, compiled once."""

    word: dict[str, str]
    abbr: dict[str, str]
    also: dict[str, str]
    word_re: re.Pattern | None
    abbr_re: re.Pattern | None
    also_re: re.Pattern | None
    keep: frozenset[str] = frozenset()  # note words the speller keeps as they are


def _alternation(terms) -> re.Pattern | None:
    if not terms:
        return None
    ordered = sorted(terms, key=len, reverse=True)
    body = "|".join(re.escape(t) for t in ordered)
    return re.compile(r"(?<![a-z0-9])(" + body + r")(?![a-z0-9])")


@cache
def synonyms() -> Synonyms:
    """The curated synonym file (`notecoder/refdata/curated/dx_synonyms.csv`)."""
    path = resources.files("notecoder.refdata") / "curated" / SYNONYMS_FILE
    kinds: dict[str, dict[str, str]] = {"word": {}, "abbr": {}, "also": {}, "keep": {}}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            term, repl = row["term"].strip().lower(), row["replacement"].strip().lower()
            kinds[row["kind"].strip()][term] = repl
    return Synonyms(kinds["word"], kinds["abbr"], kinds["also"], _alternation(kinds["word"]),
                    _alternation(kinds["abbr"]), _alternation(kinds["also"]),
                    frozenset(kinds["keep"]))


@cache
def synonym_words() -> frozenset[str]:
    """Every word the synonym file writes or reads (kept as they are by the speller)."""
    syn = synonyms()
    out: set[str] = set()
    for table in (syn.word, syn.abbr, syn.also):
        for k, v in table.items():
            out.update(split_words(k))
            out.update(split_words(v))
    return frozenset(out | syn.keep)


def singular(word: str) -> str:
    """Crude English singular, enough to meet the tabular ("lungs" -> "lung")."""
    if len(word) <= 3 or word in NOT_PLURAL or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ss", "us", "is", "ous")):
        return word
    return word[:-1]


def _fold_accents(text: str) -> str:
    """"Waldenström" as notes type it, "Waldenstrom": letters without their accents, on
    both sides (the tabular's titles and the note)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def prepare(text: str) -> str:
    """Lower-case text with the structural rewrites both sides share."""
    s = " " + _fold_accents(text.lower()).replace("[", "(").replace("]", ")") + " "
    syn = synonyms()
    if syn.word_re is not None:
        s = syn.word_re.sub(lambda m: syn.word[m.group(1)], s)
    for pattern, repl in _FIXED:
        s = pattern.sub(repl, s)
    s = _STAGE_RANGE.sub(_stage_range, s)
    s = _TYPE.sub(lambda m: f" type{_ROMAN.get(m.group(1), m.group(1))} ", s)
    s = _GRADE.sub(lambda m: f" grade{_ROMAN.get(m.group(1), m.group(1))}{m.group(2) or ''} ",
                   s)
    s = _STAGE.sub(_stage_token, s)
    return s


def normal_word(raw: str) -> str:
    """One word as the index stores it: no possessive, no trailing dot, singular."""
    w = raw.strip(".'-/")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    return singular(w)


def split_words(s: str) -> list[str]:
    """Words and the structure marks `(`, `)`, `,` of a prepared string."""
    out: list[str] = []
    for piece in re.findall(r"[(),;]|[^\s(),;]+", s):
        if piece in "(),;":
            out.append("," if piece == ";" else piece)
            continue
        for w in _WORD.findall(piece):
            # Slash and hyphen compounds split, but keep e.coli, n/v etc. from the synonym pass.
            if "/" in w or ("-" in w and w not in _KEEP_HYPHEN):
                out.extend(normal_word(p) for p in re.split(r"[/-]", w) if p)
            else:
                out.append(normal_word(w))
    return [w for w in out if w]


_KEEP_HYPHEN = frozenset({"covid-19", "relapsing-remitting"})


# ---- tabular titles -------------------------------------------------------------------

_HEAD_END = frozenset({",", "of", "with", "without", "due", "in", "not", "following",
                       "complicating", "from", "affecting", "involving", "associated",
                       "induced", "presenting", "at", "on", "by", "for", "to", "no"})
# After "unspecified", these nouns name an axis left open ("unspecified part of limb",
# "unspecified trimester"), so they are not required; any other word stays required
# ("unspecified maternal hypertension").
AXIS_NOUNS = _wordset(
    "part site side trimester organism ear eye joint lobe bronchus lung kidney ureter type "
    "severity region location bone vessel vein artery limb leg arm foot hand finger toe knee "
    "hip shoulder elbow wrist ankle thigh quadrant degree stage episode encounter phase "
    "intestine colon level chamber ligament muscle tendon nerve control")


_ADJECTIVE = re.compile(r"(?:ic|al|ar|ous|ive|ary|ory)$")
BOUND_PREFIXES = _wordset("hypo hyper non pre post sub anti de co re peri intra extra")
AXIS_WORDS = _wordset("acute chronic subacute left right bilateral type1 type2 systolic "
                       "diastolic combined mild moderate severe")


@dataclass
class TitleTerms:
    """What one tabular title (or inclusion term) says, as index entry parts."""

    key: str  # the main term's head noun
    required: list[list[str]] = field(default_factory=list)  # each group: any one word
    optional: list[str] = field(default_factory=list)  # parenthetical / nonessential words
    negative: list[list[str]] = field(default_factory=list)  # "without X", "not X"


def title_terms(title: str) -> list[TitleTerms]:
    """Index entries of a tabular title (see engine/tables/README.md for the rules).

    The head (the words before the first "of", "with", ",", "due to" ...) ends in the main
    term. A head "A and B" with B one word ("Hypo-osmolality and hyponatremia", "Acute
    embolism and thrombosis") names two conditions the code covers: one entry under each,
    the other noun optional. After the head, "X or Y" / "X and Y" lists are one group (any
    one word suffices: "bronchus or lung", "liver and intrahepatic bile duct")."""
    words = split_words(prepare(title))
    if not words:
        return []
    required: list[list[str]] = []
    if words[:3] == ["other", "drug", "induced"]:  # "Other drug-induced agranulocytosis"
        words = ["drug", "induced", "other", *words[3:]]
    if len(words) > 2 and words[1] == "induced" and words[0] not in _HEAD_END \
            and words[2] not in _HEAD_END:
        # "Drug-induced hypoglycemia without coma", "Alcohol induced acute pancreatitis",
        # "Lead-induced gout": the condition is the main term, the cause words are
        # required of it (not a main term "drug" / "alcohol").
        required, words = [[words[0]], ["induced"]], words[2:]
    elif words[:4] == ["drug", "or", "chemical", "induced"] and len(words) > 4:
        # "Drug or chemical induced diabetes mellitus" (E09): the same, either cause word.
        required, words = [["chemical", "drug"], ["induced"]], words[4:]
    optional: list[str] = []
    negative: list[list[str]] = []
    head: list[str] = []
    head_and: int | None = None  # index in `head` of the word after "and"
    in_head = True
    mode = "pos"
    depth = 0
    optional_rest = False  # after "A and other ...", every word is nonessential
    alt_next = False
    optional_next = False
    prev_axis_noun: str | None = None
    for w in words:
        if w == "(":
            depth += 1
            continue
        if w == ")":
            depth = max(0, depth - 1)
            continue
        if depth:
            if w not in STOPWORDS and w not in ("or", "and", "unspecified", ","):
                optional.append(w)
            continue
        if in_head and (w in _HEAD_END or w == ","):
            in_head = False
        if in_head:
            if w == "and" or w == "or":
                head_and = len(head)
                continue
            if w == "other" and head_and == len(head) and head:
                # "Rash and other nonspecific skin eruption": the code is for A (and others).
                in_head, head_and = False, None
                optional_rest = True
                continue
            if w == "unspecified" or w in STOPWORDS:
                continue
            head.append(w)
            continue
        if optional_rest and w not in ("(", ")", ",") and w not in _HEAD_END:
            if w not in STOPWORDS and w not in ("and", "or", "unspecified"):
                optional.append(w)
            continue
        if w == "of" and mode == "neg" and negative[-1] == ["foreign", "body"]:
            # "Laceration without foreign body of scalp": the site after "of" is the
            # wound's, not part of what is absent.
            mode = "pos"
            prev_axis_noun = None
            continue
        if w in _HEAD_END or w == ",":
            alt_next = optional_next = optional_rest = False
            prev_axis_noun = None
            if w in (",", "with"):
                mode = "pos"
            elif w in ("without", "not", "no"):
                mode = "neg"
                negative.append([])
            continue
        if w in ("or", "and"):
            alt_next = bool(required) and mode == "pos"
            continue
        if alt_next and required and len(required[-1]) >= 2 and _ADJECTIVE.search(
                required[-1][0]):
            # "following an ectopic and molar pregnancy": adjectives listed before one noun;
            # the noun is required on its own ("liver and intrahepatic bile duct", a list
            # of organs, stays one group).
            alt_next = False
        if w == "unspecified":
            if prev_axis_noun and required and required[-1] == [prev_axis_noun]:
                # "intestine, part unspecified": the axis noun before "unspecified" is open.
                optional.append(required.pop()[0])
            else:
                optional_next = True
            prev_axis_noun = None
            continue
        prev_axis_noun = w if w in AXIS_NOUNS and mode == "pos" and not alt_next else None
        if w in STOPWORDS:
            continue
        if mode == "neg":
            negative[-1].append(w)
            continue
        if optional_next:
            optional_next = False
            if w in AXIS_NOUNS:
                optional.append(w)
                continue
        if alt_next:
            required[-1].append(w)
            continue
        required.append([w])
    negative = [g for g in negative if g]
    if not head:
        if not required:
            return []
        head = [required.pop(0)[0]]
    keys: list[tuple[str, list[str]]] = []
    if head_and is not None and head_and == len(head) - 1 and head_and >= 1:
        a, b = head[head_and - 1], head[-1]
        # Modifiers before "A and B" / "A or B" apply to both ("acute embolism and
        # thrombosis", "corkhandler's disease or lung": never plain "disease"), except a
        # prefix split from A's own word ("hypo-osmolality and hyponatremia").
        own = list(head[: head_and - 1])
        shared = [m for m in own if m not in BOUND_PREFIXES]
        optional = [*optional, a, b]
        keys = [(a, own), (b, shared)]
    else:
        keys = [(head[-1], head[:-1])]
    out = []
    for key, mods in keys:
        # A list that runs into the main term again ("with heart failure and stage 1
        # through stage 4 chronic kidney disease") joined a second condition, not a list
        # of alternatives: its first word stays required on its own.
        req = [[m] for m in mods] + [g if key not in g else g[:1] for g in required
                                     if g[0] != key]
        out.append(TitleTerms(key=key, required=_dedupe(req),
                              optional=sorted(set(optional) - {key}), negative=negative))
    return out + _encounter_for_terms(title, words)  # the title's own head first


_SPECIFIED = re.compile(r"(?i)\bspecified\b")


def _encounter_for_terms(title: str, words: list[str]) -> list[TitleTerms]:
    """ICD-G I.C.21.c (Z codes for encounters): "Encounter for screening for malignant
    neoplasm of colon" is also indexed under what the encounter is for ("Screening for
    colon cancer", "Supervision of normal pregnancy"), "encounter" nonessential, when that
    states at least three more word groups (never "chemotherapy" alone: Z51.11 needs the
    encounter said, a chemotherapy drug's mention is no encounter)."""
    if words[:2] != ["encounter", "for"] or title[:14].lower() != "encounter for ":
        return []
    out = []
    for t in title_terms(title[14:]):
        if len(t.required) >= 3:
            out.append(TitleTerms(key=t.key, required=t.required,
                                  optional=sorted({*t.optional, "encounter"}),
                                  negative=t.negative))
    return out


def inherited_terms(ancestor_title: str, code_title: str, term: str) -> list[TitleTerms]:
    """Index entries of an ancestor's inclusion term for one of its complete codes (ICD-G
    I.A.11: inclusion terms apply to the codes under the subcategory that lists them).

    The code adds to the ancestor's title the axes that set it apart (S62.10 "Fracture of
    unspecified carpal bone" -> S62.101 "..., right wrist"); those word groups are required
    of the inclusion term too, so "Fracture of wrist NOS" (S62.10) gives S62.101 for a
    stated right wrist and S62.109 when no side is stated. Groups the ancestor's title has
    (and "other") are the ancestor's own, not the code's."""
    if _SPECIFIED.search(code_title) and not _SPECIFIED.search(ancestor_title):
        # "Other specified chronic obstructive pulmonary disease" (J44.89) is for what the
        # other codes do not name; the category's own terms are not that.
        return []
    ancestor = title_terms(ancestor_title)
    own = title_terms(code_title)
    if not ancestor or not own:
        return []
    base = ancestor[0]
    code = next((t for t in own if t.key == base.key), None)
    if code is None:
        # "Neutropenia" (D70) -> "Other drug-induced agranulocytosis" (D70.2): the code names
        # another condition, so the ancestor's terms do not describe it.
        return []
    have = {tuple(sorted(g)) for g in base.required}
    extra = [g for g in code.required if tuple(sorted(g)) not in have and base.key not in g]
    extra_neg = [g for g in code.negative if g not in base.negative]
    extra_opt = set(code.optional) - set(base.optional)
    out = []
    for t in title_terms(term):
        req = [g for g in extra if not set(g) & {t.key}]
        out.append(TitleTerms(key=t.key, required=_dedupe(t.required + req),
                              optional=sorted((set(t.optional) | extra_opt) - {t.key}),
                              negative=t.negative + [g for g in extra_neg
                                                     if g not in t.negative]))
    return out


def _dedupe(groups: list[list[str]]) -> list[list[str]]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for g in groups:
        t = tuple(sorted(set(g)))
        if t not in seen:
            seen.add(t)
            out.append(list(t))
    return out


# ---- note phrases ---------------------------------------------------------------------


@dataclass(frozen=True)
class PhraseWords:
    """The words of one note phrase: stated, added by `also` synonyms, and negated."""

    core: tuple[str, ...]  # in order
    soft: dict[str, str]  # added word -> the stated word that brought it
    negated: frozenset[str]
    # Stated only inside brackets ("pernicious anemia (intrinsic factor Ab positive)"):
    # nonessential, as the tabular's own parentheses are.
    bracketed: frozenset[str] = frozenset()


# A list number or line label before the diagnosis ("#1", "3.", "2)", "Dx:", "Impression:").
_LIST_PREFIX = re.compile(r"^\s*(?:(?:#\s*\d+|\d+\s*[.)])\s*|(?:dx|diagnosis|diagnoses|"
                          r"impression|assessment|a/p|problem)\s*(?:#?\d+)?\s*[:\-]\s*)+")
# Shorthand of note writing, read before the curated abbreviations.
_NOTE_SHORTHAND = [
    (re.compile(r"(?<![a-z0-9])w/o(?![a-z0-9])"), " without "),
    (re.compile(r"(?<![a-z0-9])w/(?![a-z0-9])"), " with "),
    (re.compile(r"(?<![a-z0-9])(?:2/2|d/t|d\.t\.)(?![a-z0-9])"), " due to "),
    # "SBP - cont ceftriaxone": spontaneous bacterial peritonitis; "SBP 142", "SBP > 180"
    # is a systolic pressure, never a diagnosis.
    (re.compile(r"(?<![a-z0-9])sbp(?!\s*(?:[:=<>]|of|\d|goal|target|ranged?))(?![a-z0-9])"),
     " spontaneous bacterial peritonitis "),
    # "NPH" alone is normal pressure hydrocephalus; "NPH insulin", "on NPH 20 units",
    # "NPH 70/30" is the insulin.
    (re.compile(r"(?<!on )(?<![a-z0-9])nph(?!\s*(?:insulin|\d|/|u\b|units?|humulin|novolin|"
                r"bid|qhs|qam|daily))(?![a-z0-9])"), " normal pressure hydrocephalus "),
    # "Pain 3/10", "pain score: 8/10": a vital sign, no diagnosis of pain.
    (re.compile(r"(?<![a-z0-9])pain(?:\s+score)?\s*[:=]?\s*\d{1,2}\s*/\s*10(?![0-9])"),
     " painscore "),
    # "Ca 9.2", "Ca++ 8.1", "ionized Ca: 1.1": a calcium value, never cancer.
    (re.compile(r"(?<![a-z0-9])ca(?:\+\+|2\+)?(?=\s*[:=]?\s*[<>]?\s*\d+(?:\.\d+)?(?![\d.]|\s*(?:cm|mm)\b))"),
     " calcium "),
    # "6 mm", "2.5 cm", "x 3 mm": a size, never an abbreviation ("MM" multiple myeloma,
    # "ms" multiple sclerosis).
    (re.compile(r"(?<![a-z])(\d+(?:\.\d+)?)\s*(?:mm|cm|ms|ml)(?![a-z0-9])"), r" \1 "),
    (re.compile(r"(?<![a-z0-9])(?:fhx|fmhx|fh|fam hx|family hx)(?:\s+of)?(?![a-z0-9])"),
     " family history of "),
    # "Remote history of CVA", "prior DVT", "previous PE": a past condition (ICD-G I.C.21.c.4).
    (re.compile(r"(?<![a-z0-9])(?:remote|distant|past|prior|previous)\s+(?=(?:history|hx|h/o)\b)"),
     " "),
    (re.compile(r"^\s*(?:prior|previous|remote)\s+(?!to\b|history\b|hx\b|h/o\b)"),
     " history of "),
    (re.compile(r"(?<![a-z0-9])(?:h/o|hx of|hx|pmh of|pmhx of)(?![a-z0-9])"), " history of "),
    # F10-F19 inclusion terms: a substance use disorder stated moderate or severe is
    # dependence, mild is abuse ("Alcohol use disorder, moderate" F10.20, "mild" F10.10).
    (re.compile(r"(?<![a-z0-9])(alcohol|opioid|cannabis|cocaine|stimulant|sedative)\s+use\s+"
                r"disorders?,?\s+(?:moderate|severe)(?![a-z0-9])"), r" \1 dependence "),
    (re.compile(r"(?<![a-z0-9])(alcohol|opioid|cannabis|cocaine|stimulant|sedative)\s+use\s+"
                r"disorders?,?\s+mild(?![a-z0-9])"), r" \1 abuse "),
    # "with uncomplicated withdrawal": the adjective of one noun, as the tabular writes it
    # ("Alcohol dependence with withdrawal, uncomplicated"), not "without" all that follows.
    (re.compile(r"(?<![a-z0-9])uncomplicated\s+(withdrawal|intoxication|remission)"),
     r" \1, uncomplicated "),
    # "NYHA II", "NYHA class III": a functional class, no axis of the heart failure code.
    (re.compile(r"(?<![a-z0-9])nyha\s*(?:class\s*)?(?:iv|i{1,3}|[1-4])(?![a-z0-9])"), " "),
    # "CKD, stage not documented", "side unknown": the axis is not stated (unspecified code).
    (re.compile(r"(?<![a-z0-9])(?:stage|type|side|site|laterality|organism|trimester)\s+"
                r"(?:not (?:documented|specified|stated|given|known)|unknown|unspecified)"
                r"(?![a-z0-9])"), " "),
    (re.compile(r"(?<![a-z0-9])(?:former|ex-|prior|past|remote|old)\s*(?=smoker\b)"),
     " history of "),
]


def expand_abbreviations(text: str) -> str:
    """Note language -> tabular wording (`abbr` rows), one pass, longest first."""
    s = " " + _LIST_PREFIX.sub(" ", text.lower()) + " "
    for pattern, repl in _NOTE_SHORTHAND:
        s = pattern.sub(repl, s)
    s = re.sub(r"\s+", " ", s)  # "pancreatitis d/t gallstones": the abbreviations' spacing
    syn = synonyms()
    if syn.abbr_re is not None:
        # An acuity the abbreviation's wording assumes ("DVT": "acute embolism ...", the
        # Index's nonessential "(acute)") yields to the one the phrase states ("Chronic R
        # femoral DVT": I82.511, never I82.411; ICD-G I.B.8).
        s = syn.abbr_re.sub(lambda m: " " + _without_acute(syn.abbr[m.group(1)], m) + " ", s)
    return s


_CLAUSE_MARK = re.compile(r"[,;]")


def _without_acute(expansion: str, m: re.Match[str]) -> str:
    """The expansion without its "acute" when the abbreviation's own clause (between commas
    and semicolons) says "chronic" and not "acute"."""
    if "acute" not in expansion:
        return expansion
    text = m.string
    start = max(text.rfind(",", 0, m.start()), text.rfind(";", 0, m.start())) + 1
    end = _CLAUSE_MARK.search(text, m.end())
    clause = text[start:end.start() if end else len(text)]
    if re.search(r"\bchronic\b", clause) and not re.search(r"\bacute\b", clause):
        return re.sub(r"\bacute\s+", "", expansion)
    return expansion


@lru_cache(maxsize=16384)
def _note_words(text: str) -> tuple[str, ...]:
    """The prepared words of a note phrase (the regex passes are the reader's main cost,
    and notes repeat their phrases)."""
    return tuple(split_words(prepare(expand_abbreviations(text))))


def phrase_words(text: str, known=None) -> PhraseWords:
    """Words of a phrase, abbreviations expanded; `known(word)` may correct a misspelling."""
    words = _note_words(text)
    core: list[str] = []
    negated: set[str] = set()
    inside: set[str] = set()
    outside: set[str] = set()
    mode = "pos"
    depth = 0
    for w in words:
        if w in (",", "(", ")"):
            mode = "pos"
            depth = depth + 1 if w == "(" else max(0, depth - 1) if w == ")" else depth
            continue
        if w in ("with", "and", "or"):
            if w == "with":
                mode = "pos"
            continue
        if w in ("without", "no", "not", "non"):
            mode = "neg" if w != "non" else mode
            if w == "non":
                core.append("non")
            continue
        if w in STOPWORDS or w == "unspecified":
            continue
        if known is not None:
            w = known(w)
        if mode == "neg":
            negated.add(w)
        else:
            core.append(w)
            (inside if depth else outside).add(w)
    soft: dict[str, str] = {}
    syn = synonyms()
    if syn.also_re is not None:
        joined = " " + " ".join(core) + " "
        for m in syn.also_re.finditer(joined):
            for added in split_words(prepare(syn.also[m.group(1)])):
                if added not in core:
                    soft[added] = (soft.get(added, "") + " " + m.group(1)).strip()
    return PhraseWords(core=tuple(core), soft=soft, negated=frozenset(negated),
                       bracketed=frozenset(inside - outside))
