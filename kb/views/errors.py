"""The one error mapper: domain and HTTP errors become JSON for the API and pages for people."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from kb.extensions import db
from kb.services import rows
from kb.services.errors import DomainError

HTTP_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    416: "range_not_satisfiable", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"]


def error_response(status: int, code: str, message: str, field: str | None = None):
    if wants_json():
        body = {"code": code, "message": message}
        if field:
            body["field"] = field
        response = jsonify({"error": body})
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message), status


def _http_message(error: HTTPException) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You do not have permission to do this."),
        404: _("This page does not exist, or you may not see it."),
        405: _("This method is not allowed here."),
        413: _("The upload is larger than the limit of %(mb)d MB.",
               mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)),
        416: _("The requested part of the file is beyond its end."),
        429: _("Too many attempts. Please wait a minute and try again."),
    }
    return messages.get(error.code, error.description or error.name)


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return error_response(error.status, error.code, str(error.message), error.field)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(400, "csrf_failed",
                              _("The form had expired or was not sent from this site. "
                                "Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.response is not None:  # a view's own answer (sign-in's "wait N seconds")
            return error.response
        response = error_response(error.code, HTTP_CODES.get(error.code, "error"),
                                  _http_message(error))
        if error.code == 405 and getattr(error, "valid_methods", None):
            response = current_app.make_response(response)
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError):
        """A safety net: a unique index refused a duplicate that no service turned into a
        domain error (two people did the same at the same moment). That is a conflict, not our
        failure; the services answer the races they know of themselves."""
        if not rows.is_unique_violation(error):
            return unexpected_error(error)
        db.session.rollback()
        current_app.logger.warning("Unique constraint on %s %s: %s", request.method,
                                   request.path, error.orig)
        return error_response(409, "conflict",
                              _("Someone else made the same change at the same moment. "
                                "Reload the page to see it, then try again if need be."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error: Exception):
        """The database cannot be reached (down, restarting, out of connections): a passing
        state, not a bug — 503, so load balancers and clients try again."""
        try:
            db.session.rollback()
        except Exception:  # the connection is gone already
            pass
        current_app.logger.error("Database unavailable on %s %s: %s", request.method,
                                 request.path, error)
        response = current_app.make_response(error_response(
            503, "unavailable", _("The database cannot be reached right now. Please try again "
                                  "in a minute.")))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error",
                              _("Something went wrong on our side. It has been logged."))
