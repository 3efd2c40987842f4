"""ConText assertions (negated, uncertain, historical, hypothetical, family) on entities.

The ConText algorithm (Harkema et al. 2009, as medspaCy 1.3 implements it): a cue
("no", "history of", "ruled out") modifies the entities in its scope, which runs from the
cue to the end of its sentence (FORWARD), from the sentence start to the cue (BACKWARD),
or both; a TERMINATE cue ("but", "however") or another cue of the same category ends a
scope early; overlapping cues keep the longest. Rules are data: medspaCy's default rules
(`lexicons/context_defaults.json`, MIT) plus ours (`lexicons/context_rules.json`), which
replace a default of the same literal.

Our own implementation instead of medspaCy's: cues are found by a token lookup indexed by
first word (one pass over the note), scopes are limited only against cues of the same
sentence, so the cost is linear in note length (medspaCy compares every pair of cues in a
note and runs a token Matcher with ~60 patterns on every token).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.lexicon import context_default_rules, context_rules

# Category -> the Span attribute it sets (medspaCy's default mapping).
ATTRIBUTES = {
    "NEGATED_EXISTENCE": "is_negated",
    "POSSIBLE_EXISTENCE": "is_uncertain",
    "HISTORICAL": "is_historical",
    "HYPOTHETICAL": "is_hypothetical",
    "FAMILY": "is_family",
}
for _name in ATTRIBUTES.values():
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=False)


_TERMINATING = frozenset({"TERMINATE", "TERMINATE_FORWARD"})


@dataclass(frozen=True)
class TokenTest:
    """One token of a cue: its allowed strings, case-sensitive or not, optional or not."""

    words: frozenset[str]
    exact_case: bool = False
    optional: bool = False

    def accepts(self, token_text: str, token_lower: str) -> bool:
        return (token_text if self.exact_case else token_lower) in self.words


@dataclass(frozen=True)
class CueRule:
    """A ConText rule: category, direction and the token tests of its cue."""

    literal: str
    category: str
    direction: str
    tokens: tuple[TokenTest, ...]
    priority: int = 0  # of two cues over the same tokens the lower wins (ours before defaults)
    # medspaCy's `allowed_types`: the entity labels the cue may modify (None: all). "held"
    # holds a drug; "metformin held while NPO" on a diabetes item never negates the diabetes.
    allowed_types: frozenset[str] | None = None


@dataclass
class Cue:
    """A matched cue in a note (token offsets) and its scope."""

    rule: CueRule
    start: int
    end: int
    scope_start: int
    scope_end: int
    targets: list[Span] = field(default_factory=list)


def _token_test(spec: dict) -> TokenTest:
    optional = spec.get("OP") == "?"
    if "TEXT" in spec:
        value, exact = spec["TEXT"], True
    else:
        value, exact = spec["LOWER"], False
    words = value["IN"] if isinstance(value, dict) else [value]
    return TokenTest(frozenset(words), exact_case=exact, optional=optional)


def _rule(entry: dict, nlp: Language, priority: int = 0) -> CueRule:
    if entry.get("pattern"):
        tokens = tuple(_token_test(spec) for spec in entry["pattern"])
    else:
        tokens = tuple(TokenTest(frozenset([t.lower_]))
                       for t in nlp.make_doc(entry["literal"].lower()))
    allowed = entry.get("allowed_types")
    return CueRule(entry["literal"], entry["category"].upper(), entry["direction"].upper(),
                   tokens, priority, frozenset(allowed) if allowed else None)


def rule_entries() -> list[dict]:
    """Our rules, then the defaults whose literal we do not redefine (the order is the
    priority of two cues matched over the same tokens)."""
    ours = context_rules()
    redefined = {rule["literal"].lower() for rule in ours}
    return ours + [r for r in context_default_rules() if r["literal"].lower() not in redefined]


class CueFinder:
    """Finds ConText cues in a Doc: rules indexed by the words their cue can start with."""

    def __init__(self, rules: list[CueRule]):
        self.by_first: dict[str, list[CueRule]] = {}
        self.exact_first: dict[str, list[CueRule]] = {}
        for rule in rules:
            for test in self._first_tests(rule.tokens):
                index = self.exact_first if test.exact_case else self.by_first
                for word in test.words:
                    index.setdefault(word, []).append(rule)

    @staticmethod
    def _first_tests(tokens: tuple[TokenTest, ...]) -> list[TokenTest]:
        firsts = []
        for test in tokens:
            firsts.append(test)
            if not test.optional:
                break
        return firsts

    def __call__(self, doc: Doc) -> list[tuple[CueRule, int, int]]:
        found: set[tuple[CueRule, int, int]] = set()
        texts = [t.text for t in doc]
        lowers = [t.lower() for t in texts]
        for i, lower in enumerate(lowers):
            candidates = self.by_first.get(lower, []) + self.exact_first.get(texts[i], [])
            for rule in candidates:
                for end in _match_ends(rule.tokens, 0, texts, lowers, i):
                    if end > i:
                        found.add((rule, i, end))
        # Sorted by position, then priority: the same cues win in every process.
        return _longest_first(sorted(found, key=lambda m: (m[1], m[2], m[0].priority)))


def _match_ends(tokens: tuple[TokenTest, ...], k: int, texts: list[str], lowers: list[str],
                i: int) -> list[int]:
    """Token indexes where the cue's tests k.. can end when matched from token i."""
    if k == len(tokens):
        return [i]
    test = tokens[k]
    ends = []
    if i < len(texts) and test.accepts(texts[i], lowers[i]):
        ends += _match_ends(tokens, k + 1, texts, lowers, i + 1)
    if test.optional:
        ends += _match_ends(tokens, k + 1, texts, lowers, i)
    return ends


def _longest_first(matches: list[tuple[CueRule, int, int]]) -> list[tuple[CueRule, int, int]]:
    """Of overlapping cues keep the longest (medspaCy's `prune_overlapping_matches`)."""
    kept: list[tuple[CueRule, int, int]] = []
    for match in matches:
        if kept and match[1] < kept[-1][2]:
            if match[2] - match[1] > kept[-1][2] - kept[-1][1]:
                kept[-1] = match
            continue
        kept.append(match)
    return kept


def _limit(cue: Cue, other: Cue) -> None:
    """A TERMINATE cue or a cue of the same category ends `cue`'s scope at `other`;
    a TERMINATE_FORWARD cue (";") ends only a forward scope."""
    if cue.rule.direction in _TERMINATING:
        return
    if other.rule.direction == "TERMINATE_FORWARD":
        if cue.rule.direction in ("FORWARD", "BIDIRECTIONAL") and other.start > cue.start:
            cue.scope_end = min(cue.scope_end, other.start)
        return
    if other.rule.direction != "TERMINATE" and other.rule.category != cue.rule.category:
        return
    if cue.rule.direction in ("FORWARD", "BIDIRECTIONAL") and other.start > cue.start:
        cue.scope_end = min(cue.scope_end, other.start)
    if cue.rule.direction in ("BACKWARD", "BIDIRECTIONAL") and other.start < cue.start:
        cue.scope_start = max(cue.scope_start, other.end)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) token offsets of each sentence, by token index (computed once per Doc,
    kept in its user data)."""
    bounds = doc.user_data.get("notecoder_sentence_bounds")
    if bounds is None:
        bounds = [(0, len(doc))] * len(doc)
        for sent in doc.sents:
            for i in range(sent.start, sent.end):
                bounds[i] = (sent.start, sent.end)
        doc.user_data["notecoder_sentence_bounds"] = bounds
    return bounds


def sentence_cues(doc: Doc, finder: CueFinder) -> dict[int, list[Cue]]:
    """The note's cues with their scopes, by sentence start (found once per Doc and kept in
    its user data, so diagnosis phrases read later reuse them)."""
    cached = doc.user_data.get("notecoder_context_cues")
    if cached is not None:
        return cached
    bounds = sentence_bounds(doc)
    by_sentence: dict[int, list[Cue]] = {}
    for rule, start, end in finder(doc):
        sent_start, sent_end = bounds[start]
        scope = {"FORWARD": (end, sent_end), "BACKWARD": (sent_start, start)}.get(
            rule.direction, (sent_start, sent_end))
        by_sentence.setdefault(sent_start, []).append(Cue(rule, start, end, *scope))
    for cues in by_sentence.values():
        for i, cue in enumerate(cues):
            for other in cues[i + 1:]:
                if _overlaps((cue.scope_start, cue.scope_end), (other.scope_start,
                                                                other.scope_end)):
                    _limit(cue, other)
                if _overlaps((other.scope_start, other.scope_end), (cue.scope_start,
                                                                    cue.scope_end)):
                    _limit(other, cue)
    doc.user_data["notecoder_context_cues"] = by_sentence
    return by_sentence


def apply_context(doc: Doc, targets: list[Span], by_sentence: dict[int, list[Cue]],
                  inner_cues: bool = False) -> None:
    """Set the assertion attributes of each target from the cues of its sentence
    (`sentence_cues`).

    A cue inside a target modifies it only with `inner_cues` (a diagnosis phrase such as
    "No acute chest syndrome" or "h/o breast cancer" holds its own cue); a lexicon entity
    never modifies itself."""
    if not targets:
        return
    bounds = sentence_bounds(doc)
    for target in targets:
        for cue in by_sentence.get(bounds[target.start][0], ()):
            if cue.rule.direction in _TERMINATING or cue.rule.direction == "PSEUDO":
                continue
            if cue.rule.allowed_types is not None and target.label_ not in cue.rule.allowed_types:
                continue
            inside = cue.start <= target.start and target.end <= cue.end
            if inside or (not inner_cues and _overlaps((cue.start, cue.end),
                                                       (target.start, target.end))):
                continue
            if inner_cues and _inner_qualifier(cue, target):
                continue
            if _overlaps((cue.scope_start, cue.scope_end), (target.start, target.end)):
                attribute = ATTRIBUTES.get(cue.rule.category)
                if attribute:
                    setattr(target._, attribute, True)


def _inner_qualifier(cue: Cue, target: Span) -> bool:
    """"without" inside a diagnosis phrase after its first word qualifies the condition, as
    the tabular's titles do ("Migraine without aura", "Cellulitis without abscess": the
    phrase reader keeps the word as a "without" word); it never negates the condition.
    Every other cue inside a phrase ("denies nausea", "not supported by UA") still does."""
    if ATTRIBUTES.get(cue.rule.category) != "is_negated":
        return False
    doc = target.doc
    if not (target.start < cue.start and cue.end <= target.end):
        return False
    if doc[cue.start:cue.end].text.lower() in ("without", "w/o"):
        return True
    # "Alcohol withdrawal (no hallucinations, no seizures)": a cue inside a bracket of the
    # phrase negates the bracket's details (read as "without" words), not the condition.
    # Only a forward cue: "PE (ruled out)" still negates the PE.
    before = doc[target.start:cue.start].text
    return cue.rule.direction == "FORWARD" and before.count("(") > before.count(")")


@cache
def _finder(nlp: Language) -> CueFinder:
    return CueFinder([_rule(entry, nlp, i) for i, entry in enumerate(rule_entries())])


def assert_spans(doc: Doc, spans: list[Span]) -> None:
    """ConText attributes on arbitrary spans of a parsed note (diagnosis phrases), cues
    inside a span included; the Doc must come from the pipeline (its cues are kept)."""
    cues = doc.user_data.get("notecoder_context_cues")
    if cues is None:
        raise ValueError("assert_spans needs a Doc parsed by extractor.nlp.parse")
    apply_context(doc, spans, cues, inner_cues=True)


class ConTextAssertions:
    """Pipeline component: ConText attributes on every entity of the Doc."""

    def __init__(self, nlp: Language):
        self.finder = _finder(nlp)

    def __call__(self, doc: Doc) -> Doc:
        cues = sentence_cues(doc, self.finder)  # kept for diagnosis phrases read later
        apply_context(doc, list(doc.ents), cues)
        return doc


@Language.factory("context_assertions")
def _context_assertions(nlp, name):  # no annotations: spaCy's config cannot resolve them here
    return ConTextAssertions(nlp)
