import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import {
  decodeRequest,
  errorBody,
  refusalBody,
  stringifyConvexJson,
  successBody,
  WireError,
} from "./wire";

describe("the HTTP function API wire format", () => {
  test("float64 numbers always carry a fraction or an exponent", () => {
    expect(stringifyConvexJson({ a: 5, b: 1.5, c: -0.25, d: 1e21, e: [0, 2] })).toBe(
      '{"a":5.0,"b":1.5,"c":-0.25,"d":1e+21,"e":[0.0,2.0]}',
    );
    expect(JSON.parse(successBody({ lastSeq: 14, applied: 0 }))).toEqual({
      status: "success",
      value: { lastSeq: 14, applied: 0 },
      logLines: [],
    });
    expect(successBody({ n: 3 })).toContain('"n":3.0');
  });

  test("int64 values travel as $integer both ways", () => {
    const body = JSON.stringify({
      path: "mirror:lastSeq",
      args: { n: { $integer: "BwAAAAAAAAA=" } },
      format: "convex_encoded_json",
    });
    expect(decodeRequest(body)).toEqual({ path: "mirror:lastSeq", args: { n: 7n } });
    expect(successBody(7n)).toBe('{"status":"success","value":{"$integer":"BwAAAAAAAAA="},"logLines":[]}');
  });

  test("a function error carries errorData only for a ConvexError", () => {
    const data = new ConvexError({ code: "SeqGap", lastSeq: 4 }).data;
    expect(JSON.parse(errorBody("Uncaught ConvexError", data))).toEqual({
      status: "error",
      errorMessage: "Uncaught ConvexError",
      errorData: { code: "SeqGap", lastSeq: 4 },
      logLines: [],
    });
    expect(JSON.parse(errorBody("Uncaught Error: boom"))).not.toHaveProperty("errorData");
  });

  test("malformed requests are refused with a code and a message", () => {
    expect(() => decodeRequest("{")).toThrow(WireError);
    expect(() => decodeRequest('{"path": "no spaces allowed"}')).toThrow(/function path/);
    expect(() => decodeRequest('{"path": "a:b", "args": [1]}')).toThrow(/must be an object/);
    const refusal = new WireError(401, "BadAdminKey", "bad key");
    expect(JSON.parse(refusalBody(refusal))).toEqual({ code: "BadAdminKey", message: "bad key" });
  });
});
