"""The reward server against the in-process composite, in one run; and each task's slowest
term.

Starts ``python -m eemo_rewards.serve`` on 127.0.0.1 (a free port; nothing else is
reached), then scores the same deterministic completions (``benchmarks/rewards.py``'s mix of
every task, correct, wrong and malformed) three ways:

- in process: the default composite's batch call, ``--batch`` completions per call (the
  baseline);
- OpenRLHF's route: ``--clients`` threads posting ``--batch`` queries per request to
  ``/get_reward`` (prompt + response, JSON labels), as OpenRLHF's executors do;
- verl's route: ``--clients`` threads sending one sample per request to
  ``/verl/compute_score``, as verl's reward loop does (the server batches them).

It prints completions/s and the p99 latency of one call or request, each as a ratio to the
in-process composite measured in the same run; the load is bounded in count (``-n``
completions per way) and in time (``--max-seconds`` per way). Then, per task, it times every
term of the composite on that task's completions and names the slowest.

    .venv/bin/python benchmarks/serve.py            # 4096 completions per way
    .venv/bin/python benchmarks/serve.py --smoke    # a quick check that it all runs
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rewards import make_completions  # noqa: E402  (benchmarks/rewards.py)

from eemo_rewards.spec import default_spec  # noqa: E402

PROMPT = "<|im_start|>user\nWhich emotion does the image evoke?<|im_end|>\n<|im_start|>assistant\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, payload) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def start_server(batch: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eemo_rewards.serve",
            "--spec",
            "default",
            "--port",
            str(port),
            "--max-completions",
            str(max(batch, 4096)),
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the reward server did not start") from None
            time.sleep(0.1)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def in_process(data: dict, batch: int, max_seconds: float) -> tuple[float, list[float]]:
    composite = default_spec().composite()
    n = len(data["completions"])
    latencies: list[float] = []
    done = 0
    start = time.perf_counter()
    for at in range(0, n, batch):
        t0 = time.perf_counter()
        composite(**{k: v[at : at + batch] for k, v in data.items()})
        latencies.append(time.perf_counter() - t0)
        done += len(data["completions"][at : at + batch])
        if time.perf_counter() - start > max_seconds:
            break
    return done / (time.perf_counter() - start), latencies


def _labels(data: dict) -> list[str]:
    return [
        json.dumps({"task": t, "solution": s, "options": o})
        for t, s, o in zip(data["task"], data["solution"], data["options"], strict=True)
    ]


def openrlhf_load(url, data, batch, clients, max_seconds) -> tuple[float, list[float]]:
    queries = [PROMPT + c for c in data["completions"]]
    labels = _labels(data)
    chunks = [(at, min(at + batch, len(queries))) for at in range(0, len(queries), batch)]
    stop = time.perf_counter() + max_seconds
    latencies: list[float] = []
    count = 0
    lock = threading.Lock()

    def send(bounds):
        nonlocal count
        if time.perf_counter() > stop:
            return
        a, b = bounds
        t0 = time.perf_counter()
        answer = _post(
            url + "/get_reward",
            {"query": queries[a:b], "prompts": [PROMPT] * (b - a), "labels": labels[a:b]},
        )
        assert len(answer["rewards"]) == b - a
        with lock:
            latencies.append(time.perf_counter() - t0)
            count += b - a

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, chunks))
    return count / (time.perf_counter() - start), latencies


def verl_load(url, data, clients, max_seconds) -> tuple[float, list[float]]:
    samples = [
        {
            "data_source": "eemo",
            "solution_str": c,
            "ground_truth": s,
            "extra_info": {"task": t, "options": o},
        }
        for c, s, t, o in zip(
            data["completions"], data["solution"], data["task"], data["options"], strict=True
        )
    ]
    stop = time.perf_counter() + max_seconds
    latencies: list[float] = []
    lock = threading.Lock()
    count = 0

    def send(sample):
        nonlocal count
        if time.perf_counter() > stop:
            return
        t0 = time.perf_counter()
        answer = _post(url + "/verl/compute_score", sample)
        assert "score" in answer
        with lock:
            latencies.append(time.perf_counter() - t0)
            count += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, samples))
    return count / (time.perf_counter() - start), latencies


def slowest_terms(data: dict, repeats: int = 3) -> list[tuple[str, str, float, int]]:
    """Per task: ``(task, slowest term, µs per completion, completions)``."""
    composite = default_spec().composite()
    rows = []
    for task in sorted(set(data["task"])):
        idx = [i for i, t in enumerate(data["task"]) if t == task]
        sub = {k: [v[i] for i in idx] for k, v in data.items()}
        times = {}
        for term in composite.rewards:
            if not term.applies_to(task):
                continue
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                term(**sub)
                best = min(best, time.perf_counter() - t0)
            times[term.__name__] = best
        if times:
            name = max(times, key=times.get)
            rows.append((task, name, 1e6 * times[name] / len(idx), len(idx)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4096, help="completions per way")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--smoke", action="store_true", help="256 completions, 10 s per way")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.batch, args.clients, args.max_seconds = 256, 32, 2, 10.0
    data = make_completions(args.n, seed=0)
    process, url = start_server(args.batch)
    try:
        base_rate, base_lat = in_process(data, args.batch, args.max_seconds)
        rlhf_rate, rlhf_lat = openrlhf_load(url, data, args.batch, args.clients, args.max_seconds)
        verl_rate, verl_lat = verl_load(url, data, args.clients, args.max_seconds)
    finally:
        process.terminate()
        process.wait(10)
    print(f"{args.n} completions per way, batch {args.batch}, {args.clients} clients")
    print(f"{'way':38s} {'completions/s':>14s} {'ratio':>7s} {'p99 ms':>9s} {'ratio':>8s}")
    base_p99 = p99(base_lat)
    for name, rate, lat in (
        (f"in-process composite (batch {args.batch})", base_rate, base_lat),
        (f"server /get_reward (batch {args.batch})", rlhf_rate, rlhf_lat),
        ("server /verl/compute_score (1 / request)", verl_rate, verl_lat),
    ):
        print(
            f"{name:38s} {rate:14.0f} {rate / base_rate:7.3f} {1e3 * p99(lat):9.2f} "
            f"{p99(lat) / base_p99:8.1f}"
        )
    print(f"median in-process call: {1e3 * statistics.median(base_lat):.2f} ms")
    print("\nslowest term per task (the composite's terms, timed on that task's completions)")
    for task, name, micros, count in slowest_terms(data):
        print(f"  {task:16s} {name:18s} {micros:8.1f} µs/completion  ({count} completions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
