"""Extension objects, created unbound and bound to the application in create_app."""
import sqlite3

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from kb.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# No default limits: only the routes that need throttling (sign-in, join) declare one.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: enforce foreign keys, and let readers and one writer work side by side (WAL).

    Its lower() folds only ASCII letters, where PostgreSQL's folds every letter: "École" and
    "école" would be one tag, glossary term or organisation on PostgreSQL and two on SQLite. So
    lower() is replaced by Python's, which folds as PostgreSQL does (in a UTF-8 locale)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
