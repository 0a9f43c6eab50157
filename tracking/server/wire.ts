/**
 * Convex's HTTP function API on the wire, as the Python `convex` client speaks it.
 *
 * Requests are `{path, args, format: "convex_encoded_json"}`; `args` decode with
 * `jsonToConvex` (int64 arrive as `{"$integer": base64}`). A function's outcome is
 * HTTP 200 with `{status: "success", value, logLines}` or `{status: "error",
 * errorMessage, errorData?, logLines}` (`errorData` only for a ConvexError); a request
 * the deployment refuses outright (bad body, bad auth) is a 4xx with `{code, message}`.
 *
 * The JSON text is written like Convex's backend writes it: a float64 always carries a
 * fraction or exponent (`5.0`, not `5`), because the Python client reads a bare JSON
 * integer as an error, while int64 values are `{"$integer": …}` objects.
 */
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";

export type UdfKind = "query" | "mutation" | "action";

export interface UdfRequest {
  path: string;
  args: Record<string, Value>;
}

export class WireError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses and decodes a request body; a malformed one is a 400 WireError. */
export function decodeRequest(body: string): UdfRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new WireError(400, "BadJsonBody", "Failed to parse the request body as JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new WireError(400, "BadJsonBody", "The request body must be a JSON object");
  }
  const { path, args, format } = parsed as Record<string, unknown>;
  if (typeof path !== "string" || !/^[\w/.-]+(:\w+)?$/.test(path)) {
    throw new WireError(400, "InvalidConvexFunction", `Failed to parse Convex function path: ${String(path)}`);
  }
  if (format !== undefined && format !== "convex_encoded_json" && format !== "json") {
    throw new WireError(400, "BadFormat", `Unsupported format: ${String(format)}`);
  }
  const decoded = args === undefined ? {} : jsonToConvex(args as JSONValue);
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded)) {
    throw new WireError(400, "BadArgs", "Function arguments must be an object");
  }
  return { path, args: decoded as Record<string, Value> };
}

/** JSON text for a Convex JSON value, float64 numbers always with a fraction or exponent. */
export function stringifyConvexJson(value: JSONValue): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    const text = JSON.stringify(value);
    return /[.eE]/.test(text) ? text : `${text}.0`;
  }
  if (Array.isArray(value)) {
    return `[${value.map(stringifyConvexJson).join(",")}]`;
  }
  const members = Object.entries(value).map(
    ([k, v]) => `${JSON.stringify(k)}:${stringifyConvexJson(v)}`,
  );
  return `{${members.join(",")}}`;
}

/** The 200 body of a function that returned `value`. */
export function successBody(value: Value | undefined): string {
  const encoded = convexToJson(value === undefined ? null : value);
  return stringifyConvexJson({ status: "success", value: encoded, logLines: [] });
}

/** The 200 body of a function that threw; `data` is a ConvexError's data, if any. */
export function errorBody(errorMessage: string, data?: Value): string {
  const body: Record<string, JSONValue> = { status: "error", errorMessage, logLines: [] };
  if (data !== undefined) body.errorData = convexToJson(data);
  return stringifyConvexJson(body);
}

/** The body of a request refused before any function ran. */
export function refusalBody(error: WireError): string {
  return JSON.stringify({ code: error.code, message: error.message });
}
