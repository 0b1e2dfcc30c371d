"""Telling people what happened to resources: in the application, and by e-mail when configured.

A notification row is added in the same transaction as the change it reports. Its message is
stored as a small JSON record (what happened, to which resource, by whom, with what comment), so
that it is shown in the reader's language whenever it is read. E-mails are put in the session's
outbox and sent only after the commit, through the SMTP server in the configuration (MAIL_*);
a failure to send is logged, never raised: the change itself has already happened.
"""
from __future__ import annotations

import json
import logging
import smtplib
from datetime import date
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_request_context, request, url_for
from flask_babel import force_locale, format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update

from kb.extensions import db
from kb.models import Notification, Resource, Role, User, utcnow
from kb.models.users import AccountStatus

log = logging.getLogger(__name__)

OUTBOX = "kb_outbox"

# What each kind of notification says; %(actor)s, %(title)s and %(file)s are filled in.
MESSAGES = {
    "submitted": _l("%(actor)s sent “%(title)s” for review."),
    "approved": _l("%(actor)s approved “%(title)s”. It is now published."),
    "rejected": _l("%(actor)s returned “%(title)s” for changes."),
    "published": _l("%(actor)s published “%(title)s”."),
    "archived": _l("%(actor)s unpublished “%(title)s”. It is archived and no longer shown to "
                   "readers."),
    "restored": _l("%(actor)s restored “%(title)s”. It is published again."),
    "new_version": _l("%(actor)s uploaded a new version of %(file)s in “%(title)s”."),
    "consultation_opened": _l("The consultation “%(title)s” is open for responses until "
                              "%(date)s."),
    "consultation_deadline": _l("Three days left: the consultation “%(title)s” takes "
                                "responses until %(date)s."),
}


# --- composing --------------------------------------------------------------------------------

def _payload(notification: Notification) -> dict | None:
    try:
        data = json.loads(notification.message)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") in MESSAGES else None


def _render(data: dict) -> str:
    title = data.get("title", "")
    if get_locale() is not None and str(get_locale()).startswith("km") and data.get("title_km"):
        title = data["title_km"]
    when = data.get("date", "")
    if when:
        try:
            when = format_date(date.fromisoformat(when), "long")
        except ValueError:
            pass
    return str(MESSAGES[data["kind"]]) % {"actor": data.get("actor") or _("Someone"),
                                          "title": title, "date": when,
                                          "file": data.get("file", "")}


def text(notification: Notification) -> str:
    """The notification's sentence in the reader's language (plain text, to be escaped)."""
    data = _payload(notification)
    return notification.message if data is None else _render(data)


def comment(notification: Notification) -> str:
    """The reviewer's or uploader's comment, if there was one."""
    data = _payload(notification)
    return (data or {}).get("comment", "")


def _resource_path(resource: Resource) -> str:
    try:
        return url_for("main.resource_detail", resource_id=resource.id)
    except RuntimeError:  # outside a request, with no SERVER_NAME: the same path by hand
        return f"/resources/{resource.id}"


def _absolute(path: str) -> str:
    if has_request_context():
        return request.url_root.rstrip("/") + path
    base = current_app.config.get("PUBLIC_URL") or ""
    return base.rstrip("/") + path


# --- sending ----------------------------------------------------------------------------------

@dataclass
class MailSettings:
    server: str
    port: int
    sender: str
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    messages: list[EmailMessage] = field(default_factory=list)


def mail_settings() -> MailSettings | None:
    """The SMTP configuration, or None when e-mail is not configured (MAIL_SERVER unset)."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return None
    return MailSettings(server=config["MAIL_SERVER"], port=int(config.get("MAIL_PORT") or 25),
                        sender=config.get("MAIL_FROM") or "kb@localhost",
                        use_tls=bool(config.get("MAIL_USE_TLS")),
                        use_ssl=bool(config.get("MAIL_USE_SSL")),
                        username=config.get("MAIL_USERNAME") or None,
                        password=config.get("MAIL_PASSWORD") or None,
                        timeout=float(config.get("MAIL_TIMEOUT") or 10))


def _email(settings: MailSettings, user: User, data: dict, link: str) -> EmailMessage:
    """One message in the recipient's language; in both when we do not know theirs."""
    locales = [user.locale] if user.locale in current_app.config["LANGUAGES"] else ["en", "km"]
    parts, subject = [], None
    for locale in locales:
        with force_locale(locale):
            sentence = _render(data)
            subject = subject or sentence
            lines = [sentence]
            if data.get("comment"):
                lines += ["", _("Comment:"), data["comment"]]
            lines += ["", _("Open it here: %(link)s", link=link)]
            parts.append("\n".join(lines))
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())[:200]
    message["From"] = settings.sender
    message["To"] = user.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n\n-----\n\n".join(parts) + "\n")
    return message


def _queue_email(user: User, data: dict, link: str) -> None:
    settings = mail_settings()
    if settings is None or not user.email:
        return
    outbox: list[MailSettings] = db.session.info.setdefault(OUTBOX, [])
    if not outbox:
        outbox.append(settings)
    outbox[0].messages.append(_email(settings, user, data, link))


def send(settings: MailSettings) -> int:
    """Send the queued messages over one connection; returns how many were accepted."""
    if not settings.messages:
        return 0
    sent = 0
    try:
        if settings.use_ssl:
            smtp = smtplib.SMTP_SSL(settings.server, settings.port, timeout=settings.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.use_tls and not settings.use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            for message in settings.messages:
                try:
                    smtp.send_message(message)
                    sent += 1
                except smtplib.SMTPException:
                    log.exception("sending e-mail to %s failed", message["To"])
    except (OSError, smtplib.SMTPException):
        log.exception("the mail server %s:%s could not be used; %d e-mail(s) not sent",
                      settings.server, settings.port, len(settings.messages) - sent)
    return sent


def _after_commit(session) -> None:
    outbox = session.info.pop(OUTBOX, None)
    for settings in outbox or []:
        send(settings)


def _after_rollback(session, _transaction) -> None:
    session.info.pop(OUTBOX, None)


def init_app(app) -> None:
    """Send queued e-mails after each commit (listeners are global: installed once)."""
    from sqlalchemy.orm import Session as SessionClass

    if not event.contains(SessionClass, "after_commit", _after_commit):
        event.listen(SessionClass, "after_commit", _after_commit)
        event.listen(SessionClass, "after_soft_rollback", _after_rollback)


# --- notifying --------------------------------------------------------------------------------

def notify(user: User, kind: str, resource: Resource, actor: User | None = None,
           comment: str = "", file: str = "") -> Notification:
    """Tell `user` about `resource` (in the application, and by e-mail); the caller commits."""
    data = {"kind": kind, "resource_id": resource.id, "title": resource.title,
            "actor": actor.name if actor is not None else "", "comment": (comment or "").strip()}
    if file:
        data["file"] = file
    link = _resource_path(resource)
    row = Notification(user_id=user.id, message=json.dumps(data, ensure_ascii=False), link=link)
    db.session.add(row)
    _queue_email(user, data, _absolute(link))
    return row


def notify_link(user: User, data: dict, path: str) -> Notification:
    """Tell `user` what `data` says (a kind of MESSAGES with its fields), linking to `path`."""
    row = Notification(user_id=user.id, message=json.dumps(data, ensure_ascii=False), link=path)
    db.session.add(row)
    _queue_email(user, data, _absolute(path))
    return row


def editors(exclude: User | None = None) -> list[User]:
    """Everyone who reviews: active editors and admins."""
    query = select(User).where(User.status == AccountStatus.ACTIVE,
                               User.role.in_([Role.EDITOR, Role.ADMIN])).order_by(User.id)
    return [u for u in db.session.scalars(query) if exclude is None or u.id != exclude.id]


def notify_editors(kind: str, resource: Resource, actor: User | None = None,
                   comment: str = "", file: str = "") -> list[Notification]:
    return [notify(editor, kind, resource, actor, comment, file) for editor in editors(actor)]


def notify_owner(kind: str, resource: Resource, actor: User | None = None,
                 comment: str = "") -> Notification | None:
    """Tell the owner, unless the owner did it."""
    owner = resource.owner
    if owner is None or (actor is not None and owner.id == actor.id) or not owner.is_active:
        return None
    return notify(owner, kind, resource, actor, comment)


# --- reading ----------------------------------------------------------------------------------

def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def for_user(user: User, limit: int = 100) -> list[Notification]:
    """The newest notifications first."""
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id.desc()).limit(limit)))


def mark_all_read(user: User) -> int:
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    return result.rowcount or 0
