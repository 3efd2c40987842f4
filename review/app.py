"""The review web app: coder queue, note review with highlighted evidence, CDI inbox, JSON API.

Server-rendered Jinja2 pages with a little plain JavaScript (no build step); the JSON API
under /api sits beside them (OpenAPI at /docs). Every endpoint but /login checks the
session and the role; every state change checks the CSRF token (`review.auth`). Coding
never runs in a request: submitting a note queues a durable job (`review.jobs`) that a
worker (`notecoder worker`) runs.
"""


import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from notecoder.config import Settings
from notecoder.errors import NotecoderError
from review import auth, jobs, service
from review.db import NoteStatus, Role, User, session_factory, upgrade
from review.highlight import segments

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CODERS = (Role.CODER, Role.ADMIN)
CDI = (Role.CDI, Role.ADMIN)


class NoteIn(BaseModel):
    text: str = Field(min_length=1)
    label: str = ""
    setting: str = "facility"
    profile: str = "official"


class DecisionIn(BaseModel):
    action: str = Field(pattern="^(accept|reject|edit)$")
    reason: str = ""
    code: str | None = None
    units: int | None = None
    modifiers: list[str] | None = None


class LineIn(BaseModel):
    system: str
    code: str
    units: int | None = None
    modifiers: list[str] = Field(default_factory=list)
    reason: str


class UserIn(BaseModel):
    username: str
    role: Role
    password: str


class QuestionIn(BaseModel):
    question: str


class AnswerIn(BaseModel):
    answer: str


def create_app(settings: Settings) -> FastAPI:
    """The app for one database (migrated on start) and one job queue."""
    url = settings.resolved_database_url()
    upgrade(url)
    jobs.prepare(settings)
    factory = session_factory(url)
    secure = settings.cookie_secure

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

    app = FastAPI(title="notecoder review", version="1",
                  description="Review queue and CDI inbox for notecoder.")
    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")

    @app.exception_handler(NotecoderError)
    async def _user_error(request: Request, exc: NotecoderError) -> Response:
        status = 404 if isinstance(exc, service.NotFound) else 400
        if "text/html" in request.headers.get("accept", ""):
            return TEMPLATES.TemplateResponse(request, "error.html", {"message": str(exc)},
                                              status_code=status)
        return JSONResponse({"detail": str(exc)}, status_code=status)

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
        token = auth.new_login_csrf()
        response = TEMPLATES.TemplateResponse(request, "login.html", {
            "login_csrf": token, "next": auth.safe_next(next_path), "error": error,
            "user": None}, status_code=status)
        auth.set_login_csrf_cookie(response, token, secure)
        return response

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return login_page(request, next)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, db: Db, username: Annotated[str, Form()],
              password: Annotated[str, Form()], login_csrf: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "/") -> Response:
        auth.check_login_csrf(request, login_csrf)
        session = auth.login(db, username, password)
        db.commit()  # before the browser can use the cookie
        if session is None:
            return login_page(request, next, "Wrong user name or password.", 401)
        response = RedirectResponse(auth.safe_next(next), status_code=303)
        auth.set_session_cookie(response, session, secure)
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
                   since: str = "", until: str = "", page_no: int = 1) -> HTMLResponse:
        listing = service.list_queue(db, status or None, _int(coder), _date(since),
                                     _date(until, end=True), page_no)
        return page(request, "queue.html", listing=listing, statuses=list(NoteStatus),
                    coders=service.coders(db),
                    filters={"status": status, "coder": coder, "since": since,
                             "until": until})

    @app.post("/notes", include_in_schema=False)
    async def submit_notes(request: Request, db: Db, user: Coder) -> Response:
        form = await request.form()
        texts: list[tuple[str, str]] = []
        # Browsers send a textarea's line breaks as CRLF; the note is stored as written.
        pasted = str(form.get("text") or "").replace("\r\n", "\n")
        if pasted.strip():
            texts.append((str(form.get("label") or "pasted note"), pasted))
        for upload in form.getlist("files"):
            if isinstance(upload, UploadFile) and upload.filename:
                data = await upload.read(settings.max_note_bytes + 1)
                texts.append((upload.filename, _decode_upload(data, settings)))
        if not texts:
            raise service.ReviewError("Paste a note or choose a file.")
        notes = [service.submit_note(db, user, text, label, str(form.get("setting") or
                                     "facility"), str(form.get("profile") or "official"),
                                     settings.max_note_bytes, settings.extractor)
                 for label, text in texts]
        db.commit()
        for note in notes:
            enqueue(note)
        target = f"/notes/{notes[0].id}" if len(notes) == 1 else "/queue"
        return RedirectResponse(target, status_code=303)

    @app.get("/notes/{note_id}", response_class=HTMLResponse, include_in_schema=False)
    def note_page(request: Request, db: Db, user: Coder, note_id: int) -> HTMLResponse:
        note = service.get_note(db, note_id)
        lines = service.current_lines(db, note)
        queries = service.current_queries(db, note)
        marks = [(f"line-{x.id}", x.evidence) for x in lines] + \
                [(f"query-{q.id}", q.evidence) for q in queries]
        return page(request, "note.html", note=note, lines=lines, queries=queries,
                    parts=segments(note.text, marks), trail=service.audit_trail(db, note_id),
                    warnings=(note.result or {}).get("warnings", []))

    @app.post("/notes/{note_id}/lines/{line_id}", include_in_schema=False)
    async def decide_page(request: Request, db: Db, user: Coder, note_id: int,
                          line_id: int) -> Response:
        form = await request.form()
        units = str(form.get("units") or "").strip()
        service.decide_line(db, user, line_id, str(form.get("action") or ""),
                            str(form.get("reason") or ""), _opt(form.get("code")),
                            int(units) if units.isdigit() else None,
                            _opt(form.get("modifiers")))
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/notes/{note_id}/lines", include_in_schema=False)
    async def add_line_page(request: Request, db: Db, user: Coder, note_id: int) -> Response:
        form = await request.form()
        units = str(form.get("units") or "").strip()
        service.add_line(db, user, note_id, str(form.get("system") or ""),
                         str(form.get("code") or ""), int(units) if units.isdigit() else None,
                         str(form.get("modifiers") or ""), str(form.get("reason") or ""))
        db.commit()
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/notes/{note_id}/retry", include_in_schema=False)
    def retry_page(db: Db, user: Coder, note_id: int) -> Response:
        note = service.requeue_failed(db, user, note_id)
        db.commit()
        enqueue(note)
        return RedirectResponse(f"/notes/{note_id}", status_code=303)

    @app.post("/api/notes/{note_id}/retry", tags=["coder"])
    def api_retry(db: Db, user: Coder, note_id: int) -> dict:
        note = service.requeue_failed(db, user, note_id)
        db.commit()
        enqueue(note)
        return _note_summary(note)

    @app.post("/notes/{note_id}/finalise", include_in_schema=False)
    def finalise_page(db: Db, user: Coder, note_id: int) -> Response:
        service.finalise(db, user, note_id)
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
        items = []
        for query in service.inbox(db):
            parts = segments(query.note.text, [(f"query-{query.id}", query.evidence)])
            items.append((query, parts))
        return page(request, "cdi.html", items=items)

    @app.post("/cdi/queries/{query_id}/send", include_in_schema=False)
    async def send_page(request: Request, db: Db, user: Cdi, query_id: int) -> Response:
        form = await request.form()
        service.send_query(db, user, query_id, str(form.get("question") or ""))
        db.commit()
        return RedirectResponse("/cdi", status_code=303)

    @app.post("/cdi/queries/{query_id}/answer", include_in_schema=False)
    async def answer_page(request: Request, db: Db, user: Cdi, query_id: int) -> Response:
        form = await request.form()
        answer = str(form.get("answer_text") or "").strip() or str(form.get("answer") or "")
        note = service.answer_query(db, user, query_id, answer)
        db.commit()
        enqueue(note)
        return RedirectResponse("/cdi", status_code=303)

    # --- JSON API ----------------------------------------------------------------------------

    @app.get("/api/notes", tags=["coder"])
    def api_queue(db: Db, user: Coder, status: str | None = None, coder: int | None = None,
                  page_no: int = 1, per_page: int = 25) -> dict:
        listing = service.list_queue(db, status, coder, page=page_no,
                                     per_page=min(max(per_page, 1), 100))
        return {"total": listing.total, "page": listing.page, "per_page": listing.per_page,
                "notes": [_note_summary(n) for n in listing.notes]}

    @app.post("/api/notes", status_code=202, tags=["coder"])
    def api_submit(db: Db, user: Coder, body: NoteIn) -> dict:
        note = service.submit_note(db, user, body.text, body.label, body.setting, body.profile,
                                   settings.max_note_bytes, settings.extractor)
        db.commit()
        enqueue(note)
        return _note_summary(note)

    @app.get("/api/notes/{note_id}", tags=["coder"])
    def api_note(db: Db, user: Coder, note_id: int) -> dict:
        note = service.get_note(db, note_id)
        return {**_note_summary(note), "text": note.text,
                "lines": [_line_json(x) for x in service.current_lines(db, note)],
                "queries": [_query_json(q) for q in service.current_queries(db, note)],
                "warnings": (note.result or {}).get("warnings", [])}

    @app.post("/api/lines/{line_id}", tags=["coder"])
    def api_decide(db: Db, user: Coder, line_id: int, body: DecisionIn) -> dict:
        line = service.decide_line(db, user, line_id, body.action, body.reason, body.code,
                                   body.units, body.modifiers)
        db.commit()
        return _line_json(line)

    @app.post("/api/notes/{note_id}/lines", status_code=201, tags=["coder"])
    def api_add_line(db: Db, user: Coder, note_id: int, body: LineIn) -> dict:
        line = service.add_line(db, user, note_id, body.system, body.code, body.units,
                                body.modifiers, body.reason)
        db.commit()
        return _line_json(line)

    @app.post("/api/notes/{note_id}/finalise", tags=["coder"])
    def api_finalise(db: Db, user: Coder, note_id: int) -> dict:
        note = service.finalise(db, user, note_id)
        db.commit()
        return _note_summary(note)

    @app.get("/api/notes/{note_id}/audit", tags=["coder"])
    def api_audit(db: Db, user: Coder, note_id: int) -> list[dict]:
        service.get_note(db, note_id)
        return [{"at": e.at.isoformat(), "user": e.user.username if e.user else "worker",
                 "action": e.action, "target": e.target, "before": e.before, "after": e.after}
                for e in service.audit_trail(db, note_id)]

    @app.get("/api/queries", tags=["cdi"])
    def api_inbox(db: Db, user: Cdi) -> list[dict]:
        return [_query_json(q) for q in service.inbox(db)]

    @app.post("/api/queries/{query_id}/send", tags=["cdi"])
    def api_send(db: Db, user: Cdi, query_id: int, body: QuestionIn) -> dict:
        query = service.send_query(db, user, query_id, body.question)
        db.commit()
        return _query_json(query)

    @app.post("/api/queries/{query_id}/answer", tags=["cdi"])
    def api_answer(db: Db, user: Cdi, query_id: int, body: AnswerIn) -> dict:
        note = service.answer_query(db, user, query_id, body.answer)
        db.commit()
        enqueue(note)
        return _note_summary(note)

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
            "error": note.error}


def _line_json(line) -> dict:
    return {"id": line.id, "system": line.system, "code": line.code, "units": line.units,
            "modifiers": line.modifiers, "rule": line.rule, "rationale": line.rationale,
            "evidence": line.evidence, "status": line.status, "reason": line.reason}


def _query_json(query) -> dict:
    return {"id": query.id, "note_id": query.note_id, "rule": query.rule,
            "question": query.question, "options": query.options, "evidence": query.evidence,
            "status": query.status, "answer": query.answer}


def _opt(value) -> str | None:
    text = str(value or "").strip()
    return text or None


def _int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


def _date(value: str, end: bool = False) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return moment + dt.timedelta(days=1) if end else moment


def _decode_upload(data: bytes, settings: Settings) -> str:
    from notecoder.notes import decode_note

    return decode_note(data, settings.max_note_bytes)


def app_from_environment() -> FastAPI:
    """The app for the settings in the environment (uvicorn factory for several workers)."""
    from notecoder.config import get_settings

    return create_app(get_settings())
