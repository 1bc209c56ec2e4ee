"""`manage.py api_token USERNAME`: create an API token (shown once), list a user's tokens, revoke them.

    python manage.py api_token USERNAME [--name NAME] [--days N]     # N=0: never expires
    python manage.py api_token USERNAME --list
    python manage.py api_token USERNAME --revoke PREFIX | --revoke-all
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from orchestrator.cli import OperatorCommand, table, user_named
from orchestrator.models import ApiToken
from orchestrator.tokens import PREFIX_LENGTH, api_token_create, api_token_revoke, api_tokens_of


class Command(OperatorCommand):
    help = "Create, list or revoke a user's API tokens (Authorization: Bearer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", help="what the token is for, shown by --list (default: cli)")
        parser.add_argument("--days", type=int, default=None,
                            help="lifetime in days (default GATEHOUSE_API_TOKEN_DAYS; 0: never expires)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--list", action="store_true", help="the user's tokens (prefix, name, state)")
        action.add_argument("--revoke", metavar="PREFIX", help="revoke the token with this prefix (as --list shows)")
        action.add_argument("--revoke-all", action="store_true", help="revoke every usable token of the user")
        self._parser = parser  # --name or --days beside --list or a revoke is a usage error

    def handle(self, *args: Any, **opts: Any) -> None:
        acting = "--list" if opts["list"] else "--revoke-all" if opts["revoke_all"] else (
            "--revoke" if opts["revoke"] is not None else None)
        given = [flag for flag, key in (("--name", "name"), ("--days", "days")) if opts[key] is not None]
        if acting and given:
            # They describe a new token: beside --list or a revoke they were ignored without a word.
            self._parser.error(f"{' and '.join(given)} describe{'s' if len(given) == 1 else ''} a new token, so "
                               f"{'it does' if len(given) == 1 else 'they do'} not go with {acting}: leave "
                               f"{'it' if len(given) == 1 else 'them'} out, or leave out {acting} to create a token")
        user = user_named(opts["username"])
        if opts["list"]:
            self._list(user)
        elif opts["revoke"] is not None or opts["revoke_all"]:
            self._revoke(user, None if opts["revoke_all"] else opts["revoke"])
        else:
            if opts["days"] is not None and not 0 <= opts["days"] <= 36_500:
                raise CommandError("--days is a number of days up to 36500, 0 for a token that never expires.")
            most = ApiToken._meta.get_field("name").max_length
            if opts["name"] is not None and len(opts["name"]) > most:  # the column's limit: a DataError traceback
                raise CommandError(f"--name is {len(opts['name']):,} characters, over the limit of {most}: shorten "
                                   "it (it only says what the token is for). No token was made.")
            self.stdout.write(api_token_create(user=user, name=opts["name"] or "cli", days=opts["days"]))

    def _revoke(self, user: Any, prefix: str | None) -> None:
        if prefix is not None and len(prefix) < PREFIX_LENGTH:
            # A shorter prefix ("gh_") would match, and revoke, several tokens at once.
            raise CommandError(f"give the token's {PREFIX_LENGTH}-character prefix as --list shows it "
                               "(or the whole token); --revoke-all revokes every token.")
        count = api_token_revoke(user=user, prefix=prefix)
        if not count:
            # Only the prefix is echoed: the argument may be a whole token, which must not reach logs.
            raise CommandError(f"{user.username} has no usable token {prefix[:PREFIX_LENGTH]}…; see --list."
                               if prefix is not None else f"{user.username} has no usable token.")
        self.stdout.write(f"revoked {count} token{'s' if count != 1 else ''} of {user.username}")

    def _list(self, user: Any) -> None:
        now = timezone.now()
        rows = []
        for token in api_tokens_of(user):
            if token.revoked_at:
                state = f"revoked {token.revoked_at:%Y-%m-%d}"
            elif token.expires_at and token.expires_at <= now:
                state = f"expired {token.expires_at:%Y-%m-%d}"
            else:
                state = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "never expires"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            rows.append((f"{token.prefix}…", token.name, f"{token.created_at:%Y-%m-%d}", used, state))
        if not rows:
            self.stdout.write(f"no tokens for {user.username}; create one with "
                              f"`python manage.py api_token {user.username}`")
            return
        for line in table(("token", "name", "created", "last used", "state"), rows):
            self.stdout.write(line)
