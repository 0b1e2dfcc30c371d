"""Accounts: creating people, signing in, joining, roles, passwords and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from flask_babel import lazy_gettext as _l
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import AccountStatus, ApiToken, Organisation, Role, User, utcnow, valid_id
from kb.services import audit, rows
from kb.services.errors import (AccountPending, Conflict, NotAuthenticated, NotFound,
                                PermissionDenied, ValidationError)

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "kb_"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_email(email: str) -> str:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError(_l("Enter a valid e-mail address."), field="email")
    return email


def validate_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _l("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            field="password")
    if len(password) > 1024:
        raise ValidationError(_l("The password is too long."), field="password")
    return password


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError(_l("Role must be one of: member, contributor, editor, admin."),
                              field="role") from None


def find_organisation(short_name: str | None) -> Organisation | None:
    """Look an organisation up by its short name (case-insensitive); None for an empty name."""
    if not short_name:
        return None
    org = db.session.scalar(select(Organisation).where(
        func.lower(Organisation.short_name) == short_name.strip().lower()))
    if org is None:
        raise ValidationError(_l("Unknown organisation: %(name)s", name=short_name), field="org")
    return org


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, name: str, role: Role | str = Role.MEMBER, password: str | None = None,
                org: str | None = None, actor: User | None = None,
                status: AccountStatus = AccountStatus.ACTIVE) -> User:
    """Create a user. Raises ValidationError for bad input and Conflict for a taken e-mail."""
    email = validate_email(email)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("Enter a name."), field="name")
    role = role if isinstance(role, Role) else parse_role(role)
    if get_user_by_email(email) is not None:
        raise Conflict(_l("A user with this e-mail address already exists."), field="email")
    user = User(email=email, name=name[:200], role=role, status=status,
                organisation=find_organisation(org))
    if password is not None:
        user.password_hash = _hasher.hash(validate_password(password))
    try:
        db.session.add(user)
        audit.record(actor, "user.create", user, role=role.value, status=status.value)
        db.session.commit()
    except IntegrityError as error:  # the same address was registered a moment ago
        db.session.rollback()
        if not rows.is_unique_violation(error):
            raise
        raise Conflict(_l("A user with this e-mail address already exists."),
                       field="email") from None
    return user


def _verified(email: str, password: str) -> User | None:
    """The user whose password matches, whatever the state of the account, else None; an
    unknown e-mail takes as long as a wrong password."""
    user = get_user_by_email(email)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    return None if user is None or stored is _DUMMY_HASH else user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user whose password matches, else None — the same way for every failure."""
    user = _verified(email, password)
    if user is None or not user.is_active:
        return None
    return _signed_in(user, password)


def sign_in(email: str, password: str) -> User:
    """The active user whose password matches. Raises NotAuthenticated with one message for an
    unknown e-mail, a wrong password and a closed account, and AccountPending when the password
    is right but the request to join still waits: only someone who knows the password learns
    that, so it reveals nothing about which addresses have asked."""
    user = _verified(email, password)
    if user is not None and user.status == AccountStatus.PENDING:
        raise AccountPending(_l("Your request to join is waiting for an administrator's "
                                "approval. You will be able to sign in once it is approved."))
    if user is None or not user.is_active:
        raise NotAuthenticated(_l("The e-mail address or password is not correct."))
    return _signed_in(user, password)


def _signed_in(user: User, password: str) -> User:
    """Record the sign-in (and upgrade an old password hash)."""
    stored = user.password_hash
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = utcnow()
    db.session.commit()
    return user


def request_to_join(email: str, name: str, password: str, org: str | None = None,
                    message: str = "") -> User | None:
    """Record a request to join, pending an admin's approval.

    Returns None, silently, when the e-mail is already known: the join page must not reveal
    which addresses have accounts.
    """
    email = validate_email(email)
    validate_password(password)
    if get_user_by_email(email) is not None:
        return None
    try:
        user = create_user(email, name, Role.MEMBER, password=password, org=org,
                           status=AccountStatus.PENDING)
    except Conflict:  # someone asked with this address at the same moment
        return None
    user.join_message = (message or "").strip()[:2000]
    db.session.commit()
    return user


def list_users(actor: User | None, role: str | None = None,
               status: str | None = None) -> list[User]:
    """Accounts, for administrators. Raises NotAuthenticated, PermissionDenied, ValidationError."""
    if actor is None:
        raise NotAuthenticated(_l("This needs an API token."))
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only administrators manage accounts."))
    query = select(User).order_by(User.email)
    if role:
        query = query.where(User.role == parse_role(role))
    if status:
        try:
            query = query.where(User.status == AccountStatus(status))
        except ValueError:
            raise ValidationError(_l("Unknown account state."), field="status") from None
    return list(db.session.scalars(query))


def _admin_check(actor: User, target: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only administrators manage accounts."))
    if target is None:
        raise NotFound(_l("No such user."))


def approve_user(actor: User, user: User, role: Role | str = Role.MEMBER) -> User:
    """An admin lets a pending (or deactivated) person in, with the role the admin chooses."""
    _admin_check(actor, user)
    user.role = role if isinstance(role, Role) else parse_role(role)
    user.status = AccountStatus.ACTIVE
    audit.record(actor, "user.approve", user, role=user.role.value)
    db.session.commit()
    return user


def decline_user(actor: User, user: User) -> User:
    _admin_check(actor, user)
    if user.status != AccountStatus.PENDING:
        raise ValidationError(_l("Only pending requests can be declined."))
    user.status = AccountStatus.DECLINED
    audit.record(actor, "user.decline", user)
    db.session.commit()
    return user


def set_role(actor: User, user: User, role: Role | str) -> User:
    _admin_check(actor, user)
    role = role if isinstance(role, Role) else parse_role(role)
    if user.id == actor.id and role != Role.ADMIN:
        raise ValidationError(_l("You cannot remove your own administrator role."), field="role")
    before = user.role
    user.role = role
    audit.record(actor, "user.role", user, before=before.value, after=role.value)
    db.session.commit()
    return user


def deactivate_user(actor: User, user: User) -> User:
    """Deactivation signs the person out everywhere and stops their API tokens."""
    _admin_check(actor, user)
    if user.id == actor.id:
        raise ValidationError(_l("You cannot deactivate your own account."))
    user.status = AccountStatus.DEACTIVATED
    user.session_version += 1
    audit.record(actor, "user.deactivate", user)
    db.session.commit()
    return user


def update_profile(user: User, name: str, org: str | None, locale: str | None) -> User:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("Enter a name."), field="name")
    user.name = name[:200]
    user.organisation = find_organisation(org)
    user.locale = locale if locale in ("en", "km") else None
    audit.record(user, "user.profile", user)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> User:
    """Check the current password, set the new one, and sign out other sessions."""
    try:
        _hasher.verify(user.password_hash or _DUMMY_HASH, current or "")
    except (VerificationError, InvalidHashError):
        raise ValidationError(_l("The current password is not correct."), field="current") from None
    user.password_hash = _hasher.hash(validate_password(new))
    user.session_version += 1
    audit.record(user, "user.password", user)
    db.session.commit()
    return user


def set_password(user: User, password: str, actor: User | None = None) -> User:
    user.password_hash = _hasher.hash(validate_password(password))
    user.session_version += 1
    audit.record(actor, "user.password", user)
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: sessions and remember-me cookies carry the session
    version (see load_session_user), so raising it ends them all on the server side."""
    user.session_version += 1
    audit.record(user, "user.signout", user)
    db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, label: str = "", actor: User | None = None) -> str:
    """Create an API token and return it; only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_token_hash(token), label=label[:200]))
    audit.record(actor or user, "token.create", user, label=label or None)
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None for an unknown or revoked token."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                                   ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.is_active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.user


def revoke_token(user: User, token_id: int) -> None:
    row = db.session.get(ApiToken, valid_id(token_id) or 0)
    if row is None or row.user_id != user.id:
        raise NotFound(_l("No such token."))
    row.revoked_at = utcnow()
    audit.record(user, "token.revoke", user, token_id=token_id)
    db.session.commit()


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: the id carries the session version, so old sessions stop working."""
    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, valid_id(user_id) or 0)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user
