"""Signing and encryption primitives: signed single-use states, secrets sealed at rest."""
