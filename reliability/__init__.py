"""okxbot's reliability and security suite: attacks it the way production will and counts what got through.

`python -m reliability` (or `make reliability`) prints one table; `--quick` runs the reduced sizes
that `tests/test_reliability.py` runs inside `make test`.
"""
