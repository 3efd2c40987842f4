"""Diagnosis wordings that fresh6's notes and test6's first score showed coded wrongly or not
at all (issue 12), fixed in general form and written here in other wordings. Labels are
written by hand from the FY2026 tabular and the Index conventions cited beside each."""

from __future__ import annotations

import pytest

from eval.dx_phrases import code_phrase
from notecoder.schema import Setting
from tests.test_fresh45_reader import _lines


@pytest.mark.parametrize(("phrase", "codes"), [
    # I48.-: the ventricular rate and a conversion add no axis (never I49.01's "ventricular").
    ("Paroxysmal AF w/ rapid ventricular response", ["I48.0"]),
    ("Atrial fibrillation with controlled ventricular response, converted to NSR", ["I48.91"]),
    # Only the lung has upper/middle/lower lobes: C34.1-/C34.3- "bronchus or lung".
    ("Adenocarcinoma of the right lower lobe", ["C34.31"]),
    # ICD-G I.C.2: the cancer called metastatic is the primary when the site it spread to is
    # named beside it.
    ("Metastatic carcinoma of the pancreas, liver mets", ["C25.9", "C78.7"]),
    # GC = gonococcal (A54.-); trichomonal vaginitis is A59.01 (Index: Vaginitis, trichomonal).
    ("GC cervicitis", ["A54.03"]),
    ("trichomonal vaginitis", ["A59.01"]),
    # Index: Intoxication, alcoholic F10.92-; T51 Excludes2 acute alcohol intoxication.
    ("ETOH intoxication, uncomplicated", ["F10.920"]),
    # E89.0 inclusion terms: postirradiation / postsurgical hypothyroidism.
    ("Hypothyroidism after thyroidectomy", ["E89.0"]),
    # Index: Fracture, pathological, due to osteoporosis M80.- at the site.
    ("Osteoporotic fracture of right femur, initial encounter", ["M80.051A"]),
])
def test_phrase_codes(phrase, codes):
    assert code_phrase(phrase) == codes


def test_a_clinician_label_before_a_drug_adverse_effect_keeps_the_effect_code():
    note = """INFUSION NURSING NOTE 06/03/2026
Pt here for electrolytes only; panitumumab is not due until next week.
Mg 0.9 mg/dL yesterday.
Dr. Okoro: hypomagnesemia due to panitumumab - give magnesium sulfate 2 g IV.
1000 magnesium sulfate 2 g/50 mL IV started via port. 1100 complete.
"""
    lines = _lines(note)
    # E83.42 with the adverse effect of an antineoplastic (T45.1X5A), never the drug billed.
    assert "E83.42" in lines and "T45.1X5A" in lines
    assert not any(x.startswith("J9303") for x in lines)


def test_leuprolide_given_as_ongoing_therapy_adds_its_z79_after_prostate_cancer():
    note = """UROLOGY OFFICE 06/04/2026
Dx: prostate cancer on androgen deprivation, Lupron every 3 months since 2025.
1015 Lupron Depot 22.5 mg IM R gluteal, single-dose kit, entire dose given.
"""
    lines = _lines(note, Setting.PROFESSIONAL)
    # Z79.818 names leuprolide; its "code first" note names C61 (ICD-G I.A.13, I.C.21.c.3).
    assert "C61" in lines and "Z79.818" in lines
    assert lines.index("Z79.818") > lines.index("C61")
