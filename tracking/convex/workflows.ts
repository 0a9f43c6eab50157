/**
 * The read side of tracking, for a dashboard: recent workflows (optionally by status),
 * one workflow with its agent sessions, and recent sessions (optionally by status).
 */
import { v } from "convex/values";
import { query } from "./_generated/server";
import { findWorkflow } from "./mirror";
import { sessionStatus, workflowStatus } from "./schema";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

function clampLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? DEFAULT_LIMIT)));
}

/** Workflows, most recently started first; `status` narrows to one status. */
export const list = query({
  args: { status: v.optional(workflowStatus), limit: v.optional(v.number()) },
  handler: async (ctx, { status, limit }) => {
    const n = clampLimit(limit);
    if (status === undefined) {
      return await ctx.db.query("workflows").withIndex("by_startedAt").order("desc").take(n);
    }
    return await ctx.db
      .query("workflows")
      .withIndex("by_status_startedAt", (q) => q.eq("status", status))
      .order("desc")
      .take(n);
  },
});

/** One workflow with its sessions in log order, or null if it was never mirrored. */
export const get = query({
  args: { workflowId: v.string() },
  handler: async (ctx, { workflowId }) => {
    const workflow = await findWorkflow(ctx, workflowId);
    if (workflow === null) return null;
    const sessions = await ctx.db
      .query("agentSessions")
      .withIndex("by_workflow", (q) => q.eq("workflowId", workflowId))
      .order("asc")
      .collect();
    return { ...workflow, sessions };
  },
});

/** Agent sessions across workflows, most recently started first; `status` narrows. */
export const sessions = query({
  args: { status: v.optional(sessionStatus), limit: v.optional(v.number()) },
  handler: async (ctx, { status, limit }) => {
    const n = clampLimit(limit);
    if (status === undefined) {
      return await ctx.db.query("agentSessions").order("desc").take(n);
    }
    return await ctx.db
      .query("agentSessions")
      .withIndex("by_status_startedAt", (q) => q.eq("status", status))
      .order("desc")
      .take(n);
  },
});
