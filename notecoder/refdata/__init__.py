"""Build-time readers for CMS reference files and the builder of the code tables.

`python -m notecoder.refdata.build_tables` regenerates `engine/tables/hcpcs_drugs.csv`,
`engine/tables/mue_practitioner.csv` and `extractor/lexicons/drugs.csv` from the CMS
files; `notecoder data import-hcpcs` reuses the same readers at run time.
"""
