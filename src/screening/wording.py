"""Directive and verdict wording in the library's own voice, each with a suggested fix.

Rules and the library support a clinician's judgement: a text may say what the sources say and
what to review, never tell the clinician what to do to the participant or pass a verdict on
them. This guard works on top of the rulebook's deny-list (``rulebook.FORBIDDEN_WORDING``): it
catches the phrasings reviewers found slipping through, and says how to rewrite each.
"""

from __future__ import annotations

import re

__all__ = ["DIRECTIVES", "directive_problems"]

_VERB = r"(?:give|giving|use|take|combine|start|offer|dose|administer|prescribe|mix|hold|run|go)"

# (pattern, what it does, how to say it instead)
DIRECTIVES = [
    (re.compile(rf"\bdo(?:es)? not {_VERB}\b|\bdon'?t {_VERB}\b", re.I), "gives an order",
     "say what the finding means and what to review, e.g. 'review whether to give ... with the prescriber'"),
    (re.compile(r"\b(?:not |un)suitable\b|\bnot (?:appropriate|a candidate|a good candidate)\b|\binappropriate for\b", re.I),
     "passes a verdict on the participant",
     "describe the finding and its risk; suitability is the clinician's judgement"),
    (re.compile(rf"\bnever {_VERB}\b", re.I), "gives an order",
     "attribute it to the sources, e.g. 'the sources treat combining X and Y as contraindicated; review ...'"),
    (re.compile(r"\bshould(?: not|n'?t| never)\b", re.I), "gives an order",
     "say who advises it and why, e.g. 'the label advises against ...', or what to consider"),
    (re.compile(r"\bproceed(?:s|ed|ing)?\b|\bgo ahead with the session\b", re.I), "decides whether the session goes on",
     "leave that decision to the clinician: say what to review before the session"),
    (re.compile(r"\b(?:is|are) (?:contraindicated|ruled out) for (?:this|the) (?:participant|person|patient)\b", re.I),
     "passes a verdict on the participant",
     "say what the sources contraindicate ('the label contraindicates X with Y'), not what the person is"),
]


def directive_problems(text: str) -> list[str]:
    """A message for each directive or verdict phrase in ``text``: the phrase, why, the fix."""
    found = []
    for pattern, what, fix in DIRECTIVES:
        hit = pattern.search(text)
        if hit:
            found.append(f"{hit.group(0)!r} {what}; {fix}")
    return found
