"""Typed errors and exit statuses. Each message is one clear sentence for the user; none
holds note text."""

# Exit statuses of the `notecoder` command (documented in the README).
EXIT_OK, EXIT_PARTIAL, EXIT_INPUT, EXIT_REGRESSION, EXIT_INTERNAL = 0, 1, 2, 4, 70


class NotecoderError(Exception):
    """Base of every error shown to the user as one sentence, never a traceback."""


class InputNotFound(NotecoderError):
    """A path given on the command line does not exist or matches no file."""


class EmptyNote(NotecoderError):
    """The note is empty or whitespace only."""


class NoteTooLarge(NotecoderError):
    """The note is larger than the configured limit."""


class NotText(NotecoderError):
    """The note is binary data or not valid UTF-8."""


class InvalidFacts(NotecoderError):
    """A facts file does not match the shared schema."""


class UnknownProfile(NotecoderError):
    """No policy profile has the requested name."""
