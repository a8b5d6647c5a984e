"""Governance: the access policy and its roles, the feature server's tokens, and file modes."""
