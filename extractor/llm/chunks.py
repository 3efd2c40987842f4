"""Long notes are split into chunks sized in tokens, on paragraph, line and sentence
boundaries (langchain-text-splitters), each with a few lines of its neighbours as context.

A chunk holds as many note tokens as fit in the server's context window beside the
instructions, the few-shot examples, the neighbour context and the answer limit
(`chunk_tokens`). Chunks do not overlap: the lines before and after a chunk are sent as
context only, and a fact whose evidence starts there belongs to the neighbouring chunk
(extractor.llm.convert drops it from this one). Each chunk keeps its offset into the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from extractor.llm.tokens import estimate_tokens
from notecoder.errors import LLMNotConfigured

_CONTEXT_CHARS = 400  # at most this much neighbour text on each side
_CONTEXT_TOKENS = 200  # its estimated tokens (clinical text: about 2 characters a token)
TEMPLATE_TOKENS = 64  # chat-template tokens around the messages


@dataclass(frozen=True)
class Chunk:
    start: int  # offset of the chunk's first character in the whole note
    text: str
    before: str = ""  # neighbour lines before the chunk: context only
    after: str = ""  # neighbour lines after it: context only

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def context_start(self) -> int:
        return self.start - len(self.before)

    @property
    def context_end(self) -> int:
        return self.end + len(self.after)


def chunk_tokens(settings, instruction_tokens: int) -> int:
    """Note tokens (estimated) per chunk: `llm_chunk_tokens` when set, else what the
    context window leaves beside the instructions, the examples' budget, the neighbour
    context and the answer limit. A window too small to hold a chunk is a setting error."""
    if settings.llm_chunk_tokens is not None:
        return settings.llm_chunk_tokens
    context = 2 * _CONTEXT_TOKENS if settings.llm_context_lines else 0
    left = (settings.llm_context_window - instruction_tokens - settings.llm_examples_tokens
            - context - settings.llm_max_tokens - TEMPLATE_TOKENS)
    if left < 256:
        raise LLMNotConfigured(
            f"NOTECODER_LLM_CONTEXT_WINDOW ({settings.llm_context_window} tokens) leaves "
            f"{max(left, 0)} tokens for the note beside the instructions, examples "
            f"(NOTECODER_LLM_EXAMPLES_TOKENS) and the answer limit (NOTECODER_LLM_MAX_TOKENS);"
            " raise the window or lower the others.")
    return left


def _context(text: str, start: int, end: int, lines: int) -> tuple[str, str]:
    """Up to `lines` whole lines before `start` and after `end` (each side at most
    _CONTEXT_CHARS characters, cut at the far end)."""
    if lines == 0:
        return "", ""
    lo = start
    for _ in range(lines):
        if lo == 0:
            break
        lo = text.rfind("\n", 0, lo - 1) + 1
    hi = end
    for _ in range(lines):
        if hi >= len(text):
            break
        found = text.find("\n", hi + 1 if text[hi:hi + 1] == "\n" else hi)
        hi = len(text) if found == -1 else found + 1
    return (text[max(lo, start - _CONTEXT_CHARS):start],
            text[end:min(hi, end + _CONTEXT_CHARS)])


def split_note(text: str, tokens: int, context_lines: int = 0) -> list[Chunk]:
    """The note as one chunk when it fits in `tokens` (estimated), else consecutive
    chunks that cover it exactly (`text[c.start:c.end] == c.text`, each ending where the
    next starts), each with `context_lines` neighbour lines on either side."""
    if estimate_tokens(text) <= tokens:
        return [Chunk(0, text)]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=tokens, chunk_overlap=0, length_function=estimate_tokens,
        separators=["\n\n", "\n", ". ", "; ", " ", ""], keep_separator="end",
        strip_whitespace=False, add_start_index=True)
    bounds: list[int] = []
    at = 0
    for doc in splitter.create_documents([text]):
        found = text.find(doc.page_content, at)
        if found < 0:  # never trust an offset without checking
            raise ValueError("a chunk could not be located in the note")
        bounds.append(found)
        at = found + len(doc.page_content)
    bounds = [0, *bounds[1:], len(text)]  # consecutive: no text falls between two chunks
    chunks = []
    for lo, hi in pairwise(bounds):
        if hi > lo:
            before, after = _context(text, lo, hi, context_lines)
            chunks.append(Chunk(lo, text[lo:hi], before, after))
    return chunks
