"""Typed errors and exit statuses. Each message is one clear sentence for the user; none
holds note text."""

# Exit statuses of the `notecoder` command (documented in the README).
EXIT_OK, EXIT_PARTIAL, EXIT_INPUT, EXIT_LLM, EXIT_REGRESSION, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


class NotecoderError(Exception):
    """Base of every error shown to the user as one sentence, never a traceback."""


class InputNotFound(NotecoderError):
    """A path given on the command line does not exist or matches no file."""


class InputUnreadable(NotecoderError):
    """A note file exists but cannot be read (permissions, I/O error)."""


class EmptyNote(NotecoderError):
    """The note is empty or whitespace only."""


class NoteTooLarge(NotecoderError):
    """The note is larger than the configured limit."""


class NoteTimeBudgetExceeded(NotecoderError):
    """Reading the note took longer than its time budget."""


class NotText(NotecoderError):
    """The note is binary data or not valid UTF-8."""


class ConfigNotFound(NotecoderError):
    """NOTECODER_CONFIG names a file that does not exist."""


class InvalidFacts(NotecoderError):
    """A facts file does not match the shared schema."""


class UnknownProfile(NotecoderError):
    """No policy profile has the requested name."""


class LLMNotConfigured(NotecoderError):
    """The LLM extractor was asked for but no endpoint or model is set."""


class LLMError(NotecoderError):
    """The LLM could not give a usable answer for a note; nothing was coded from it."""


class LLMUnavailable(LLMError):
    """The endpoint refused the connection or could not be reached."""


class LLMTimeout(LLMError):
    """The endpoint did not answer within the configured timeout."""


class LLMRateLimited(LLMError):
    """The endpoint kept answering 429 Too Many Requests."""


class LLMServerError(LLMError):
    """The endpoint kept answering with a server error (5xx) or refused the request (4xx)."""


class LLMInvalidOutput(LLMError):
    """The answer was empty, truncated, not JSON, or not valid against the schema."""


class LLMReplayMissing(LLMError):
    """Replaying recorded traffic, a request had no recorded answer."""


class LLMBudgetSpent(LLMError):
    """The run's LLM token budget (`llm_token_budget`) is spent: no further call is made."""
