"""Diagnosis facts from lexicon matches, with ConText assertion, organism and laterality."""

from __future__ import annotations

import re
from functools import cache

from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from extractor.lexicon import phrase_index
from extractor.nlp import doc_text, sentence_of
from notecoder.schema import Assertion, CultureResult, Diagnosis, Span

_LATERALITY = re.compile(r"\b(left|right|bilateral|L|R)\b", re.IGNORECASE)
_LATERALITY_NAMES = {"l": "left", "r": "right", "left": "left", "right": "right",
                     "bilateral": "bilateral"}
_ORGANISM_GAP = 30  # characters between an organism and its condition ("MRSA bacteremia")
_CULTURE = re.compile(r"\b(?:culture[sd]?|cx|grew|growing|gram stain|positive for|isolated)\b",
                      re.I)
_SPECIMEN = re.compile(r"\b(blood|sputum|urine|wound|BAL|bronchoalveolar)\b", re.I)
_ORGANISM_LINK = re.compile(r"^\s*(?:due to|secondary to|from|with|caused by|,)?\s*$", re.I)


def assertion_of(ent: SpacySpan) -> Assertion:
    """ConText attributes -> one assertion, strongest first."""
    if ent._.is_negated:
        return Assertion.NEGATED
    if ent._.is_family:
        return Assertion.FAMILY
    if ent._.is_hypothetical:
        return Assertion.HYPOTHETICAL
    if ent._.is_uncertain:
        return Assertion.UNCERTAIN
    if ent._.is_historical:
        return Assertion.HISTORICAL
    return Assertion.AFFIRMED


def _value(ent: SpacySpan) -> str | None:
    key = (ent._.lexicon_key or ent.text).lower()
    found = phrase_index().get(key)
    return found[1] if found else None


def _organism_for(ent: SpacySpan, organisms: list[SpacySpan], text: str) -> SpacySpan | None:
    for org in organisms:
        if sentence_of(org).start != sentence_of(ent).start:
            continue
        if org.end_char <= ent.start_char and ent.start_char - org.end_char <= _ORGANISM_GAP:
            between = text[org.end_char:ent.start_char]
            if re.fullmatch(r"[\s\-]*", between):
                return org
        if org.start_char >= ent.end_char:
            between = text[ent.end_char:org.start_char]
            if _ORGANISM_LINK.match(between) and len(between) <= _ORGANISM_GAP:
                return org
    return None


def extract_diagnoses(doc: Doc, historical: list[Span] | None = None
                      ) -> tuple[list[Diagnosis], dict[int, str]]:
    """Diagnosis facts (one per concept, organism and assertion, all mentions as evidence)
    and a map from each mention's start offset to its fact id (for drug indications).

    A mention inside a past-history section (`historical`, from the sectionizer) is
    historical; the same condition documented as current elsewhere is its own fact."""
    text = doc_text(doc)
    history = historical or []
    organisms = [e for e in doc.ents if e.label_ == "ORGANISM"]
    groups: dict[tuple, dict] = {}
    by_start: dict[int, tuple] = {}
    for ent in doc.ents:
        if ent.label_ != "PROBLEM":
            continue
        concept = _value(ent)
        if concept is None or _NOT_ADDRESSED.search(text, ent.start_char,
                                                     _line_end(text, ent.end_char)):
            continue
        org = _organism_for(ent, organisms, text)
        organism = _value(org) if org is not None else None
        assertion = assertion_of(ent)
        if assertion == Assertion.AFFIRMED and any(
                s.start <= ent.start_char < s.end for s in history):
            assertion = Assertion.HISTORICAL
        key = (concept, organism, assertion)
        group = groups.setdefault(key, {"ents": [], "org": org, "lat": None})
        group["ents"].append(ent)
        lead = text[max(sentence_of(ent).start_char, ent.start_char - 15):ent.start_char]
        lat = list(_LATERALITY.finditer(lead))
        if lat and group["lat"] is None:
            offset = ent.start_char - len(lead)
            group["lat"] = (lat[-1], offset)
        by_start[ent.start_char] = key
    facts: list[Diagnosis] = []
    ids: dict[tuple, str] = {}
    for n, (key, group) in enumerate(groups.items(), start=1):
        concept, organism, assertion = key
        first = group["ents"][0]
        spans = {"text": Span(start=first.start_char, end=first.end_char)}
        if group["org"] is not None:
            spans["organism"] = Span(start=group["org"].start_char, end=group["org"].end_char)
        laterality = None
        if group["lat"] is not None:
            match, offset = group["lat"]
            laterality = _LATERALITY_NAMES[match.group(1).lower()]
            spans["laterality"] = Span(start=offset + match.start(), end=offset + match.end())
        fact_id = f"D{n}"
        ids[key] = fact_id
        facts.append(Diagnosis(
            id=fact_id,
            evidence=[Span(start=e.start_char, end=e.end_char) for e in group["ents"]],
            field_spans=spans,
            text=first.text,
            concept=concept,
            assertion=assertion,
            organism=organism,
            laterality=laterality,
        ))
    return facts, {start: ids[key] for start, key in by_start.items()}


def extract_cultures(doc: Doc) -> list[CultureResult]:
    """Organisms named in a culture sentence ('Sputum culture grew MRSA.')."""
    results: list[CultureResult] = []
    for ent in doc.ents:
        if ent.label_ != "ORGANISM" or ent._.is_negated:
            continue
        sentence = sentence_of(ent).text
        if not _CULTURE.search(sentence):
            continue
        organism = _value(ent)
        if organism is None or any(r.organism == organism for r in results):
            continue
        span = Span(start=ent.start_char, end=ent.end_char)
        specimen = _SPECIMEN.search(sentence)
        results.append(CultureResult(
            id=f"C{len(results) + 1}", evidence=[span], field_spans={"organism": span},
            organism=organism,
            specimen=specimen.group(1).lower() if specimen else None,
        ))
    return results


def _assertion_of_piece(span: SpacySpan, historical: list[Span]) -> Assertion:
    assertion = assertion_of(span)
    if assertion == Assertion.AFFIRMED and any(
            s.start <= span.start_char < s.end for s in historical):
        return Assertion.HISTORICAL
    return assertion


def read_diagnosis_pieces(doc: Doc, sections: list, historical: list[Span] | None = None
                          ) -> tuple[list[Diagnosis], dict[int, str]]:
    """Diagnosis facts read against the whole ICD-10-CM term index (issue 12).

    The note's diagnostic statements (or, without an assessment section, its narrative
    clauses; `extractor.dx_statements`) are read as phrases (`extractor.dx_terms`); a piece
    naming no main term ("upper-outer quadrant L breast") extends the phrase before it in
    the same sentence. Assertion comes from ConText over the phrase (its own cues
    included: "No fever", "h/o breast cancer", "r/o PE") and from past-history sections.
    One fact per phrase wording and assertion; the engine chooses the codes."""
    from engine.dx_codes import RECEPTOR_WORDS
    from engine.dx_rules import choices_for as choose_codes
    from extractor.context import assert_spans
    from extractor.dx_statements import diagnosis_pieces
    from extractor.dx_terms import PREGNANCY_WORDS, note_gestation_weeks, read_phrase

    text = doc_text(doc)
    phrases: list[tuple[int, int, object, str]] = []  # (start, end, mention, main term)
    listed_statements: set[int] = set()  # parts of a statement listing conditions by "and"
    pieces = diagnosis_pieces(text, sections)
    weeks = note_gestation_weeks(text) if re.search(r"(?i)pregnan|gestation|gravid", text) \
        else None

    def read(piece_text: str):
        mention = read_phrase(piece_text)
        if (weeks is not None and mention.axes.gestation_weeks is None
                and set(mention.words) & PREGNANCY_WORDS):
            mention = mention.model_copy(update={
                "axes": mention.axes.model_copy(update={"gestation_weeks": weeks})})
        return mention

    for piece in pieces:
        if not _may_name_a_condition(text[piece.start:piece.end]):
            continue  # "0905 PIV R hand #22": no word the index or its synonyms know
        mention = read(text[piece.start:piece.end])
        # Only a phrase some code fully accounts for is a diagnosis; a piece that is not
        # ("right upper lobe", "failed outpatient therapy") may complete the phrase before it.
        choices = choose_codes(mention) if mention.main_terms else []
        if set(mention.words) <= RECEPTOR_WORDS:
            # "Breast ca, HR+ HER2-, LUOQ": a receptor status qualifies the neoplasm before
            # it (ICD-TAB Z17: code first the malignant neoplasm); never a condition alone.
            choices = []
        listed = (_listed_conditions(text, piece.start, piece.end, read)
                  if choices and _sides_apart(text, piece.start, piece.end) else [])
        if choices and not listed:
            phrases.append((piece.start, piece.end, mention, choices[0].term))
            continue
        listed = (listed or _listed_conditions(text, piece.start, piece.end, read)
                  or _linked_conditions(text, piece.start, piece.end, read))
        if listed:
            phrases += listed
            if piece.statement:
                listed_statements.update(p[0] for p in listed)
            continue
        if phrases and _same_sentence(text, phrases[-1][1], piece.start) and not \
                _OWN_ASSERTION.match(text, piece.start, piece.end):
            start = phrases[-1][0]
            joined = read(text[start:piece.end])
            choices = choose_codes(joined) if joined.main_terms else []
            if choices:
                phrases[-1] = (start, piece.end, joined, choices[0].term)
    spans = [doc.char_span(a, b, alignment_mode="expand") for a, b, _, _ in phrases]
    kept = [(p, s) for p, s in zip(phrases, spans, strict=True) if s is not None]
    assert_spans(doc, [s for _, s in kept])
    groups: dict[tuple, list] = {}
    statement_at = {p.start for p in pieces if p.statement} | listed_statements
    for (start, end, mention, term), span in kept:
        if _NOT_ADDRESSED.search(text, start, _line_end(text, end)):
            continue  # "HTN - stable, not addressed today": no bearing on this visit
        assertion = _assertion_of_piece(span, historical or [])
        key = (tuple(mention.words), assertion)
        groups.setdefault(key, []).append((start, end, mention, term))
    facts: list[Diagnosis] = []
    at: dict[int, str] = {}
    for n, ((_, assertion), found) in enumerate(groups.items(), start=1):
        start, end, mention, term = found[0]
        first = Span(start=start, end=end)
        mention = mention.model_copy(update={"span": first})
        spans_of = {"text": first}
        side = _LATERALITY.search(text, start, end) if mention.axes.laterality else None
        if side is not None:
            spans_of["laterality"] = Span(start=side.start(), end=side.end())
        fact_id = f"D{n}"
        for s, _, _, _ in found:
            at[s] = fact_id
        facts.append(Diagnosis(
            id=fact_id, evidence=[Span(start=s, end=e) for s, e, _, _ in found],
            # The index main term the first code was found under ("bacteremia" for "MRSA
            # bacteremia"): the CDI rules key on it.
            field_spans=spans_of, text=text[start:end], concept=term,
            assertion=assertion, organism=mention.axes.organism,
            laterality=mention.axes.laterality, mention=mention,
            statement=start in statement_at))
    return facts, at


_AND = re.compile(r"\s+and\s+", re.I)
# ICD-G IV.J: code the coexisting conditions that require or affect care at this visit; one
# the provider says was not addressed today ("4. HTN - stable, not addressed today") is not.
_NOT_ADDRESSED = re.compile(r"\bnot (?:addressed|managed|evaluated|discussed)"
                            r"(?: (?:today|this visit|at this visit|during this visit))?\b", re.I)


def _line_end(text: str, at: int) -> int:
    """End of the line (one problem-list item) holding `at`."""
    end = text.find("\n", at)
    return len(text) if end < 0 else end


_SIDE = re.compile(r"\b(?:right|left|bilateral|R|L|rt|lt)\b", re.I)


def _sides_apart(text: str, start: int, end: int) -> bool:
    """Two or more parts around "and" each name their own side ("cellulitis of right forearm
    and gout of left great toe"): read whole, one part's side and site would be taken for
    the other's (ICD-G I.B.13: laterality is the side documented for that condition)."""
    pos, sided = start, 0
    for m in [*_AND.finditer(text, start, end), None]:
        part_end = m.start() if m else end
        sided += bool(_SIDE.search(text, pos, part_end))
        pos = m.end() if m else end
    return sided >= 2


def _listed_conditions(text: str, start: int, end: int, read) -> list:
    """"deep endometriosis of right ovary and endometriosis of pelvic peritoneum": a piece
    no code accounts for whole, whose parts around "and" (outside brackets) each name a
    codable condition, states those conditions one by one (ICD-G I.B.9 combines only what
    one code names). Every part must be codable, else the piece is left as it was."""
    from engine.dx_rules import choices_for as choose_codes

    depth, cuts = 0, []
    for m in _AND.finditer(text, start, end):
        before = text[start:m.start()]
        depth = before.count("(") - before.count(")")
        if depth == 0:
            cuts.append(m)
    if not cuts:
        return []
    out, pos = [], start
    for a, b in [*[(pos_m.start(), pos_m.end()) for pos_m in cuts], (end, end)]:
        part_start, part_end = pos, a
        while part_start < part_end and text[part_start].isspace():
            part_start += 1
        mention = read(text[part_start:part_end])
        choices = choose_codes(mention) if mention.main_terms else []
        if not choices:
            return []
        out.append((part_start, part_end, mention, choices[0].term))
        pos = b
    return out


_LINK = re.compile(r"\s+(?:from|secondary\s+to|due\s+to|caused\s+by|2/2)\s+", re.I)


def _linked_conditions(text: str, start: int, end: int, read) -> list:
    """"iron deficiency anemia secondary to chronic blood loss from gastric angiodysplasia
    with bleeding": a piece no code accounts for whole, cut at one linking word (outside
    brackets, the last first) into two parts that each a code accounts for whole: D50.0 and
    K31.811 (ICD-G I.B.9 combines only what one code names; each condition is coded).
    Else the piece is left as it was."""
    from engine.dx_rules import choices_for as choose_codes

    cuts = [m for m in _LINK.finditer(text, start, end)
            if text.count("(", start, m.start()) == text.count(")", start, m.start())]
    for m in reversed(cuts):
        out = []
        for a, b in ((start, m.start()), (m.end(), end)):
            mention = read(text[a:b])
            choices = choose_codes(mention) if mention.main_terms else []
            if not choices:
                break
            out.append((a, b, mention, choices[0].term))
        if len(out) == 2:
            return out
    return []


# A piece opening with its own cue ("no abscess", "r/o PE", "h/o DVT") never completes the
# phrase before it: joined, its cue would assert the whole phrase.
_OWN_ASSERTION = re.compile(
    r"\s*(?:no|not|non|without|denies|denied|negative|neg|possible|possibly|probable|"
    r"likely|suspected|suspect|questionable|r/o|rule\s+out|ruled\s+out|vs\.?|versus|"
    r"h/o|hx|history|s/p|status\s+post|resolved|family)\b", re.I)


def _same_sentence(text: str, end: int, start: int) -> bool:
    """True when only a comma, semicolon or a dash between words (and blanks) separate two
    pieces ("dehydration - adverse effect of chemotherapy")."""
    between = text[end:start]
    return "\n" not in between and "." not in between and len(between.strip(" ,;-–—")) == 0


_WORD = re.compile(r"[a-z][a-z'/.-]*[a-z]|[a-z]")
_LETTERS = re.compile(r"[a-z]+")


@cache
def _condition_words() -> frozenset[str]:
    """Words that can make a piece a diagnosis phrase: the index's main terms (alphabetic)
    and every word and abbreviation of the synonym file."""
    from engine.icd10cm_terms import term_index
    from extractor.dx_words import synonym_words, synonyms

    syn = synonyms()
    keys = {k for k in term_index().keys() if k.isalpha()}  # noqa: SIM118 (not a dict)
    for table in (syn.word, syn.abbr, syn.also):
        keys.update(k.lower() for k in table)
    return frozenset(keys | {w for w in synonym_words() if w.isalpha()})


# A vital sign ("SpO2 97% RA": room air, not rheumatoid arthritis; "RR 18", "T 37.4") or an
# oxygen reading on room air names no condition.
_VITAL_SIGN = re.compile(r"\s*(?:spo2|sao2|o2\s*sat\w*|sats?|pulse\s*ox\w*|pox|hr|rr|bp|"
                         r"temp|t|wt|ht|pain)\s*[:=]?\s*\d[\d./]*\s*(?:%|°?\s*[cf]\b|kg|"
                         r"cm|/10)?\s*(?:(?:on\s+)?(?:ra|room\s+air)\b)?"
                         # "SpO2 92% RA -> 2 L NC, 96%": the oxygen it was raised with
                         r"(?:\s*(?:->|→|>|then|on)\s*\d+(?:\.\d+)?\s*(?:l|lpm|l/min)?\s*"
                         r"(?:nc|nasal\s+cannula|nrb|mask|hfnc)?\b[\s,\d%]*)?\s*$", re.I)


def _may_name_a_condition(piece: str) -> bool:
    """Cheap test before reading a piece: a word the index or synonyms know, or a long word
    that is not common English (a possible misspelling the reader corrects); never a vital
    sign."""
    from extractor.lexicon import fuzzy_guard_words

    if _VITAL_SIGN.match(piece):
        return False
    lower = piece.lower()
    known = _condition_words()
    words = _WORD.findall(lower)
    if any(w in known or w.rstrip("s") in known for w in words):
        return True
    letters = _LETTERS.findall(lower)
    if any(w in known or w.rstrip("s") in known for w in letters):
        return True
    common = fuzzy_guard_words()
    return any(len(w) >= 6 and w not in common for w in letters)
