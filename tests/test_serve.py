"""The reward server against a live uvicorn on 127.0.0.1.

OpenRLHF's client (``SingleTurnAgentExecutor._fetch_rewards_via_http``, OpenRLHF 0.11) cannot
be imported in this environment (it needs aiohttp and OpenRLHF's own dependencies); its wire
format is reproduced here from its source: a POST of ``{"query", "prompts", "labels"}`` to the
remote URL, reading ``rewards``, ``scores`` and ``extra_logs`` from the JSON answer. verl's
side is this package's own client, :func:`~eemo_rewards.adapters.verl.compute_score_remote`,
awaited concurrently as verl's reward loop awaits a coroutine ``compute_score`` per sample.
``tests/trainers/`` drives both through the trainers' own code in their environments.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
torch = pytest.importorskip("torch")

from hanging_reward import RELEASE, Hanging  # noqa: E402

from eemo_rewards.adapters import composite_for  # noqa: E402
from eemo_rewards.adapters.openrlhf import OpenRLHFRewardFunc  # noqa: E402
from eemo_rewards.adapters.verl import VerlComputeScore, compute_score_remote  # noqa: E402
from eemo_rewards.rewards.composite import CompositeReward  # noqa: E402
from eemo_rewards.rewards.format import FormatReward  # noqa: E402
from eemo_rewards.serve import RewardService, create_app  # noqa: E402

DONE = "<think>warm light</think><answer>{}</answer>"
PROMPT = "<|im_start|>user\nWhich emotion?<|im_end|>\n<|im_start|>assistant\n"
CASES = [
    (DONE.format("joy"), {"task": "emotion", "solution": "joy"}),
    (DONE.format("fear"), {"task": "emotion", "solution": "joy"}),
    (DONE.format("joy or fear"), {"task": "emotion", "solution": "joy"}),
    ("joy", {"task": "emotion", "solution": "joy"}),
    (DONE.format("yes"), {"task": "yes_no", "solution": "yes"}),
    (DONE.format("B"), {"task": "multiple_choice", "solution": "B", "options": ["calm", "joy"]}),
    (DONE.format("valence: 0.45"), {"task": "assessment", "solution": "valence: 0.5"}),
    (DONE.format("first"), {"task": "comparison", "solution": "second"}),
    (DONE.format("joy, awe, fear"), {"task": "ranking", "solution": "joy, awe, fear"}),
    (DONE.format("joy"), "joy"),  # a plain solution: the task is inferred
]
JOY = {"prompts": [PROMPT], "labels": ["joy"]}


class LiveServer:
    def __init__(self, service: RewardService):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(
            create_app(service), host="127.0.0.1", port=self.port, log_level="error"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def server():
    live = LiveServer(RewardService("default", max_completions=1000))
    yield live
    live.stop()


def post(url: str, payload, *, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def test_openrlhf_wire_format_gives_the_in_process_scores(server):
    adapter = OpenRLHFRewardFunc("default")
    expected = []
    for completion, label in CASES:
        query = PROMPT + completion + "<|im_end|>"
        label = label if isinstance(label, str) else json.dumps(label)
        # OpenRLHF's executor posts one query per request, all of a batch concurrently
        status, answer = post(
            server.url + "/get_reward", {"query": [query], "prompts": [PROMPT], "labels": [label]}
        )
        assert status == 200, answer
        # the numbers the adapter computes in process, exactly; and, as the float32 tensors
        # OpenRLHF makes of them, the very tensors the in-process reward_func returns
        totals, logs = adapter.score_lists([query], [PROMPT], [label])
        assert answer["rewards"] == answer["scores"] == totals
        assert answer["extra_logs"] == logs
        local = adapter([query], [PROMPT], [label])
        assert torch.equal(torch.tensor(answer["rewards"], dtype=torch.float32), local["rewards"])
        for key, values in local["extra_logs"].items():
            assert torch.equal(torch.tensor(answer["extra_logs"][key], dtype=torch.float32), values)
        expected.append(answer["rewards"][0])
    # a batch in one request scores the same
    queries = [PROMPT + c for c, _ in CASES]
    labels = [lab if isinstance(lab, str) else json.dumps(lab) for _, lab in CASES]
    status, answer = post(
        server.url + "/get_reward",
        {"query": queries, "prompts": [PROMPT] * len(CASES), "labels": labels},
    )
    assert status == 200 and answer["rewards"] == pytest.approx(expected, abs=0)
    assert len(set(expected)) > 2  # the cases really differ


def test_verl_remote_calls_give_the_in_process_scores(server):
    local = VerlComputeScore("default")
    samples = [
        {
            "data_source": "eemo",
            "solution_str": completion,
            "ground_truth": label if isinstance(label, str) else label["solution"],
            "extra_info": None if isinstance(label, str) else label,
        }
        for completion, label in CASES
    ]

    async def all_at_once():
        return await asyncio.gather(
            *(compute_score_remote(**s, remote_url=server.url) for s in samples)
        )

    remote = asyncio.run(all_at_once())
    assert remote == [local(**s) for s in samples]
    # a list in one request too
    status, answer = post(server.url + "/verl/compute_score", samples)
    assert status == 200 and answer == remote


@pytest.mark.parametrize(
    ("route", "payload", "raw", "status", "says"),
    [
        ("/get_reward", None, b"{not json", 400, "not JSON"),
        ("/get_reward", {"query": "one string"}, None, 422, "'query' must be a list"),
        ("/get_reward", {"query": ["a", "b"], "labels": ["x"]}, None, 422, "one entry per query"),
        ("/get_reward", {"query": [1]}, None, 422, "must be a string"),
        ("/verl/compute_score", {"data_source": "x"}, None, 422, "lacks 'solution_str'"),
        ("/verl/compute_score", {"solution_str": "a", "oops": 1}, None, 422, "unknown fields"),
        ("/verl/compute_score", "text", None, 422, "one sample"),
        ("/get_reward", {"query": ["x"] * 100_000}, None, 413, "Split the batch"),
    ],
    ids=[
        "not-json",
        "query-not-list",
        "lengths",
        "not-strings",
        "no-response",
        "unknown",
        "not-object",
        "100k-completions",
    ],
)
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(
    server, route, payload, raw, status, says
):
    got, answer = post(server.url + route, payload, raw=raw)
    assert got == status
    assert says in answer["error"]
    assert get(server.url + "/health")[1].startswith('{"status":"ok"')
    ok, _ = post(server.url + "/get_reward", {"query": [PROMPT + DONE.format("joy")], **JOY})
    assert ok == 200


def test_health_and_metrics(server):
    status, text = get(server.url + "/health")
    health = json.loads(text)
    assert status == 200 and health["terms"] == composite_for("default").component_names()
    post(
        server.url + "/get_reward",
        {
            "query": [PROMPT + DONE.format("joy")] * 3,
            "prompts": [PROMPT] * 3,
            "labels": ["joy"] * 3,
        },
    )
    status, metrics = get(server.url + "/metrics")
    assert 'eemo_requests_total{route="/get_reward"}' in metrics
    assert "eemo_completions_total" in metrics and 'quantile="0.99"' in metrics


def test_a_hanging_term_gets_a_clear_answer_and_the_server_keeps_serving():
    RELEASE.clear()
    composite = CompositeReward([FormatReward(), Hanging(timeout=0.3)], [1.0, 1.0])
    live = LiveServer(RewardService(composite))
    try:
        start = time.monotonic()
        with pytest.warns(Warning):  # the term's counted time-out warning, in this process
            status, answer = post(
                live.url + "/get_reward",
                {
                    "query": [PROMPT + DONE.format("hang"), PROMPT + DONE.format("joy")],
                    "prompts": [PROMPT, PROMPT],
                },
            )
        assert status == 200 and time.monotonic() - start < 5
        # the hung completion scored the term's floor; the rest of the batch is not lost
        assert answer["extra_logs"]["hanging"] == [0.0, 1.0]
        assert answer["extra_logs"]["format_reward"] == [1.0, 1.0]
        assert 'eemo_term_timeouts_total{term="hanging"} 1' in get(live.url + "/metrics")[1]
        status, answer = post(
            live.url + "/verl/compute_score", {"solution_str": DONE.format("joy")}
        )
        assert status == 200 and answer["score"] >= 1.0
    finally:
        RELEASE.set()
        live.stop()


def test_a_body_over_the_size_limit_is_refused_before_it_is_read():
    live = LiveServer(RewardService("default", max_body_mb=0.01))
    try:
        status, answer = post(live.url + "/get_reward", {"query": ["x" * 20_000]})
        assert status == 413 and "--max-body-mb" in answer["error"]
        status, _ = post(live.url + "/get_reward", {"query": [PROMPT + DONE.format("joy")], **JOY})
        assert status == 200
    finally:
        live.stop()


def test_verl_requests_that_arrive_together_are_scored_as_one_batch():
    live = LiveServer(RewardService("default", max_wait_ms=300))
    local = VerlComputeScore("default")
    samples = [
        {"solution_str": completion, "ground_truth": label, "extra_info": {"task": "emotion"}}
        for completion, label in [(DONE.format(e), "joy") for e in ("joy", "fear", "awe", "x")] * 2
    ]
    try:

        async def together():
            return await asyncio.gather(
                *(compute_score_remote(**s, remote_url=live.url) for s in samples)
            )

        remote = asyncio.run(together())
        metrics = get(live.url + "/metrics")[1]
        batches = int(re.search(r"^eemo_verl_batches_total (\d+)$", metrics, re.M).group(1))
    finally:
        live.stop()
    # each request got its own sample's scores, though they were scored together
    assert remote == [local(**s) for s in samples]
    assert len({r["score"] for r in remote}) > 1
    assert batches < len(samples)
