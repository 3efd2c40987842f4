"""The spaCy pipeline: blank English, sentences, lexicon matches, ConText assertions.

No model download: `spacy.blank("en")` tokeniser, a sentencizer that also breaks
at line ends, medspaCy's TargetMatcher fed from the lexicon files, and medspaCy
ConText (default rules plus `lexicons/context_rules.json`).
"""

from __future__ import annotations

import logging
import threading
from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from extractor.lexicon import context_rules, drug_names, phrase_index

_PARSE_LOCK = threading.Lock()
_CASE_SENSITIVE_MAX = 3  # short abbreviations (NS, CAP, UTI) match only as written


@Language.component("line_sentences")
def line_sentences(doc: Doc) -> Doc:
    """Start a new sentence at a line break, unless the line was merely wrapped.

    Notes are often one fact a line ("Dx: ...", "Allergies: ..."), but long
    sentences are also wrapped; a line that continues in lower case after no
    closing punctuation is the same sentence.
    """
    for token in doc[1:]:
        previous = doc[token.i - 1]
        if "\n" not in previous.text and "\n" not in previous.whitespace_:
            continue
        if token.is_space:
            continue
        # An indented line is an item of its own ("  fluorouracil 400 mg/m2 = 800 mg").
        indented = previous.is_space and previous.text.rsplit("\n", 1)[-1][:1] in (" ", "\t")
        wrapped = (token.text[:1].islower() and not indented
                   and not _ends_statement(doc, previous.i))
        token.is_sent_start = not wrapped
    return doc


def _ends_statement(doc: Doc, index: int) -> bool:
    """True when the last non-space token up to `index` closes a statement."""
    while index >= 0 and doc[index].is_space:
        index -= 1
    return index < 0 or doc[index].text[-1:] in ".:;!?"


def _pattern(phrase: str, nlp: Language) -> list[dict]:
    words = [t.text for t in nlp.make_doc(phrase)]
    if len(phrase) <= _CASE_SENSITIVE_MAX:
        return [{"TEXT": w} for w in words]
    return [{"LOWER": w.lower()} for w in words]


def _target_rules(nlp: Language) -> list:
    from medspacy.target_matcher import TargetRule

    rules = []
    for key, entry in drug_names().items():
        rules.append(TargetRule(key, "DRUG", pattern=_pattern(entry.name, nlp)))
    for phrase, (label, _value) in phrase_index().items():
        rules.append(TargetRule(phrase, label, pattern=_pattern(_original(phrase), nlp)))
    return rules


@cache
def _originals() -> dict[str, str]:
    from extractor.lexicon import diagnosis_phrases, organism_phrases

    out = {}
    for phrases in [*diagnosis_phrases().values(), *organism_phrases().values()]:
        for phrase in phrases:
            out[phrase.lower()] = phrase
    return out


def _original(phrase: str) -> str:
    return _originals().get(phrase, phrase)


@cache
def build_nlp() -> Language:
    """The offline pipeline, built once per process."""
    # medspaCy's sentence splitter (PyRuSH) logs through loguru; we use spaCy's instead.
    logging.getLogger("medspacy").setLevel(logging.WARNING)
    import medspacy  # noqa: F401  (registers the medspacy_* factories)
    from medspacy.context import ConTextRule

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("line_sentences")
    matcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add(_target_rules(nlp))
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    ours = [ConTextRule(**rule) for rule in context_rules()]
    # Our rules replace a default of the same literal (e.g. "ruled out" looks backward:
    # "Pneumonia ruled out."), the other defaults stay.
    redefined = {rule.literal.lower() for rule in ours}
    defaults = ConTextRule.from_json(context.DEFAULT_RULES_FILEPATH)
    context.add([r for r in defaults if r.literal.lower() not in redefined] + ours)
    return nlp


def parse(text: str) -> Doc:
    """The note parsed by the offline pipeline; one parse at a time (batches run notes on
    threads, and a spaCy pipeline is not documented as thread-safe)."""
    nlp = build_nlp()
    with _PARSE_LOCK:
        return nlp(text)
