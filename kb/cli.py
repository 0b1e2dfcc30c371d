"""The `kb` command: a Flask CLI group built on create_app (see API.md for the contract)."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from kb.extensions import db
from kb.services.errors import DomainError


def _create_app():
    from kb import create_app
    from kb.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as error:  # a clear line, not a traceback
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             load_dotenv=False, set_debug_flag=False)
def main():
    """DDWG knowledge base: set up, manage and serve the application."""


main.add_command(shell_command)
main.add_command(routes_command)


def _fail(error: DomainError):
    raise click.ClickException(str(error.message))


FIRST_ADMIN_FILE = "first-admin.txt"


@main.command("init")
@click.option("--create-admin", "admin_email", metavar="EMAIL",
              help="Also create this administrator if no administrator exists yet; its "
                   "password is printed once and kept in instance/first-admin.txt.")
@with_appcontext
def init_command(admin_email: str | None):
    """Create or upgrade the database, the search index and the vocabularies. Safe to re-run."""
    from flask_migrate import upgrade

    from kb.search import check_index, ensure_index
    from kb.services import filestore, glossary, indexing
    from kb.services.vocabularies import seed_vocabularies
    from kb.setup_lock import setup_lock

    instance = Path(current_app.instance_path)
    # Several processes (or nodes sharing one database) may run this at once: one at a time.
    with setup_lock(str(instance), on_wait=lambda: click.echo(
            "Waiting for another `kb init` on this database to finish…", err=True)):
        upgrade(directory=current_app.extensions["migrate"].directory)
        added = seed_vocabularies()
        added["glossary terms"] = glossary.seed()
        index_path = current_app.config["SEARCH_INDEX_PATH"]
        created_index = ensure_index(index_path)
        ok, state = check_index(index_path)
        if created_index or not ok:  # new, or built by an older version: fill it from the database
            indexing.reindex(procs=os.cpu_count() or 1)
            state = "created" if created_index else f"rebuilt (was {state})"
        else:
            state = "present"
        files = filestore.prepare(Path(current_app.config["THUMBNAIL_PATH"]))
        from kb.search import responses as response_index
        from kb.services import response_search

        if response_index.ensure(response_search.index_path()):
            response_search.rebuild()  # new, or of an older schema: fill it from the database
        click.echo(f"Instance: {instance}")
        click.echo("Database: up to date")
        click.echo("Vocabularies added: " + ", ".join(f"{k} {v}" for k, v in added.items()))
        click.echo(f"Search index: {state}")
        click.echo(f"File store: {current_app.config['FILE_STORE_URL']} ({files})")
        if admin_email:
            _ensure_first_admin(admin_email, instance)


def _ensure_first_admin(email: str, instance: Path) -> None:
    from sqlalchemy import select

    from kb.models import Role, User
    from kb.services import accounts

    if db.session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        note = instance / FIRST_ADMIN_FILE
        if note.exists():
            click.echo(f"An administrator exists; its first sign-in details are in {note}")
        return
    password = secrets.token_urlsafe(12)
    try:
        accounts.create_user(email, "Administrator", "admin", password=password)
    except DomainError as error:
        _fail(error)
    note = instance / FIRST_ADMIN_FILE
    fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"e-mail: {email}\npassword: {password}\n"
                     "Change this password on the Account page after signing in, "
                     "then delete this file.\n")
    click.echo(f"Created the first administrator: {email} / {password}")
    click.echo(f"(also written to {note}; change the password after signing in)")


@main.group("users")
def users_group():
    """Manage user accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name.")
@click.option("--role", type=click.Choice(["member", "contributor", "editor", "admin"]),
              default="member", show_default=True)
@click.option("--org", help="Short name of the person's organisation, e.g. CARD.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email, name, role, org, password_stdin):
    """Create a user account."""
    from kb.services import accounts

    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password, generated = secrets.token_urlsafe(12), True
    try:
        user = accounts.create_user(email, name, role, password=password, org=org)
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.role.value} {user.email}", err=True)
    if generated:
        click.echo(f"Password: {password}")


@users_group.command("list")
@with_appcontext
def users_list():
    """List user accounts."""
    from sqlalchemy import select

    from kb.models import User

    for user in db.session.scalars(select(User).order_by(User.email)):
        click.echo(f"{user.email}\t{user.role.value}\t{user.status.value}\t{user.name}")


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_set_password(email, password_stdin):
    """Set a user's password (signs them out everywhere)."""
    from kb.services import accounts

    user = accounts.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user {email}")
    password = (sys.stdin.readline().rstrip("\r\n") if password_stdin
                else click.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        accounts.set_password(user, password)
    except DomainError as error:
        _fail(error)
    click.echo("Password changed.", err=True)


@main.group("tokens")
def tokens_group():
    """Manage API tokens."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--label", default="", help="What the token is for.")
@with_appcontext
def tokens_create(email, label):
    """Print a new API token for EMAIL (the token alone, on one line)."""
    from kb.services import accounts

    user = accounts.get_user_by_email(email)
    if user is None or not user.is_active:
        raise click.ClickException(f"No active user {email}")
    click.echo(accounts.create_token(user, label=label or "kb tokens create"))


def _acting_user(email: str | None):
    """The user an import acts as: the one named, else the first active administrator."""
    from sqlalchemy import select

    from kb.models import AccountStatus, Role, User
    from kb.services import accounts

    if email:
        user = accounts.get_user_by_email(email)
        if user is None or not user.is_active:
            raise click.ClickException(f"No active user {email}")
        return user
    user = db.session.scalar(select(User).where(User.role == Role.ADMIN,
                                                User.status == AccountStatus.ACTIVE)
                             .order_by(User.id).limit(1))
    if user is None:
        raise click.ClickException("No administrator exists yet: create one with "
                                   "`kb users create EMAIL --role admin` or pass --as EMAIL.")
    return user


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--kind", default="reform_document", show_default=True,
              type=click.Choice(["reform_document", "expert_presentation", "best_practice",
                                 "training_material", "meeting_record", "policy_feedback"]),
              help="Kind of resource, unless the manifest says otherwise.")
@click.option("--objective", "objectives", multiple=True, type=click.Choice(["1", "2", "3"]),
              help="An objective the files serve (repeatable).")
@click.option("--lang", type=click.Choice(["en", "km"]), help="Language of the files.")
@click.option("--tag", "tags", multiple=True, help="A tag for every file (repeatable).")
@click.option("--org", help="Organisation short name, e.g. CARD.")
@click.option("--visibility", type=click.Choice(["public", "members"]), default="public",
              show_default=True)
@click.option("--publish", is_flag=True, help="Publish at once (the acting user must be an editor).")
@click.option("--as", "as_email", metavar="EMAIL",
              help="Act as this user [default: the first administrator].")
@click.option("--workers", type=int, default=None, help="Extractions at a time [default: cores].")
@with_appcontext
def import_command(paths, kind, objectives, lang, tags, org, visibility, publish, as_email,
                   workers):
    """Import files and folders (recursively); a manifest.csv in a folder describes its files."""
    from tqdm import tqdm

    from kb.services import importer

    actor = _acting_user(as_email)
    files = importer.collect_files(paths, exclude=[current_app.instance_path])
    defaults = {"kind": kind, "visibility": visibility}
    if objectives:
        defaults["objectives"] = list(objectives)
    if lang:
        defaults["language"] = [lang]
    if tags:
        defaults["tags"] = list(tags)
    if org:
        defaults["org"] = org
    with tqdm(total=len(files), unit="file", desc="Storing", file=sys.stderr,
              disable=None, dynamic_ncols=True) as bar:
        counts = {"imported": 0, "duplicate": 0, "failed": 0}

        def stored(_path, outcome):
            counts[outcome] += 1
            bar.set_postfix(counts, refresh=False)
            bar.update(1)

        summary = importer.import_files(actor, files, defaults, publish=publish,
                                        on_progress=stored, workers=workers,
                                        progress_factory=lambda n: tqdm(
                                            total=n, unit="file", desc="Reading text",
                                            file=sys.stderr, disable=None, dynamic_ncols=True))
    _print_import_summary(summary)
    if files and not summary.imported and not summary.duplicates:
        sys.exit(1)


def _print_import_summary(summary) -> None:
    click.echo(f"Imported: {len(summary.imported)}")
    click.echo(f"Already present: {len(summary.duplicates)}")
    click.echo(f"Failed: {len(summary.failed)}")
    for path, reason in summary.failed:
        click.echo(f"  {path}: {reason}")
    if summary.extraction_failed:
        click.echo(f"Stored, but the text could not be read: {len(summary.extraction_failed)}")
        for path, reason in summary.extraction_failed:
            click.echo(f"  {path}: {reason}")


@main.command("reprocess")
@click.option("--failed", "include_failed", is_flag=True,
              help="Also retry files whose extraction failed.")
@click.option("--all", "everything", is_flag=True, help="Extract every file again.")
@click.option("--workers", type=int, default=None, help="Extractions at a time [default: cores].")
@with_appcontext
def reprocess_command(include_failed, everything, workers):
    """Extract text (again) from stored files: pending ones, failed ones, or all."""
    from sqlalchemy import select

    from kb.models import ResourceFile
    from kb.services import processing

    ids = (list(db.session.scalars(select(ResourceFile.id).order_by(ResourceFile.id)))
           if everything else processing.pending_file_ids(include_failed=include_failed))
    done = processing.process_files(ids, workers=workers, again=True)
    failed = [f for f in done if f.extraction_state.value == "failed"]
    click.echo(f"Processed: {len(done)}; text read: {len(done) - len(failed)}; "
               f"failed: {len(failed)}")
    for stored in failed:
        click.echo(f"  file {stored.id} ({stored.original_name}): {stored.extraction_error}")


@main.command("reindex")
@with_appcontext
def reindex_command():
    """Rebuild the search index from the database (searches go on meanwhile)."""
    import time

    from kb.services import indexing

    from kb.services import response_search

    started = time.perf_counter()
    # A command: a process per core. The responses' index is rebuilt with it.
    count = indexing.reindex(procs=os.cpu_count() or 1)
    responses = response_search.indexed_count()
    click.echo(f"Indexed {count} resources and {responses} consultation responses in "
               f"{time.perf_counter() - started:.1f} s.")


@main.command("check")
@click.option("--repair", is_flag=True, help="Fix what can be fixed, then check again.")
@with_appcontext
def check_command(repair):
    """Verify that the database, the stored files, the search index and the queue of
    background work agree."""
    from kb.services import maintenance

    report = maintenance.check()
    for line in report.lines():
        click.echo(line)
    if repair and not report.ok:
        click.echo("Repairing…")
        report = maintenance.repair(report)
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        click.echo("Problems remain." if repair else "Problems found: run kb check --repair.")
        sys.exit(1)
    click.echo("Everything agrees.")


@main.command("notices")
@with_appcontext
def notices_command():
    """Send the consultation notices that are due (opening; three days before the deadline).

    `kb run` does this every hour by itself; run this from cron when serving another way."""
    from kb.services import reminders

    count = reminders.send_due_notices()
    click.echo(f"Opening notices: {count.opened}; deadline reminders: {count.reminded}")


@main.command("run")
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port to listen on [default: 5000].")
@click.option("--threads", default=None, type=int, help="Worker threads [default: 8].")
@click.option("--no-worker", is_flag=True,
              help="Leave background work (reading files) to `kb worker` processes.")
@with_appcontext
def run_command(host, port, threads, no_worker):
    """Serve the application with Waitress, a production WSGI server."""
    import waitress

    from kb.services import reminders
    from kb.services.indexing import start_follower, stop_follower
    from kb.services.worker import stop_worker, worker_for

    app = current_app._get_current_object()
    # This node's index: rebuilt first if it is missing or lost, then kept in step with the
    # change log (others' changes every INDEX_POLL_SECONDS, at once on PostgreSQL's NOTIFY).
    start_follower(app)
    if not no_worker:
        # Takes queued work, and work whose process died once its lease runs out; never a
        # file another live process is reading.
        worker_for(app).wake()
    # Consultation notices (opening, three days before the deadline) depend on the date: look
    # every CONSULTATION_NOTICE_SECONDS. Sent once however many processes look.
    reminders.start_background(app, float(app.config.get("CONSULTATION_NOTICE_SECONDS") or 0))
    host = host or app.config["RUN_HOST"]
    port = port or app.config["RUN_PORT"]
    click.echo(f"Serving the DDWG knowledge base on http://{host}:{port}/ (Ctrl+C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1") and app.config["SESSION_COOKIE_SECURE"] \
            and not app.config["PROXY_FIX_HOPS"]:
        click.echo("Note: sign-in cookies are HTTPS-only. Serve through an HTTPS reverse proxy "
                   "(see README), or set KB_SESSION_COOKIE_SECURE=0 on a trusted LAN.", err=True)
    try:
        waitress.serve(app, host=host, port=port, threads=threads or app.config["RUN_THREADS"],
                       ident="kb", clear_untrusted_proxy_headers=True)
    finally:
        stop_worker(app)
        stop_follower(app)


@main.command("worker")
@click.option("--threads", default=None, type=int,
              help="Files read at a time [default: the number of cores].")
@with_appcontext
def worker_command(threads):
    """Do background work (text extraction, OCR, thumbnails) until stopped (Ctrl+C, SIGTERM)."""
    import os
    import signal
    import threading

    from kb.services.worker import Worker

    app = current_app._get_current_object()
    count = threads or os.cpu_count() or 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = Worker(app, threads=count).start()
    click.echo(f"Worker {worker.owner}: {count} thread(s); Ctrl+C to stop", err=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        worker.stop()
        click.echo("Worker stopped.", err=True)
