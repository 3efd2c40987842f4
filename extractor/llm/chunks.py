"""Long notes are split on paragraph, line and sentence boundaries with overlap
(langchain-text-splitters); each chunk keeps its offset into the whole note."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    start: int  # offset of the chunk's first character in the whole note
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def split_note(text: str, size: int, overlap: int) -> list[Chunk]:
    """The note as one chunk when it fits, else overlapping chunks whose text is exactly
    `text[chunk.start:chunk.end]`."""
    if len(text) <= size:
        return [Chunk(0, text)]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=min(overlap, size // 2),
        separators=["\n\n", "\n", ". ", "; ", " ", ""], keep_separator="end",
        strip_whitespace=False, add_start_index=True)
    chunks = []
    for doc in splitter.create_documents([text]):
        start = doc.metadata["start_index"]
        if start < 0 or text[start:start + len(doc.page_content)] != doc.page_content:
            start = text.find(doc.page_content)  # never trust an offset without checking
        if start < 0:
            raise ValueError("a chunk could not be located in the note")
        chunks.append(Chunk(start, doc.page_content))
    return chunks
