"""The fault suite's machinery, shared by the tests (small runs) and `bench/reliability.py`
(the full runs): a throwaway review site, a worker process with injected faults, the
kill -9 run, and the tally that says whether every note was coded exactly once."""
