"""Plain helpers the test areas share (not fixtures: those are in the conftest files).

``scenarios``: the snapshot folders under tests/snapshots/ and the facts the probes read from them;
``doctor``: the built-in checks and one check's verdict; ``install``: facts dictionaries, plans of the
scenarios, a recording runner.
"""
