/**
 * Builders for mirror batches in tests (a `.`-separated name keeps `convex deploy`
 * from treating this file as a functions module).
 */
import { convexTest } from "convex-test";
import type { MirrorEvent } from "./mirror";
import schema from "./schema";

export const modules = import.meta.glob("./**/*.*s");

export function newBackend() {
  return convexTest(schema, modules);
}

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const at = (seq: number) => ({ seq, ts: T0 + seq * 1000 });
const usage = { inputTokens: 100, outputTokens: 20, cacheCreationInputTokens: 3, cacheReadInputTokens: 7 };

/** The mirror events of a complete run: plan, code (failed once), review approving. */
export function completeRun(task = "add a CLI flag"): MirrorEvent[] {
  return [
    { kind: "workflowStarted", ...at(1), task, model: "claude-test" },
    { kind: "stepStarted", ...at(2), step: "plan", round: 0, attempt: 1 },
    { kind: "modelCalled", ...at(3), step: "plan", round: 0, attempt: 1, model: "claude-test", ...usage, latencyMs: 1500 },
    { kind: "stepSucceeded", ...at(4), step: "plan", round: 0, attempt: 1, verdict: null },
    { kind: "stepStarted", ...at(5), step: "code", round: 0, attempt: 1 },
    { kind: "modelCalled", ...at(6), step: "code", round: 0, attempt: 1, model: "claude-test", ...usage, latencyMs: 2000 },
    { kind: "stepFailed", ...at(7), step: "code", round: 0, attempt: 1, errorKind: "invalid_output", message: "no tool call", retryable: true },
    { kind: "stepStarted", ...at(8), step: "code", round: 0, attempt: 2 },
    { kind: "modelCalled", ...at(9), step: "code", round: 0, attempt: 2, model: "claude-test", ...usage, latencyMs: 2500 },
    { kind: "stepSucceeded", ...at(10), step: "code", round: 0, attempt: 2, verdict: null },
    { kind: "stepStarted", ...at(11), step: "review", round: 0, attempt: 1 },
    { kind: "modelCalled", ...at(12), step: "review", round: 0, attempt: 1, model: "claude-test", ...usage, latencyMs: 1000 },
    { kind: "stepSucceeded", ...at(13), step: "review", round: 0, attempt: 1, verdict: "approve" },
    { kind: "workflowCompleted", ...at(14), verdict: "approve" },
  ];
}

/** The `mirror:apply` arguments covering `events` (seqs `from..to`). */
export function batch(workflowId: string, events: MirrorEvent[], from?: number, to?: number) {
  return {
    workflowId,
    fromSeq: from ?? events[0].seq,
    toSeq: to ?? events[events.length - 1].seq,
    events,
  };
}

export const tokensPerCall = 130;
export const T_START = T0 + 1000;
