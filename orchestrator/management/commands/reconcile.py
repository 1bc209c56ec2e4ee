"""`manage.py reconcile [--loop]`: re-enqueue runs from Postgres (expired leases, lost jobs)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import close_old_connections

from orchestrator.cli import OperatorCommand, plural, seconds_arg
from orchestrator.reconciler import runs_reconcile


class Command(OperatorCommand):
    help = "Re-enqueue runs whose worker died or whose job Redis lost. --loop runs it periodically."
    # A pass only re-enqueues what Postgres says is due, so stopping one midway loses nothing.
    interrupted = "reconcile stopped; a pass is safe to interrupt, the next one enqueues what this one did not"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep reconciling until SIGTERM or Ctrl-C")
        parser.add_argument("--every", type=seconds_arg, default=None,
                            help="with --loop: seconds between passes, above 0 (default GATEHOUSE_RECONCILE_SECONDS)")
        self._parser = parser  # --every without --loop is a usage error (handle)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["every"] is not None and not opts["loop"]:
            # One pass has no pause: `reconcile --every 5` ran once and exited, as if it were a loop's setting.
            self._parser.error("--every is the pause between the passes of --loop: add --loop, or leave out "
                               "--every for one pass")
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
