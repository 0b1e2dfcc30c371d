"""Configuration: defaults, instance/config.py and KB_* variables, in that order."""
from kb import create_app


def test_defaults_live_in_the_instance(instance, monkeypatch):
    monkeypatch.delenv("KB_SQLALCHEMY_DATABASE_URI", raising=False)  # set when on PostgreSQL
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)  # likewise
    app = create_app(instance_path=str(instance))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'kb.sqlite3'}"
    assert app.config["SEARCH_INDEX_PATH"] == str(instance / "index")
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SECURE"]
    assert app.config["SECRET_KEY"] == (instance / "secret_key").read_text().strip()


def test_instance_config_then_environment_override(instance, monkeypatch):
    (instance / "config.py").write_text("MAX_CONTENT_LENGTH = 1234\nRUN_PORT = 8000\n")
    monkeypatch.setenv("KB_RUN_PORT", "9000")
    monkeypatch.setenv("KB_SESSION_COOKIE_SECURE", "false")
    app = create_app(instance_path=str(instance))
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert app.config["RUN_PORT"] == 9000
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_kb_instance_path_selects_the_folder(tmp_path, monkeypatch):
    for name in ("KB_SQLALCHEMY_DATABASE_URI", "KB_SECRET_KEY"):  # set when on PostgreSQL
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KB_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    app = create_app()
    assert app.instance_path == str(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "secret_key").exists()
