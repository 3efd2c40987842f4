"""Three ASGI middlewares of the review app: security headers on every response, forms
whose text is not valid UTF-8 refused (Starlette would store U+FFFD or Latin-1 mojibake),
and request bodies over a size limit refused while they arrive (an upload of note files
and zip archives is otherwise spooled to disk whatever its size).

Headers: a Content-Security-Policy with no inline script or style (the pages load
`/static/review.js` and `/static/review.css` only) and `frame-ancestors 'none'`,
X-Frame-Options DENY, nosniff, no referrer, and `Cache-Control: no-store` on everything
but `/static/` (pages and API answers hold PHI).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notecoder.errors import NotecoderError

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
COMMON_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    def headers_for(self, path: str) -> dict[str, str]:
        headers = dict(COMMON_HEADERS)
        headers["Content-Security-Policy"] = CSP  # /docs too: it loads nothing else
        if not path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        if self.hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InvalidFormEncoding(NotecoderError):
    """A form field is not valid UTF-8 (e.g. `%FF`)."""

    def __init__(self) -> None:
        super().__init__("The form holds text that is not valid UTF-8; nothing was saved.")


def _check_utf8(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFormEncoding() from None


class _UrlencodedCheck:
    """Each field name and value, percent-decoded, must be UTF-8."""

    def __init__(self) -> None:
        self.name = bytearray()
        self.value = bytearray()
        self.parser = QuerystringParser({
            "on_field_name": lambda data, start, end: self.name.extend(data[start:end]),
            "on_field_data": lambda data, start, end: self.value.extend(data[start:end]),
            "on_field_end": self._end})

    def _end(self) -> None:
        for raw in (self.name, self.value):
            _check_utf8(unquote_to_bytes(bytes(raw).replace(b"+", b" ")))
            raw.clear()

    def write(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def finalize(self) -> None:
        self.parser.finalize()


class _MultipartCheck:
    """Each text field (a part without a file name) must be UTF-8; files are not looked at
    (notes uploaded as files get their own, stricter check)."""

    def __init__(self, boundary: bytes) -> None:
        self.header = bytearray()
        self.is_file = False
        self.data = bytearray()
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._header,
            "on_header_value": self._header, "on_header_end": self._header_end,
            "on_part_data": self._data, "on_part_end": self._end})

    def _begin(self) -> None:
        self.is_file = False
        self.data.clear()
        self.header.clear()

    def _header(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def _header_end(self) -> None:
        text = bytes(self.header).lower()
        if text.startswith(b"content-disposition") and b"filename" in text:
            self.is_file = True
        self.header.clear()

    def _data(self, data: bytes, start: int, end: int) -> None:
        if not self.is_file:
            self.data += data[start:end]

    def _end(self) -> None:
        if not self.is_file:
            _check_utf8(bytes(self.data))
        self.data.clear()

    def write(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def finalize(self) -> None:
        self.parser.finalize()


def _checker(content_type: str) -> _UrlencodedCheck | _MultipartCheck | None:
    kind, options = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        return _UrlencodedCheck()
    if kind == b"multipart/form-data" and options.get(b"boundary"):
        return _MultipartCheck(options[b"boundary"])
    return None


class StrictFormEncoding:
    """Form bodies are checked as the app reads them; a field that is not UTF-8 raises
    `InvalidFormEncoding` inside the app (answered 400 by its NotecoderError handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checker = None
        if scope["type"] == "http":
            checker = _checker(Headers(scope=scope).get("content-type", ""))
        if checker is None:
            await self.app(scope, receive, send)
            return

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                checker.write(message.get("body", b""))
                if not message.get("more_body", False):
                    checker.finalize()
            return message

        await self.app(scope, checked_receive, send)


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413, as soon as its Content-Length says
    so or its bytes pass the limit; the app's handlers answer with the sentence."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self) -> HTTPException:
        return HTTPException(413, f"The upload is larger than the limit of {self.max_bytes:,} "
                                  "bytes (setting NOTECODER_MAX_UPLOAD_BYTES); nothing was "
                                  "saved. Send fewer files at a time.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared.isdecimal() and int(declared) > self.max_bytes:
                raise self.too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self.too_large()
            return message

        await self.app(scope, limited_receive, send)
