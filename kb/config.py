"""Configuration: embedded defaults, then instance/config.py, then KB_* environment variables.

The defaults run the whole application from the instance folder alone (SQLite database, Whoosh
index and file store under it), so a fresh machine needs nothing but `kb init`.
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

SECRET_KEY_FILE = "secret_key"


class ConfigurationError(RuntimeError):
    """A setting the application cannot start without; the message says which to set."""


class Defaults:
    # Filled in by create_app from the instance folder when not configured.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SEARCH_INDEX_PATH: str | None = None
    FILE_STORE_PATH: str | None = None
    # Where stored files live: file:///path (default: FILE_STORE_PATH, the instance's files/)
    # or s3://BUCKET/PREFIX on the S3-compatible server at S3_ENDPOINT_URL (unset: AWS), with
    # the credentials boto3 finds (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    # AWS_DEFAULT_REGION). Several nodes must share one store (kb/services/filestore.py).
    FILE_STORE_URL: str | None = None
    S3_ENDPOINT_URL: str | None = None

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 100 * 1024 * 1024  # bytes; larger request bodies get 413
    MAX_FILE_SIZE = 100 * 1024 * 1024  # bytes, per stored file (uploads and `kb import`)

    # Text extraction runs in a child process with these limits. "background": a worker thread
    # in the serving process picks up new files after each upload; "inline": the uploading
    # request or command waits for it (used by `kb import`).
    EXTRACTION_MODE = "background"
    # The queue of that work (kb/services/jobs.py): a claimed job's lease, renewed by a heartbeat
    # every third of it, so a dead process's job is taken over after at most this long; how
    # often an idle worker looks at the queue (other processes' work); threads per worker.
    JOB_LEASE_SECONDS = 60
    JOB_POLL_SECONDS = 2.0
    WORKER_THREADS = 1
    # `kb check` reports (and --repair removes) upload temporaries older than this.
    STRAY_UPLOAD_SECONDS = 3600
    EXTRACTION_TIMEOUT = 120  # seconds per file
    EXTRACTION_MEMORY_MB = 1536
    EXTRACTION_OCR = True  # when Tesseract is installed

    # Search. The index is written right after each commit that changed a resource ("inline");
    # "off" leaves the changes flagged for `kb check --repair` (only for maintenance).
    INDEXING_MODE = "inline"
    INDEX_WRITE_WAIT = 30.0  # seconds a writer waits for another process's writer
    # Every node's index follows the change log: other nodes' changes are applied this often
    # (at once on PostgreSQL, woken by NOTIFY); an entry missing from the sequence (a
    # transaction still open, or rolled back) is waited for this long before it is passed;
    # entries every node has applied are pruned after this many days.
    INDEX_POLL_SECONDS = 1.0
    INDEX_GAP_SECONDS = 120.0
    INDEX_LOG_KEEP_DAYS = 7
    INDEX_NODE_NAME: str | None = None  # default: host name and index folder
    SEARCH_TIME_LIMIT = 5.0  # seconds; a search that runs longer answers with what it found

    # Cookies: HttpOnly and SameSite always; Secure is on by default and must be switched off
    # explicitly (KB_SESSION_COOKIE_SECURE=0) for a plain-HTTP LAN install. Browsers treat
    # http://127.0.0.1 and localhost as secure, so the embedded defaults work on one machine.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "kb_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # None: the same as SESSION_COOKIE_SECURE, so "keep me signed in" works wherever signing in
    # does (a Secure-only remember cookie is silently dropped on a plain-HTTP LAN install).
    REMEMBER_COOKIE_SECURE: bool | None = None
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14

    WTF_CSRF_TIME_LIMIT = None  # tied to the session, which already expires

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Phnom_Penh"
    LANGUAGES = ("en", "km")
    LANGUAGE_COOKIE = "kb_lang"

    # Sign-in throttling (Flask-Limiter syntax), counting refused attempts only: per address and
    # e-mail together (each step waits longer), and per address alone (generous: a training
    # room shares one connection; also limits requests to join). Memory storage suits one
    # process; set RATELIMIT_STORAGE_URI (e.g. redis://) when several processes serve.
    SIGNIN_RATE_LIMIT = "5 per minute; 20 per hour; 50 per day"
    SIGNIN_ADDRESS_RATE_LIMIT = "120 per minute; 1000 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    # While that storage (Redis) cannot be reached, each process counts on its own in memory
    # (the same limits, per node) and goes back to it once it answers: sign-in keeps working
    # and keeps being limited, instead of failing with the storage.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True

    # Behind a reverse proxy, the number of proxies whose X-Forwarded-* headers are trusted.
    PROXY_FIX_HOPS = 0

    # E-mail for notifications (review decisions, submissions), sent after the commit through
    # this SMTP server; unset MAIL_SERVER means notifications stay in the application only.
    # MAIL_USE_TLS: STARTTLS on a plain connection (port 587); MAIL_USE_SSL: TLS from the start
    # (port 465). A failure to send is logged, never shown to the person who acted.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_FROM = "kb@localhost"
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_TIMEOUT = 10  # seconds
    # The address people reach the site at (e.g. https://kb.example.org), for links in e-mails
    # sent outside a web request; within one, the request's own address is used.
    PUBLIC_URL: str | None = None

    # OAI-PMH: identifiers are oai:<OAI_REPOSITORY_IDENTIFIER>:<id>. Unset, it is the host of
    # PUBLIC_URL, else "kb.ddwg"; set it (a domain name of yours) before the first harvest, as
    # harvesters keep the identifiers. OAI_ADMIN_EMAIL (else MAIL_FROM) is the address Identify
    # gives harvesters.
    OAI_REPOSITORY_IDENTIFIER: str | None = None
    OAI_ADMIN_EMAIL: str | None = None
    OAI_PAGE_SIZE = 100

    # `kb run` looks this often (seconds) for consultation notices that are due: opening, and
    # three days before the deadline; 0 switches it off (then run `kb notices` from cron).
    CONSULTATION_NOTICE_SECONDS = 3600

    RUN_HOST = "127.0.0.1"
    RUN_PORT = 5000
    RUN_THREADS = 8


def _coerce(raw: str, current):
    """Env values are strings; read them as the type the default has (JSON for lists and bools)."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int) and not isinstance(current, bool):
        return int(raw)
    if isinstance(current, (list, tuple, dict)):
        return json.loads(raw)
    return raw


def load_config(app, overrides: dict | None = None) -> None:
    """Apply defaults, instance/config.py, KB_* variables and test overrides, in that order."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key, raw in os.environ.items():
        if key.startswith("KB_") and key != "KB_INSTANCE_PATH":
            name = key[3:]
            app.config[name] = _coerce(raw, app.config.get(name))
    if overrides:
        app.config.update(overrides)
    if app.config.get("REMEMBER_COOKIE_SECURE") is None:
        app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    elif isinstance(app.config["REMEMBER_COOKIE_SECURE"], str):  # KB_REMEMBER_COOKIE_SECURE
        app.config["REMEMBER_COOKIE_SECURE"] = _coerce(app.config["REMEMBER_COOKIE_SECURE"], True)

    instance = Path(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["SQLALCHEMY_DATABASE_URI"] or (
        f"sqlite:///{instance / 'kb.sqlite3'}"
    )
    app.config["SEARCH_INDEX_PATH"] = app.config["SEARCH_INDEX_PATH"] or str(instance / "index")
    app.config["FILE_STORE_PATH"] = app.config["FILE_STORE_PATH"] or str(instance / "files")
    # Where thumbnails were kept before they moved into the file store (kb init moves them).
    app.config["THUMBNAIL_PATH"] = app.config.get("THUMBNAIL_PATH") or str(instance / "thumbnails")
    if not app.config.get("SECRET_KEY"):
        if shares_database(app.config["SQLALCHEMY_DATABASE_URI"]):
            # A key generated here would be this node's alone: sessions, CSRF tokens and
            # password-reset links made on one node would be refused by the others.
            raise ConfigurationError(
                "SECRET_KEY is not set. A shared database is configured, so every node must "
                "sign with the same key: set KB_SECRET_KEY (e.g. to the output of `python3 -c "
                "'import secrets; print(secrets.token_hex(32))'`) to one value on every node, "
                "or SECRET_KEY in instance/config.py.")
        app.config["SECRET_KEY"] = read_or_create_secret_key(instance)


def shares_database(url: str) -> bool:
    """Whether the database may be shared by several nodes: anything but SQLite, which lives
    in one machine's file system (only then may a node keep a key of its own)."""
    return not str(url).lower().startswith("sqlite")


def read_or_create_secret_key(instance: Path) -> str:
    """The secret key lives in the instance folder, created once with owner-only permissions.

    Several processes may start at once on a new instance: the key is written to a file of its
    own and then linked into place, which only one of them can do; the others read that one.
    So no process ever reads a half-written key or keeps a key the others do not share."""
    path = instance / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd, draft = tempfile.mkstemp(dir=instance, prefix=".secret_key-")  # owner-only (0600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:  # another process was first: use its key
            return path.read_text().strip()
    finally:
        os.unlink(draft)
    return key
