"""Workflow configuration: recorded in ``WorkflowStarted`` so a log says how it was run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

__all__ = ["BUDGETS", "Gate", "SandboxPolicy", "WorkflowConfig", "with_budgets"]

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
#: Values of ``WorkflowConfig.sandbox``.
SandboxPolicy = Literal["auto", "bwrap", "none"]


#: Where a run may wait for a person: the plan before any code, the code before its review.
Gate = Literal["plan", "code"]


class WorkflowConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Knobs of one workflow; every field has a default so old logs keep decoding.

    ``model`` is resolved when the workflow starts (``--model``, ``AGENTLOG_MODEL``, then
    the built-in default) and the resolved name is what gets recorded.
    """

    model: str = ""
    max_retries: NonNegative = 3
    step_timeout: Positive = 600.0
    continue_on_error: bool = False
    max_revisions: NonNegative = 0
    run_tests: bool = False
    test_timeout: Positive = 120.0
    #: Where ``run_tests`` runs the model's code: ``auto`` (bubblewrap, refusing when it is
    #: missing), ``bwrap`` (the same, named), ``none`` (unconfined, the user's choice).
    sandbox: SandboxPolicy = "auto"
    backoff_base: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    backoff_max: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    max_tokens: Annotated[int, msgspec.Meta(gt=0)] = 32000
    #: A workspace's test command (``--test-cmd``, run by ``sh -c``); empty: detected.
    test_cmd: str = ""
    #: Tokens of workspace context (repository map, file texts) one request may carry.
    context_tokens: Annotated[int, msgspec.Meta(gt=0)] = 60000
    #: Gates where a person approves before the run goes on: after the plan, after the code.
    approve: tuple[Gate, ...] = ()
    #: The Coder of a workspace run works as a tool loop (``docs/agent-loop.md``) instead
    #: of answering with one change set.
    agent_loop: bool = False
    #: Model turns one attempt of a loop may take before it stops (``BudgetReached``).
    max_turns: Annotated[int, msgspec.Meta(gt=0)] = 50
    #: Tokens (input, output and cache, all calls) the whole run may use; None: no bound.
    budget_tokens: Annotated[int, msgspec.Meta(gt=0)] | None = None
    #: Dollars the whole run may spend (at the known prices); None: no bound.
    budget_usd: Annotated[float, msgspec.Meta(gt=0)] | None = None
    #: Seconds one ``run_command`` of a loop may take before it is killed.
    command_timeout: Positive = 120.0
    #: Estimated tokens a loop's conversation may reach before its oldest tool results
    #: are elided (``ContextElided``), down to 60% of it.
    loop_context_tokens: Annotated[int, msgspec.Meta(gt=0)] = 150_000
    #: System prompts replacing an agent's own (``planner``, ``coder``, ``reviewer``):
    #: a what-if's ``--prompt AGENT=FILE`` (``docs/what-if.md``).
    prompts: dict[str, str] = {}


#: The settings a retry may change: a run's budgets (``agentlog retry --budget-usd``).
BUDGETS = ("max_turns", "budget_tokens", "budget_usd")


def with_budgets(config: WorkflowConfig, budgets: Mapping[str, float | int]) -> WorkflowConfig:
    """``config`` with ``budgets`` (names of :data:`BUDGETS`) in force; a name that is no
    budget, or a value out of range, is a :class:`~events.UsageError`."""
    from events.errors import UsageError

    unknown = sorted(set(budgets) - set(BUDGETS))
    if unknown:
        raise UsageError(f"not a budget: {', '.join(unknown)} (budgets: {', '.join(BUDGETS)})")
    if not budgets:
        return config
    try:
        return msgspec.convert({**msgspec.to_builtins(config), **budgets}, WorkflowConfig)
    except msgspec.ValidationError as exc:
        raise UsageError(f"a budget out of range: {exc}") from None
