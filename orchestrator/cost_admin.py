"""Admin services for cost governance: budgets, prices, cost settings, and the budget_exceeded item's
two ways out. Every change is recorded in the ledger's system chain (who, what, old → new)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import system_ledger_append
from orchestrator import spend
from orchestrator.budgets import amount_text, budget_holds_revoke, money
from orchestrator.models import Budget, CostSettings, ModelPrice, Run
from orchestrator.registry import workflows
from orchestrator.roles import person_name
from orchestrator.selectors import run_label_pairs
from orchestrator.services import RunError
from orchestrator.state import loads


class CostAdminError(RunError):
    """Refused; nothing changed. `field_errors` maps form fields to messages (RunError's own)."""


@dataclass
class BudgetInput:
    name: str
    scope: str
    match: str
    period: str
    cap: Decimal
    soft_thresholds: list[int]
    active: bool = True


def _actor(user: Any) -> str | None:
    return getattr(user, "username", None)


def _match(data: BudgetInput) -> str:
    """The match as the budget functions compare it with a run's labels: `key=value`, no spaces
    around either (`department = legal` would otherwise never match a run)."""
    if data.scope == "label":
        key, sep, value = data.match.partition("=")
        return f"{key.strip()}{sep}{value.strip()}"
    return data.match.strip()


def _kept_scope(current: Budget | None, data: BudgetInput) -> bool:
    return current is not None and current.scope == data.scope and current.match == _match(data)


def _check_budget(data: BudgetInput, *, current: Budget | None = None) -> None:
    errors: dict[str, str] = {}
    match = _match(data)
    if data.scope == "workflow" and not match:
        errors["match"] = "Name the workflow this budget covers."
    # A misspelt workflow would be saved as a budget that guards nothing. A budget already on a
    # workflow that was since retired may still be edited (deactivated, renamed) as it is.
    elif data.scope == "workflow" and match not in workflows() and not _kept_scope(current, data):
        known = ", ".join(sorted(workflows())) or "(none registered)"
        errors["match"] = f"No workflow is registered as “{match}”. Choose one of: {known}."
    if data.scope == "label":
        key, sep, value = match.partition("=")
        if not sep or not key or not value:
            errors["match"] = "Write the label as key=value, e.g. department=legal."
    if data.scope in ("global", "run") and match:
        errors["match"] = "Leave this empty: this scope covers every run."
    if data.scope == "run" and data.period != "total":
        errors["period"] = "A per-run cap covers the whole run: choose “All time”."
    if data.cap < 0:
        errors["cap"] = "A cap cannot be negative."
    if any(not 0 < t < 100 for t in data.soft_thresholds):
        errors["soft_thresholds"] = "Soft thresholds are percentages between 1 and 99, e.g. 50, 80."
    if errors:
        raise CostAdminError("The budget was not saved: " + " ".join(errors.values()), errors)


def budget_scope_warning(*, scope: str, match: str) -> str:
    """What to tell whoever saved a label budget that no run carries yet ("" when some run does).

    A warning, not a refusal: runs get their labels when they start, so a budget may rightly be
    set up before the first `customer=acme` run. But a typo looks exactly the same, so say so and
    name the values in use for that key."""
    if scope != "label":
        return ""
    key, _, value = match.partition("=")
    if Run.objects.filter(labels__contains={key: value}).exists():
        return ""
    in_use = [pair.partition("=")[2] for pair in run_label_pairs() if pair.partition("=")[0] == key]
    shown = ", ".join(in_use[:12]) + (", …" if len(in_use) > 12 else "")
    known = f"Values of “{key}” on recent runs: {shown}." if in_use else f"No recent run has a “{key}” label."
    return f"No run is labelled {match} yet: this budget guards nothing until one is. {known}"


# Amounts as the database keeps them (amount_text): str() of a cap typed "5" over a stored 5.000000
# recorded a change in the ledger ("cap from 5.000000 to 5") and revoked every hold.
def _snapshot(budget: Budget) -> dict[str, Any]:
    return {"name": budget.name, "scope": budget.scope, "match": budget.match, "period": budget.period,
            "cap": amount_text(budget.cap), "soft_thresholds": list(budget.soft_thresholds), "active": budget.active}


@transaction.atomic
def budget_create(*, data: BudgetInput, actor: Any) -> Budget:
    _check_budget(data)
    try:
        with transaction.atomic():
            budget = Budget.objects.create(
                name=data.name, scope=data.scope, match=_match(data), period=data.period, cap=data.cap,
                soft_thresholds=sorted(set(data.soft_thresholds)), active=data.active,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        if (sent_twice := _budget_sent_twice(data, actor)) is not None:
            return sent_twice
        raise CostAdminError(f"A budget named “{data.name}” already exists; pick another name.",
                             {"name": "This name is taken."}) from None
    system_ledger_append(kind="budget_created", actor=_actor(actor), payload={"budget": budget.pk, **_snapshot(budget)})
    transaction.on_commit(budget_holds_revoke)  # running jobs took their holds without this budget
    return budget


def _budget_sent_twice(data: BudgetInput, actor: Any) -> Budget | None:
    """The budget this very form made, if the name is taken by it: created by this admin, never
    edited since, with every value as sent. A double click on Save (or a resend) then gets what the
    first send got rather than "this name is taken" for the budget it just made."""
    budget = Budget.objects.filter(name=data.name, version=0, created_by_id=getattr(actor, "pk", None)).first()
    sent = {"name": data.name, "scope": data.scope, "match": _match(data), "period": data.period,
            "cap": amount_text(data.cap), "soft_thresholds": sorted(set(data.soft_thresholds)), "active": data.active}
    return budget if budget is not None and actor is not None and _snapshot(budget) == sent else None


class BudgetChangedMeanwhile(CostAdminError):
    """Someone saved the budget after the form being saved was opened: nothing changed. `budget` is the
    budget as it is now (its version is the one to save over, to overwrite on purpose)."""

    def __init__(self, budget: Budget, *, theirs: dict[str, str]) -> None:
        self.budget = budget
        who = budget.updated_by
        name = f"{person_name(who)}, {who.username}" if who else "name not recorded"
        values = ", ".join(f"{field} {value}" for field, value in theirs.items())
        super().__init__(
            f"Someone else ({name}) changed this budget at {budget.updated_at:%Y-%m-%d %H:%M:%S} UTC, after you "
            f"opened this form; their values: {values}. Your values are kept below; save again to overwrite theirs.")


def _shown(field: str, budget: Budget) -> str:
    if field == "cap":
        return money(budget.cap)
    if field == "soft_thresholds":
        return ", ".join(str(t) for t in budget.soft_thresholds) or "none"
    if field == "active":
        return "yes" if budget.active else "no"
    return f"“{getattr(budget, field)}”"


@transaction.atomic
def budget_update(*, budget: Budget, data: BudgetInput, actor: Any, version: int | None = None) -> Budget:
    """Edit a budget. Running jobs' holds are revoked: a job learns it when its next call settles
    and then takes a fresh hold, checked against the new cap, for the call after that
    (orchestrator.budgets).

    `version`: the budget's version the edit was made on (the edit form's); if another save changed
    the budget since, BudgetChangedMeanwhile and nothing is saved, unless this edit leaves it as that
    save did. None: whatever the version (a cap raise, checked against the locked cap by its caller)."""
    locked = Budget.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=budget.pk)
    if version is not None and not 0 <= version <= locked.version:
        # Edited by hand or built by a script: no save made it, so none is blamed (and one past the
        # column's range was a 500 as this save's version + 1).
        raise CostAdminError(f"Reload the page and make your change again: this form says it was opened on version "
                             f"{version} of the budget, which it never had (it is at version {locked.version}). "
                             "Nothing was saved.")
    _check_budget(data, current=locked)
    before = _snapshot(locked)
    fields = {"name": data.name, "scope": data.scope, "match": _match(data), "period": data.period, "cap": data.cap,
              "soft_thresholds": sorted(set(data.soft_thresholds)), "active": data.active}
    after = _snapshot(Budget(**{**{f: getattr(locked, f) for f in before}, **fields}))
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if not changed:  # the budget is already as asked (perhaps by the save this edit raced): nothing to write
        return locked
    seen = locked.version if version is None else version
    try:
        with transaction.atomic():
            # Guarded on the version the edit was made on: the lock above makes every save wait for
            # the one before it, and this makes a save that waited, or whose form was opened before
            # another save, change nothing.
            saved = Budget.objects.filter(pk=locked.pk, version=seen).update(
                **fields, version=seen + 1, updated_at=timezone.now(),
                updated_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError:
        raise CostAdminError(f"A budget named “{data.name}” already exists; pick another name.",
                             {"name": "This name is taken."}) from None
    if saved != 1:
        theirs = {field.replace("_", " "): _shown(field, locked) for field in changed}
        raise BudgetChangedMeanwhile(locked, theirs=theirs)
    locked.refresh_from_db()
    system_ledger_append(kind="budget_changed", actor=_actor(actor),
                         payload={"budget": locked.pk, "name": locked.name, "changes": changed})
    # After the commit, outside the lock on the budget: settlements must not queue behind it.
    transaction.on_commit(budget_holds_revoke)
    return locked


@transaction.atomic
def budget_cap_raise(*, budget: Budget, cap: Decimal, actor: Any) -> Budget:
    # Compared with, and built from, the budget as it is once locked: another admin's raise (or edit) may
    # have committed since `budget` was read, and a "raise" from that read would set the cap back down
    # (and every other field back to what was read).
    locked = Budget.objects.select_for_update().get(pk=budget.pk)
    if cap <= locked.cap:
        message = f"The new cap must be above the current {money(locked.cap)}."
        raise CostAdminError(message, {"cap": message})
    data = BudgetInput(name=locked.name, scope=locked.scope, match=locked.match, period=locked.period, cap=cap,
                       soft_thresholds=list(locked.soft_thresholds), active=locked.active)
    return budget_update(budget=locked, data=data, actor=actor)


def budget_item_facts(item: Any) -> dict[str, str]:
    """The budget facts a budget_exceeded item was created with (budget, cap, spent, max_cost…)."""
    return (loads(item.request) or {}).get("budget", {})


def budget_item_budget(facts: dict[str, str]) -> Budget | None:
    """The budget a stop was made by: by id (stops made before ids were recorded: by name)."""
    return budget_items_budgets([facts])[0]


def budget_items_budgets(stops: list[dict[str, str]]) -> list[Budget | None]:
    """budget_item_budget for several stops' facts: one query for those that recorded an id, one for
    the older ones, by name (unique)."""
    ids = [int(f["budget_id"]) for f in stops if f.get("budget_id", "").isdigit()]
    names = [f.get("budget", "") for f in stops if not f.get("budget_id", "").isdigit()]
    by_id = Budget.objects.in_bulk(ids) if ids else {}
    by_name = Budget.objects.in_bulk(names, field_name="name") if names else {}
    return [by_id.get(int(f["budget_id"])) if f.get("budget_id", "").isdigit()
            else by_name.get(f.get("budget", "")) for f in stops]


def budget_item_cap_now(facts: dict[str, str], budget: Budget | None) -> Decimal | None:
    """The budget's cap now, when it differs from the cap the stop was made under (else None)."""
    if budget is None or budget.cap == Decimal(facts.get("cap") or 0):
        return None
    return budget.cap


def budget_item_fits(facts: dict[str, str], budget: Budget | None) -> bool:
    """Whether the stopped call fits its budget as it is now (a removed or inactive budget blocks nothing)."""
    return _still_short(budget, facts) is None


def budget_item_needed(facts: dict[str, str]) -> Decimal:
    """The smallest cap that lets the stopped call through, as things stood when it stopped."""
    return sum((Decimal(facts.get(k) or 0) for k in ("spent", "reserved", "max_cost")), Decimal(0))


def budget_item_short(item: Any) -> tuple[Budget, Decimal] | None:
    """(the budget, the cap the stopped call needs) while that budget's cap is still below it, so
    resuming as it is would only stop again at the same call; None when the call now fits."""
    facts = budget_item_facts(item)
    return _still_short(budget_item_budget(facts), facts)


def _still_short(budget: Budget | None, facts: dict[str, str]) -> tuple[Budget, Decimal] | None:
    needed = budget_item_needed(facts)
    return (budget, needed) if budget is not None and budget.active and budget.cap < needed else None


def budget_item_resume(*, item: Any, cap: Decimal | None, actor: Any) -> Any:
    """Raise the blocking budget's cap (if given) and approve the item: the run re-runs the node."""
    from review.services import DecisionInput, already_decided, review_decide

    if item.kind != "budget_exceeded":
        raise CostAdminError("This item is not a budget stop.")
    facts = budget_item_facts(item)
    # One transaction: if the decision is refused (another admin ended the run a moment ago), the
    # cap raise and its ledger entry are undone with it, instead of a raise nobody asked for. The run
    # and the item are locked first, in review_decide's order, so no one waits on the budget row
    # while holding the run (a fork of this run would, through its usage rows).
    with transaction.atomic():
        Run.objects.select_for_update().filter(pk=item.run_id).only("pk").first()
        locked = type(item).objects.select_for_update(of=("self",)).select_related("decided_by").get(pk=item.pk)
        if locked.status != "pending":
            # Before the cap is looked at: a form sent twice finds the cap raised by its first send, and
            # "must be above the current cap" would tell the admin their raise had failed.
            raise already_decided(locked)
        budget = budget_item_budget(facts)
        if cap is not None:
            if budget is None:
                message = (f"Budget “{facts.get('budget')}” no longer exists: leave the cap empty to resume "
                           "without raising one.")
                raise CostAdminError(message, {"cap": message})
            needed = budget_item_needed(facts)
            # A raise that still leaves the call out only stops the run again at the same call, with a
            # new stop to decide: refuse it as the page's "at least …" says, rather than resume.
            if budget.active and budget.cap < cap < needed:
                message = (f"A cap of {money(cap)} is still below the {money(needed)} this call needs: give at "
                           "least that, or end the run.")
                raise CostAdminError(message, {"cap": message})
            budget_cap_raise(budget=budget, cap=cap, actor=actor)
        elif (short := _still_short(budget, facts)) is not None:
            message = (f"The cap of “{short[0].name}” is still {money(short[0].cap)}, below the {money(short[1])} "
                       "this call needs: give a new cap, or end the run.")
            raise CostAdminError(message, {"cap": message})
        return review_decide(item=item, actor=actor, decision=DecisionInput("approve"))


def budget_item_end(*, item: Any, reason: str, actor: Any) -> Any:
    """Reject the item: the run ends as `rejected` (the decision flow's reject goes to END)."""
    from review.services import DecisionInput, review_decide

    # No hold to free here: the run's jobs gave theirs back when they ended, and a hold of a worker
    # that lost the run is released by the reconciler once no call can still spend it.
    return review_decide(item=item, actor=actor, decision=DecisionInput("reject", reason=reason))


# --- prices and settings ------------------------------------------------------------------------------
@dataclass
class PriceInput:
    pattern: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal
    effective_from: date
    note: str = ""


def _price_snapshot(price: ModelPrice) -> dict[str, str]:
    return {"pattern": price.pattern, "input": amount_text(price.input_per_mtok), "output": amount_text(price.output_per_mtok),
            "cached": amount_text(price.cached_input_per_mtok), "from": price.effective_from.isoformat()}


@transaction.atomic
def price_save(*, data: PriceInput, actor: Any, price: ModelPrice | None = None) -> ModelPrice:
    errors = {}
    if not data.pattern.strip():
        errors["pattern"] = "Enter a model name or pattern, e.g. gpt-4o-mini* or claude-sonnet-4-5*."
    for field in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
        if getattr(data, field) < 0:
            errors[field] = "A price cannot be negative."
    if errors:
        raise CostAdminError("The price was not saved: " + " ".join(errors.values()), errors)
    before = _price_snapshot(price) if price else None
    row = price or ModelPrice()
    row.pattern, row.effective_from, row.note = data.pattern.strip(), data.effective_from, data.note
    row.input_per_mtok, row.output_per_mtok = data.input_per_mtok, data.output_per_mtok
    row.cached_input_per_mtok = data.cached_input_per_mtok
    row.updated_by, row.updated_at = (actor if getattr(actor, "pk", None) else None), timezone.now()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        if price is None and (sent_twice := _price_sent_twice(row)) is not None:
            return sent_twice
        message = f"{data.pattern} already has a price from {data.effective_from}; edit that row or pick another date."
        raise CostAdminError(message, {"effective_from": message}) from None
    after = _price_snapshot(row)
    if before != after:  # saved as it was: nothing to record (the note is not priced, nor recorded)
        system_ledger_append(kind="price_changed", actor=_actor(actor),
                             payload={"price": row.pk, "before": before, "after": after})
    transaction.on_commit(spend.prices_invalidate)
    return row


def _price_sent_twice(row: ModelPrice) -> ModelPrice | None:
    """The price this very form added, if its pattern and date are taken by it: saved by the same
    admin with every amount and the note as sent. A double click on Save (or a resend) then gets what
    the first send got rather than "already has a price from" for the row it just added."""
    taken = ModelPrice.objects.filter(pattern=row.pattern, effective_from=row.effective_from).first()
    same = (taken is not None and row.updated_by_id is not None and taken.updated_by_id == row.updated_by_id
            and _price_snapshot(taken) == _price_snapshot(row) and taken.note == row.note)
    return taken if same else None


@transaction.atomic
def cost_settings_update(*, actor: Any, **fields: Any) -> CostSettings:
    conf, _ = CostSettings.objects.select_for_update().get_or_create(pk=1)
    allowed = {"allow_unpriced", "anomaly_k", "anomaly_window", "anomaly_min_runs", "alert_emails",
               "alert_webhook_url"}
    unknown = set(fields) - allowed
    if unknown:
        raise CostAdminError(f"unknown cost settings: {', '.join(sorted(unknown))}.")
    # Recipients are personal data: the ledger says they changed, not what they are.
    changes = {
        k: {"changed": True} if k in ("alert_emails", "alert_webhook_url") else {"from": str(getattr(conf, k)), "to": str(v)}
        for k, v in fields.items() if getattr(conf, k) != v
    }
    for key, value in fields.items():
        setattr(conf, key, value)
    conf.updated_by = actor if getattr(actor, "pk", None) else None
    conf.updated_at = timezone.now()
    conf.save()
    if changes:
        system_ledger_append(kind="cost_settings_changed", actor=_actor(actor), payload={"changes": changes})
    transaction.on_commit(spend.prices_invalidate)
    return conf
