"""`setupkit diff A B`: what differs between two hosts, or one host at two times, fact by fact.

run (read each side: a snapshot through the host source and the probes, a doctor report from its JSON; compare
the facts) -> report (the text, key facts first, and the ``setupkit-diff/1`` document).
"""
