"""Shared package of the MAM functions: domain logic and one adapter module per outside service.

Kept import-light on purpose: every submodule imports its heavy client libraries lazily, so a function pays
only for what it uses on a cold start.
"""
