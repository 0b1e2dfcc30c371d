"""Blueprints, one per audience, and the error mapper."""


def register_blueprints(app) -> None:
    from kb.views.admin import bp as admin_bp
    from kb.views.api import bp as api_bp
    from kb.views.auth import bp as auth_bp
    from kb.views.browse import bp as browse_bp
    from kb.views.calendar import bp as calendar_bp
    from kb.views.consultations import bp as consultations_bp
    from kb.views.contribute import bp as contribute_bp
    from kb.views.errors import register_error_handlers
    from kb.views.feeds import bp as feeds_bp
    from kb.views.files import bp as files_bp
    from kb.views.main import bp as main_bp
    from kb.views.oai import bp as oai_bp
    from kb.views.review import bp as review_bp
    from kb.views.search import bp as search_bp
    from kb.views.workshops import bp as workshops_bp
    from kb.extensions import csrf

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(contribute_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(browse_bp)
    app.register_blueprint(feeds_bp)
    # OAI-PMH is a read-only protocol for harvesters (GET or form POST, no session): no CSRF.
    csrf.exempt(oai_bp)
    app.register_blueprint(oai_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(workshops_bp)
    app.register_blueprint(consultations_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    # The API authenticates by bearer token only, never by cookie, so CSRF cannot reach it.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    register_error_handlers(app)

    from kb.services import notifications
    from kb.views.helpers import file_format, thumbnail_url

    notifications.init_app(app)  # e-mails go out after the commit that made them

    app.add_template_global(thumbnail_url)
    app.add_template_global(file_format)
    from kb.search import MAX_QUERY_CHARS

    # The search boxes take what the server takes: a pasted paragraph is a legitimate query.
    app.add_template_global(MAX_QUERY_CHARS, "max_query_chars")
