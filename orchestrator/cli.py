"""What every management command shares, so that they read alike to an operator.

- Argument types that refuse a bad value while the arguments are parsed: they raise
  argparse.ArgumentTypeError, the one exception argparse turns into a usage error (exit 2, the
  message on one line); anything else raised there escapes as a traceback.
- The people named by --actor and --as, and the run named by a thread id: one wording for an
  unknown user, a missing role and an unknown run, whichever command is refusing.
- Text shown in a terminal: names and values with their control characters escaped (a token named
  with a terminal escape must not colour or clear the operator's screen), columns as wide as what
  they hold, long values clipped with "…".
- Ctrl-C: one line saying what the interruption left behind, exit 130, no traceback.
- A reader that stops reading (`runs history ID | head`): the command ends quietly, exit 141, as a
  Unix tool killed by SIGPIPE does; no BrokenPipeError traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import signal
import sys
from collections.abc import Container, Iterable, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from audit.date_range import date_parse
from audit.offline_verifier import plural, printable
from orchestrator.models import Run
from orchestrator.registry import WorkflowModuleError
from orchestrator.roles import ADMIN, COMPLIANCE, ENGINEER, REVIEWER, user_has_role
from orchestrator.services import RunError, run_get

__all__ = [
    "CLOSED_PIPE_EXIT", "INTERRUPTED_EXIT", "Interrupted", "OperatorCommand", "clip", "count_arg", "date_arg",
    "development_only", "label_arg", "output_arg", "plural", "printable", "run_named", "seconds_arg", "step_arg", "table", "user_named",
    "user_with_role",
]

INTERRUPTED_EXIT = 128 + signal.SIGINT  # 130, what shells report for a command Ctrl-C stopped
CLOSED_PIPE_EXIT = 128 + signal.SIGPIPE  # 141, what shells report for `… | head` stopping a writer

# How a message names the holder of a role: "'engineer' is not an admin".
ROLE_HOLDERS = {ADMIN: "an admin", COMPLIANCE: "a compliance officer", ENGINEER: "an engineer",
                REVIEWER: "a reviewer"}


# --- argument types --------------------------------------------------------------------------------------
def date_arg(text: str) -> date:
    """A day as YYYY-MM-DD, in the words the pages' date filters use."""
    try:
        return date_parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def loop_arguments(parser: argparse.ArgumentParser, *, doing: str, pauses: str, default: str) -> None:
    """--loop ("keep `doing` until SIGTERM or Ctrl-C") and --every (the pause between its `pauses`,
    `default` when not given); loop_every_checked refuses --every without --loop."""
    parser.add_argument("--loop", action="store_true", help=f"keep {doing} until SIGTERM or Ctrl-C")
    parser.add_argument("--every", type=seconds_arg, default=None,
                        help=f"with --loop: seconds between {pauses}, above 0 (default {default})")
    parser.set_defaults(loop_parser=parser, loop_pauses=pauses)


def loop_every_checked(opts: dict[str, Any], *, once: str) -> None:
    """Refuse --every without --loop as a usage error: one pass has no pause, and `reconcile --every 5`
    ran once and exited, as if the number were a loop's setting. `once`: how to do a single pass."""
    if opts["every"] is not None and not opts["loop"]:
        opts["loop_parser"].error(f"--every is the pause between the {opts['loop_pauses']} of --loop: add --loop, "
                                  f"or leave out --every {once}")


def seconds_arg(text: str) -> float:
    """A positive number of seconds: 0 or less would make a loop spin without pausing."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 (e.g. 30 or 0.5)")
    return value


def count_arg(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def step_arg(text: str) -> int:
    """A checkpoint number: a whole number of at least 0 (0 is the run's input). Whether the run has
    that checkpoint is for the command to say, naming the run's range."""
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a checkpoint number (a whole number, 0 for the input)")
    return int(text)


def label_arg(text: str) -> tuple[str, str]:
    """A run label as KEY=VALUE (the value may be empty, the key may not)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. --label customer=acme-42)")
    return key, value


def output_arg(text: str) -> str:
    """A file to write, or '-' for standard output. An empty one (an unset shell variable) would name
    the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the output is empty: give a file path, or - for standard output")
    return text


# --- people and runs -------------------------------------------------------------------------------------
def user_named(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}; an admin creates it at /admin/ (Users) and adds it to a role group (README: Accounts and roles).")
    return user


def development_only(what: str) -> None:
    """Refuse a development convenience in a deployment (DEBUG=0), saying what to do instead."""
    if not settings.GATEHOUSE_DEV_MODE:
        raise CommandError(f"{what} is for development (DEBUG=1) only, and this is a deployment (DEBUG=0). "
                           "Create real accounts with `manage.py createsuperuser` and give them roles "
                           "(README: Accounts and roles).")


def user_with_role(username: str, *roles: str, needed_for: str, flag: str) -> Any:
    """The user `flag` names, who must hold one of `roles` for `needed_for` ("erasure")."""
    user = user_named(username)
    if not user_has_role(user, *roles):
        holders = [ROLE_HOLDERS[role] for role in roles]
        theirs = " or ".join(f"{holder}'s" for holder in holders)
        raise CommandError(f"{username!r} is not {' or '.join(holders)}: {needed_for} needs the "
                           f"{' or '.join(roles)} role ({flag} takes {theirs} username).")
    return user


def run_named(thread_id: str) -> Run:
    """The run with this thread id (or database id), or the refusal every command words alike."""
    try:
        return run_get(thread_id)
    except RunError as exc:
        raise CommandError(str(exc)) from None


# --- terminal text ---------------------------------------------------------------------------------------
def clip(text: str, limit: int) -> str:
    """At most `limit` characters; a cut value ends in "…" so it does not read as the whole value."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Container[int] = ()) -> list[str]:
    """The lines of a table: each column as wide as its widest cell (header included), two spaces apart,
    columns numbered in `right` aligned right, an empty cell shown as "-", every cell `printable`."""
    cells = [[printable(str(c)) for c in header]]
    cells += [[printable("-" if c is None or c == "" else str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(cell.rjust(width) if i in right else cell.ljust(width)
                      for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in cells]


# --- the command -----------------------------------------------------------------------------------------
class Interrupted(Exception):
    """Ctrl-C, caught where the command knows exactly what it left behind: the message says that."""


def _plain(text: str) -> str:
    return text


def _stdout_fd() -> int | None:
    try:
        return sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (replaced, or already closed)
        return None


def _stdout_reader_gone() -> bool:
    """Is standard output a pipe (or socket) nobody reads any more? Then a BrokenPipeError was ours to
    expect; one from anywhere else (a connection the command made) is a failure to report."""
    fd = _stdout_fd()
    if fd is None:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _stdout_discarded() -> None:
    """Point standard output at the null device: what is still buffered for the reader that went away
    is dropped there, so the interpreter's last flush at exit does not fail (and print) again."""
    fd = _stdout_fd()
    if fd is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


class OperatorCommand(BaseCommand):
    """A command an operator runs. Ctrl-C stops it with one line saying what was kept (`interrupted`,
    or an Interrupted's message), exit 130: never a KeyboardInterrupt traceback. A reader that closes
    its end of standard output (`| head`) ends it quietly, exit 141: never a BrokenPipeError traceback."""

    interrupted = "stopped before it finished"

    def interrupted_note(self, options: dict[str, Any]) -> str:
        return self.interrupted

    def run_from_argv(self, argv: list[str]) -> None:
        # Python reads an argument's bytes that are not UTF-8 as lone surrogates ("\udcff" for 0xff), which no
        # database query, ledger digest or file name encoding takes: an --actor or a --label typed in a Latin-1
        # terminal ended in a UnicodeEncodeError traceback, after the arguments had been accepted.
        for arg in argv[2:]:
            bad = next((ord(c) - 0xDC00 for c in arg if "\udc80" <= c <= "\udcff"), None)
            if bad is not None:
                self._called_from_command_line = True  # the parser's error(): usage, one line, exit 2
                self.create_parser(argv[0], argv[1]).error(
                    f"argument '{printable(os.fsencode(arg).decode('utf-8', 'backslashreplace'))}' is not UTF-8 text (byte "
                    f"0x{bad:02x}); type it again in a terminal set to a UTF-8 locale (LANG=C.UTF-8)")
        super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            result = super().execute(*args, **options)
            # Output still buffered meets a closed pipe here, where it is caught, not at exit.
            self.stdout.flush()
            return result
        except KeyboardInterrupt:
            note = self.interrupted_note(options)
        except Interrupted as exc:
            note = str(exc)
        except WorkflowModuleError as exc:
            # The engineer's workflow module, loaded by whatever the command touches: one line naming it
            # and what is wrong, as for any refusal, rather than a traceback through the registry.
            raise CommandError(str(exc)) from None
        except BrokenPipeError:
            if not _stdout_reader_gone():
                raise
            # Whoever read standard output has all they wanted: nothing to say, and no one to say it to.
            _stdout_discarded()
            sys.exit(CLOSED_PIPE_EXIT)
        self.stderr.write(f"interrupted: {note}")
        sys.exit(INTERRUPTED_EXIT)

    def say(self, text: str) -> None:
        """A line on stderr that is not an error (a report beside data written to stdout): Django
        styles stderr as an error, bold red on a terminal."""
        self.stderr.write(text, style_func=_plain)
