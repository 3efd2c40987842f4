"""Versioned prompts from `prompts/<version>/`: system prompt, field guide, few-shot examples.

The note is passed as delimited data (`<note>...</note>`), after the instructions, so
text inside a note is read as data; the system prompt says instructions inside it are
ignored. Few-shot examples come from the dev split of `datasets/gold` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from extractor.llm.drafts import NoteDraft

PROMPT_VERSION = "v2"


@dataclass(frozen=True)
class PromptSet:
    version: str
    system: str
    fields: str
    examples: tuple[tuple[str, str], ...]  # (note text, answer JSON)
    repair: str = ""  # the re-ask after checks dropped something; "{reasons}" is filled in


@cache
def load_prompts(version: str = PROMPT_VERSION) -> PromptSet:
    """The prompt files of one version; each example answer is validated as a NoteDraft."""
    root = resources.files("prompts") / version
    data = json.loads((root / "examples.json").read_text(encoding="utf-8"))
    examples = tuple(
        (item["note"], NoteDraft.model_validate(item["answer"]).model_dump_json(exclude_none=True))
        for item in data["examples"]
    )
    repair = root / "repair.md"
    return PromptSet(version=version,
                     system=(root / "system.md").read_text(encoding="utf-8").strip(),
                     fields=(root / "fields.md").read_text(encoding="utf-8").strip(),
                     examples=examples,
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


def delimit(note: str) -> str:
    """The note as delimited data; a closing tag inside the note cannot end the block."""
    return "<note>\n" + note.replace("</note>", "</ note>") + "\n</note>"


def undelimit(content: str) -> str | None:
    """The note inside a message made by `delimit`, or None if the message is not one."""
    if not (content.startswith("<note>\n") and content.endswith("\n</note>")):
        return None
    return content[len("<note>\n"):-len("\n</note>")].replace("</ note>", "</note>")


def messages(note: str, prompts: PromptSet, repair: tuple[NoteDraft, list[str]] | None = None
             ) -> list[dict[str, str]]:
    """Chat messages for one note (or chunk): instructions, examples, then the note; for a
    repair, the first answer and the checker's own reasons after it."""
    chat = [{"role": "system", "content": prompts.system + "\n\n" + prompts.fields}]
    for example_note, answer in prompts.examples:
        chat.append({"role": "user", "content": delimit(example_note)})
        chat.append({"role": "assistant", "content": answer})
    chat.append({"role": "user", "content": delimit(note)})
    if repair is not None:
        first, reasons = repair
        chat.append({"role": "assistant", "content": first.model_dump_json(exclude_none=True)})
        chat.append({"role": "user", "content": prompts.repair.replace(
            "{reasons}", "\n".join(f"- {r}" for r in reasons))})
    return chat
