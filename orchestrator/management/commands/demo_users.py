from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from config.env import env_str
from orchestrator.cli import OperatorCommand, development_only
from orchestrator.demo_accounts import DEMO_USERS, WeakDemoPassword, demo_users_ensure


class Command(OperatorCommand):
    help = "Create or update the demo users (admin, reviewer, reviewer2, engineer, compliance)."
    interrupted = "run it again: it creates what is missing and leaves the rest as it is"

    def handle(self, *args, **options) -> None:
        # Known accounts (an admin among them) whose passwords are printed and kept in a file.
        development_only("demo_users")
        shared = env_str("GATEHOUSE_DEMO_PASSWORD") or None
        try:
            passwords = demo_users_ensure(data_dir=settings.DATA_DIR, shared_password=shared)
        except WeakDemoPassword as error:
            raise CommandError(str(error)) from None
        self.stdout.write("Demo logins:")
        for username, password in passwords.items():
            shown = "(GATEHOUSE_DEMO_PASSWORD)" if shared else password
            self.stdout.write(f"  {username:<11} {shown:<26} {DEMO_USERS[username][0]}")
