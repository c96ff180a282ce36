"""Use cases with their own transactions: import, search, tagging, checks.

The CLI and the GUI call these and receive plain domain objects; neither holds a session.
"""
