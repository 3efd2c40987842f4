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


@dataclass(frozen=True)
class AnswerForm:
    """How the answers in the chat (each example's, a repair's first one) are written, as
    the mode asks for its own: JSON text with defaults left out (json_schema,
    json_object_schema, json); JSON with `every_field` (strict json_schema: a strict schema
    requires every property, so an example without them shows an answer the schema
    forbids); or, in tools mode, a call of the tool named `tool` followed by its result."""

    every_field: bool = False
    tool: str | None = None

    def text(self, answer: str) -> str:
        """An answer (NoteDraft JSON) as this form writes it."""
        if not self.every_field:
            return answer
        from extractor.llm.drafts import NoteDraft

        return NoteDraft.model_validate_json(answer).model_dump_json()

    def turn(self, answer: str, call_id: str, result: str) -> list[dict]:
        """The assistant's answer and what follows it: in tools mode its tool call and the
        tool's `result` (every tool call needs its result before the next turn), else the
        answer as text and `result` as the next user turn."""
        if self.tool is None:
            return [{"role": "assistant", "content": self.text(answer)},
                    {"role": "user", "content": result}]
        call = {"id": call_id, "type": "function",
                "function": {"name": self.tool, "arguments": self.text(answer)}}
        return [{"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call_id, "content": result}]


# The tool's result after an example's call: the answer was taken (tools mode only).
EXAMPLE_RESULT = "OK"


def messages(note: str, prompts: PromptSet, examples=(), repair=None,
             context: tuple[str, str] = ("", ""), form: AnswerForm = AnswerForm()
             ) -> list[dict]:
    """Chat messages for one note (or chunk): instructions, the chosen examples (note and
    answer each, the answer written in `form`), then the note with its neighbour context;
    for a repair, the first answer and the checker's own reasons after it (in tools mode:
    the first call, and the reasons as its result)."""
    chat: list[dict] = [{"role": "system", "content": prompts.system + "\n\n" + prompts.fields}]
    for n, example in enumerate(examples, 1):
        chat.append({"role": "user", "content": delimit(example.note)})
        if form.tool is None:
            chat.append({"role": "assistant", "content": form.text(example.answer)})
        else:
            chat.extend(form.turn(example.answer, f"example-{n}", EXAMPLE_RESULT))
    chat.append({"role": "user", "content": delimit(note, *context)})
    if repair is not None:
        first, reasons = repair
        answer = first.model_dump_json() if form.every_field else first.model_dump_json(
            exclude_none=True)
        chat.extend(form.turn(answer, "answer-1", prompts.repair.replace(
            "{reasons}", "\n".join(f"- {r}" for r in reasons))))
    return chat
