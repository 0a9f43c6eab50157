"""One model call as a person reads it: what was asked, what came back, what it became.

``ModelCalled`` carries the request's digest and the whole response. The request itself
is kept, when it is, as an object named by that digest in the run's ``objects/`` store
(read through the store, loose or packed); a run written before requests were recorded
says so instead. A ``tool_use`` block's input
is the artifact the model submitted (``submit_plan`` -> plan, ``submit_code`` -> code,
``submit_review`` -> review); the event that accepted it is linked by its seq.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from actors.models.recorded import load_request
from events import ARTIFACT_TOOLS, CodeProduced, ModelCalled, PlanProduced, ReviewProduced
from store import ObjectProblem, ObjectStore

__all__ = ["MAX_OBJECT_BYTES", "model_exchange"]

#: Objects larger than this are not sent to the browser whole.
MAX_OBJECT_BYTES = 4 << 20
_PRODUCED = {"plan": PlanProduced, "code": CodeProduced, "review": ReviewProduced}
# The first class named for a tool is its kind (submit_code: a whole-file CodeChange); a
# workspace run's Coder answers with a change set, told apart by its CodeProduced.
_KIND_OF_TOOL: dict[str, str] = {}
for _cls, _tool in ARTIFACT_TOOLS.items():
    _KIND_OF_TOOL.setdefault(_tool, _cls.__name__.lower())


def _request(run_dir: Path, digest: str) -> dict[str, Any]:
    """The request named ``digest`` from the run's object store (loose or packed); one
    over :data:`MAX_OBJECT_BYTES` is named by its size and never read."""
    store = ObjectStore(run_dir)
    try:
        if digest in store and (size := store.size(digest)) > MAX_OBJECT_BYTES:
            return {"recorded": True, "digest": digest, "size": size, "too_large": True}
        body = load_request(store, digest)
    except ObjectProblem as exc:
        return {"recorded": False, "digest": digest, "problem": exc.reason}
    except msgspec.DecodeError:
        return {"recorded": False, "digest": digest, "problem": "not a request (invalid JSON)"}
    if body is None:
        return {"recorded": False, "digest": digest}
    size = len(msgspec.json.encode(body))
    if size > MAX_OBJECT_BYTES:
        return {"recorded": True, "digest": digest, "size": size, "too_large": True}
    return {"recorded": True, "digest": digest, "size": size, "body": body}


def model_exchange(run_dir: Path, call: ModelCalled, after: list[Any]) -> dict[str, Any]:
    """The exchange of ``call``; ``after`` are the events that follow it (a few suffice)."""
    produced_seq = None
    change_set = False
    kind = _PRODUCED.get(call.step)
    for ev in after:
        if isinstance(ev, ModelCalled):
            break
        if kind is not None and isinstance(ev, kind):
            produced_seq = ev.seq
            change_set = getattr(ev, "change", None) is not None
            break
    blocks = []
    for block in call.content:
        entry: dict[str, Any] = {"type": block.get("type"), "block": block}
        if block.get("type") == "tool_use":
            name = str(block.get("name"))
            entry["artifact"] = "changeset" if change_set else _KIND_OF_TOOL.get(name)
        blocks.append(entry)
    return {
        "seq": call.seq,
        "step": call.step,
        "attempt": call.attempt,
        "round": call.round,
        "model": call.model,
        "stop_reason": call.stop_reason,
        "usage": msgspec.to_builtins(call.usage),
        "latency_ms": call.latency_ms,
        "response_id": call.response_id,
        "request": _request(run_dir, call.request_digest),
        "response": blocks,
        "produced_seq": produced_seq,
    }
