"""Versioned prompts from `prompts/<version>/`: system prompt, field guide, repair re-ask
and the pool of few-shot examples (chosen per chunk: extractor.llm.fewshot).

The note is passed as delimited data (`<note>...</note>`), after the instructions, so
text inside a note is read as data; the system prompt says instructions inside it are
ignored. A chunk's neighbour lines go in `<context>` blocks around it, to be read and not
reported. Few-shot examples come from the dev split of `datasets/gold` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

PROMPT_VERSION = "v3"


@dataclass(frozen=True)
class PromptSet:
    version: str
    system: str
    fields: str
    repair: str = ""  # the re-ask after checks dropped something; "{reasons}" is filled in


@cache
def load_prompts(version: str = PROMPT_VERSION) -> PromptSet:
    """The prompt files of one version (its examples: extractor.llm.fewshot.load_pool)."""
    root = resources.files("prompts") / version
    repair = root / "repair.md"
    return PromptSet(version=version,
                     system=(root / "system.md").read_text(encoding="utf-8").strip(),
                     fields=(root / "fields.md").read_text(encoding="utf-8").strip(),
                     repair=repair.read_text(encoding="utf-8").strip() if repair.is_file()
                     else "")


@cache
def prompts_digest(version: str = PROMPT_VERSION) -> str:
    """A hash of the content of every file of a prompt version (part of the cache key)."""
    return files_digest(resources.files("prompts") / version)


def files_digest(root) -> str:
    """sha256 over the names and bytes of the files in a folder, in name order."""
    import hashlib

    digest = hashlib.sha256()
    for item in sorted(root.iterdir(), key=lambda p: p.name):
        if item.is_file():
            digest.update(item.name.encode() + b"\x00" + item.read_bytes() + b"\x00")
    return digest.hexdigest()


def delimit(note: str, before: str = "", after: str = "") -> str:
    """The note as delimited data, with neighbour text (context only) around it; a tag
    inside the note or its context cannot end or open a block."""
    def context(text: str) -> str:
        quoted = text.replace("<note>", "< note>").replace("</note>", "</ note>")
        return "<context>\n" + quoted.replace("</context>", "</ context>") + "\n</context>"

    block = "<note>\n" + note.replace("</note>", "</ note>") + "\n</note>"
    return "\n".join([*([context(before)] if before else []), block,
                      *([context(after)] if after else [])])


def undelimit(content: str) -> str | None:
    """The note inside a message made by `delimit`, or None if the message is not one."""
    start, end = content.find("<note>\n"), content.rfind("\n</note>")
    if start < 0 or end < start + len("<note>"):
        return None
    return content[start + len("<note>\n"):end].replace("</ note>", "</note>")


def messages(note: str, prompts: PromptSet, examples=(), repair=None,
             context: tuple[str, str] = ("", "")) -> list[dict[str, str]]:
    """Chat messages for one note (or chunk): instructions, the chosen examples (note and
    answer each), then the note with its neighbour context; for a repair, the first answer
    and the checker's own reasons after it."""
    chat = [{"role": "system", "content": prompts.system + "\n\n" + prompts.fields}]
    for example in examples:
        chat.append({"role": "user", "content": delimit(example.note)})
        chat.append({"role": "assistant", "content": example.answer})
    chat.append({"role": "user", "content": delimit(note, *context)})
    if repair is not None:
        first, reasons = repair
        chat.append({"role": "assistant", "content": first.model_dump_json(exclude_none=True)})
        chat.append({"role": "user", "content": prompts.repair.replace(
            "{reasons}", "\n".join(f"- {r}" for r in reasons))})
    return chat
