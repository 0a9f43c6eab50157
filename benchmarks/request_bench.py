"""What keeping each model request costs a call: scrub, digest, and the object write.

Prints, per call, the median time of: building the digest alone (what every call paid
before requests were recorded), scrubbing the request, keeping a new request (written
and synced: the file and its directory), and keeping a request already there (an
identical prompt: no write). The baseline is one ``fdatasync`` of a log line measured in
the same run, the cost of the event that names the request.

    python benchmarks/request_bench.py            # --calls 200 --size 30000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from actors.models import ModelRequest, record_request, request_digest, scrubbed


def _request(i: int, size: int) -> ModelRequest:
    body = f"call {i}\n" + ("def f(x):\n    return x + 1\n" * (size // 28))
    return ModelRequest(
        step="code",
        model="claude-bench",
        system="You are the Coder.",
        messages=({"role": "user", "content": body},),
        tool_name="submit_code",
        tool_description="Submit the change.",
        input_schema={"type": "object", "properties": {"notes": {"type": "string"}}},
        max_tokens=32000,
    )


def _median_ms(fn: Callable[[int], object], n: int) -> float:
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--size", type=int, default=30_000, help="bytes of message text")
    args = parser.parse_args()
    requests = [_request(i, args.size) for i in range(args.calls)]
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        run = Path(tmp)
        fd = os.open(run / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        line = b"x" * 400 + b"\n"

        def append(_i: int) -> None:
            os.write(fd, line)
            os.fdatasync(fd)

        floor = _median_ms(append, args.calls)
        os.close(fd)
        digest = _median_ms(lambda i: request_digest(requests[i]), args.calls)
        scrub = _median_ms(lambda i: scrubbed(requests[i]), args.calls)
        new = _median_ms(lambda i: record_request(run, requests[i]), args.calls)
        again = _median_ms(lambda i: record_request(run, requests[i]), args.calls)
    print(f"request of {args.size:,} bytes of text, {args.calls} calls, medians per call:")
    print(f"  log line fdatasync (baseline)  {floor:7.3f} ms")
    print(f"  digest only (before)           {digest:7.3f} ms")
    print(f"  scrub                          {scrub:7.3f} ms")
    print(f"  keep a new request             {new:7.3f} ms  ({new / floor:.1f}x the baseline)")
    print(f"  keep an identical request      {again:7.3f} ms  ({again / floor:.2f}x the baseline)")


if __name__ == "__main__":
    main()
