/**
 * The repository's Convex functions on convex-test's in-memory backend, outside vitest.
 *
 * convex-test finds the functions through a modules map whose keys include a
 * `_generated/` entry; under vitest that map comes from `import.meta.glob`, here it
 * is built from the functions directory. With a data file the tables survive a
 * restart: after each successful mutation every document is written out (temp file
 * + rename, before the answer is sent), and a new backend reloads them, so a killed
 * and restarted server keeps what it acknowledged, as a real deployment would.
 * Faults can be injected per function for tests (`injectFault`).
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { convexTest, type TestConvex } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { ConvexError, type Value } from "convex/values";
import schema from "../convex/schema";
import type { UdfKind } from "./wire";

export type Outcome = { ok: true; value: Value | undefined } | { ok: false; message: string; data?: Value };

export interface Fault {
  /** Function path (`module:name`) the fault applies to. */
  path: string;
  /** How many calls to fail. */
  count: number;
  /** `convexError` throws a ConvexError with `{code, message}`; `error` a plain Error. */
  kind: "convexError" | "error";
  message: string;
}

type Modules = Record<string, () => Promise<unknown>>;

/** The modules map convex-test expects: every deployable module plus `_generated/`. */
export function functionModules(functionsDir: string): Modules {
  const modules: Modules = {};
  const add = (file: string) => {
    const url = pathToFileURL(file).href;
    modules[file] = () => import(url);
  };
  for (const name of readdirSync(functionsDir)) {
    if (/^[^.#][^.]*\.ts$/.test(name)) add(join(functionsDir, name));
  }
  const generated = join(functionsDir, "_generated");
  for (const name of readdirSync(generated)) {
    if (name.endsWith(".js")) add(join(generated, name));
  }
  return modules;
}

const TABLES = Object.keys(schema.tables) as (keyof typeof schema.tables & string)[];

export class Backend {
  private readonly t: TestConvex<typeof schema>;
  private faults: Fault[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    functionsDir: string,
    private readonly dataFile: string | undefined,
  ) {
    this.t = convexTest(schema, functionModules(functionsDir));
  }

  static async open(functionsDir: string, dataFile?: string): Promise<Backend> {
    const backend = new Backend(functionsDir, dataFile);
    if (dataFile !== undefined && existsSync(dataFile)) {
      const saved = JSON.parse(readFileSync(dataFile, "utf8")) as Record<string, Record<string, unknown>[]>;
      await backend.t.run(async (ctx) => {
        for (const table of TABLES) {
          for (const { _id, _creationTime, ...doc } of saved[table] ?? []) {
            await ctx.db.insert(table, doc as never);
          }
        }
      });
    }
    return backend;
  }

  injectFault(fault: Fault): void {
    this.faults.push(fault);
  }

  /** Runs one function call; calls are serialized, like a single-writer deployment. */
  call(kind: UdfKind, path: string, args: Record<string, Value>): Promise<Outcome> {
    const run = this.queue.then(() => this.execute(kind, path, args));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async execute(kind: UdfKind, path: string, args: Record<string, Value>): Promise<Outcome> {
    const fault = this.faults.find((f) => f.path === path && f.count > 0);
    if (fault !== undefined) {
      fault.count -= 1;
      if (fault.kind === "convexError") {
        const data = { code: "Injected", message: fault.message };
        return { ok: false, message: `Uncaught ConvexError: ${JSON.stringify(data)}`, data };
      }
      return { ok: false, message: `Uncaught Error: ${fault.message}` };
    }
    const [module, name] = path.split(":");
    const udfPath = `${module.replace(/\.js$/, "")}:${name ?? "default"}`;
    try {
      let value: Value | undefined;
      if (kind === "query") {
        value = await this.t.query(makeFunctionReference<"query">(udfPath), args);
      } else if (kind === "mutation") {
        value = await this.t.mutation(makeFunctionReference<"mutation">(udfPath), args);
        await this.save();
      } else {
        value = await this.t.action(makeFunctionReference<"action">(udfPath), args);
      }
      return { ok: true, value };
    } catch (error) {
      if (error instanceof ConvexError) {
        return { ok: false, message: `Uncaught ConvexError: ${error.message}`, data: error.data as Value };
      }
      const e = error instanceof Error ? error : new Error(String(error));
      return { ok: false, message: `Uncaught ${e.name}: ${e.message}` };
    }
  }

  /** Every document of every table, for the data file and for inspection. */
  async dump(): Promise<Record<string, unknown[]>> {
    return await this.t.run(async (ctx) => {
      const out: Record<string, unknown[]> = {};
      for (const table of TABLES) out[table] = await ctx.db.query(table).collect();
      return out;
    });
  }

  /** Writes every document to the data file (temp file + rename), if there is one. */
  private async save(): Promise<void> {
    if (this.dataFile === undefined) return;
    const tmp = `${this.dataFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(await this.dump()));
    renameSync(tmp, this.dataFile);
  }
}
