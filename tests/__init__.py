"""setupkit's tests. A package so that the shared helpers import by their full name (``tests.helpers``): pytest
puts the repository root on sys.path (``pythonpath`` in pyproject.toml), no test folder is added by hand."""
