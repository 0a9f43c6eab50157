/// <reference types="vite/client" />
import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { batch, completeRun, newBackend, T_START, tokensPerCall } from "./fixtures.test-helpers";

async function snapshot(t: ReturnType<typeof newBackend>) {
  return await t.run(async (ctx) => ({
    workflows: await ctx.db.query("workflows").collect(),
    sessions: await ctx.db.query("agentSessions").collect(),
  }));
}

describe("mirror:apply", () => {
  test("folds a complete run into one workflow and one session per attempt", async () => {
    const t = newBackend();
    const result = await t.mutation(api.mirror.apply, batch("wf-1", completeRun()));
    expect(result).toEqual({ lastSeq: 14, applied: 14 });

    const { workflows, sessions } = await snapshot(t);
    expect(workflows).toHaveLength(1);
    expect(workflows[0]).toMatchObject({
      workflowId: "wf-1",
      task: "add a CLI flag",
      status: "completed",
      currentStep: null,
      model: "claude-test",
      startedAt: T_START,
      endedAt: T_START + 13_000,
      totalTokens: 4 * tokensPerCall,
      inputTokens: 400,
      modelCalls: 4,
      verdict: "approve",
      error: "invalid_output: no tool call",
      lastSeq: 14,
    });
    const byKey = Object.fromEntries(sessions.map((s) => [`${s.step}#${s.attempt}`, s]));
    expect(Object.keys(byKey).sort()).toEqual(["code#1", "code#2", "plan#1", "review#1"]);
    expect(byKey["plan#1"]).toMatchObject({ status: "succeeded", latencyMs: 1500, modelCalls: 1 });
    expect(byKey["code#1"]).toMatchObject({
      status: "failed",
      errorKind: "invalid_output",
      error: "no tool call",
      retryable: true,
      totalTokens: tokensPerCall,
    });
    expect(byKey["code#2"]).toMatchObject({ status: "succeeded", startSeq: 8, endedAt: T_START + 9000 });
  });

  test("applying the same batch twice changes nothing", async () => {
    const t = newBackend();
    await t.mutation(api.mirror.apply, batch("wf-1", completeRun()));
    const before = await snapshot(t);
    const again = await t.mutation(api.mirror.apply, batch("wf-1", completeRun()));
    expect(again).toEqual({ lastSeq: 14, applied: 0 });
    expect(await snapshot(t)).toEqual(before);
  });

  test("an older batch after a newer one changes nothing", async () => {
    const t = newBackend();
    const events = completeRun();
    await t.mutation(api.mirror.apply, batch("wf-1", events.slice(0, 6)));
    await t.mutation(api.mirror.apply, batch("wf-1", events.slice(6)));
    const before = await snapshot(t);
    const old = await t.mutation(api.mirror.apply, batch("wf-1", events.slice(2, 9)));
    expect(old).toEqual({ lastSeq: 14, applied: 0 });
    expect(await snapshot(t)).toEqual(before);
  });

  test("an overlapping batch applies only its new events", async () => {
    const t = newBackend();
    const events = completeRun();
    await t.mutation(api.mirror.apply, batch("wf-1", events.slice(0, 6)));
    const overlap = await t.mutation(api.mirror.apply, batch("wf-1", events.slice(3)));
    expect(overlap).toEqual({ lastSeq: 14, applied: 8 });

    const single = newBackend();
    await single.mutation(api.mirror.apply, batch("wf-1", events));
    const strip = (s: Awaited<ReturnType<typeof snapshot>>) => ({
      workflows: s.workflows.map(({ _id, _creationTime, ...rest }) => rest),
      sessions: s.sessions.map(({ _id, _creationTime, ...rest }) => rest),
    });
    expect(strip(await snapshot(t))).toEqual(strip(await snapshot(single)));
  });

  test("a batch leaving a gap is refused with SeqGap and the last seq", async () => {
    const t = newBackend();
    const events = completeRun();
    await t.mutation(api.mirror.apply, batch("wf-1", events.slice(0, 4)));
    const error = await t
      .mutation(api.mirror.apply, batch("wf-1", events.slice(6)))
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConvexError);
    expect((error as ConvexError<{ code: string; lastSeq: number }>).data).toMatchObject({
      code: "SeqGap",
      lastSeq: 4,
    });
    expect(await t.query(api.mirror.lastSeq, { workflowId: "wf-1" })).toBe(4);
  });

  test("a batch out of order is refused as BadBatch", async () => {
    const t = newBackend();
    const [a, b] = completeRun();
    const error = await t
      .mutation(api.mirror.apply, { workflowId: "wf-1", fromSeq: 1, toSeq: 2, events: [b, a] })
      .then(() => null, (e: unknown) => e);
    expect((error as ConvexError<{ code: string }>).data).toMatchObject({ code: "BadBatch" });
    expect(await t.query(api.mirror.lastSeq, { workflowId: "wf-1" })).toBe(0);
  });

  test("events the tables do not show still advance lastSeq", async () => {
    const t = newBackend();
    const events = completeRun();
    await t.mutation(api.mirror.apply, batch("wf-1", events.slice(0, 2), 1, 3));
    expect(await t.query(api.mirror.lastSeq, { workflowId: "wf-1" })).toBe(3);
    const next = await t.mutation(api.mirror.apply, batch("wf-1", [], 4, 5));
    expect(next).toEqual({ lastSeq: 5, applied: 0 });
  });

  test("a failed workflow records its step and error; a skipped step gets a row", async () => {
    const t = newBackend();
    const events = completeRun().slice(0, 7);
    await t.mutation(
      api.mirror.apply,
      batch("wf-2", [
        ...events,
        { kind: "stepSkipped", seq: 8, ts: T_START + 8000, step: "review", round: 0, reason: "code failed" },
        { kind: "workflowFailed", seq: 9, ts: T_START + 9000, step: "code", errorKind: "timeout", message: "step timed out" },
      ]),
    );
    const wf = await t.query(api.workflows.get, { workflowId: "wf-2" });
    expect(wf).toMatchObject({ status: "failed", currentStep: "code", error: "timeout: step timed out" });
    expect(wf?.sessions.map((s) => [s.step, s.attempt, s.status])).toEqual([
      ["plan", 1, "succeeded"],
      ["code", 1, "failed"],
      ["review", 0, "skipped"],
    ]);
  });

  test("a fork records its source and replaces the task", async () => {
    const t = newBackend();
    const events = completeRun().slice(0, 4);
    await t.mutation(
      api.mirror.apply,
      batch("wf-fork", [
        ...events,
        { kind: "forked", seq: 5, ts: T_START + 5000, sourceWorkflowId: "wf-1", atSeq: 4, task: "other task", model: null },
      ]),
    );
    expect(await t.query(api.workflows.get, { workflowId: "wf-fork" })).toMatchObject({
      forkedFrom: "wf-1",
      task: "other task",
      model: "claude-test",
      status: "running",
    });
  });

  test("a what-if is marked as one of its source, with the seq where it diverged", async () => {
    const t = newBackend();
    const events = completeRun().slice(0, 4);
    await t.mutation(
      api.mirror.apply,
      batch("wf-what-if", [
        ...events,
        { kind: "forked", seq: 5, ts: T_START + 5000, sourceWorkflowId: "wf-1", atSeq: 4, task: null, model: null, whatIf: true },
        { kind: "diverged", seq: 6, ts: T_START + 6000, step: "review", sourceSeq: 11 },
      ]),
    );
    expect(await t.query(api.workflows.get, { workflowId: "wf-what-if" })).toMatchObject({
      forkedFrom: "wf-1",
      whatIf: true,
      divergedAtSeq: 6,
    });
  });

  test("a plain fork is not a what-if", async () => {
    const t = newBackend();
    await t.mutation(
      api.mirror.apply,
      batch("wf-fork", [
        ...completeRun().slice(0, 4),
        { kind: "forked", seq: 5, ts: T_START + 5000, sourceWorkflowId: "wf-1", atSeq: 4, task: null, model: null },
      ]),
    );
    expect(await t.query(api.workflows.get, { workflowId: "wf-fork" })).toMatchObject({
      whatIf: false,
      divergedAtSeq: null,
    });
  });
});

describe("mirror:head and mirror:rewind", () => {
  test("head names the log's event id at lastSeq, as the last batch gave it", async () => {
    const t = newBackend();
    expect(await t.query(api.mirror.head, { workflowId: "wf-1" })).toEqual({
      lastSeq: 0,
      lastEventId: null,
    });
    await t.mutation(api.mirror.apply, { ...batch("wf-1", completeRun()), toId: "id-14" });
    expect(await t.query(api.mirror.head, { workflowId: "wf-1" })).toEqual({
      lastSeq: 14,
      lastEventId: "id-14",
    });
  });

  test("rewind removes a workflow's rows so the log can be sent again from seq 1", async () => {
    const t = newBackend();
    await t.mutation(api.mirror.apply, { ...batch("wf-1", completeRun()), toId: "old" });
    await t.mutation(api.mirror.apply, { ...batch("wf-2", completeRun()), toId: "other" });
    const { removed } = await t.mutation(api.mirror.rewind, { workflowId: "wf-1" });
    expect(removed).toBe(5); // the workflow row and its four sessions
    expect(await t.query(api.mirror.lastSeq, { workflowId: "wf-1" })).toBe(0);
    const { workflows, sessions } = await snapshot(t);
    expect(workflows.map((w) => w.workflowId)).toEqual(["wf-2"]);
    expect(new Set(sessions.map((s) => s.workflowId))).toEqual(new Set(["wf-2"]));
    const again = await t.mutation(api.mirror.apply, batch("wf-1", completeRun()));
    expect(again).toEqual({ lastSeq: 14, applied: 14 });
  });
});
