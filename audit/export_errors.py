"""Why an export could not be made (audit/exports.py, audit/export_seals.py)."""


class ExportError(ValueError):
    """The export cannot be made as asked; the message says what to change."""


class LedgerDamaged(ExportError):
    """The ledger rows in the database no longer rebuild the seals' Merkle tree: no proof can be made."""
