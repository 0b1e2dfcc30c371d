"""WSGI entry point for servers other than `kb run` (e.g. `waitress-serve wsgi:app`, gunicorn)."""
from kb import create_app

app = create_app()
