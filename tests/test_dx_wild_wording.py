"""Note wording and claim rules found on the independent wild-dev corpus (branch icd-wild).
Each test uses a note written for it (not a corpus note) and fails without the rule or
vocabulary row it names."""

from __future__ import annotations

import pytest

from engine.dx_codes import choose_codes
from extractor.dx_terms import read_phrase
from notecoder.pipeline import code_note
from notecoder.schema import Setting


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


def icd(note: str) -> list[str]:
    return [c.code for c in code_note(note, Setting.FACILITY, "official").codes
            if c.system == "ICD-10-CM"]


def test_r_dx_09_unspecified_ckd_not_beside_its_stage():
    """ICD-G I.A.9.b: I12.9's use-additional note gives N18.9 for 'hypertensive kidney
    disease'; the stage stated in the next item is the CKD code, N18.9 is not kept."""
    note = ("Nephrology clinic - IV iron\n"
            "Assessment:\n"
            "- Hypertensive kidney disease\n"
            "- Chronic kidney disease, stage 3b\n"
            "- Anemia of iron deficiency\n")
    got = icd(note)
    assert "N18.32" in got and "I12.9" in got
    assert "N18.9" not in got


@pytest.mark.parametrize("phrase, expected", [
    # K50.8- "both small and large intestine": "both" adds nothing to the two sites named.
    ("Crohn disease involving small and large bowel w/ fistula", ["K50.813"]),
    ("Crohns of the ileum and colon, quiescent", ["K50.80"]),
    # K51.5- "Left sided colitis" sits under K51 Ulcerative colitis.
    ("Left sided ulcerative colitis w/ rectal bleeding", ["K51.511"]),
    ("left sided ulcerative colitis - in remission", ["K51.50"]),
])
def test_ibd_sites_as_notes_write_them(phrase, expected):
    assert codes(phrase) == expected


@pytest.mark.parametrize("phrase, expected", [
    # anti-CCP is no tabular axis; rheumatoid factor is (M05 vs M06).
    ("Seropositive RA (RF+, anti-CCP+)", ["M05.9"]),
    ("RA, anti-CCP positive", ["M06.9"]),
    # "multiple joints" = "of multiple sites"; a bracket listing the joints is that list.
    ("RA w/ RF, multiple joints", ["M05.79"]),
    ("RA, RF negative, multiple joints", ["M06.09"]),
    ("RF+ rheumatoid arthritis, polyarticular (MCPs, ankles, shoulders)", ["M05.79"]),
    ("rheumatoid arthritis with positive RF, L knee", ["M05.762"]),
])
def test_rheumatoid_arthritis_factor_and_multiple_sites(phrase, expected):
    assert codes(phrase) == expected


def test_order_dx_label_is_a_statement():
    """A nursing note copies the order's diagnosis ("Order dx:", "Dx on standing order:"):
    that line is a diagnostic statement, read without its label."""
    note = ("Injection clinic 3/2\nRN note. Dx per standing order: Vitamin B12 deficiency "
            "anemia due to intrinsic factor deficiency.\nB12 1000 mcg IM given L deltoid.")
    assert icd(note) == ["D51.0"]
    note = ("OP infusion 04/01\nOrder dx: ulcerative proctitis. Vedolizumab 300 mg IV "
            "0900-0930.")
    assert icd(note)[:1] == ["K51.20"]


def test_md_label_in_a_nursing_note_is_the_physician_statement():
    """'MD: ...' in a nursing note is the physician's impression: a symptom listed there is
    a diagnostic statement and is kept beside a definitive diagnosis (ICD-G IV.D, I.B.4-5
    only drop symptoms routinely part of the diagnosis read from narrative)."""
    note = ("Triage RN 2215: pt c/o headache, ate bad shellfish.\n"
            "MD: Vomiting; hypokalemia\n"
            "2230 ondansetron 4 mg IV push.")
    got = icd(note)
    assert "E87.6" in got and any(c.startswith("R11.1") for c in got)


def test_forward_cue_inside_a_bracket_negates_only_the_bracket():
    """'(no DTs, no seizures)' lists what the withdrawal lacks; the dependence is affirmed.
    A backward cue in a bracket ('(ruled out by CTA)') still negates the phrase."""
    note = ("ED physician note\nImpression:\n"
            "1. Alcohol dependence with withdrawal, uncomplicated (no seizures or hallucinations)\n"
            "2. Pulmonary embolism (ruled out by CTA)\n")
    assert icd(note) == ["F10.230"]


@pytest.mark.parametrize("phrase, expected", [
    # L23.7 "Allergic contact dermatitis due to plants, except food" (Index: poison ivy).
    ("allergic contact dermatitis from poison oak, face and arms", ["L23.7"]),
    ("Contact dermatitis - poison sumac", ["L23.7"]),
    ("poison oak exposure while hiking", []),  # no dermatitis stated: no code
])
def test_poison_ivy_oak_sumac_are_plants(phrase, expected):
    assert codes(phrase) == expected


def test_two_conditions_joined_by_and_are_each_coded():
    """One statement naming two conditions with "and" that no single code names: each part
    is coded on its own; a part that names no condition leaves the statement uncoded."""
    note = ("Pelvic pain clinic\n"
            "Dx: superficial endometriosis of left ovary and endometriosis of bladder\n")
    assert icd(note) == ["N80.112", "N80.A0"]


def test_each_condition_keeps_its_own_side_and_site():
    """ICD-G I.B.13: "cellulitis of right forearm and gout of left great toe" read whole gave
    the forearm's side to the toe (L03.031 right toe, M10.071 right foot: both wrong); each
    part with its own side is coded on its own."""
    note = "Walk-in clinic\nDx: cellulitis of right forearm and gout of left great toe\n"
    assert sorted(icd(note)) == ["L03.113", "M10.072"]
