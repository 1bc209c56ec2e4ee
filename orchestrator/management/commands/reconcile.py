"""`manage.py reconcile [--loop]`: re-enqueue runs from Postgres (expired leases, lost jobs)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import close_old_connections

from orchestrator.cli import OperatorCommand, loop_arguments, loop_every_checked, plural
from orchestrator.reconciler import runs_reconcile


class Command(OperatorCommand):
    help = "Re-enqueue runs whose worker died or whose job Redis lost. --loop runs it periodically."
    # A pass only re-enqueues what Postgres says is due, so stopping one midway loses nothing.
    interrupted = "reconcile stopped; a pass is safe to interrupt, the next one enqueues what this one did not"

    def add_arguments(self, parser: CommandParser) -> None:
        loop_arguments(parser, doing="reconciling", pauses="passes", default="GATEHOUSE_RECONCILE_SECONDS")

    def handle(self, *args: Any, **opts: Any) -> None:
        loop_every_checked(opts, once="for one pass")
        every = opts["every"] or settings.GATEHOUSE_RECONCILE_SECONDS
        stop = threading.Event()
        # SIGTERM ends the loop between passes; a pass is safe to interrupt anyway.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        if opts["loop"]:
            self.stdout.write(f"reconcile: a pass every {every:g}s until SIGTERM or Ctrl-C")
        while True:
            close_old_connections()
            try:
                report = runs_reconcile()
            except Exception as exc:  # Redis or Postgres briefly away: say so and try again next pass
                self.stderr.write(f"reconcile: pass failed ({exc}); retrying in {every:g}s")
            else:  # outside the try: a reader that went away (`| head`) ends the loop, it is no failed pass
                if report.expired_leases or report.enqueued or not opts["loop"]:
                    self.stdout.write(f"reconcile: {plural(len(report.expired_leases), 'expired lease')}, "
                                      f"{len(report.enqueued)} enqueued")
            if not opts["loop"] or stop.wait(every):
                return
