/**
 * The write side of tracking: `apply` folds a batch of agentlog events into the
 * `workflows` and `agentSessions` rows, and `lastSeq` tells a mirror where to resume.
 *
 * Idempotent by sequence number: an event whose `seq` is at or below the workflow's
 * `lastSeq` was folded in already and is skipped, so a batch sent twice, or an older
 * batch arriving after a newer one, changes nothing. A batch that starts past
 * `lastSeq + 1` would leave a hole, so it is refused with a `SeqGap` ConvexError that
 * carries `lastSeq`; the mirror then resumes from there.
 *
 * Each batch also names the log's event `id` at `toSeq` (`toId`), kept as the row's
 * `lastEventId`. A mirror reads it back with `head` and compares it with its log: after
 * a power cut, `resume` may have given a seq to a different event, and the row then
 * holds events the log no longer has; the mirror calls `rewind` (the workflow's rows
 * are removed) and sends the log again from seq 1, replacing them.
 *
 * The batch payload is produced by agentlog's `actors.convex.rows.batch_payload`; the
 * validators below and that function describe the same shapes.
 */
import { ConvexError, v, type Infer } from "convex/values";
import type { Doc, Id } from "./_generated/dataModel";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server";
import { step, verdict } from "./schema";

const envelope = { seq: v.number(), ts: v.number() };
const attemptKey = { step, round: v.number(), attempt: v.number() };

export const mirrorEvent = v.union(
  v.object({ kind: v.literal("workflowStarted"), ...envelope, task: v.string(), model: v.string() }),
  v.object({
    kind: v.literal("forked"),
    ...envelope,
    sourceWorkflowId: v.string(),
    atSeq: v.number(),
    task: v.union(v.string(), v.null()),
    model: v.union(v.string(), v.null()),
    /** A counterfactual replay of its source (`agentlog replay RUN --as NEW`); older agentlogs omit it. */
    whatIf: v.optional(v.boolean()),
  }),
  /** A what-if's first request that differs from its source's (`sourceSeq`: the source's call). */
  v.object({
    kind: v.literal("diverged"),
    ...envelope,
    step,
    sourceSeq: v.union(v.number(), v.null()),
  }),
  v.object({ kind: v.literal("stepStarted"), ...envelope, ...attemptKey }),
  v.object({
    kind: v.literal("modelCalled"),
    ...envelope,
    ...attemptKey,
    model: v.string(),
    inputTokens: v.number(),
    outputTokens: v.number(),
    cacheCreationInputTokens: v.number(),
    cacheReadInputTokens: v.number(),
    latencyMs: v.number(),
  }),
  v.object({
    kind: v.literal("stepSucceeded"),
    ...envelope,
    ...attemptKey,
    verdict: v.union(verdict, v.null()),
  }),
  v.object({
    kind: v.literal("stepFailed"),
    ...envelope,
    ...attemptKey,
    errorKind: v.string(),
    message: v.string(),
    retryable: v.boolean(),
  }),
  v.object({
    kind: v.literal("stepSkipped"),
    ...envelope,
    step,
    round: v.number(),
    reason: v.string(),
  }),
  v.object({ kind: v.literal("workflowCompleted"), ...envelope, verdict: v.union(verdict, v.null()) }),
  v.object({
    kind: v.literal("workflowFailed"),
    ...envelope,
    step: v.union(step, v.null()),
    errorKind: v.string(),
    message: v.string(),
  }),
  v.object({ kind: v.literal("approvalRequested"), ...envelope, step, round: v.number() }),
  v.object({
    kind: v.literal("approvalDecided"),
    ...envelope,
    step,
    decision: v.string(),
    by: v.string(),
  }),
  v.object({ kind: v.literal("changesRequested"), ...envelope, by: v.string() }),
);
export type MirrorEvent = Infer<typeof mirrorEvent>;

type WorkflowFields = Omit<Doc<"workflows">, "_id" | "_creationTime">;
type SessionFields = Omit<Doc<"agentSessions">, "_id" | "_creationTime">;

/** The workflow row for `workflowId`, or null before its first batch. */
export async function findWorkflow(
  ctx: QueryCtx,
  workflowId: string,
): Promise<Doc<"workflows"> | null> {
  return await ctx.db
    .query("workflows")
    .withIndex("by_workflowId", (q) => q.eq("workflowId", workflowId))
    .unique();
}

function newWorkflow(workflowId: string, ts: number): WorkflowFields {
  return {
    workflowId,
    task: "",
    status: "running",
    currentStep: null,
    round: 0,
    model: "",
    startedAt: ts,
    endedAt: null,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationInputTokens: 0,
    cacheReadInputTokens: 0,
    totalTokens: 0,
    modelCalls: 0,
    verdict: null,
    error: null,
    forkedFrom: null,
    whatIf: false,
    divergedAtSeq: null,
    lastSeq: 0,
    updatedAt: ts,
  };
}

function newSession(
  workflowId: string,
  key: { step: SessionFields["step"]; round: number; attempt: number },
  seq: number,
  ts: number,
  model: string,
): SessionFields {
  return {
    workflowId,
    step: key.step,
    round: key.round,
    attempt: key.attempt,
    status: "running",
    model,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationInputTokens: 0,
    cacheReadInputTokens: 0,
    totalTokens: 0,
    modelCalls: 0,
    latencyMs: 0,
    startedAt: ts,
    endedAt: null,
    errorKind: null,
    error: null,
    retryable: null,
    startSeq: seq,
  };
}

/** Finds or creates the session row of one attempt; returns its id and current fields. */
async function session(
  ctx: MutationCtx,
  wf: WorkflowFields,
  key: { step: SessionFields["step"]; round: number; attempt: number },
  seq: number,
  ts: number,
): Promise<[Id<"agentSessions">, SessionFields]> {
  const found = await ctx.db
    .query("agentSessions")
    .withIndex("by_workflow_attempt", (q) =>
      q
        .eq("workflowId", wf.workflowId)
        .eq("step", key.step)
        .eq("round", key.round)
        .eq("attempt", key.attempt),
    )
    .unique();
  if (found !== null) {
    const { _id, _creationTime, ...fields } = found;
    return [_id, fields];
  }
  const fields = newSession(wf.workflowId, key, seq, ts, wf.model);
  return [await ctx.db.insert("agentSessions", fields), fields];
}

/** Folds one event into the workflow fields (in memory) and its session row (in the db). */
async function fold(ctx: MutationCtx, wf: WorkflowFields, ev: MirrorEvent): Promise<void> {
  switch (ev.kind) {
    case "workflowStarted":
      Object.assign(wf, { task: ev.task, model: ev.model, startedAt: ev.ts, status: "running" });
      return;
    case "forked":
      wf.forkedFrom = ev.sourceWorkflowId;
      wf.whatIf = ev.whatIf ?? false;
      wf.divergedAtSeq = null;
      if (ev.task !== null) wf.task = ev.task;
      if (ev.model !== null) wf.model = ev.model;
      Object.assign(wf, { status: "running", endedAt: null });
      return;
    case "diverged":
      wf.divergedAtSeq = ev.seq;
      return;
    case "stepStarted": {
      Object.assign(wf, { currentStep: ev.step, round: ev.round, status: "running" });
      const [id, s] = await session(ctx, wf, ev, ev.seq, ev.ts);
      if (s.startSeq !== ev.seq) await ctx.db.patch(id, { startedAt: ev.ts, startSeq: ev.seq });
      return;
    }
    case "modelCalled": {
      const total =
        ev.inputTokens + ev.outputTokens + ev.cacheCreationInputTokens + ev.cacheReadInputTokens;
      const [id, s] = await session(ctx, wf, ev, ev.seq, ev.ts);
      await ctx.db.patch(id, {
        model: ev.model,
        inputTokens: s.inputTokens + ev.inputTokens,
        outputTokens: s.outputTokens + ev.outputTokens,
        cacheCreationInputTokens: s.cacheCreationInputTokens + ev.cacheCreationInputTokens,
        cacheReadInputTokens: s.cacheReadInputTokens + ev.cacheReadInputTokens,
        totalTokens: s.totalTokens + total,
        modelCalls: s.modelCalls + 1,
        latencyMs: s.latencyMs + ev.latencyMs,
      });
      wf.inputTokens += ev.inputTokens;
      wf.outputTokens += ev.outputTokens;
      wf.cacheCreationInputTokens += ev.cacheCreationInputTokens;
      wf.cacheReadInputTokens += ev.cacheReadInputTokens;
      wf.totalTokens += total;
      wf.modelCalls += 1;
      if (wf.model === "") wf.model = ev.model;
      return;
    }
    case "stepSucceeded": {
      const [id] = await session(ctx, wf, ev, ev.seq, ev.ts);
      await ctx.db.patch(id, { status: "succeeded", endedAt: ev.ts });
      if (ev.verdict !== null) wf.verdict = ev.verdict;
      return;
    }
    case "stepFailed": {
      const [id] = await session(ctx, wf, ev, ev.seq, ev.ts);
      await ctx.db.patch(id, {
        status: "failed",
        endedAt: ev.ts,
        errorKind: ev.errorKind,
        error: ev.message,
        retryable: ev.retryable,
      });
      wf.error = `${ev.errorKind}: ${ev.message}`;
      return;
    }
    case "stepSkipped": {
      const key = { step: ev.step, round: ev.round, attempt: 0 };
      const [id] = await session(ctx, wf, key, ev.seq, ev.ts);
      await ctx.db.patch(id, { status: "skipped", endedAt: ev.ts, error: ev.reason });
      return;
    }
    case "approvalRequested": // parked until a person decides (agentlog approve)
      Object.assign(wf, { status: "waiting", currentStep: ev.step });
      return;
    case "approvalDecided":
      wf.status = "running";
      return;
    case "changesRequested": // a person's review: back to the Coder, even after completion
      Object.assign(wf, { status: "running", endedAt: null, verdict: "request_changes" });
      return;
    case "workflowCompleted":
      Object.assign(wf, { status: "completed", endedAt: ev.ts, currentStep: null });
      if (ev.verdict !== null) wf.verdict = ev.verdict;
      return;
    case "workflowFailed":
      Object.assign(wf, {
        status: "failed",
        endedAt: ev.ts,
        currentStep: ev.step,
        error: `${ev.errorKind}: ${ev.message}`,
      });
      return;
  }
}

/**
 * Folds the events of `(fromSeq .. toSeq]`-covering batch into the tables.
 *
 * `fromSeq`/`toSeq` are the first and last log seq the batch covers; `events` holds
 * the mirrored ones among them (others, such as TestsRan, only advance `lastSeq`).
 * Returns the workflow's `lastSeq` afterwards and how many events were folded in.
 */
export const apply = mutation({
  args: {
    workflowId: v.string(),
    fromSeq: v.number(),
    toSeq: v.number(),
    toId: v.optional(v.string()),
    events: v.array(mirrorEvent),
  },
  returns: v.object({ lastSeq: v.number(), applied: v.number() }),
  handler: async (ctx, { workflowId, fromSeq, toSeq, toId, events }) => {
    let previous = fromSeq - 1;
    for (const ev of events) {
      if (ev.seq <= previous || ev.seq > toSeq) {
        throw new ConvexError({
          code: "BadBatch",
          message: `event seq ${ev.seq} is out of order or outside ${fromSeq}..${toSeq}`,
        });
      }
      previous = ev.seq;
    }
    if (fromSeq < 1 || toSeq < fromSeq) {
      throw new ConvexError({ code: "BadBatch", message: `bad range ${fromSeq}..${toSeq}` });
    }
    const row = await findWorkflow(ctx, workflowId);
    const lastSeq = row?.lastSeq ?? 0;
    if (fromSeq > lastSeq + 1) {
      throw new ConvexError({
        code: "SeqGap",
        message: `batch starts at seq ${fromSeq} but workflow ${workflowId} has seq ${lastSeq}`,
        lastSeq,
      });
    }
    if (toSeq <= lastSeq) return { lastSeq, applied: 0 };

    const fresh = events.filter((ev) => ev.seq > lastSeq);
    const wf: WorkflowFields =
      row === null
        ? newWorkflow(workflowId, fresh[0]?.ts ?? Date.now())
        : (({ _id, _creationTime, ...fields }) => fields)(row);
    for (const ev of fresh) {
      await fold(ctx, wf, ev);
      wf.updatedAt = ev.ts;
    }
    wf.lastSeq = toSeq;
    if (toId !== undefined) wf.lastEventId = toId;
    else delete wf.lastEventId;
    if (row === null) await ctx.db.insert("workflows", wf);
    else await ctx.db.replace(row._id, wf);
    return { lastSeq: toSeq, applied: fresh.length };
  },
});

/** The last event seq mirrored for `workflowId` (0 when Convex has none of it yet). */
export const lastSeq = query({
  args: { workflowId: v.string() },
  returns: v.number(),
  handler: async (ctx, { workflowId }) => (await findWorkflow(ctx, workflowId))?.lastSeq ?? 0,
});

/** Where the mirror of `workflowId` stands: its last seq and the log's event id there. */
export const head = query({
  args: { workflowId: v.string() },
  returns: v.object({ lastSeq: v.number(), lastEventId: v.union(v.string(), v.null()) }),
  handler: async (ctx, { workflowId }) => {
    const row = await findWorkflow(ctx, workflowId);
    return { lastSeq: row?.lastSeq ?? 0, lastEventId: row?.lastEventId ?? null };
  },
});

/**
 * Forget everything mirrored for `workflowId` (its workflow row and agent sessions), so
 * a mirror that found the log rewritten can send it again from seq 1.
 */
export const rewind = mutation({
  args: { workflowId: v.string() },
  returns: v.object({ removed: v.number() }),
  handler: async (ctx, { workflowId }) => {
    let removed = 0;
    const sessions = await ctx.db
      .query("agentSessions")
      .withIndex("by_workflow", (q) => q.eq("workflowId", workflowId))
      .collect();
    for (const s of sessions) {
      await ctx.db.delete(s._id);
      removed += 1;
    }
    const row = await findWorkflow(ctx, workflowId);
    if (row !== null) {
      await ctx.db.delete(row._id);
      removed += 1;
    }
    return { removed };
  },
});
