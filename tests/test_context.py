"""ConText assertions (extractor.context): scopes, termination, overlapping cues."""

from __future__ import annotations

from extractor.nlp import parse


def _assertions(text: str) -> dict[str, tuple[bool, bool, bool]]:
    return {e.text.lower(): (e._.is_negated, e._.is_uncertain, e._.is_historical)
            for e in parse(text).ents if e.label_ == "PROBLEM"}


def test_forward_negation_reaches_to_the_end_of_its_sentence_only():
    found = _assertions("No fever or pneumonia. Cellulitis of the leg.")
    assert found["fever"][0] and found["pneumonia"][0]
    assert not found["cellulitis"][0]


def test_a_terminating_cue_ends_the_negation_scope():
    found = _assertions("No fever, but pneumonia on the film.")
    assert found["fever"][0]
    assert not found["pneumonia"][0]


def test_backward_cue_negates_what_comes_before_it():
    assert _assertions("Pneumonia ruled out.")["pneumonia"][0]


def test_longest_overlapping_cue_wins_possible_not_negated():
    # "not ruled out" (possible) contains "ruled out" (negated): the longer cue stands.
    found = _assertions("Pneumonia not ruled out.")
    assert found["pneumonia"] == (False, True, False)


def test_historical_cue_and_case_sensitive_pattern():
    assert _assertions("PMH: asthma.")["asthma"][2]
    assert not _assertions("pmh asthma.")["asthma"][2]  # PMH matches only as written


def test_cues_in_one_sentence_do_not_reach_another_sentence_in_a_long_note():
    text = "No fever.\n" * 300 + "Cellulitis of the leg.\n"
    found = [e for e in parse(text).ents if e.label_ == "PROBLEM"]
    assert not found[-1]._.is_negated
    assert all(e._.is_negated for e in found[:-1])


def test_a_semicolon_ends_a_forward_negation_but_not_a_backward_one():
    drugs = {e.text.lower(): e._.is_negated for e in parse(
        "Zosyn not available; cefepime 2 g IV started 2210. Neulasta ordered for day 2; "
        "not given today.").ents if e.label_ == "DRUG"}
    assert drugs["cefepime"] is False and drugs["neulasta"] is True


def test_our_rule_wins_over_a_default_cue_on_the_same_words_in_every_process():
    # Ours: "declined" looks both ways; medspaCy's "decline" pattern looks forward only.
    found = _assertions("Nausea resolved, pt declined.")
    assert found["nausea"][0]


def test_without_inside_a_diagnosis_qualifies_it_and_other_inner_cues_still_negate():
    """"Migraine without aura" was read as a negated migraine (no code); "without" in a
    phrase is a qualifier as in the tabular's titles, while "denies ..." or "not supported"
    inside a phrase still negate it."""
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    def icd(note: str) -> list[str]:
        result = code_note(note, Setting.FACILITY, "official")
        return [c.code for c in result.codes if c.system == "ICD-10-CM"]

    assert "G43.009" in icd("MD dx: Migraine without aura, not intractable, without status "
                            "migrainosus.\n")
    assert "N30.00" in icd("Final diagnosis: Acute cystitis without hematuria.\n")
    assert icd("TODAY: denies nausea, abd pain or blood in stool.\n") == []
    assert "N12" not in icd("Dx: Pyelonephritis considered - not supported by UA, no fever.\n")


def test_does_not_meet_criteria_negates_what_it_names():
    from extractor.rules import extract

    def read(note: str) -> dict[str, str]:
        return {d.text: d.assertion.value for d in extract(note)[0].diagnoses}

    assert read("Sepsis considered; lactate normal, does not meet criteria.\n") == {
        "Sepsis considered": "negated"}
    assert read("SIRS, does not meet criteria for sepsis.\n").get("sepsis") == "negated"
