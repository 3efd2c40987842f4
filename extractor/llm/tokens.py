"""A conservative token count for text sent to an LLM, without the model's tokenizer.

Chunks and the few-shot examples are sized in tokens, but the server's tokenizer is not
on this side of the wire. Clinical notes are dense in digits and abbreviations, which
tokenizers split finely (SmolLM2 counted 1.8 note characters per token, where prose is
about 4), so this estimate counts every digit and punctuation mark as a token and a word
as one token per 3 letters: it errs high (measured 1.4-1.6 x the server's count on the
recorded prompts, bench/bench_llm.py), so a chunk sized by it fits the real window.
"""

from __future__ import annotations

import re

_PIECES = re.compile(r"[A-Za-z]+|\d|\n|[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """At least as many tokens as a BPE tokenizer makes of `text` (an estimate)."""
    count = 0
    for piece in _PIECES.finditer(text):
        word = piece.group(0)
        count += -(-len(word) // 3) if word[0].isalpha() else 1
    return count


def chars_within(text: str, tokens: int) -> int:
    """How many leading characters of `text` fit in `tokens` estimated tokens."""
    count = 0
    for piece in _PIECES.finditer(text):
        word = piece.group(0)
        count += -(-len(word) // 3) if word[0].isalpha() else 1
        if count > tokens:
            return piece.start()
    return len(text)
