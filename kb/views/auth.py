"""Signing in and out, asking to join, and one's own account."""
from __future__ import annotations

import time

from flask import (Blueprint, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from kb.extensions import limiter
from kb.services import accounts, vocabularies
from kb.services.errors import DomainError
from kb.views.helpers import safe_next, viewer

bp = Blueprint("auth", __name__)

# Sign-in throttling, kept in Flask-Limiter's storage (memory, Redis...), so every process
# serving the site counts together. Only refused attempts count. Tight per address and e-mail
# together: guessing one person's password slows down, step by step, to a few tries an hour;
# generous per address alone, for a training room behind one connection. Nothing counts per
# e-mail alone, so nobody can lock a person out by trying their address from elsewhere.


def _signin_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["SIGNIN_ADDRESS_RATE_LIMIT"]


def _address_and_email() -> str:
    email = accounts.normalise_email(request.form.get("email", ""))[:254]
    return f"signin:{get_remote_address()}:{email}"


def _refused(response) -> bool:
    return response.status_code == 401


def _slow_down(limit):
    """Answer a breached limit with the sign-in page saying how long to wait (not a lock-out)."""
    wait = max(1, int(limit.reset_at - time.time()))  # as Flask-Limiter's Retry-After says
    message = ngettext("Too many attempts. Please wait %(num)d second and try again.",
                       "Too many attempts. Please wait %(num)d seconds and try again.", wait)
    response = current_app.make_response((render_template(
        "auth/signin.html", next=request.form.get("next", ""),
        email=request.form.get("email", ""), error=message), 429))
    response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_refused, on_breach=_slow_down)
@limiter.limit(_signin_limit, methods=["POST"], key_func=_address_and_email,
               deduct_when=_refused, on_breach=_slow_down)
def signin():
    if request.method == "GET":
        return render_template("auth/signin.html", next=request.args.get("next", ""))
    try:
        user = accounts.sign_in(request.form.get("email", ""), request.form.get("password", ""))
    except DomainError as refused:
        # One message for an unknown e-mail, a wrong password and a closed account; a pending
        # request is named only to someone who gave its password.
        return render_template("auth/signin.html", next=request.form.get("next", ""),
                               email=request.form.get("email", ""),
                               error=refused.message), refused.status
    # A fresh session at sign-in: nothing set before it (a planted session) survives.
    session.clear()
    login_user(user, remember=bool(request.form.get("remember")))
    session.permanent = True
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(safe_next())


@bp.post("/signout")
def signout():
    if current_user.is_authenticated:
        # Server-side: every session and remember-me cookie of this user stops working, so a
        # copied cookie is worth nothing after signing out.
        accounts.end_sessions(viewer())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def join():
    form = request.form
    if request.method == "GET":
        return render_template("auth/join.html", form={}, errors={},
                               organisations=vocabularies.organisations())
    try:
        accounts.request_to_join(form.get("email", ""), form.get("name", ""),
                                 form.get("password", ""), org=form.get("org") or None,
                                 message=form.get("message", ""))
    except DomainError as error:
        return render_template("auth/join.html", form=form, errors={error.field or "": error.message},
                               organisations=vocabularies.organisations()), 400
    # The same answer whether or not the address was already known.
    return render_template("auth/join_sent.html")


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    errors, new_token = {}, None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "profile":
                accounts.update_profile(viewer(), request.form.get("name", ""),
                                        request.form.get("org") or None,
                                        request.form.get("locale") or None)
                flash(_("Your details were saved."), "success")
            elif action == "password":
                accounts.change_password(viewer(), request.form.get("current", ""),
                                         request.form.get("new", ""))
                # Other sessions end with the old session version; keep this one signed in.
                login_user(viewer())
                flash(_("Your password was changed."), "success")
            elif action == "token":
                new_token = accounts.create_token(viewer(), request.form.get("label", ""))
            elif action == "revoke":
                accounts.revoke_token(viewer(), request.form.get("token_id", 0, type=int))
                flash(_("The token was revoked."), "info")
            if new_token is None and not errors:
                return redirect(url_for("auth.account"))
        except DomainError as error:
            errors[error.field or action] = error.message
    return render_template("auth/account.html", errors=errors, new_token=new_token,
                           organisations=vocabularies.organisations(),
                           tokens=[t for t in current_user.tokens if t.revoked_at is None]), (
        400 if errors else 200)
