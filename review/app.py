"""The review web app: coder queue, note review with highlighted evidence, CDI inbox, JSON API.

Server-rendered Jinja2 pages with a little plain JavaScript (no build step); the JSON API
under /api sits beside them (schema at /openapi.json; with the api_docs setting, a plain
reference page at /docs rendered here from that schema: no Swagger UI, nothing from a CDN).
Every endpoint but /login checks the session and the role; every state
change checks the CSRF token (`review.auth`). Coding never runs in a request: submitting a
note queues a durable job (`review.jobs`) that a worker (`notecoder worker`) runs.

Every response carries the security headers of `review.http_guards`; errors answer with one
sentence and never echo what was submitted (validation errors give field and problem only).
"""


import datetime as dt
import logging
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi import Path as InPath
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile  # request.form()'s (not FastAPI's subclass)
from starlette.exceptions import HTTPException as StarletteHTTPException

from notecoder.config import Settings
from notecoder.errors import NotecoderError
from notecoder.log_privacy import safe_message
from review import auth, explain, jobs, note_uploads, service
from review.db import NoteStatus, Role, User, session_factory, upgrade
from review.highlight import segments
from review.http_guards import BodyLimit, SecurityHeaders, StrictFormEncoding
from review.note_uploads import UploadedNote, UploadProblem

log = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATUS_LABELS = {NoteStatus.REREVIEW: "needs re-review"}  # a status as people read it
TEMPLATES.env.filters["status_label"] = lambda status: STATUS_LABELS.get(status, status)
# A code line's agreement (`--extractor both|llm`) as its badge says it, and what it means.
AGREEMENT_BADGES = {
    "both": ("both readers", "Found independently by the offline reader and by the LLM: "
             "two readers agree on the facts this line rests on."),
    "rules": ("offline reader only", "Found by the offline (rules) reader alone; the LLM did "
              "not find a fact this line rests on. Check the evidence."),
    "llm": ("LLM only", "Found by the LLM alone; the offline reader did not find a fact this "
            "line rests on. Check the evidence."),
}
TEMPLATES.env.globals["agreement_badges"] = AGREEMENT_BADGES
# The queue's agreement filter as the page offers it (value, label).
AGREEMENT_CHOICES = (("any", "any"), ("single", "one reader only"), ("llm", "LLM only"),
                     ("rules", "offline reader only"))
QUEUE_FILTERS = ("status", "coder", "since", "until", "assigned", "agreement")
AgreementFilter = Annotated[Literal["any", "single", "llm", "rules"], Query(
    description="Notes with a line of the current coding found by one reader only "
                "(`single`), by the LLM only (`llm`) or by the offline reader only "
                "(`rules`); `any` (default) filters nothing.")]
CODERS = (Role.CODER, Role.ADMIN)
PALETTE = 8  # evidence highlight colours (review.css .hl-0 ... .hl-7), one per code line
CDI = (Role.CDI, Role.ADMIN)
Id = Annotated[int, InPath(ge=1, le=service.MAX_INTEGER)]  # ids fit a 32-bit INTEGER
# Page numbers and sizes are clamped by the service; only their size is bounded here.
PageNo = Annotated[int, Query(ge=-service.MAX_INTEGER, le=service.MAX_INTEGER)]
DATABASE_BUSY = "The database is busy or unavailable; nothing was saved. Try again in a moment."
INTERNAL = "Internal error; nothing was saved. The server log names its type."


def _valid_unicode(value: object) -> object:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("the text is not valid Unicode (it holds a lone surrogate "
                                 "such as \\ud83d)") from None
    return value


class Body(BaseModel):
    """A JSON body: every text field must be valid Unicode (JSON allows lone surrogates)."""

    @field_validator("*", mode="after")
    @classmethod
    def _unicode(cls, value: object) -> object:
        return _valid_unicode(value)


class NoteIn(Body):
    text: str = Field(min_length=1)
    label: str = ""
    setting: str = "facility"
    profile: str = "official"


class SpanIn(BaseModel):
    start: int = Field(ge=0, le=service.MAX_INTEGER)
    end: int = Field(ge=0, le=service.MAX_INTEGER)


class DecisionIn(Body):
    action: str = Field(pattern="^(accept|reject|edit)$")
    reason: str = ""
    code: str | None = None
    units: int | str | None = None  # text as typed is checked like a form's ("4.5": refused)
    modifiers: list[str] | None = None
    revision: int | None = None  # the claim revision the client saw; stale -> 409
    confirm_unknown: bool = False  # keep a code the engine does not know (flagged)


class LineIn(Body):
    system: str
    code: str
    units: int | str | None = None
    modifiers: list[str] = Field(default_factory=list)
    reason: str
    revision: int | None = None
    confirm_unknown: bool = False
    evidence: list[SpanIn] = Field(default_factory=list, max_length=20)


class AckIn(Body):
    key: str = Field(max_length=80)
    revision: int | None = None


class AddendumIn(Body):
    text: str = Field(min_length=1)


class FinaliseIn(Body):
    revision: int | None = None


class UserIn(Body):
    username: str
    role: Role
    password: str


class QuestionIn(Body):
    question: str


class WithdrawIn(Body):
    reason: str = Field(default="", max_length=500)


class AnswerIn(Body):
    answer: str


def create_app(settings: Settings) -> FastAPI:
    """The app for one database (migrated on start) and one job queue."""
    url = settings.resolved_database_url()
    upgrade(url)
    jobs.prepare(settings)
    factory = session_factory(url)
    secure = settings.cookie_secure
    code_set = (settings.icd10cm_code_set,
                str(settings.icd10cm_tables_dir) if settings.icd10cm_tables_dir else None)

    def get_db() -> Iterator[Session]:
        # Endpoints that change data commit before they answer (the exit of a yield
        # dependency may run after the response is sent); this commit is a safety net.
        with factory() as db:
            try:
                yield db
                db.commit()
            except BaseException:
                db.rollback()
                raise

    Db = Annotated[Session, Depends(get_db)]
    Coder = Annotated[User, Depends(auth.require_role(get_db, *CODERS))]
    Cdi = Annotated[User, Depends(auth.require_role(get_db, *CDI))]
    Anyone = Annotated[User, Depends(auth.require_user(get_db))]
    Admin = Annotated[User, Depends(auth.require_role(get_db, Role.ADMIN))]

    from review.startup import server_secret

    app = FastAPI(title="notecoder review", version="1", docs_url=None, redoc_url=None,
                  description="Review queue and CDI inbox for notecoder.")
    app.state.auth_policy = auth.AuthPolicy(
        secret=server_secret(settings),
        idle=dt.timedelta(minutes=settings.session_idle_minutes),
        lifetime=dt.timedelta(hours=settings.session_lifetime_hours),
        failures_per_account=settings.login_failures_per_account,
        failures_per_address=settings.login_failures_per_address,
        failure_window=dt.timedelta(minutes=settings.login_failure_window_minutes))
    auth.set_login_concurrency(settings.login_concurrency)
    policy = app.state.auth_policy
    app.add_middleware(StrictFormEncoding)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")

    def sentence(request: Request, message: str, status: int) -> Response:
        """One sentence for the user: the error page for a browser, else JSON."""
        if "text/html" in request.headers.get("accept", ""):
            return TEMPLATES.TemplateResponse(request, "error.html", {"message": message},
                                              status_code=status)
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A person (a browser asking for HTML) gets a page; the API keeps FastAPI's JSON.
        if "text/html" not in request.headers.get("accept", ""):
            return await http_exception_handler(request, exc)
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"message": _http_sentence(exc), "user": None},
            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(NotecoderError)
    async def _user_error(request: Request, exc: NotecoderError) -> Response:
        status = 404 if isinstance(exc, service.NotFound) else (
            409 if isinstance(exc, service.StaleClaim) else 400)
        return sentence(request, str(exc), status)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default answer echoes the input (a whole note); say where and what only.
        problems = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                     "type": str(e.get("type", ""))} for e in exc.errors()]
        if "text/html" in request.headers.get("accept", ""):
            first = problems[0] if problems else {"loc": [], "msg": "invalid"}
            where = ".".join(map(str, first["loc"][1:] or first["loc"]))
            return sentence(request, f"The request is not valid ({where}: {first['msg']}).",
                            422)
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(UnicodeError)
    async def _bad_unicode(request: Request, exc: UnicodeError) -> Response:
        return sentence(request, "The request holds text that is not valid Unicode; nothing "
                        "was saved.", 400)

    @app.exception_handler(OverflowError)
    async def _too_big(request: Request, exc: OverflowError) -> Response:
        return sentence(request, "A number in the request is too large; nothing was saved.",
                        400)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> Response:
        # Handled here, so no traceback with SQL parameters (note text) reaches the log.
        log.warning("database error on %s %s: %s: %s", request.method, request.url.path,
                    type(exc).__name__, safe_message(exc))
        if isinstance(exc, OperationalError):
            return sentence(request, DATABASE_BUSY, 503)
        return sentence(request, INTERNAL, 500)

    def page(request: Request, name: str, **context) -> HTMLResponse:
        session = getattr(request.state, "login_session", None)
        context.update(user=getattr(request.state, "user", None),
                       csrf_token=session.csrf_token if session else "")
        return TEMPLATES.TemplateResponse(request, name, context)

    def enqueue(note) -> None:
        jobs.enqueue(settings, note.id, note.version)

    # --- login ---------------------------------------------------------------------------

    def login_page(request: Request, next_path: str, error: str | None = None,
                   status: int = 200) -> HTMLResponse:
        """The login form with a fresh double-submit token in the form and its cookie."""
        token = auth.new_login_csrf(policy.secret)
        response = TEMPLATES.TemplateResponse(request, "login.html", {
            "login_csrf": token, "next": auth.safe_next(next_path), "error": error,
            "user": None}, status_code=status)
        auth.set_login_csrf_cookie(response, token, secure)
        return response

    if settings.api_docs:
        @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
        def api_docs(request: Request) -> HTMLResponse:
            """The JSON API's endpoints from the OpenAPI schema, as a page that needs no
            network (Swagger UI would load its scripts from a CDN)."""
            return TEMPLATES.TemplateResponse(request, "api_docs.html", {
                "user": None, "operations": _operations(app.openapi())})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        """A bare answer with no database and no session: load balancers, and the load
        benchmark's yardstick for what the server itself costs."""
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return login_page(request, next)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, db: Db, username: Annotated[str, Form()],
              password: Annotated[str, Form()], login_csrf: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "/") -> Response:
        auth.check_login_csrf(request, login_csrf)
        try:
            session = auth.login(db, username, password, policy=policy,
                                 address=request.client.host if request.client else None,
                                 replaces=request.cookies.get(auth.SESSION_COOKIE))
        except auth.LoginThrottled as exc:
            refused = login_page(request, next, exc.message, 429)
            refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
        except auth.LoginBusy as exc:
            refused = login_page(request, next, exc.message, 429)
            refused.headers["Retry-After"] = "1"
            return refused
        db.commit()  # before the browser can use the cookie
        if session is None:
            return login_page(request, next, "Wrong user name or password.", 401)
        response = RedirectResponse(auth.safe_next(next), status_code=303)
        auth.set_session_cookie(response, session.token, secure, policy.lifetime)
        auth.clear_login_csrf_cookie(response, secure)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, db: Db, user: Anyone) -> Response:
        auth.logout(db, request.cookies.get(auth.SESSION_COOKIE, ""))
        db.commit()
        response = RedirectResponse("/login", status_code=303)
        auth.clear_session_cookie(response, secure)
        return response

    @app.get("/", include_in_schema=False)
    def home(user: Anyone) -> Response:
        return RedirectResponse("/cdi" if user.role == Role.CDI else "/queue", status_code=303)

    # --- coder pages -----------------------------------------------------------------------

    @app.get("/queue", response_class=HTMLResponse, include_in_schema=False)
    def queue_page(request: Request, db: Db, user: Coder, status: str = "", coder: str = "",
                   since: str = "", until: str = "", assigned: str = "",
                   agreement: str = "any", page_no: PageNo = 1) -> HTMLResponse:
        return queue_view(request, db, user, {"status": status, "coder": coder, "since": since,
                                              "until": until, "assigned": assigned,
                                              "agreement": agreement}, page_no)

    def queue_view(request: Request, db: Session, user: User, filters: dict[str, str],
                   page_no: int = 1, uploads: dict | None = None,
                   status_code: int = 200) -> HTMLResponse:
        """The queue page; `uploads`: the per-file results of an upload, shown above it."""
        # An unknown agreement filter (a hand-typed URL) shows every note, as a bad coder id
        # does.
        filters = {**filters, "agreement": _agreement(filters.get("agreement", ""))}
        listing = service.list_queue(db, filters["status"] or None, _int(filters["coder"]),
                                     _date(filters["since"]),
                                     _date(filters["until"], end=True), page_no,
                                     assigned=user.id if filters["assigned"] == "me" else None,
                                     agreement=filters["agreement"])
        response = page(request, "queue.html", listing=listing, statuses=list(NoteStatus),
                        agreements=AGREEMENT_CHOICES,
                        coders=service.coders(db), worker_running=service.worker_running(db),
                        counts=service.queue_counts(db, listing.notes), filters=filters,
                        uploads=uploads)
        response.status_code = status_code
        return response

    async def submit_form(request: Request, db: Session,
                          user: User) -> tuple[list[tuple[str, object]], list[UploadProblem]]:
        """Queue the queue page form's notes: the pasted one, each uploaded file and each
        note in an uploaded zip archive. Every file gets a result; one that cannot be read
        (or stored) is reported and the others are queued all the same."""
        form = await request.form()
        found: list[UploadedNote | UploadProblem] = []
        # Browsers send a textarea's line breaks as CRLF; the note is stored as written.
        pasted = str(form.get("text") or "").replace("\r\n", "\n")
        if pasted.strip():
            found.append(UploadedNote(str(form.get("label") or "pasted note"), pasted))
        uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile) and u.filename]
        limits = note_uploads.UploadLimits(settings.max_note_bytes, settings.max_zip_notes,
                                           settings.max_unzipped_bytes)
        for upload in uploads:  # inflating an archive is CPU work: off the event loop
            found += await run_in_threadpool(note_uploads.notes_from_file, upload.filename,
                                             upload.file, upload.size, limits)
        if not found:
            raise service.ReviewError("Paste a note or choose a file.")
        queued: list[tuple[str, object]] = []
        problems = [r for r in found if isinstance(r, UploadProblem)]
        setting = str(form.get("setting") or "facility")
        profile = str(form.get("profile") or "official")
        for result in found:
            if isinstance(result, UploadedNote):
                try:  # every check comes before the note is added: nothing to undo
                    queued.append((result.name, service.submit_note(
                        db, user, result.text, result.name, setting, profile,
                        settings.max_note_bytes, settings.extractor)))
                except NotecoderError as exc:
                    problems.append(UploadProblem(result.name, str(exc)))
        db.commit()
        for _, note in queued:
            enqueue(note)
        return queued, problems

    @app.post("/notes", include_in_schema=False)
    async def submit_notes(request: Request, db: Db, user: Coder) -> Response:
        queued, problems = await submit_form(request, db, user)
        if len(queued) == 1 and not problems:
            return RedirectResponse(f"/notes/{queued[0][1].id}", status_code=303)
        if not queued and len(problems) == 1:
            raise service.ReviewError(f"{problems[0].name}: {problems[0].message}")
        return queue_view(request, db, user, dict.fromkeys(QUEUE_FILTERS, ""),
            uploads={"queued": queued, "problems": problems},
            status_code=200 if queued else 400)

    @app.post("/api/uploads", status_code=202, tags=["coder"])
    async def api_upload(request: Request, db: Db, user: Coder) -> Response:
        """The queue page's form as multipart/form-data: `files` (note files and zip
        archives of .txt notes), optional `text` and `label`, `setting`, `profile`. Each
        file and archive member is queued or reported under `problems` with a sentence;
        400 when none was queued."""
        queued, problems = await submit_form(request, db, user)
        return JSONResponse({
            "detail": None if queued else "No note was queued.",
            "queued": [{"file": name, **_note_summary(note)} for name, note in queued],
            "problems": [{"file": p.name, "message": p.message} for p in problems]},
            status_code=202 if queued else 400)

    @app.get("/notes/{note_id}", response_class=HTMLResponse, include_in_schema=False)
    def note_page(request: Request, db: Db, user: Coder, note_id: Id) -> HTMLResponse:
        note = service.get_note(db, note_id)
        lines = service.current_lines(db, note)
        queries = service.current_queries(db, note)
        issues = service.claim_issues(db, note, code_set) if lines else []
        marks = [(f"line-{x.id}", x.evidence) for x in lines] + \
                [(f"query-{q.id}", q.evidence) for q in queries] + \
                [(f"issue-{n}", i.evidence) for n, i in enumerate(issues)]
        colours = {f"line-{x.id}": n % PALETTE for n, x in enumerate(lines)}
        return page(request, "note.html", note=note, lines=lines, queries=queries,
                    parts=segments(note.text, marks), trail=service.audit_trail(db, note_id),
                    worker_running=note.status != NoteStatus.QUEUED
                    or service.worker_running(db),
                    issues=list(enumerate(issues)), colours=colours,
                    explained={x.id: _explained(x, code_set) for x in lines})

    @app.post("/notes/{note_id}/lines/{line_id}", include_in_schema=False)
    async def decide_page(request: Request, db: Db, user: Coder, note_id: Id,
                          line_id: Id) -> Response:
        form = await request.form()
        service.decide_line(db, user, line_id, str(form.get("action") or ""),
                            str(form.get("reason") or ""), _opt(form.get("code")),
                            _units(form.get("units")),
                            _opt(form.get("modifiers")), _revision(form.get("revision")),
                            confirmed=bool(form.get("confirm_unknown")), code_set=code_set)
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/notes/{note_id}/lines", include_in_schema=False)
    async def add_line_page(request: Request, db: Db, user: Coder, note_id: Id) -> Response:
        form = await request.form()
        service.add_line(db, user, note_id, str(form.get("system") or ""),
                         str(form.get("code") or ""), _units(form.get("units")),
                         str(form.get("modifiers") or ""), str(form.get("reason") or ""),
                         _revision(form.get("revision")),
                         confirmed=bool(form.get("confirm_unknown")), code_set=code_set)
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/notes/{note_id}/accept-remaining", include_in_schema=False)
    async def accept_remaining_page(request: Request, db: Db, user: Coder,
                                    note_id: Id) -> Response:
        form = await request.form()
        service.accept_remaining(db, user, note_id, _revision(form.get("revision")), code_set)
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/notes/{note_id}/acknowledge", include_in_schema=False)
    async def acknowledge_page(request: Request, db: Db, user: Coder, note_id: Id) -> Response:
        form = await request.form()
        service.acknowledge(db, user, note_id, str(form.get("key") or "")[:80],
                            _revision(form.get("revision")), code_set)
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.get("/notes/{note_id}/next", include_in_schema=False)
    def next_page(db: Db, user: Coder, note_id: Id) -> Response:
        following = service.next_note(db, note_id)
        return RedirectResponse(f"/notes/{following}" if following else "/queue",
                                status_code=303)

    @app.post("/notes/{note_id}/addendum", include_in_schema=False)
    async def addendum_page(request: Request, db: Db, user: Coder, note_id: Id) -> Response:
        form = await request.form()
        note = service.add_addendum(db, user, note_id, str(form.get("text") or ""),
                                    settings.max_note_bytes)
        db.commit()
        enqueue(note)
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/api/notes/{note_id}/addendum", status_code=202, tags=["coder"])
    def api_addendum(db: Db, user: Coder, note_id: Id, body: AddendumIn) -> dict:
        note = service.add_addendum(db, user, note_id, body.text, settings.max_note_bytes)
        db.commit()
        enqueue(note)
        return _note_summary(note)

    @app.post("/notes/{note_id}/retry", include_in_schema=False)
    def retry_page(db: Db, user: Coder, note_id: Id) -> Response:
        note = service.requeue_failed(db, user, note_id)
        db.commit()
        enqueue(note)
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/api/notes/{note_id}/retry", tags=["coder"])
    def api_retry(db: Db, user: Coder, note_id: Id) -> dict:
        note = service.requeue_failed(db, user, note_id)
        db.commit()
        enqueue(note)
        return _note_summary(note)

    @app.post("/notes/{note_id}/finalise", include_in_schema=False)
    async def finalise_page(request: Request, db: Db, user: Coder, note_id: Id) -> Response:
        form = await request.form()
        service.finalise(db, user, note_id, _revision(form.get("revision")), code_set)
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.get("/export.{fmt}", include_in_schema=False)
    def export(db: Db, user: Coder, fmt: str) -> Response:
        if fmt not in ("csv", "json"):
            raise HTTPException(status_code=404)
        media = "text/csv" if fmt == "csv" else "application/json"
        return Response(service.export_claims(db, fmt), media_type=media, headers={
            "Content-Disposition": f'attachment; filename="claims.{fmt}"'})

    # --- CDI pages -------------------------------------------------------------------------

    @app.get("/cdi", response_class=HTMLResponse, include_in_schema=False)
    def cdi_page(request: Request, db: Db, user: Cdi) -> HTMLResponse:
        # One group per note (oldest query first): the note once, its open queries under it.
        by_note: dict[int, list] = {}
        for query in service.inbox(db):
            by_note.setdefault(query.note_id, []).append(query)
        now = dt.datetime.now(dt.UTC)
        groups = []
        for queries in by_note.values():
            note = queries[0].note
            parts = segments(note.text, [(f"query-{q.id}", q.evidence) for q in queries])
            groups.append((note, queries, parts, _age(now, note.submitted_at)))
        return page(request, "cdi.html", groups=groups)

    @app.post("/cdi/queries/{query_id}/send", include_in_schema=False)
    async def send_page(request: Request, db: Db, user: Cdi, query_id: Id) -> Response:
        form = await request.form()
        service.send_query(db, user, query_id, str(form.get("question") or ""))
        db.commit()
        return RedirectResponse("/cdi", status_code=303)

    @app.post("/cdi/queries/{query_id}/withdraw", include_in_schema=False)
    async def withdraw_page(request: Request, db: Db, user: Cdi, query_id: Id) -> Response:
        form = await request.form()
        service.withdraw_query(db, user, query_id, str(form.get("reason") or ""))
        db.commit()
        return RedirectResponse("/cdi", status_code=303)

    @app.post("/cdi/queries/{query_id}/answer", include_in_schema=False)
    async def answer_page(request: Request, db: Db, user: Cdi, query_id: Id) -> Response:
        form = await request.form()
        answer = str(form.get("answer_text") or "").strip() or str(form.get("answer") or "")
        if not answer.strip():
            raise service.ReviewError("Choose the provider's answer or type it in the "
                                      "provider's words; nothing was recorded.")
        note = service.answer_query(db, user, query_id, answer)
        db.commit()
        enqueue(note)
        return RedirectResponse("/cdi", status_code=303)

    # --- JSON API ----------------------------------------------------------------------------

    @app.get("/api/notes", tags=["coder"])
    def api_queue(db: Db, user: Coder, status: str | None = None,
                  coder: Annotated[int | None, Query(ge=1, le=service.MAX_INTEGER)] = None,
                  agreement: AgreementFilter = "any",
                  page_no: PageNo = 1, per_page: PageNo = 25) -> dict:
        """Notes newest first, filtered by status, submitting coder and agreement."""
        listing = service.list_queue(db, status, coder, page=page_no,
                                     per_page=min(max(per_page, 1), 100), agreement=agreement)
        return {"total": listing.total, "page": listing.page, "per_page": listing.per_page,
                "notes": [_note_summary(n) for n in listing.notes]}

    @app.get("/api/queue", tags=["coder"])
    def api_queue_rows(db: Db, user: Coder, status: str = "", coder: str = "",
                       since: str = "", until: str = "", assigned: str = "",
                       agreement: AgreementFilter = "any", page_no: PageNo = 1) -> dict:
        """The queue page's rows (polled by static/live.js): the page's filters (status,
        coder, since, until, assigned=me, agreement), and per note its lines, warnings and
        open CDI queries, submitter and assignee."""
        listing = service.list_queue(db, status or None, _int(coder), _date(since),
                                     _date(until, end=True), page_no,
                                     assigned=user.id if assigned == "me" else None,
                                     agreement=agreement)
        counts = service.queue_counts(db, listing.notes)
        return {"total": listing.total, "page": listing.page, "per_page": listing.per_page,
                "notes": [{**_note_summary(n), **counts[n.id],
                           "status_label": STATUS_LABELS.get(n.status, n.status),
                           "submitted_by": n.submitter.username,
                           "assigned_to": n.assignee.username if n.assignee else None}
                          for n in listing.notes]}

    @app.post("/api/notes/{note_id}/assign", tags=["coder"])
    def api_assign(db: Db, user: Coder, note_id: Id) -> dict:
        """Assign the note to the calling coder (audited)."""
        note = service.assign_to(db, user, note_id)
        db.commit()
        return {**_note_summary(note), "assigned_to": user.username}

    @app.post("/notes/{note_id}/assign", include_in_schema=False)
    def assign_page(db: Db, user: Coder, note_id: Id) -> Response:
        service.assign_to(db, user, note_id)
        db.commit()
        return RedirectResponse("/queue", status_code=303)

    @app.post("/api/notes", status_code=202, tags=["coder"])
    def api_submit(db: Db, user: Coder, body: NoteIn) -> dict:
        note = service.submit_note(db, user, body.text, body.label, body.setting, body.profile,
                                   settings.max_note_bytes, settings.extractor)
        db.commit()
        enqueue(note)
        return _note_summary(note)

    @app.get("/api/notes/{note_id}", tags=["coder"])
    def api_note(db: Db, user: Coder, note_id: Id) -> dict:
        note = service.get_note(db, note_id)
        return {**_note_summary(note), "text": note.text,
                "lines": [_line_json(x, code_set) for x in service.current_lines(db, note)],
                "queries": [_query_json(q) for q in service.current_queries(db, note)],
                "warnings": (note.result or {}).get("warnings", []),
                "claim": claim_state(db, note)}

    def claim_state(db: Session, note) -> dict:
        """What the page needs after a change: revision, status, issues in words."""
        issues = service.claim_issues(db, note, code_set)
        lines = service.current_lines(db, note)
        return {"revision": note.revision, "status": note.status,
                "open_lines": sum(x.status == "suggested" for x in lines),
                "blocking": sum(i.open for i in issues),
                "issues": [i.as_dict() for i in issues]}

    @app.post("/api/lines/{line_id}", tags=["coder"])
    def api_decide(db: Db, user: Coder, line_id: Id, body: DecisionIn) -> dict:
        line = service.decide_line(db, user, line_id, body.action, body.reason, body.code,
                                   _units(body.units), body.modifiers, body.revision,
                                   confirmed=body.confirm_unknown, code_set=code_set)
        db.commit()
        return {**_line_json(line, code_set), "claim": claim_state(db, line.note)}

    @app.post("/api/notes/{note_id}/lines", status_code=201, tags=["coder"])
    def api_add_line(db: Db, user: Coder, note_id: Id, body: LineIn) -> dict:
        line = service.add_line(db, user, note_id, body.system, body.code, _units(body.units),
                                body.modifiers, body.reason, body.revision,
                                confirmed=body.confirm_unknown, code_set=code_set,
                                evidence=[s.model_dump() for s in body.evidence])
        db.commit()
        return {**_line_json(line, code_set), "claim": claim_state(db, line.note)}

    @app.post("/api/notes/{note_id}/accept-remaining", tags=["coder"])
    def api_accept_remaining(db: Db, user: Coder, note_id: Id,
                             body: FinaliseIn | None = None) -> dict:
        """Accept every suggested line with no warning, flag or unknown units beside it."""
        accepted, left = service.accept_remaining(db, user, note_id,
                                                  body.revision if body else None, code_set)
        db.commit()
        note = service.get_note(db, note_id)
        return {"accepted": [_line_json(x, code_set) for x in accepted], "left": left,
                "claim": claim_state(db, note)}

    @app.post("/api/notes/{note_id}/acknowledge", tags=["coder"])
    def api_acknowledge(db: Db, user: Coder, note_id: Id, body: AckIn) -> dict:
        """Acknowledge one warning, flagged code or open CDI query (audited)."""
        issue = service.acknowledge(db, user, note_id, body.key, body.revision, code_set)
        db.commit()
        return {"issue": issue.as_dict(),
                "claim": claim_state(db, service.get_note(db, note_id))}

    @app.get("/api/notes/{note_id}/next", tags=["coder"])
    def api_next(db: Db, user: Coder, note_id: Id) -> dict:
        """The next note waiting for a coder after this one (null: none)."""
        return {"id": service.next_note(db, note_id)}

    @app.get("/api/codes", tags=["coder"])
    def api_codes(user: Coder, system: Annotated[str, Query(max_length=16)],
                  q: Annotated[str, Query(max_length=60)] = "") -> list[dict]:
        """Code look-up for type-ahead: code and description, at most 20."""
        if system not in ("CPT", "HCPCS", "ICD-10-CM"):
            raise service.ReviewError(f"Unknown code system '{system}'.")
        return explain.lookup(system, q, code_set)

    @app.post("/api/notes/{note_id}/finalise", tags=["coder"])
    def api_finalise(db: Db, user: Coder, note_id: Id,
                     body: FinaliseIn | None = None) -> dict:
        note = service.finalise(db, user, note_id, body.revision if body else None, code_set)
        db.commit()
        return _note_summary(note)

    @app.get("/api/notes/{note_id}/audit", tags=["coder"])
    def api_audit(db: Db, user: Coder, note_id: Id) -> list[dict]:
        service.get_note(db, note_id)
        return [{"at": e.at.isoformat(), "user": e.user.username if e.user else "worker",
                 "action": e.action, "target": e.target, "before": e.before, "after": e.after}
                for e in service.audit_trail(db, note_id)]

    @app.get("/api/queries", tags=["cdi"])
    def api_inbox(db: Db, user: Cdi) -> list[dict]:
        return [_query_json(q) for q in service.inbox(db)]

    @app.post("/api/queries/{query_id}/send", tags=["cdi"])
    def api_send(db: Db, user: Cdi, query_id: Id, body: QuestionIn) -> dict:
        query = service.send_query(db, user, query_id, body.question)
        db.commit()
        return _query_json(query)

    @app.post("/api/queries/{query_id}/answer", tags=["cdi"])
    def api_answer(db: Db, user: Cdi, query_id: Id, body: AnswerIn) -> dict:
        note = service.answer_query(db, user, query_id, body.answer)
        db.commit()
        enqueue(note)
        return _note_summary(note)

    @app.post("/api/queries/{query_id}/withdraw", tags=["cdi"])
    def api_withdraw(db: Db, user: Cdi, query_id: Id, body: WithdrawIn | None = None) -> dict:
        """Withdraw an open query (audited): out of the inbox, no longer blocks finalise."""
        query = service.withdraw_query(db, user, query_id, body.reason if body else "")
        db.commit()
        return _query_json(query)

    @app.get("/api/users", tags=["admin"])
    def api_users(db: Db, user: Admin) -> list[dict]:
        return [{"id": u.id, "username": u.username, "role": u.role, "active": u.active}
                for u in db.scalars(select(User).order_by(User.id))]

    @app.post("/api/users", status_code=201, tags=["admin"])
    def api_add_user(db: Db, user: Admin, body: UserIn) -> dict:
        from review.users import add_user

        new_id = add_user(url, body.username, body.role, body.password, actor_id=user.id)
        return {"id": new_id, "username": body.username, "role": body.role}

    @app.get("/api/me", tags=["session"])
    def api_me(request: Request, user: Anyone) -> dict:
        return {"username": user.username, "role": user.role,
                "csrf_token": request.state.login_session.csrf_token}

    return app


def _note_summary(note) -> dict:
    return {"id": note.id, "label": note.label, "status": note.status, "version": note.version,
            "setting": note.setting, "profile": note.profile,
            "submitted_at": note.submitted_at.isoformat() if note.submitted_at else None,
            "error": note.error, "revision": note.revision}


def _line_json(line, code_set=None) -> dict:
    found = {"id": line.id, "system": line.system, "code": line.code, "units": line.units,
             "modifiers": line.modifiers, "rule": line.rule, "rationale": line.rationale,
             "evidence": line.evidence, "status": line.status, "reason": line.reason,
             "change": line.change, "previous": line.previous, "flag": line.flag,
             "agreement": line.agreement}
    if code_set is not None:
        found.update(_explained(line, code_set))
    return found


def _explained(line, code_set) -> dict:
    """A line's description, MUE, and whether its rationale still describes it (an edit
    away from the engine's suggestion makes the rationale stale)."""
    suggested = line.suggested or {}
    stale = bool(suggested) and (suggested.get("code"), suggested.get("units")) != (
        line.code, line.units)
    return {"description": explain.description(line.system, line.code, code_set),
            "mue": explain.mue(line.system, line.code), "rationale_stale": stale,
            "suggested_as": f"{suggested.get('code')}"
                            + (f" × {suggested['units']}" if suggested.get("units") else "")
            if stale else None}


def _query_json(query) -> dict:
    return {"id": query.id, "note_id": query.note_id, "rule": query.rule,
            "question": query.question, "options": query.options, "evidence": query.evidence,
            "status": query.status, "answer": query.answer}


def _operations(schema: dict) -> list[dict]:
    """Each API operation of an OpenAPI schema: method, path, tag, summary, body schema."""
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {})
            ref = body.get("application/json", {}).get("schema", {}).get("$ref", "")
            found.append({"method": method.upper(), "path": path,
                          "tag": (operation.get("tags") or [""])[0],
                          "summary": operation.get("summary", ""),
                          "body": ref.rsplit("/", 1)[-1]})
    return sorted(found, key=lambda o: (o["tag"], o["path"], o["method"]))


def _http_sentence(exc: StarletteHTTPException) -> str:
    """What an HTTP error page says: the app's own sentence, else one for the status."""
    detail = exc.detail if isinstance(exc.detail, str) else ""
    phrase = HTTPStatus(exc.status_code).phrase
    if detail and detail != phrase:
        return detail if detail.endswith(".") else detail + "."
    return {404: "There is no such page.", 405: "That page cannot be used this way."}.get(
        exc.status_code, f"The request failed ({exc.status_code} {phrase}).")


def _age(now: dt.datetime, then: dt.datetime | None) -> str:
    """How long ago, in words a person reads at a glance: "5 min", "3 h 10 min", "2 d 4 h"."""
    if then is None:
        return "?"
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    minutes = max(0, int((now - then).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _opt(value) -> str | None:
    text = str(value or "").strip()
    return text or None


def _agreement(value: str) -> str:
    """A queue page's agreement filter: one of `service.AGREEMENT_FILTERS`, else "any"."""
    return value if value in service.AGREEMENT_FILTERS else "any"


def _int(value: str) -> int | None:
    """A form's whole number, or None (empty, not a number, or too large to store)."""
    value = value.strip()
    if not value.isdecimal() or len(value) > 10:
        return None
    number = int(value)
    return number if number <= service.MAX_INTEGER else None


def _units(value: object) -> int | None:
    """Units typed in a form: a whole number (checked for range by the service), or None
    when the field is empty; anything else ("4.5", "two") is refused, never ignored."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdecimal()):
        raise service.ReviewError("Units must be a whole number (such as 4, not 4.5); "
                                  "nothing was changed.")
    if len(text) > 40:
        raise service.ReviewError(f"Units must be at most {service.MAX_INTEGER:,}.")
    return int(text)


def _revision(value: object) -> int | None:
    """The claim revision a page's form carries (a hidden field), or None when absent."""
    text = str(value or "").strip()
    return int(text) if text.isdecimal() and len(text) <= 12 else None


def _date(value: str, end: bool = False) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return moment + dt.timedelta(days=1) if end else moment


def app_from_environment() -> FastAPI:
    """The app for the settings in the environment (uvicorn factory for several workers)."""
    from notecoder.config import get_settings
    from notecoder.log_privacy import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)  # a web worker process of `serve --processes N`
    return create_app(settings)
