"""Generate the ICD-10-CM code table and term index from the CMS tabular.

    python -m notecoder.refdata.build_icd_index            # writes engine/tables/
    python -m notecoder.refdata.build_icd_index --out DIR  # another folder (another year)

Reads the tabular that `simple-icd-10-cm` ships (build/test time only: the `build-tables`
and `test` extras; the runtime never imports it) and writes

- `icd10cm_fy2026_codes.tsv.gz`: every category, subcategory and code with its billable
  flag, parent, title, inclusion terms, Excludes1, code-first and use-additional notes,
  7th-character definitions and the 7th characters that exist under it;
- `icd10cm_fy2026_terms.tsv.gz`: the term index, one line per main term (the head noun of
  a title) holding every title and inclusion term under it as required / optional /
  negative word groups (`extractor.dx_words.title_terms`), after a `#words` line listing
  every word of the index (the reader's spelling vocabulary, so nothing is scanned at start);
- `icd10cm_fy2026_drugs.tsv.gz`: the Table of Drugs and Chemicals by substance
  (`notecoder.refdata.icd_drug_table`), from `--drug-table` (default: the FY2026 Table in
  `../shared/refdata/icd10cm/`; skipped with a note when it is not there).

How the index is derived is written up in `engine/tables/README.md`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import defaultdict
from pathlib import Path

from engine.icd10cm_terms import WORDS_KEY, TermIndex
from extractor.dx_words import inherited_terms, title_terms

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / "engine" / "tables"
CODE_SET = "fy2026"
RELEASE = "ICD-10-CM FY2026 (CMS tabular, April 1, 2026 update)"
SOURCE = "simple-icd-10-cm 1.5.0"
CODES_FILE = "icd10cm_{year}_codes.tsv.gz"
TERMS_FILE = "icd10cm_{year}_terms.tsv.gz"
DRUGS_FILE = "icd10cm_{year}_drugs.tsv.gz"
DRUG_TABLE = ROOT.parent / "shared" / "refdata" / "icd10cm" / "icd10cm_drug_2026_final.csv"
DRUG_RELEASE = "ICD-10-CM FY2026 Table of Drugs and Chemicals"
DRUG_SOURCE = "trinityconsultancy/AccuCoder icd10cm_drug_2026_final.csv @ 0921355"
CURATED_DRUGS = Path(__file__).resolve().parent / "curated" / "dx_drug_substances.csv"
CODE_COLUMNS = ["code", "billable", "parent", "title", "inclusion", "excludes1", "code_first",
                "use_additional", "seventh_def", "sevenths", "includes"]
SEP = " | "  # list items inside one cell (no title uses it)
# An inherited inclusion term with more word groups than this is a title no note line
# states in other words ("arteriosclerosis of native arteries of right leg with ulceration
# of thigh"): left to the code's own title, which keeps the index small to load.
MAX_INHERITED_GROUPS = 4
_INSTRUCTION = re.compile(r"(?i)(?:this (?:code|category|subcategory)|use (?:additional|this)|"
                          r"code (?:also|first)|note:)")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*[+-]?")


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def _cell(items) -> str:
    return SEP.join(_clean(i) for i in items if i and _clean(i))


def _note(text: str) -> str:
    # Multi-line notes ("code to identify control using:\ninsulin (Z79.4)") keep their lines.
    return _cell(text.split("\n")) if text else ""


def code_rows(icd) -> list[list[str]]:
    """One row per category / subcategory / code that is not a 7th-character extension."""
    rows = []
    for code in icd.get_all_codes(True):
        if not icd.is_category_or_subcategory(code) or icd.is_extended_subcategory(code):
            continue  # chapters and blocks (a block may share a category's name: M97)
        children = icd.get_children(code)
        ext = [c for c in children if icd.is_extended_subcategory(c)]
        sevenths = "".join(c[-1] for c in ext)
        for c in ext:
            # The 7th-character code is the parent padded with X to six characters.
            assert c.replace(".", "") == code.replace(".", "").ljust(6, "X") + c[-1], c
        billable = "1" if icd.is_leaf(code) else ("7" if ext else "0")
        defs = icd.get_seven_chr_def(code)
        parent = icd.get_parent(code)
        if parent == code:  # a category in a block of its own name (C50, M97)
            parent = icd.get_parent(code, prioritize_blocks=True)
        rows.append([
            code, billable, parent, _clean(icd.get_description(code)),
            _cell(icd.get_inclusion_term(code)), _cell(icd.get_excludes1(code)),
            _note(icd.get_code_first(code)), _note(icd.get_use_additional_code(code)),
            _cell(f"{k}={v}" for k, v in sorted(defs.items())), sevenths,
            _cell(icd.get_includes(code)),
        ])
    return rows


def _terms(inclusion: str, includes: str) -> list[str]:
    return [t for t in (inclusion + SEP + includes).split(SEP) if t]


def term_lines(rows: list[list[str]]) -> list[str]:
    """Term index lines: `key <TAB> json [[code, billable, required, optional, negative, src]]`."""
    by_key: dict[str, list] = defaultdict(list)
    by_code = {r[0]: r for r in rows}
    for code, billable, parent, title, inclusion, *_, includes in rows:
        if billable == "0":
            continue  # categories with children: the children are indexed
        sources = [("t", title, None)] + [("i", t, None) for t in _terms(inclusion, includes)]
        # Inclusion terms of the subcategories and category above the code (I.A.11); not
        # for external causes (V00-Y99), which no diagnosis line is coded to.
        above = by_code.get(parent) if not "V" <= code[0] <= "Y" else None
        while above is not None and above[1] == "0":
            sources += [("i", t, above[3]) for t in _terms(above[4], above[10])]
            above = by_code.get(above[2])
        seen = set()
        for src, text, ancestor in sources:
            if src == "i" and _INSTRUCTION.match(text.strip()):
                continue  # "This code is not for inpatient use": an instruction, no term
            if src == "i" and _ACRONYM.fullmatch(text.strip()):
                # "PRES", "PCP", "PTP", "PIN": an inclusion written as an acronym reads as
                # note words ("BP 118/74 pre", "PCP: Dr. Lee"); note acronyms are the
                # curated `abbr` rows (TIA, BPH) instead.
                continue
            parsed = (title_terms(text) if ancestor is None
                      else [p for p in inherited_terms(ancestor, title, text)
                            if len(p.required) <= MAX_INHERITED_GROUPS])
            for terms in parsed:
                entry = [code, int(billable), terms.required, terms.optional, terms.negative,
                         src]
                sig = json.dumps([terms.key, *entry[2:5]])
                if sig in seen:
                    continue
                seen.add(sig)
                by_key[terms.key].append(entry)
    lines = [f"{key}\t{json.dumps(entries, separators=(',', ':'))}"
             for key, entries in sorted(by_key.items())]
    # Every word of the index on one line, so the reader's speller needs no scan at start.
    words = TermIndex("#\n" + "\n".join(lines)).words()
    return [f"{WORDS_KEY}\t{' '.join(sorted(words))}", *lines]


def _header(kind: str) -> str:
    return f"# {kind}\t{RELEASE}\t{SOURCE}\tgenerated by notecoder.refdata.build_icd_index\n"


def render(icd) -> dict[str, bytes]:
    """File name -> gzip bytes (mtime 0, so a rebuild is byte-identical)."""
    rows = code_rows(icd)
    codes = _header("codes") + "\t".join(CODE_COLUMNS) + "\n" + "".join(
        "\t".join(r) + "\n" for r in rows)
    terms = _header("terms") + "".join(line + "\n" for line in term_lines(rows))
    return {
        CODES_FILE.format(year=CODE_SET): gzip.compress(codes.encode("utf-8"), mtime=0),
        TERMS_FILE.format(year=CODE_SET): gzip.compress(terms.encode("utf-8"), mtime=0),
    }


def render_drugs(table_csv: Path) -> bytes:
    """The Table of Drugs file as gzip bytes (mtime 0)."""
    from notecoder.refdata.icd_drug_table import COLUMNS, drug_lines

    text = (f"# drugs\t{DRUG_RELEASE}\t{DRUG_SOURCE}\tgenerated by "
            "notecoder.refdata.build_icd_index\n" + "\t".join(["words", *COLUMNS]) + "\n"
            + "".join(line + "\n" for line in drug_lines(table_csv, CURATED_DRUGS)))
    return gzip.compress(text.encode("utf-8"), mtime=0)


def main(argv: list[str] | None = None) -> int:
    """Write the generated ICD-10-CM files and print their sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TABLES, help="folder to write to")
    parser.add_argument("--drug-table", type=Path, default=DRUG_TABLE,
                        help="the Table of Drugs and Chemicals CSV")
    args = parser.parse_args(argv)
    import simple_icd_10_cm as icd  # build time only (~2 s to import)

    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in render(icd).items():
        (args.out / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes gzip")
    if args.drug_table.exists():
        data = render_drugs(args.drug_table)
        name = DRUGS_FILE.format(year=CODE_SET)
        (args.out / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes gzip")
    else:
        print(f"no Table of Drugs at {args.drug_table}: {DRUGS_FILE.format(year=CODE_SET)} "
              "left as it is")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
