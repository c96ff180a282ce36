"""Pure-Python domain objects: references, authors, tags, attachments, identifiers.

The lowest layer: imports nothing from the rest of ExoRef.
"""
