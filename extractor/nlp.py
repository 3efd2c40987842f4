"""The spaCy pipeline: blank English, sentences, lexicon matches, ConText assertions.

No model download: `spacy.blank("en")` tokeniser, a sentencizer that also breaks
at line ends, token-sequence lookups of diagnosis and organism phrases and of the thousands
of drug names (the latter also reads misspelled drug names followed by a dose), and the
ConText algorithm (`extractor.context`: medspaCy's default rules plus
`lexicons/context_rules.json`).
"""

from __future__ import annotations

import re
import threading
from functools import cache

import spacy
from spacy.attrs import LOWER, ORTH, SENT_START
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.strings import hash_string
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractor.lexicon import (
    drug_names,
    fuzzy_guard_words,
    phrase_index,
    spelling_distance,
)

_THREAD = threading.local()
_CASE_SENSITIVE_MAX = 3  # short abbreviations (NS, CAP, UTI) match only as written


@Language.component("line_sentences")
def line_sentences(doc: Doc) -> Doc:
    """Start a new sentence at a line break, unless the line was merely wrapped.

    Notes are often one fact a line ("Dx: ...", "Allergies: ..."), but long
    sentences are also wrapped; a line that continues in lower case after no
    closing punctuation is the same sentence.
    """
    starts = doc.to_array([SENT_START]).astype("int64")  # -1/0/1 (spaCy stores uint64)
    changed = False
    for token in doc[1:]:
        previous = doc[token.i - 1]
        if (previous.text == "?" and previous.i > 0 and doc[previous.i - 1].whitespace_
                and "\n" not in previous.whitespace_ and starts[token.i] == 1):
            # "Abd pain, ? appendicitis": a "?" before a word asks about it (an uncertain
            # diagnosis, ConText's "?" cue); it ends no sentence.
            starts[token.i] = -1
            changed = True
            continue
        if "\n" not in previous.text and "\n" not in previous.whitespace_:
            continue
        if token.is_space:
            continue
        # An indented line is an item of its own ("  fluorouracil 400 mg/m2 = 800 mg").
        indented = previous.is_space and previous.text.rsplit("\n", 1)[-1][:1] in (" ", "\t")
        wrapped = (token.text[:1].islower() and not indented
                   and not _ends_statement(doc, previous.i)
                   and not _short_labelled_line(doc_text(doc), token.idx))
        value = -1 if wrapped else 1
        if starts[token.i] != value:
            starts[token.i] = value
            changed = True
    if changed:
        # One array write: setting `token.is_sent_start` checks the whole Doc each time.
        doc.from_array([SENT_START], starts.astype("uint64"))
    return doc


_LABELLED_LINE = re.compile(r"[ \t]*[A-Za-z][A-Za-z/&.' -]{0,24}:[ \t]*\S")
_SHORT_LINE = 60


def _short_labelled_line(text: str, next_line_at: int) -> bool:
    """The line before `next_line_at` is a short labelled item ("Allergy: PCN (rash)",
    "Wt: 70 kg"): a fact of its own, never wrapped into the next line (else the allergy's
    ConText cue would reach the drug given on the next line)."""
    end = text.rfind("\n", 0, next_line_at)
    start = text.rfind("\n", max(0, end - _SHORT_LINE - 1), end) + 1
    if end < 0 or (start == 0 and end > _SHORT_LINE) or end - start > _SHORT_LINE:
        return False
    return bool(_LABELLED_LINE.match(text, start, end))


def _ends_statement(doc: Doc, index: int) -> bool:
    """True when the last non-space token up to `index` closes a statement."""
    while index >= 0 and doc[index].is_space:
        index -= 1
    return index < 0 or doc[index].text[-1:] in ".:;!?"


@cache
def _originals() -> dict[str, str]:
    from extractor.lexicon import diagnosis_phrases, organism_phrases

    out = {}
    for phrases in [*diagnosis_phrases().values(), *organism_phrases().values()]:
        for phrase in phrases:
            out[phrase.lower()] = phrase
    return out


if not Span.has_extension("lexicon_key"):
    # The lexicon key an entity was matched by (drug name, diagnosis or organism phrase).
    Span.set_extension("lexicon_key", default=None)


class NameLookup:
    """Token-sequence lookup of lexicon names: (key, name) pairs matched case-insensitively
    above three characters and only as written up to three (NS, CAP, UTI).

    Names are held as tuples of token hashes, matched against the note's LOWER and ORTH
    arrays; unlike a PhraseMatcher it needs no Doc or lexeme per name, which kept
    thousands of drug names out of start-up time."""

    def __init__(self, nlp: Language, entries: list[tuple[str, str]]):
        # first token hash -> [(every token hash, key, match on ORTH)]
        self.first: dict[int, list[tuple[tuple[int, ...], str, bool]]] = {}
        simple = [(k, n) for k, n in entries if n.isalpha()]
        other = [(k, n) for k, n in entries if not n.isalpha()]
        # A name of letters only is one token as the tokenizer would make it; the rest are
        # tokenized as a note would be.
        words = [[n] for _, n in simple]
        words += [[t.text for t in doc] for doc in nlp.tokenizer.pipe(n for _, n in other)]
        seen: set[tuple[tuple[int, ...], str, bool]] = set()
        for (key, name), tokens in zip(simple + other, words, strict=True):
            as_written = len(name) <= _CASE_SENSITIVE_MAX
            hashes = tuple(hash_string(t if as_written else t.lower()) for t in tokens)
            item = (hashes, key, as_written)
            if hashes and item not in seen:
                seen.add(item)
                self.first.setdefault(hashes[0], []).append(item)

    def __call__(self, doc: Doc) -> list[tuple[str, int, int]]:
        """(key, start token, end token) of every name in `doc`, overlapping ones included."""
        if not len(doc):
            return []
        lower, orth = (col.tolist() for col in doc.to_array([LOWER, ORTH]).T)
        found = []
        first = self.first
        for i, (low, exact) in enumerate(zip(lower, orth, strict=True)):
            for column, head, by_orth in ((lower, low, False), (orth, exact, True)):
                for hashes, key, as_written in first.get(head, ()):
                    end = i + len(hashes)
                    if (as_written == by_orth and end <= len(column)
                            and tuple(column[i:end]) == hashes):
                        found.append((key, i, end))
        return found


class ProblemMatcher:
    """PROBLEM and ORGANISM entities from the diagnosis lexicon (`lexicons/diagnoses.json`),
    each with its lexicon key."""

    def __init__(self, nlp: Language):
        self.names = NameLookup(nlp, [(key, _originals().get(key, key))
                                      for key in phrase_index()])

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for key, start, end in self.names(doc):
            span = Span(doc, start, end, label=phrase_index()[key][0])
            span._.lexicon_key = key
            spans.append(span)
        doc.ents = filter_spans(spans + list(doc.ents))
        return doc


@Language.factory("problem_matcher")
def _problem_matcher(nlp, name):  # no annotations: spaCy's config cannot resolve them here
    return ProblemMatcher(nlp)


# A dose right after a word on the same line: "rocefin 1gm", "toradal 30mg".
_DOSE_AFTER = re.compile(r"[ \t]*\(?[ \t]*\d+(?:[.,]\d+)?[ \t]*"
                         r"(?:mg|g|gm|grams?|mcg|units?|meq|ml|cc)\b", re.I)
# A pharmacy mnemonic: four or more capitals, then the strength ("ENOX100", "VANC1000").
_MNEMONIC = re.compile(r"([A-Z]{4,})\d+(?:\.\d+)?$")
_DOSE_AFTER_LEADER = re.compile(r"[ \t.]*\d+(?:[.,]\d+)?[ \t]*"
                                r"(?:mg|g|gm|grams?|mcg|units?|meq|ml|cc)\b", re.I)
if not Span.has_extension("spelling_of"):
    # The lexicon name a misspelled drug word was read as ("rocefin" -> "Rocephin").
    Span.set_extension("spelling_of", default=None)


class DrugNameMatcher:
    """DRUG entities from the drug lexicon: exact names (case-insensitive above three
    characters, as written up to three), then misspellings followed by a dose.

    Each entity carries its lexicon key (`span._.lexicon_key`), which
    `administrations._entry` reads.
    """

    def __init__(self, nlp: Language):
        self.names = NameLookup(nlp, [(key, entry.name) for key, entry in drug_names().items()])
        self.guard = fuzzy_guard_words()
        self.by_letter: dict[str, list[str]] = {}
        for key in drug_names():
            if key.isalpha() and len(key) > _CASE_SENSITIVE_MAX + 1:
                self.by_letter.setdefault(key[0], []).append(key)
        self._rules: dict[str, object] = {}

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for key, start, end in self.names(doc):
            spans.append((Span(doc, start, end, label="DRUG"), key, None))
        taken = {i for span, _, _ in spans for i in range(span.start, span.end)}
        text = doc_text(doc)
        for token in doc:
            if token.i in taken or len(token) <= _CASE_SENSITIVE_MAX + 1:
                continue
            end = token.idx + len(token.text)
            key = self.misspelling_of(token.text, text, end) or self.mnemonic_of(
                token.text, text, end)
            if key is not None:
                spans.append((Span(doc, token.i, token.i + 1, label="DRUG"), key, key))
        chosen = filter_spans([span for span, _, _ in spans] + list(doc.ents))
        kept = {id(span) for span in chosen}
        for span, key, spelling in spans:
            if id(span) in kept:  # extension values live on the doc, keyed by the span
                span._.lexicon_key = key
                span._.spelling_of = drug_names()[key].name if spelling else None
        doc.ents = chosen
        return doc

    def mnemonic_of(self, word: str, text: str, end: int) -> str | None:
        """The lexicon key a pharmacy mnemonic stands for ("ENOX100" in a Meditech MAR:
        capitals then the strength): the one generic whose names start with the letters
        (four or more), when a dose follows, dot leaders allowed. Ambiguous letters
        ("PRED5": prednisone or prednisolone) stand for nothing. Shown to the coder as a
        spelling, like a misspelling."""
        m = _MNEMONIC.match(word)
        if m is None or m.group(1).lower() in self.guard:
            return None
        line_end = text.find("\n", end)
        if not _DOSE_AFTER_LEADER.match(text, end, line_end if line_end >= 0 else len(text)):
            return None
        prefix = m.group(1).lower()
        found = [key for key in self.by_letter.get(prefix[0], ()) if key.startswith(prefix)]
        generics = {drug_names()[key].generic for key in found}
        return min(found, key=len) if len(generics) == 1 else None

    def misspelling_of(self, word: str, text: str, end: int) -> str | None:
        """The lexicon key `word` misspells, when it is unambiguous and a dose follows."""
        lower = word.lower()
        bound = spelling_distance(lower)
        if (bound == 0 or not word.isalpha() or lower in STOP_WORDS or lower in self.guard
                or lower in drug_names()):
            return None
        line_end = text.find("\n", end)
        if not _DOSE_AFTER.match(text, end, line_end if line_end >= 0 else len(text)):
            return None
        from rapidfuzz.distance import Levenshtein

        best, found = bound + 1, []
        for key in self.by_letter.get(lower[0], ()):
            if abs(len(key) - len(lower)) > bound:
                continue
            distance = Levenshtein.distance(lower, key, score_cutoff=bound)
            if distance > bound:
                continue  # beyond the cutoff rapidfuzz returns cutoff + 1: never a match
            if distance < best:
                best, found = distance, [key]
            elif distance == best:
                found.append(key)
        generics = {drug_names()[key].generic for key in found}
        return found[0] if len(generics) == 1 else None


@Language.factory("drug_name_matcher")
def _drug_name_matcher(nlp, name):  # no annotations: spaCy's config cannot resolve them here
    return DrugNameMatcher(nlp)


@cache
def build_nlp() -> Language:
    """The offline pipeline, built once per process."""
    import extractor.context  # noqa: F401  (registers the context_assertions factory)

    nlp = spacy.blank("en")
    # spaCy's 1,000,000-character guard is for its parser and NER models, which we do not
    # run; the note size limit is ours (NOTECODER_MAX_NOTE_BYTES).
    nlp.max_length = 10**9
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("line_sentences")
    nlp.add_pipe("problem_matcher")
    nlp.add_pipe("drug_name_matcher")
    nlp.add_pipe("context_assertions")
    return nlp


def doc_text(doc: Doc) -> str:
    """The note text of `doc`, kept in its user data: spaCy's `Doc.text` joins every token
    anew on each access, and five readers ask for it per note."""
    text = doc.user_data.get("notecoder_text")
    if text is None:
        text = doc.user_data["notecoder_text"] = doc.text
    return text


def sentence_of(span: Span) -> Span:
    """The sentence holding `span` (its first token), from bounds computed once per Doc.

    spaCy's own `Span.sent` checks the whole Doc for sentence annotation on every call,
    which made reading a note quadratic in its length."""
    from extractor.context import sentence_bounds

    doc = span.doc
    start, end = sentence_bounds(doc)[span.start] if len(doc) else (0, 0)
    return doc[start:end]


def _thread_pipeline() -> Language:
    """This thread's pipeline: spaCy does not document one pipeline as safe to call from
    several threads, and a process-wide lock let one long note hold up every other one.
    The main thread uses `build_nlp()`'s; each other thread builds its own once."""
    nlp = getattr(_THREAD, "nlp", None)
    if nlp is None:
        main = threading.current_thread() is threading.main_thread()
        nlp = _THREAD.nlp = build_nlp() if main else build_nlp.__wrapped__()
    return nlp


def parse(text: str) -> Doc:
    """The note parsed by the offline pipeline of the calling thread."""
    return _thread_pipeline()(text)
