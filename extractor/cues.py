"""Word cues the rule extractor reads around a drug mention (regular expressions as data)."""

from __future__ import annotations

import re

_I = re.IGNORECASE


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w/])(?:" + "|".join(alternatives) + r")(?![\w/])", _I)


START = _words(r"start(?:ed|ing|s)?", r"begin", r"began", r"begun", r"initiated", r"hung",
               r"on at", r"infusing at", r"from", r"at")
STOP = _words(r"stop(?:ped|s)?", r"end(?:ed|s)?", r"complete[ds]?", r"finish(?:ed|es)?",
              r"discontinued", r"d/c(?:'d)?", r"dc'd", r"off(?: at)?", r"until", r"till", r"to",
              r"done", r"through")
START_AFTER = _words(r"start(?:ed)?", r"begun", r"began", r"initiated", r"hung", r"given",
                     r"pushed", r"administered")
STOP_AFTER = _words(r"complete[d]?", r"finished", r"stopped", r"ended", r"discontinued",
                    r"d/c(?:'d)?", r"done", r"off", r"infused")
# "dexamethasone 10 mg PO (IV solution given orally)": the injectable form swallowed is an
# oral dose; "IV" there names the product, not the route.
ROUTE_IV = _words(r"IV(?![ \t]+(?:solution|formulation|preparation|form|product)\b[^\n)]{0,25}"
                  r"\b(?:orally|PO|by mouth|swallowed|oral)\b)", r"intravenous(?:ly)?", r"IVPB",
                  r"IVP", r"PIV", r"PICC", r"port")
# Eye, ear and nose drops, topical, inhaled and transdermal doses: no injectable code fits
# ("prednisolone acetate 1% 1 gtt OD" is no J2650 injection). "gtt" alone is a drip
# ("heparin gtt"), so only drops into an eye, ear or nostril count.
ROUTE_NOT_INJECTED = _words(r"gtts?[ \t]+(?:O[DSU]|A[DSU]|in(?:to)?[ \t]+(?:each|both|the|"
                            r"right|left|R|L)\b)", r"(?:eye|ear|nasal)[ \t]+drops?",
                            r"ophthalmic", r"otic", r"topical(?:ly)?", r"inhaled", r"nebuli[sz]ed",
                            r"via[ \t]+neb(?:ulizer)?", r"intranasal(?:ly)?", r"nasal[ \t]+spray",
                            r"transdermal", r"instilled", r"patch(?:es)?", r"cream",
                            r"ointment", r"(?:topical[ \t]+)?gel", r"jelly", r"swish(?:ed)?")
ROUTE_SC = _words(r"SC", r"SQ", r"subq", r"sub-q", r"subcut", r"subcutaneous(?:ly)?")
ROUTE_IM = _words(r"IM", r"intramuscular(?:ly)?")
# "poor PO intake", "poor PO", "tolerating PO", "PO challenge" describe eating and drinking,
# not a route of a dose.
ROUTE_ORAL = _words(r"(?<!poor )(?<!no )(?<!minimal )(?<!decreased )(?<!reduced )"
                    r"(?<!tolerating )(?<!tolerated )(?<!tolerate )(?<!taking )"
                    r"PO(?![ \t]+(?:intake|fluids?|challenge|trial|diet|liquids|status|"
                    r"tolerance|well))", r"by mouth", r"orally", r"oral", r"ODT", r"SL",
                    r"sublingual(?:ly)?", r"tabs?", r"tablets?", r"capsules?", r"chewed",
                    r"swallowed")
PUSH = _words(r"IVP", r"IV push", r"push(?:ed)?", r"slow IV push", r"pushed")
INFUSION = _words(r"infus(?:ed|ion|ing)", r"IVPB", r"piggyback", r"drip", r"bolus",
                  r"via pump", r"over")
INJECTION = _words(r"inject(?:ed|ion)", r"SC", r"SQ", r"subq", r"subcut", r"IM")
VEHICLE = _words(r"KVO", r"TKO", r"keep (?:the )?(?:vein|line) open", r"flush(?:ed|es|ing)?",
                 r"carrier", r"to prime", r"primed", r"(?:saline|heparin|hep) lock(?:ed)?",
                 r"locked", r"lock flush", r"line lock", r"catheter lock", r"port lock")
# "BOLUS COMPLETE 1000 ML ... / SALINE LOCK", "infused, then hep-locked": the access is
# locked after the fluid ended; the lock names no purpose of the fluid.
LOCKED_AFTER_END = re.compile(r"\b(?:complete[d]?|finished|infused|done|stopped|ended|"
                              r"d/c'?d)\b[^\n]{0,60}?(?:saline|heparin|hep)[- ]?lock(?:ed)?\b",
                              re.I)
# Drugs that, with a flush/lock cue, keep a line open rather than treat (R-ADMIN-14: a flush
# at the end is part of the administration; heparin/saline lock flush is not billed).
LOCK_DRUGS = frozenset({"heparin", "sodium chloride"})
# An access line taken out ("PIV removed 14:15", "IV d/c'd, catheter intact"): the time is
# the access's, no drug's. The words that end the alternation are added where it is used.
_ACCESS_ENDED = (r"(?:PIV|IV|PICC|saline lock|hep(?:arin)? lock|catheter)\b[^.;\n]{0,30}?\b"
                 r"(?:removed|d/c'?d|discontinued|pulled")
# A sentence about the patient after the drugs (observation, vitals, discharge) is not the
# continuation of the last administration: its times stop no drug.
NOT_A_CONTINUATION = re.compile(
    r"\s*(?:\d{3,4}\s*[-:]?\s*)?(?:post[- ]?(?:infusion|injection)\s+)?(?:observ\w*|monitor\w*|"
    r"vs\b|vitals|v/s\b|discharg\w*|d/c(?:'d)?\s+(?:home|ambulatory|to)|dispo\w*|"
    r"left\s+(?:the\s+)?(?:clinic|unit|department|ed)|ambulat\w*\s+out|"
    # "IV access: #22 L hand 09:30", "PIV placed 0915": the line's time is no drug's.
    r"(?:peripheral\s+)?(?:IV|PIV|port|PICC|line)\s+(?:access(?:ed)?|placed|inserted|started)\b|"
    # "PIV 20g L forearm placed 09:00": gauge and site before the verb.
    r"(?:PIV|IV|PICC)\s+#?\d{2}\s?(?:g|ga|gauge)\b[^.;\n]{0,30}?\b(?:placed|inserted|started)\b|"
    + _ACCESS_ENDED + r"|taken out)\b|"
    r"access(?:ed)?\b|"
    # "PHYSICIAN ATTESTATION - R. Okafor MD, 02/14/2026 11:02", "Electronically signed by
    # ... 14:20": the time a record was signed, not a drug's stop.
    r"(?:(?:physician|provider|attending|nurse|nursing|RN|MD)\s+)?(?:attestation|"
    r"(?:electronically\s+|e-?)?signed|co-?signed|signature|addendum)\b)", re.I)
# "RN: no reaction; PIV removed 10:25": the time a line was taken out (a sentence with only
# that time continues no drug).
ACCESS_REMOVED = re.compile(r"\b" + _ACCESS_ENDED + r")\b", re.I)
# A drug documented as long-term, recurring therapy (R-DX-07).
LONG_TERM = re.compile(
    r"\b(?:maintenance|long[- ]term|chronic\s+therapy|q\s?\d{1,2}\s?(?:wk|wks|weeks?|mo|"
    r"months?)\b|every\s+\d{1,2}\s+(?:weeks?|months?))", re.I)
# The count of a dose in a series ("dose #14", "infusion #6", "5th infusion"): long-term
# unless the sentence shows a short course (`SHORT_COURSE`).
DOSE_IN_SERIES = re.compile(
    r"\b(?:dose\s+#\s?\d{1,3}|infusion\s+#\s?\d{1,3}|(?:\d{1,3})(?:st|nd|rd|th)\s+"
    r"(?:dose|infusion))", re.I)
# A dose of a short course ("Rituximab 1,000 mg IV, infusion 1 of 2 (2nd dose day 15)",
# "loading dose", "induction"): its count in the series is no sign of a maintenance
# regimen (corpus convention 5: not for first doses or short induction courses).
SHORT_COURSE = re.compile(
    r"\b(?:(?:infusion|dose|injection)\s+#?\s?\d\s+of\s+\d\b|\d\s+of\s+\d\s+(?:infusions?|"
    r"doses?)|first\s+(?:dose|infusion)|initial\s+(?:dose|infusion)|loading\s+dose|"
    r"induction|(?:1st|2nd)\s+(?:dose|infusion))", re.I)
HYDRATION = _words(r"hydration", r"dehydrat\w*", r"rehydrat\w*", r"bolus",
                   r"fluid resuscitation", r"maintenance", r"volume repletion")
CHEMO = _words(r"chemo(?:therapy)?", r"antineoplastic")
CONCURRENT = _words(r"concurrent(?:ly)?", r"simultaneous(?:ly)?", r"at the same time",
                    r"running with", r"throughout (?:the )?infusion", r"alongside")
SEQUENTIAL = _words(r"followed by", r"then", r"sequential(?:ly)?", r"subsequently",
                    r"after (?:the )?\w+(?: \w+)? (?:was )?(?:complete|completed|finished|done)")
# Before a stated duration in its clause: the time is a symptom's, a wait's or an
# observation's, never a drug's ("stiffness is down to about 20 minutes", "He stayed for 30
# minutes of observation", "pain for 45 minutes before arrival").
NOT_INFUSION_TIME = re.compile(
    r"\b(?:reports?|reported|states?|stated|complains?|complained|c/o|endorses?|describes?|"
    r"lasting|lasted|stiffness|pain|aches?|aching|headache|nausea|vomit\w*|cramp\w*|"
    r"sleep\w*|walk\w*|symptoms?|onset|stayed|waited|wait|observ\w*|seizure|seized)\b", _I)
DILUENT_BEFORE = re.compile(r"(?:\bin|\binto|\bwith|\bdiluted (?:in|to|with)|\bmixed in|"
                            r"\badded to|/)"
                            r"\s*(?:[\d.,]+\s*(?:mL|ml|cc|L)\b)?\s*(?:of\s+)?$", _I)
# A fluid the drug runs into, not a drug of its own: "slow IV push via side arm of
# free-flowing NS", "into a running NS line", "via the Y-site of the NS carrier".
CARRIER_BEFORE = re.compile(r"\b(?:via|through|into|in|with|to)\s+(?:the\s+|a\s+)?"
                            r"(?:(?:side[- ]?(?:arm|port)|y[- ]?site)\s+(?:of\s+)?"
                            r"(?:the\s+|a\s+)?)?(?:free[- ]?flowing|running|carrier)\s*$", _I)
# A drug named as what another drug is reconstituted in: "reconstituted with 1 mL
# lidocaine 1%", "1 g vial + 2.1 mL lidocaine 1%", "lidocaine 1% (diluent)".
RECONSTITUTED_BEFORE = re.compile(r"(?:\b(?:re)?constituted|\breconst\.?|\bdiluted|\bmixed|"
                                  r"\bdissolved)"
                                  r"\s+(?:with|w/|in)\s*(?:[\d.,]+\s*(?:mL|ml|cc)\s+)?"
                                  r"(?:of\s+)?$|\+\s*[\d.,]+\s*(?:mL|ml|cc)\s+(?:of\s+)?$", _I)
DILUENT_AFTER = re.compile(r"\s*(?:[\d.]+\s*%\s*)?\(\s*(?:as\s+)?diluent\s*\)", _I)
INDICATION = _words(r"for", r"to treat", r"treatment of", r"indication:?", r"due to")
NO_WASTE = _words(r"no waste", r"no drug wasted", r"none wasted", r"nothing wasted",
                  r"no wastage", r"entire vial", r"full vial", r"no discarded drug",
                  r"0 mg wasted", r"waste: none", r"waste none", r"whole vial",
                  # A single-dose syringe, pen or kit given whole ("entire dose given SQ",
                  # "full dose SC"): nothing of the container is left.
                  r"entire dose", r"full dose", r"whole dose", r"entire syringe",
                  r"full syringe", r"entire contents", r"full contents",
                  # "SDV x2 = 1000 mg in NS 500 mL, all vials used": every container given.
                  r"all vials used", r"all vials given", r"all vials infused", r"all used",
                  # "Reclast complete - entire bottle infused": a bottle or bag run whole.
                  r"entire (?:bottle|bag|container)", r"full (?:bottle|bag|container)",
                  r"whole (?:bottle|bag|container)")
# "no waste", "none wasted" say there was none: never a waste amount.
WASTE = _words(r"(?<!no )(?<!none )(?<!nothing )(?:wasted|waste|discarded)")
VIAL = _words(r"vials?", r"single[- ]dose (?:vials?|bottles?)", r"bottles?", r"SDV")
FUTURE = _words(r"will", r"plan(?:ned|s)?", r"next", r"tomorrow", r"to be given",
                r"due (?:on|in)", r"schedule(?:d)? for", r"return(?:s)? in", r"consider")
# A medication stopped on an earlier date ("MTX stopped 2024 (intolerance)", "metformin
# discontinued 03/2025", "held since last month"): history, not a dose given today. A bare
# four-digit year reads as one only with "in"/"since"/a month before it or a reason after it
# ("heparin stopped 2015" is a stop time).
_STOPPED = r"\b(?:stopped|discontinued|d/c'?d|dc'?d|held|quit|off)\s+"
_MONTH = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?")
_REASON = r"(?=\s*\(|\s+(?:due|for|because|d/t|after|secondary)\b)"
STOPPED_BEFORE = re.compile(
    _STOPPED + r"(?:(?:in|since|on)\s+)?(?:\d{1,2}/){1,2}(?:19|20)\d{2}\b"
    + "|" + _STOPPED + r"(?:(?:in|since)(?:\s+" + _MONTH + r")?|" + _MONTH + r")\s+(?:19|20)\d{2}\b"
    # "carbo/etoposide + atezo (completed 1/2026)": a course completed in a month and year.
    + r"|\b(?:completed|finished|ended)\s+(?:in\s+)?(?:(?:0?[1-9]|1[0-2])/(?:19|20)\d{2}\b|"
    + _MONTH + r"\s+(?:19|20)\d{2}\b)"
    + "|" + _STOPPED + r"(?:\d+\s*(?:days?|weeks?|wks?|months?|mos?|years?|yrs?)\s+ago"
    r"|(?:since\s+)?last\s+(?:week|month|year))"
    # A course written with its years: "etanercept 50 mg SC weekly 2019-2022", "q8 weeks
    # from 2021 to 2023".
    r"|\b(?:daily|weekly|monthly|q\s?\d+\s?(?:wks?|weeks?|months?|mos?)|every \d+ (?:weeks|months))"
    r"\s*,?\s*\(?(?:from\s+)?(?:19|20)\d{2}\s*(?:-|–|to)\s*(?:(?:19|20)\d{2}\b|present\b)", _I)
# "stopped 2024 (intolerance)": a bare year is one only with no dose in the clause
# ("heparin 1,000 units/h stopped 2015 (bleeding)" is today's stop time with its reason).
STOPPED_YEAR = re.compile(_STOPPED + r"(?:19|20)\d{2}\b" + _REASON, _I)
# A drug named in a culture's susceptibility or an intolerance ("resistant to ciprofloxacin
# and levofloxacin", "sensitive to cefazolin", "intolerant of statins"): no dose given.
SUSCEPTIBILITY_BEFORE = re.compile(
    r"\b(?:resistant|resistance|sensitive|sensitivity|susceptible|susceptibility|"
    r"intolerant|intolerance|non-?susceptible)\s+(?:to|of|with)\s+"
    r"(?:(?!\b(?:given|gave|start(?:ed)?|received|administered|now|so|then|switch(?:ed)?|"
    r"changed|instead|but)\b)[^.;:()\n]){0,60}$"
    # "Susceptible: vancomycin, daptomycin. Resistant: oxacillin": a panel's columns.
    r"|\b(?:susceptible|sensitive|resistant|intermediate|susceptibilities|sensitivities)"
    r"\s*:\s*[^.;:()\n]{0,80}$", _I)
# A drug the patient has at home ("on home IV meropenem via PICC", "home infusion of
# cefepime"): a home medication, not a dose given here today.
HOME_BEFORE = re.compile(r"\bhome\s+(?:(?:IV|SC|SQ|IM|subq|infusions?(?:\s+of)?|"
                         r"antibiotics?|abx)\s+)?$", _I)
# A drug named as a laboratory value ("vancomycin trough 17.2", "tacrolimus level 8.1"), a
# drug-screen result ("UDS positive for benzodiazepines") or in a consent or risk talk
# ("risks of propofol and midazolam sedation reviewed"): no dose given.
LEVEL_AFTER = re.compile(r"\s*(?:trough|peak|levels?|lvl|random level|concentration|"
                         r"serum level|plasma level)\b", _I)
SCREEN_BEFORE = re.compile(r"(?:\b(?:positive|negative|pos|neg)\s+for|\b(?:UDS|tox(?:icology)?"
                           r" screen|drug screen|urine drug screen)\b)[^.;:\n]{0,40}$", _I)
CONSENT_BEFORE = re.compile(r"\b(?:risks?(?:,?\s+(?:and\s+)?benefits?)?(?:,?\s+and\s+"
                            r"alternatives)?\s+of|consent(?:ed)?\s+for)\s+[^.;:\n]{0,40}$", _I)
# A drug named as what a finding followed or answered ("pain still 8/10 after ketorolac",
# "no relief from Toradol", "responded to ondansetron"): a reference to a dose charted
# elsewhere, not one of its own, when nothing after the name gives it a dose or route
# (`REFERENCE_DOSE_AFTER`); "improved after morphine 4 mg IV" stays a dose.
REFERENCE_BEFORE = re.compile(
    r"\b(?:after|despite|since|following|(?:no|little|some|good|partial|minimal)\s+"
    r"(?:relief|improvement|effect|response)\s+(?:from|with|to|after)|relief\s+(?:from|with)|"
    r"(?:response|responded|responding|refractory|unresponsive)\s+to|relieved\s+by|"
    r"(?:improved|better|resolved)\s+(?:with|after|on|following))"
    r"\s+(?:the\s+|her\s+|his\s+|pt'?s\s+|prior\s+|earlier\s+|initial\s+)?$", _I)
# A drug named as the cause of a finding ("hypomagnesemia due to cetuximab", "rash
# secondary to vancomycin", "cetuximab-induced"): no dose of its own unless its own clause
# gives one (CAUSE_DOSE_AFTER, which stops at the clause's end).
CAUSE_BEFORE = re.compile(r"\b(?:(?:due|secondary|2/2|attributed|attributable|related)\s+to|"
                          r"caused\s+by|induced\s+by|d/t)\s+(?:the\s+|her\s+|his\s+|"
                          r"prior\s+|recent\s+)?$", _I)
CAUSE_DOSE_AFTER = re.compile(r"[^.;,\n]{0,30}?(?:\d|\b(?:IV|IVP|IVPB|IM|SC|SQ|subq|push|"
                              r"bolus|drip|infusion|given|administered)\b)", _I)
REFERENCE_DOSE_AFTER = re.compile(
    r"[^.;\n]{0,30}?(?:\d|\b(?:IV|IVP|IVPB|IM|SC|SQ|subq|push|bolus|drip|infusion|given|"
    r"administered)\b)", _I)
GIVEN = _words(r"given", r"administered", r"infused", r"hung", r"pushed", r"started",
               r"initiated", r"completed", r"received", r"injected", r"bolus(?:ed)?", r"ran",
               r"running", r"IVPB", r"IVP", r"IV", r"SC", r"SQ", r"IM")
SITE = re.compile(
    r"\b(?:(?:right|left|R|L)\s+(?:antecubital(?: fossa)?|AC|forearm|hand|wrist|upper arm|arm)"
    r"|PIV|PICC|port(?:-a-cath)?|central line)\b", _I)

# A pump the patient goes home with, or an implanted one: the start of a prolonged
# infusion through it is its own service (96416 / 96425; docs/rules-additions.md).
PORTABLE_PUMP = _words(r"CADD(?:[- ]\w+)?", r"ambulatory (?:infusion )?pump", r"portable pump",
                       r"elastomeric(?: pump)?", r"home (?:infusion )?pump", r"infusor",
                       r"pump (?:to go home|for home)", r"disconnect(?:ion)? (?:scheduled|on|in)")
IMPLANTED_PUMP = _words(r"implanted pump", r"intrathecal pump", r"SynchroMed")

# A dosing schedule is a medication the patient takes, not a dose given today ("on phenytoin
# 100 mg TID", "lisinopril 10 mg daily", "ondansetron 4 mg ODT q8h PRN").
SCHEDULE = _words(r"daily", r"BID", r"TID", r"QID", r"q\.?d", r"qhs", r"qam", r"qpm",
                  r"nightly", r"weekly", r"monthly", r"q\s?\d+\s?(?:h|hr|hrs|hours|wk|weeks?)",
                  r"every \d+ (?:hours|weeks|months)", r"PRN", r"as needed", r"twice a day",
                  r"once a day", r"at bedtime")
# A clause that says the dose was given now; with it a schedule word is part of an order.
GIVEN_NOW = _words(r"given", r"administered", r"pushed", r"injected", r"infused", r"started",
                   r"hung", r"today", r"now", r"this visit", r"in (?:the )?(?:ED|office|clinic)",
                   # "came in for her monthly Actemra": the visit is for today's dose.
                   r"c(?:ame|omes) in for", r"here for", r"presents? for", r"arrived for")

SINGLE_DOSE = _words(r"single[- ]dose", r"single[- ]use", r"SDV", r"SDVs",
                     r"preservative[- ]free vial", r"prefilled syringe", r"pre-filled syringe",
                     r"single-dose prefilled", r"auto-?injector")
MULTI_DOSE = _words(r"multi[- ]?dose", r"multiple[- ]dose", r"MDV", r"MDVs")
SC_INFUSION = _words(r"via (?:a )?pump", r"infus(?:ed|ion|ing)", r"pump", r"over \d+ ?(?:min|h)")
