"""Demo logins for `make run`: one user per role plus a second reviewer.

Passwords come from GATEHOUSE_DEMO_PASSWORD when it is set; otherwise each user gets a random
password, generated once and kept in `<data dir>/demo_passwords.json` (mode 600), so running
`make run` again keeps the logins people have written down.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from orchestrator.roles import ADMIN, COMPLIANCE, ENGINEER, REVIEWER

# username -> (role, display name)
DEMO_USERS: dict[str, tuple[str, str]] = {
    "admin": (ADMIN, "Alex Admin"),
    "reviewer": (REVIEWER, "Riley Reviewer"),
    "reviewer2": (REVIEWER, "Rowan Reviewer"),
    "engineer": (ENGINEER, "Emery Engineer"),
    "compliance": (COMPLIANCE, "Casey Compliance"),
}
PASSWORDS_FILE = "demo_passwords.json"


def demo_passwords_read(*, data_dir: Path) -> dict[str, str]:
    try:
        return json.loads((data_dir / PASSWORDS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _demo_passwords(*, data_dir: Path, shared: str | None) -> dict[str, str]:
    if shared:
        return dict.fromkeys(DEMO_USERS, shared)
    stored = demo_passwords_read(data_dir=data_dir)
    passwords = {name: stored.get(name) or secrets.token_urlsafe(9) for name in DEMO_USERS}
    if passwords != stored:
        path = data_dir / PASSWORDS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create with 600 before writing, so the secrets are never world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(passwords, handle, indent=2)
    (data_dir / PASSWORDS_FILE).chmod(0o600)
    return passwords


class WeakDemoPassword(ValueError):
    """GATEHOUSE_DEMO_PASSWORD fails the site's password rules for at least one demo user."""


def _shared_password_check(password: str) -> None:
    # The same rules a person's own password change meets (settings.AUTH_PASSWORD_VALIDATORS),
    # checked against each demo user, since one of them is the admin login.
    User = get_user_model()
    for username, (_role, display_name) in DEMO_USERS.items():
        first, last = display_name.split(" ", 1)
        try:
            password_validation.validate_password(password, User(username=username, first_name=first,
                                                                 last_name=last, email=f"{username}@example.com"))
        except ValidationError as error:
            raise WeakDemoPassword(
                f"GATEHOUSE_DEMO_PASSWORD is refused for the demo user {username!r}: {' '.join(error.messages)} "
                "Set a longer, less guessable one, or unset it to get a random password per user."
            ) from None


@transaction.atomic
def demo_users_ensure(*, data_dir: Path, shared_password: str | None = None) -> dict[str, str]:
    """Create or update the demo users; return {username: password}. Safe to run any number of times.
    Raises WeakDemoPassword, changing nothing, if `shared_password` breaks the password rules."""
    if shared_password:
        _shared_password_check(shared_password)
    passwords = _demo_passwords(data_dir=data_dir, shared=shared_password)
    User = get_user_model()
    for username, (role, display_name) in DEMO_USERS.items():
        first, last = display_name.split(" ", 1)
        user, _created = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@example.com"
        user.is_active = True
        user.is_staff = user.is_superuser = role == ADMIN
        # Re-hashing an unchanged password would change the session hash and log everyone out.
        if not user.check_password(passwords[username]):
            user.set_password(passwords[username])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=role)[0]])
    return passwords
