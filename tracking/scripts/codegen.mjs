// Writes convex/_generated/ offline with Convex's own codegen templates.
//
// `npx convex codegen` needs a configured deployment; these files only depend on the
// module list and the schema, so we render them from the same templates the CLI uses
// (the JavaScript + .d.ts flavour) and commit them. The data model is the CLI's
// "derived from schema.ts" form, copied here because its template module pulls in
// CLI-only dependencies. Run after adding or renaming a module: `npm run codegen`.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const templates = join(root, "node_modules/convex/dist/esm/cli/codegen_templates");
const { apiCodegen } = await import(join(templates, "api.js"));
const { serverCodegen } = await import(join(templates, "server.js"));
const { header } = await import(join(templates, "common.js"));
const prettier = await import("prettier");

const functionsDir = join(root, "convex");
const modules = readdirSync(functionsDir)
  .filter((f) => /^[^.#][^.]*\.(ts|js)$/.test(f) && f !== "schema.ts")
  .sort();

const api = apiCodegen(modules, { useTypeScript: false });
const server = serverCodegen({ useTypeScript: false });
const files = {
  "api.d.ts": api.DTS,
  "api.js": api.JS,
  "server.d.ts": server.DTS,
  "server.js": server.JS,
  "dataModel.d.ts": `${header("Generated data model types.")}
import type {
  DataModelFromSchemaDefinition,
  DocumentByName,
  TableNamesInDataModel,
  SystemTableNames,
} from "convex/server";
import type { GenericId } from "convex/values";
import schema from "../schema.js";

/** The names of all of your Convex tables. */
export type TableNames = TableNamesInDataModel<DataModel>;

/** The type of a document stored in Convex. */
export type Doc<TableName extends TableNames> = DocumentByName<DataModel, TableName>;

/** An identifier for a document in Convex (a string at runtime). */
export type Id<TableName extends TableNames | SystemTableNames> = GenericId<TableName>;

/** A type describing your Convex data model, derived from the schema. */
export type DataModel = DataModelFromSchemaDefinition<typeof schema>;
`,
};
const out = join(functionsDir, "_generated");
mkdirSync(out, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  const parser = "typescript";
  writeFileSync(join(out, name), await prettier.format(source, { parser }));
}
console.log(`wrote ${Object.keys(files).length} files for modules: ${modules.join(", ")}`);
