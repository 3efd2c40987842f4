"""The LLM extraction path: prompts, an OpenAI-compatible client with instructor,
chunking, grounding of every quote, a response cache, and conversion to the shared schema."""
