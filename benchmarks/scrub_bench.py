"""What the secret scrubber's fast path costs: ``holds_secret`` on a log line and on a
model request, and screening a workspace's files for secrets (``secret_in_file``).

    python benchmarks/scrub_bench.py            # --files 2000 --size 10000
"""

from __future__ import annotations

import argparse
import os
import time
import timeit
from functools import partial
from pathlib import Path

import msgspec

from actors.secrets import holds_secret
from store.credentials import environment_secrets, secret_in_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-" + "k" * 40)  # one secret to look for
    code = (Path(__file__).parent.parent / "actors" / "otel" / "spans.py").read_text()
    line = msgspec.json.encode({"type": "StepFailed", "message": code[:300]})
    request = msgspec.json.encode({"messages": code[:30_000]})
    for name, data in (("log line", line), ("request", request)):
        n = 20_000 if len(data) < 5000 else 500
        timer = timeit.Timer(partial(holds_secret, data))
        best = min(timer.repeat(number=n, repeat=5)) / n
        print(f"holds_secret, {name} of {len(data):,} bytes: {best * 1e6:8.1f} us")
    files = [(code.encode() * 4)[: args.size] + b"# %d\n" % i for i in range(args.files)]
    secrets = environment_secrets()
    start = time.perf_counter()
    for data in files:
        secret_in_file("module.py", data, secrets)
    took = time.perf_counter() - start
    total = sum(map(len, files)) / 1e6
    print(f"screening {args.files:,} files, {total:.1f} MB: {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
