"""`manage.py api_token USERNAME`: create an API token (shown once), list a user's tokens, revoke them.

    python manage.py api_token USERNAME [--name NAME] [--days N]     # N=0: never expires
    python manage.py api_token USERNAME --list
    python manage.py api_token USERNAME --revoke PREFIX | --revoke-all
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from orchestrator.tokens import api_token_create, api_token_revoke, api_tokens_of


class Command(BaseCommand):
    help = "Create, list or revoke a user's API tokens (Authorization: Bearer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--days", type=int, default=None,
                            help="lifetime in days (default GATEHOUSE_API_TOKEN_DAYS; 0: never expires)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--list", action="store_true", help="the user's tokens (prefix, name, state)")
        action.add_argument("--revoke", metavar="PREFIX", help="revoke the token(s) whose prefix starts so")
        action.add_argument("--revoke-all", action="store_true", help="revoke every usable token of the user")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        if opts["list"]:
            self._list(user)
        elif opts["revoke"] or opts["revoke_all"]:
            count = api_token_revoke(user=user, prefix=opts["revoke"])
            if not count:
                raise CommandError(f"{user.username} has no usable token starting {opts['revoke']!r}; "
                                   "see --list." if opts["revoke"] else f"{user.username} has no usable token.")
            self.stdout.write(f"revoked {count} token{'s' if count != 1 else ''} of {user.username}")
        else:
            if opts["days"] is not None and opts["days"] < 0:
                raise CommandError("--days is a number of days, 0 for a token that never expires.")
            self.stdout.write(api_token_create(user=user, name=opts["name"], days=opts["days"]))

    def _list(self, user: Any) -> None:
        now = timezone.now()
        for token in api_tokens_of(user):
            if token.revoked_at:
                state = f"revoked {token.revoked_at:%Y-%m-%d}"
            elif token.expires_at and token.expires_at <= now:
                state = f"expired {token.expires_at:%Y-%m-%d}"
            else:
                state = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "never expires"
            used = f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
            self.stdout.write(f"{token.prefix}…  {token.name:<16} created {token.created_at:%Y-%m-%d}  {used}  {state}")
