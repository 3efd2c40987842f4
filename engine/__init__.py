"""Deterministic rules engine: facts in, codes out."""

from engine.coder import code_facts
from engine.profiles import DEFAULT_PROFILE, Profile, load_profile, profile_names

__all__ = ["DEFAULT_PROFILE", "Profile", "code_facts", "load_profile", "profile_names"]
