"""Administration: people and their roles, organisations, vocabularies."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup, escape
from sqlalchemy import case, select

from kb.extensions import db
from kb.models import (AccountStatus, GlossaryEntry, Objective, Organisation, Resource,
                       ResourceKind, Role, User, Workshop, valid_id)
from kb.services import access, accounts, activity, glossary, vocabularies
from kb.services.errors import DomainError
from kb.views.helpers import viewer

bp = Blueprint("admin", __name__)


@bp.before_request
@login_required
def require_admin():
    if not access.can_administer(viewer()):
        abort(403)


@bp.get("/")
def dashboard():
    from kb.i18n import current_language
    from kb.services.stats import collection_stats

    pending = db.session.scalar(select(db.func.count(User.id)).where(
        User.status == AccountStatus.PENDING))
    return render_template(
        "admin/dashboard.html", pending=pending,
        recent=activity.recent_activity(viewer(), current_language()),
        stats=collection_stats(viewer(), current_language()))


def _link_to(target) -> str | None:
    """Where an administrator sees the thing an activity happened to."""
    if isinstance(target, Resource):
        return url_for("main.resource_detail", resource_id=target.id)
    if isinstance(target, User):
        return url_for("admin.users", _anchor=f"user-{target.id}")
    if isinstance(target, Workshop):
        return url_for("workshops.detail", workshop_id=target.id)
    if isinstance(target, Organisation):
        return url_for("admin.edit_organisation", org_id=target.id)
    if isinstance(target, GlossaryEntry):
        return url_for("admin.edit_glossary_entry", entry_id=target.id)
    if isinstance(target, Objective):
        return url_for("browse.objective", number=target.number)
    if isinstance(target, ResourceKind):
        return url_for("browse.kind", code=target.code)
    return None


@bp.app_template_global()
def activity_sentence(item: activity.Activity) -> Markup:
    """What happened, with the thing it happened to linked (names are escaped, never HTML)."""
    link = _link_to(item.target)
    name = Markup("“{}”").format(item.target_name) if isinstance(item.target, (
        Resource, Workshop)) or (item.target is None and item.target_type in (
            "resources", "workshops")) else escape(item.target_name)
    target = Markup('<a href="{}">{}</a>').format(link, name) if link else name
    return Markup(escape(item.sentence).replace("%(target)s", target).replace(
        "%(role)s", escape(item.role)))





@bp.get("/users")
def users():
    pending_first = case((User.status == AccountStatus.PENDING, 0), else_=1)
    rows = db.session.scalars(select(User).order_by(pending_first, User.name, User.id))
    return render_template("admin/users.html", users=list(rows), roles=list(Role))


@bp.post("/users/<int:user_id>")
def update_user(user_id: int):
    user = db.get_or_404(User, user_id)
    action = request.form.get("action")
    try:
        if action == "approve":
            accounts.approve_user(viewer(), user, request.form.get("role", "member"))
            flash(_("%(name)s can now sign in.", name=user.name), "success")
        elif action == "decline":
            accounts.decline_user(viewer(), user)
            flash(_("The request was declined."), "info")
        elif action == "role":
            accounts.set_role(viewer(), user, request.form.get("role", ""))
            flash(_("The role was changed."), "success")
        elif action == "deactivate":
            accounts.deactivate_user(viewer(), user)
            flash(_("%(name)s was deactivated.", name=user.name), "info")
        else:
            abort(400)
    except DomainError as error:
        flash(str(error.message), "error")
    return redirect(url_for("admin.users"))


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form, errors = request.form, {}
    if request.method == "POST":
        try:
            accounts.create_user(form.get("email", ""), form.get("name", ""),
                                 form.get("role", "member"), password=form.get("password", ""),
                                 org=form.get("org") or None, actor=viewer())
            flash(_("The account was created."), "success")
            return redirect(url_for("admin.users"))
        except DomainError as error:
            errors[error.field or ""] = error.message
    return render_template("admin/user_new.html", form=form, errors=errors, roles=list(Role),
                           organisations=vocabularies.organisations()), 400 if errors else 200


@bp.get("/organisations")
def organisations():
    return render_template("admin/organisations.html",
                           organisations=vocabularies.organisations(active_only=False))


@bp.route("/organisations/new", methods=["GET", "POST"], defaults={"org_id": None})
@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
def edit_organisation(org_id: int | None):
    organisation = db.get_or_404(Organisation, org_id) if org_id is not None else None
    errors = {}
    if request.method == "POST":
        try:
            vocabularies.save_organisation(viewer(), organisation, request.form)
            flash(_("The organisation was saved."), "success")
            return redirect(url_for("admin.organisations"))
        except DomainError as error:
            errors[error.field or ""] = error.message
    form = request.form if request.method == "POST" else None
    return render_template("admin/organisation_edit.html", organisation=organisation, form=form,
                           errors=errors), 400 if errors else 200


@bp.route("/vocabularies", methods=["GET", "POST"])
def vocabularies_page():
    errors = {}
    if request.method == "POST":
        model = {"objective": Objective, "kind": ResourceKind}.get(request.form.get("type"))
        term = db.session.get(model, valid_id(request.form.get("id")) or 0) if model else None
        if term is None:
            abort(404)
        try:
            vocabularies.rename_term(viewer(), term, request.form)
            flash(_("Saved."), "success")
            return redirect(url_for("admin.vocabularies_page"))
        except DomainError as error:
            errors[f"{request.form.get('type')}-{term.id}"] = error.message
    return render_template("admin/vocabularies.html", objectives=vocabularies.objectives(),
                           kinds=vocabularies.kinds(), errors=errors), 400 if errors else 200


@bp.get("/glossary")
def glossary_page():
    return render_template("admin/glossary.html", entries=glossary.entries())


@bp.route("/glossary/new", methods=["GET", "POST"], defaults={"entry_id": None})
@bp.route("/glossary/<int:entry_id>", methods=["GET", "POST"])
def edit_glossary_entry(entry_id: int | None):
    entry = db.get_or_404(GlossaryEntry, entry_id) if entry_id is not None else None
    errors = {}
    if request.method == "POST":
        try:
            if request.form.get("action") == "delete" and entry is not None:
                glossary.delete(viewer(), entry)
                flash(_("The term was deleted."), "info")
            else:
                glossary.save(viewer(), entry, request.form)
                flash(_("The glossary was saved."), "success")
            return redirect(url_for("admin.glossary_page"))
        except DomainError as error:
            errors[error.field or ""] = error.message
    form = request.form if request.method == "POST" else None
    return render_template("admin/glossary_edit.html", entry=entry, form=form,
                           errors=errors), 400 if errors else 200
