"""Authoring: tools for rule authors and reviewers that never run inside a screening: rule
examples (``examples``), ``rules new/check/test`` (``tools``), the generated pages (``docs``), the
rules diff (``rule_diff``) and the rule-file schemas (``rule_schemas``).
"""
