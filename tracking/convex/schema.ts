/**
 * agentlog's Convex tables: one row per workflow, one per agent session (an attempt at a step).
 *
 * Both are projections of a run's `events.jsonl`, written only by the `mirror:apply`
 * mutation; `workflows.lastSeq` is the last event folded in, which makes re-applying
 * a batch a no-op and tells a mirror where to resume. Times are epoch milliseconds.
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export const workflowStatus = v.union(
  v.literal("running"),
  v.literal("waiting"),
  v.literal("completed"),
  v.literal("failed"),
);

export const sessionStatus = v.union(
  v.literal("running"),
  v.literal("succeeded"),
  v.literal("failed"),
  v.literal("skipped"),
);

export const step = v.union(v.literal("plan"), v.literal("code"), v.literal("review"));

export const verdict = v.union(
  v.literal("approve"),
  v.literal("request_changes"),
  v.literal("reject"),
);

/** Token counts, summed over model calls. */
export const tokenFields = {
  inputTokens: v.number(),
  outputTokens: v.number(),
  cacheCreationInputTokens: v.number(),
  cacheReadInputTokens: v.number(),
  totalTokens: v.number(),
};

export default defineSchema({
  workflows: defineTable({
    workflowId: v.string(),
    task: v.string(),
    status: workflowStatus,
    currentStep: v.union(step, v.null()),
    round: v.number(),
    model: v.string(),
    startedAt: v.number(),
    endedAt: v.union(v.number(), v.null()),
    ...tokenFields,
    modelCalls: v.number(),
    verdict: v.union(verdict, v.null()),
    error: v.union(v.string(), v.null()),
    forkedFrom: v.union(v.string(), v.null()),
    /** A what-if of `forkedFrom` (`agentlog replay RUN --as NEW`), and the seq of its
     * `Diverged` event (null until its first changed request); rows from older agentlogs lack both. */
    whatIf: v.optional(v.boolean()),
    divergedAtSeq: v.optional(v.union(v.number(), v.null())),
    lastSeq: v.number(),
    /** The log's event id at `lastSeq`: a mirror compares it to detect a rewritten log. */
    lastEventId: v.optional(v.string()),
    updatedAt: v.number(),
  })
    .index("by_workflowId", ["workflowId"])
    .index("by_startedAt", ["startedAt"])
    .index("by_status_startedAt", ["status", "startedAt"]),

  agentSessions: defineTable({
    workflowId: v.string(),
    step,
    round: v.number(),
    attempt: v.number(),
    status: sessionStatus,
    model: v.string(),
    ...tokenFields,
    modelCalls: v.number(),
    latencyMs: v.number(),
    startedAt: v.number(),
    endedAt: v.union(v.number(), v.null()),
    errorKind: v.union(v.string(), v.null()),
    error: v.union(v.string(), v.null()),
    retryable: v.union(v.boolean(), v.null()),
    startSeq: v.number(),
  })
    .index("by_workflow", ["workflowId", "startSeq"])
    .index("by_workflow_attempt", ["workflowId", "step", "round", "attempt"])
    .index("by_status_startedAt", ["status", "startedAt"]),
});
