"""`setupkit doctor`: facts in, verdicts out.

catalog (checks/*.yaml, validated) -> engine (conditions, templates, functions, tables) -> findings -> report.
The deep probe (deep.py) adds TensorFlow's own answers, from a subprocess. Nothing here imports a framework.
"""
