"""Interoperability: FHIR (``fhir``), CDS Hooks cards (``cds_hooks``) and the published JSON
Schemas (``schemas``), each built from a report or an intake, never the other way.
"""
