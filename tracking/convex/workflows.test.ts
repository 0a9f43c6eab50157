/// <reference types="vite/client" />
import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import type { MirrorEvent } from "./mirror";
import { batch, completeRun, newBackend } from "./fixtures.test-helpers";

/** A run of `completeRun`'s first `n` events, started at `startedAt`. */
function runStartedAt(startedAt: number, n = 14): MirrorEvent[] {
  return completeRun(`task at ${startedAt}`)
    .slice(0, n)
    .map((ev) => ({ ...ev, ts: startedAt + ev.seq * 1000 }));
}

describe("workflows queries", () => {
  test("list returns recent first, narrowed by status and limited", async () => {
    const t = newBackend();
    await t.mutation(api.mirror.apply, batch("old-done", runStartedAt(1_000_000)));
    await t.mutation(api.mirror.apply, batch("mid-running", runStartedAt(2_000_000, 6)));
    await t.mutation(api.mirror.apply, batch("new-done", runStartedAt(3_000_000)));

    const all = await t.query(api.workflows.list, {});
    expect(all.map((w) => w.workflowId)).toEqual(["new-done", "mid-running", "old-done"]);
    const done = await t.query(api.workflows.list, { status: "completed" });
    expect(done.map((w) => w.workflowId)).toEqual(["new-done", "old-done"]);
    const running = await t.query(api.workflows.list, { status: "running" });
    expect(running.map((w) => [w.workflowId, w.currentStep])).toEqual([["mid-running", "code"]]);
    const one = await t.query(api.workflows.list, { limit: 1 });
    expect(one.map((w) => w.workflowId)).toEqual(["new-done"]);
  });

  test("get returns the workflow with its sessions in log order, or null", async () => {
    const t = newBackend();
    await t.mutation(api.mirror.apply, batch("wf-1", completeRun()));
    await t.mutation(api.mirror.apply, batch("wf-other", runStartedAt(5_000_000, 3)));
    const wf = await t.query(api.workflows.get, { workflowId: "wf-1" });
    expect(wf?.workflowId).toBe("wf-1");
    expect(wf?.sessions.map((s) => `${s.step}#${s.attempt}`)).toEqual([
      "plan#1",
      "code#1",
      "code#2",
      "review#1",
    ]);
    expect(await t.query(api.workflows.get, { workflowId: "missing" })).toBeNull();
  });

  test("sessions lists recent sessions, narrowed by status", async () => {
    const t = newBackend();
    await t.mutation(api.mirror.apply, batch("wf-1", completeRun()));
    const failed = await t.query(api.workflows.sessions, { status: "failed" });
    expect(failed.map((s) => [s.workflowId, s.step, s.attempt])).toEqual([["wf-1", "code", 1]]);
    const recent = await t.query(api.workflows.sessions, { limit: 2 });
    expect(recent).toHaveLength(2);
  });

  test("the indexes the queries use are declared in the schema", async () => {
    const { default: schema } = await import("./schema");
    const indexes = (table: "workflows" | "agentSessions") =>
      schema.tables[table][" indexes"]().map((i: { indexDescriptor: string }) => i.indexDescriptor);
    expect(indexes("workflows")).toEqual(["by_workflowId", "by_startedAt", "by_status_startedAt"]);
    expect(indexes("agentSessions")).toEqual(["by_workflow", "by_workflow_attempt", "by_status_startedAt"]);
  });
});
