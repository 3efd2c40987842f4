"""Versioned prompt files for the LLM extraction path (loaded by `extractor.llm.prompt`)."""
