"""`manage.py audit …`: seal, verify, export, erase, prune, retention, public-key, archive-key.

    audit seal [--loop [--every SECONDS]]
    audit verify [--run THREAD_ID | --since YYYY-MM-DD]         exit 1 naming the first bad entry
    audit export (--run ID | [--since D] [--until D] [--workflow W] [--actor A]) --format jsonl|csv|pdf -o FILE
                 --as COMPLIANCE_OR_ADMIN_USERNAME
    audit erase (--label KEY=VALUE | --run ID) --actor ADMIN_USERNAME
    audit prune (--dry-run | --actor ADMIN_USERNAME)
    audit retention WORKFLOW DAYS --actor ADMIN_USERNAME [--allow-below-minimum]
    audit public-key [--all]                                    --all: the current key and every archived one
    audit archive-key                                           before a key rotation (README, "Audit ledger")

A usage error (a malformed date, a missing --actor) exits 2, a refusal 1, Ctrl-C 130 (orchestrator/cli.py).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from audit.erasure import ErasureError, audit_erase
from audit.exports import EXPORTERS, FORMATS, ExportError, ExportScope, export_stream
from audit.retention import RetentionError, retention_prune, retention_set
from audit.sealing import (
    SealRefused,
    ledger_public_key,
    ledger_signing_key,
    seal_dir,
    seal_loop,
    seal_pass,
    seal_summary,
)
from audit.signing import (
    LedgerKeyError,
    archive_public_key,
    archived_public_keys,
    export_public_key_pem,
    key_files_ignored,
    key_id,
    public_keys_dir,
)
from audit.verify import ledger_verify
from orchestrator.cli import (
    Interrupted,
    OperatorCommand,
    date_arg,
    label_arg,
    loop_arguments,
    loop_every_checked,
    output_arg,
    plural,
    run_named,
    user_with_role,
)
from orchestrator.roles import ADMIN

ACTOR_ADMIN = "username of the admin doing it (recorded)"

# What Ctrl-C left behind, by action (an export words its own: it knows whether it was recorded).
INTERRUPTED = {
    "seal": "the seals made before the interruption are kept; run it again to seal the rest",
    "verify": "the ledger was not verified and nothing was recorded; run it again",
    "export": "nothing was exported or recorded",
    "erase": "an erasure is one transaction, so it either finished or changed nothing; run it again to be sure "
             "(a run erased before is reported as already erased)",
    "prune": "a prune is one transaction, so it either finished or changed nothing; `audit prune --dry-run` shows "
             "what is still due",
    "retention": "the change is one transaction, so it either finished or changed nothing; run it again to be sure",
    "archive-key": "run it again: a key is archived whole or not at all",
}


def _export_interrupted(left: str, recorded: bool) -> Interrupted:
    """Ctrl-C during an export: what it left, and whether its ledger entry (made as it starts) was written."""
    return Interrupted(f"{left}; " + ("the attempt was recorded in the ledger (an export entry is made when an "
                                      "export starts)" if recorded else "nothing was recorded"))


class ProgressBar:
    """A one-line progress bar on stderr (only drawn on a terminal or when forced)."""

    def __init__(self, stream: Any, label: str, *, force: bool = False) -> None:
        self.stream, self.label = stream, label
        self.enabled = force or getattr(stream, "isatty", lambda: False)()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        share = done / total if total else 1.0
        filled = int(share * 30)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {done:,}/{total:,}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

    def stage(self, text: str) -> None:
        """A step after the counted one, so a bar at 100% is not followed by unexplained silence."""
        if self.enabled:
            self.stream.write(f"{self.label}: {text}\n")
            self.stream.flush()


class Command(OperatorCommand):
    help = "The audit ledger: seal, verify, export, erase, prune, retention, public-key, archive-key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seal = sub.add_parser("seal", help="sign a Merkle tree head over every finished, unsealed entry")
        loop_arguments(seal, doing="sealing", pauses="seals", default="GATEHOUSE_SEAL_SECONDS")

        verify = sub.add_parser("verify", help="recompute chains, Merkle roots and signatures")
        verify.add_argument("--run", help="one run's thread id (the run is verified whole)")
        verify.add_argument("--since", type=date_arg, help="runs with entries since this date (YYYY-MM-DD)")

        export = sub.add_parser("export", help="export entries with proofs (jsonl), flat rows (csv) or a report (pdf)")
        export.add_argument("--run", help="one run's thread id (the run is exported whole)")
        export.add_argument("--since", type=date_arg, help="runs with entries from this date (YYYY-MM-DD)")
        export.add_argument("--until", type=date_arg, help="runs with entries up to this date (YYYY-MM-DD)")
        export.add_argument("--workflow", help="runs of this workflow")
        export.add_argument("--actor", help="runs this user decided on")
        export.add_argument("--format", choices=FORMATS, default="jsonl")
        export.add_argument("-o", "--output", type=output_arg, required=True, help="file to write ('-' for stdout)")
        export.add_argument("--as", dest="as_user", required=True,
                            help="username of the compliance officer or admin exporting (recorded)")
        export.add_argument("--progress", action="store_true", help="draw the progress bar even without a terminal")

        erase = sub.add_parser("erase", help="remove personal data, keep the proofs")
        erase.add_argument("--label", type=label_arg, help="KEY=VALUE, e.g. customer=acme-42")
        erase.add_argument("--run", help="one run's thread id (its forks are erased with it)")
        erase.add_argument("--actor", required=True, help=ACTOR_ADMIN)

        prune = sub.add_parser("prune", help="delete runs past their retention period (sealed ones only)")
        prune.add_argument("--dry-run", action="store_true", help="list what would be pruned, change nothing")
        prune.add_argument("--actor", help=f"{ACTOR_ADMIN}; required unless --dry-run")
        self._prune_parser = prune  # a missing --actor is a usage error, as for erase and retention

        retention = sub.add_parser("retention", help="set a workflow's retention period in days")
        retention.add_argument("workflow")
        retention.add_argument("days", type=int)
        retention.add_argument("--actor", required=True, help=ACTOR_ADMIN)
        retention.add_argument("--allow-below-minimum", action="store_true",
                               help="accept fewer than 183 days (a deliberate, recorded choice)")

        public_key = sub.add_parser("public-key", help="print the ledger's public key (PEM) for the offline verifier")
        public_key.add_argument("--all", action="store_true",
                                help="also every archived key (from before a rotation), one PEM block each")
        sub.add_parser("archive-key", help="keep the current key's public half among the archived keys, so the "
                                           "seals it signed still verify after a rotation (run it before rotating)")

    def interrupted_note(self, options: dict[str, Any]) -> str:
        return INTERRUPTED.get(options["action"], self.interrupted)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except (ExportError, ErasureError, RetentionError, LedgerKeyError, LookupError) as exc:
            raise CommandError(str(exc)) from None

    def _seal(self, opts: dict[str, Any]) -> None:
        from django.conf import settings

        loop_every_checked(opts, once="to seal once")
        if opts["loop"]:
            every = opts["every"] or settings.GATEHOUSE_SEAL_SECONDS
            if seal_loop(interval=every, stdout=self.stdout) == signal.SIGINT:
                raise Interrupted("sealing stopped after the seal in progress; every seal made is kept")
            return
        try:
            done = seal_pass()
        except SealRefused as exc:
            raise CommandError(f"not sealed: {exc}") from None
        for seal in done.made:
            self.stdout.write(seal_summary(seal))
        if done.pending:
            raise CommandError(f"not sealed: {done.pending}")
        if not done.made:
            self.stdout.write("nothing to seal: every entry is already sealed")
        if done.copy_error:
            raise CommandError(done.copy_error)
        if done.earlier_copies:
            self.stdout.write(f"wrote {plural(done.earlier_copies, 'missing copy', 'missing copies')} of earlier seals to "
                              f"{seal_dir()}")

    def _verify(self, opts: dict[str, Any]) -> None:
        if opts["run"] is not None and opts["since"]:
            # As export refuses them: --since beside a run was silently ignored.
            raise CommandError("a run is verified whole, so it takes no --since: leave out --since to verify the "
                               "run, or --run to verify the runs with entries since the date")
        run = run_named(opts["run"]).thread_id if opts["run"] is not None else None
        result = ledger_verify(run=run, since=opts["since"], actor="cli")
        for warning in result.warnings[:5]:
            self.stderr.write(f"warning: {warning}")
        if result.ok:
            self.stdout.write(result.summary())
            return
        if len(result.findings) > 1:  # one finding is the summary line itself
            for finding in sorted(result.findings, key=lambda f: (f.gseq is None, f.gseq or 0))[:20]:
                self.stderr.write(f"- {finding.sentence()}")
        self.stderr.write(result.summary())
        sys.exit(1)

    def _export(self, opts: dict[str, Any]) -> None:
        exporter = user_with_role(opts["as_user"], *EXPORTERS, needed_for="exporting", flag="--as").get_username()
        run = opts["run"]
        if run is not None and run.strip():  # an empty one is refused by the scope, in its own words
            run = run_named(run).thread_id
        scope = ExportScope(run=run, since=opts["since"], until=opts["until"], workflow=opts["workflow"],
                            actor=opts["actor"])
        bar = ProgressBar(self.stderr._out, f"export {opts['format']}", force=opts["progress"])
        if opts["output"] == "-":
            self._export_to_stdout(scope, opts["format"], exporter, bar)
            return
        # Written to a new file beside the target, which replaces the target only once complete: a
        # path that cannot be written fails before the export is recorded in the ledger, and a
        # failed export never truncates or deletes a file that was already there.
        target = Path(opts["output"])
        try:
            odd = target.exists() and not target.is_file()
        except OSError as exc:  # a name too long, a directory it may not look in: a traceback before
            raise CommandError(f"cannot write {opts['output']} ({exc.strerror}); nothing was exported or "
                               "recorded. Pick a writable path, or -o - for standard output.") from None
        if odd:
            # Replacing it would remove it (as root, even /dev/null), and a directory cannot be replaced.
            raise CommandError(f"{opts['output']} is not a regular file (a directory, device or pipe); nothing was "
                               "exported or recorded. Give a file path, or -o - for standard output.")
        partial = target.parent / f".{target.name}.{secrets.token_hex(6)}"
        try:
            # 0666 less the umask, as any new file: an export is made to be handed over, not kept private.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            raise CommandError(f"cannot write {opts['output']} ({exc.strerror}); nothing was exported or "
                               "recorded. Pick a writable path, or -o - for standard output.") from None
        size, recorded = 0, False
        try:
            with os.fdopen(fd, "wb") as handle:
                runs, stream = export_stream(scope=scope, fmt=opts["format"], actor=exporter, progress=bar,
                                             stage=bar.stage)
                recorded = True
                for chunk in stream:
                    handle.write(chunk)
                    size += len(chunk)
            os.replace(partial, target)
        except BaseException as exc:
            partial.unlink(missing_ok=True)
            if isinstance(exc, KeyboardInterrupt):
                raise _export_interrupted(f"nothing was written to {opts['output']}", recorded) from None
            raise
        self.say(f"wrote {opts['output']}: {plural(len(runs), 'run')}, {plural(size, 'byte')}")

    def _export_to_stdout(self, scope: ExportScope, fmt: str, exporter: str, bar: ProgressBar) -> None:
        recorded = False
        try:
            runs, stream = export_stream(scope=scope, fmt=fmt, actor=exporter, progress=bar, stage=bar.stage)
            recorded = True
            for chunk in stream:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        except KeyboardInterrupt:
            if not recorded:
                raise Interrupted("nothing was exported or recorded") from None
            raise _export_interrupted("the export on standard output is incomplete: discard it", recorded) from None

    def _erase(self, opts: dict[str, Any]) -> None:
        actor = user_with_role(opts["actor"], ADMIN, needed_for="erasure", flag="--actor")
        label = opts["label"]
        run = opts["run"]
        if run is not None and label is None:
            run = run_named(run).thread_id
        result = audit_erase(actor=actor, label=label, run=run)
        if result.already_erased:
            self.stdout.write(f"already erased, left as they were (nothing changed or recorded for them): "
                              f"{', '.join(result.already_erased)}")
        if not result.runs:
            return
        self.stdout.write(
            f"erased {plural(len(result.runs), 'run')} ({', '.join(result.runs)}): "
            f"{plural(result.checkpoints, 'checkpoint')}, {plural(result.journal, 'journal row')}, "
            f"{plural(result.review_items, 'review item')}, {plural(result.blobs, 'blob')}; "
            f"{plural(result.entries_redacted, 'ledger entry', 'ledger entries')} marked redacted (hashes unchanged)")

    def _prune(self, opts: dict[str, Any]) -> None:
        actor = ""
        if not opts["dry_run"]:
            if not opts["actor"]:
                self._prune_parser.error("the following arguments are required: --actor (only --dry-run goes "
                                         "without it)")
            actor = user_with_role(opts["actor"], ADMIN, needed_for="pruning", flag="--actor").get_username()
        plan = retention_prune(dry_run=opts["dry_run"], actor=actor)
        verb = "would prune" if opts["dry_run"] else "pruned"
        self.stdout.write(f"{verb} {plural(len(plan.due), 'run')} "
                          f"({plural(plan.entries, 'ledger entry', 'ledger entries')} kept as sealed leaves, "
                          f"{plural(plan.checkpoints, 'checkpoint')})")
        for thread_id in plan.due[:50]:
            self.stdout.write(f"  {thread_id}")
        for thread_id, why in list(plan.waiting.items())[:20]:
            self.stdout.write(f"  kept {thread_id}: {why}")

    def _retention(self, opts: dict[str, Any]) -> None:
        actor = user_with_role(opts["actor"], ADMIN, needed_for="changing how long evidence is kept", flag="--actor")
        policy = retention_set(workflow=opts["workflow"], days=opts["days"],
                               allow_below_minimum=opts["allow_below_minimum"], actor=actor.get_username())
        self.stdout.write(f"{policy.workflow}: finished runs are kept {plural(policy.days, 'day')}")

    def _public_key(self, opts: dict[str, Any]) -> None:
        # The sealer's key, by its rule (ledger_public_key): a deployment without one is told so, not handed
        # a new key; development makes it here if no seal has yet.
        if not opts["all"]:
            self.stdout.write(export_public_key_pem(ledger_signing_key().public_key()).rstrip("\n"))
            return
        # Each block after a comment line naming it; the offline verifier reads every block of a file.
        current = ledger_public_key()
        archived = archived_public_keys()
        if current is None and not archived:
            raise CommandError("no ledger key: none is configured (GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE)"
                               f" and none is archived in {public_keys_dir()}")
        blocks: list[tuple[str, str, Any]] = []  # (key id, what it is, public key)
        if current is not None:
            blocks.append((key_id(current), "current: signs new seals", current))
        for kid, (key, path) in sorted(archived.items()):
            if current is None or kid != key_id(current):
                blocks.append((kid, f"archived: {path.name}", key))
        self.stdout.write("\n".join(f"# ledger key {kid} ({what})\n{export_public_key_pem(key).rstrip()}"
                                    for kid, what, key in blocks))
        self.say(f"{plural(len(blocks), 'key')}: give the offline verifier this output as a file "
                 "(--public-key KEYS.pem reads every key in it)")

    def _archive_key(self, opts: dict[str, Any]) -> None:
        current = ledger_public_key()
        if current is None:
            raise CommandError("no ledger key to archive: set GATEHOUSE_LEDGER_KEY or GATEHOUSE_LEDGER_KEY_FILE to the "
                               "key seals are signed with, then run it again")
        archived = archive_public_key(current)
        for ignored in key_files_ignored():
            self.say(f"warning: {ignored.warning()}")
        if archived.written:
            self.stdout.write(f"archived key {archived.key_id} (the current ledger key) in {archived.path}: the seals "
                              "it signed keep verifying once another key is configured")
        else:
            self.stdout.write(f"key {archived.key_id} (the current ledger key) is already archived in "
                              f"{archived.path}: nothing changed")
