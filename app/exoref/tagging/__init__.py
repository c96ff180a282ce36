"""Tagging by indication, MSC source and study type (pure core: no database, no Qt)."""
