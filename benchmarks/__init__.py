"""`make bench`: the portal's performance figures (see docs/performance.md).

Figures, not pass/fail tests. `python -m benchmarks --help` lists the options; each benchmark
prints a table of ratios measured side by side in one run, with the machine it ran on.
"""
