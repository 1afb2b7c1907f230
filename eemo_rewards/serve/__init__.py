"""The HTTP reward server: a reward spec's composite behind OpenRLHF's and verl's remote
contracts (extra ``[serve]``: FastAPI and uvicorn).

::

    python -m eemo_rewards.serve --spec soft --port 8000

Routes
------
``POST /get_reward``
    OpenRLHF's remote reward contract (``--reward.remote_url http://HOST:PORT/get_reward``):
    the body is ``{"query": [...], "prompts": [...], "labels": [...]}`` (prompt + response
    per query, as OpenRLHF's single-turn executor posts it), the answer
    ``{"rewards": [...], "scores": [...], "extra_logs": {<term>: [...],
    "response_not_found": [...]}}``: the numbers :mod:`eemo_rewards.adapters.openrlhf` gives
    in process.
``POST /verl/compute_score``
    verl's reward loop, through :func:`eemo_rewards.adapters.verl.compute_score_remote`: one
    sample ``{"data_source", "solution_str", "ground_truth", "extra_info"}`` (or a list of
    them) in, ``{"score": ..., <term>: ...}`` (or a list) out, as
    :mod:`eemo_rewards.adapters.verl` gives in process. verl awaits one request per sample;
    the server gathers the requests that arrive together into one batch (``--max-wait-ms``,
    ``--max-batch``) and scores it on a worker thread.
``GET /health``
    ``{"status": "ok", "spec": ..., "terms": [...]}``.
``GET /metrics``
    Prometheus text: requests, completions, refusals by status, term time-outs, and
    latency quantiles.

Limits
------
A request holding more than ``--max-completions`` completions (default 4096), or a body
larger than ``--max-body-mb`` (default 256, refused before it is read), gets 413 and a body
saying how to split it; a body that is not JSON, or lacks a field, or has
lists of different lengths, is refused with 400 or 422 and a body naming the field. Each
term's ``timeout`` (in the spec's params) bounds it per batch
(:mod:`~eemo_rewards.rewards.limits`); ``--request-timeout`` bounds a whole request (504
when it trips). The server keeps serving after each of these.
"""

# no ``from __future__ import annotations``: FastAPI reads the routes' annotations (Request)
# at run time, and they name a class imported inside create_app
import asyncio
import json
import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from eemo_rewards.adapters import composite_for
from eemo_rewards.adapters.openrlhf import OpenRLHFRewardFunc
from eemo_rewards.adapters.verl import VERL_ROUTE, VerlComputeScore

__all__ = ["OPENRLHF_ROUTE", "VERL_ROUTE", "RequestError", "RewardService", "create_app"]

OPENRLHF_ROUTE = "/get_reward"
"""OpenRLHF's route, the one its own example server (``openrlhf.cli.serve_rm``) uses."""

VERL_FIELDS = ("data_source", "solution_str", "ground_truth", "extra_info")


class RequestError(ValueError):
    """A request the server refuses: ``status`` (4xx) and a message saying what to fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class RewardService:
    """What the routes do, without HTTP: validation, batching, limits and counters.

    Parameters
    ----------
    spec : spec name, dict, JSON, file path or None
        Built once at start (a bad spec stops the server before it listens).
    fallback : float, default 0.0
        The score of a sample no term applies to.
    max_completions : int, default 4096
        Completions one request may hold.
    request_timeout : float, default 120.0
        Seconds one request may take.
    max_batch, max_wait_ms
        verl's per-sample requests are gathered into batches of at most ``max_batch``,
        waiting at most ``max_wait_ms`` for more to arrive.
    max_body_mb : float, default 256
        The largest body read; a larger one is refused (413) before it is read.
    """

    def __init__(
        self,
        spec: Any = None,
        *,
        fallback: float = 0.0,
        max_completions: int = 4096,
        request_timeout: float = 120.0,
        max_batch: int = 256,
        max_wait_ms: float = 2.0,
        max_body_mb: float = 256.0,
    ):
        self.spec = spec
        self.max_body_bytes = int(max_body_mb * 1024 * 1024)
        self.composite = composite_for(spec, fallback=fallback)
        self.openrlhf = OpenRLHFRewardFunc(self.composite, fallback=fallback)
        self.verl = VerlComputeScore(self.composite, fallback=fallback)
        self.max_completions = int(max_completions)
        self.request_timeout = float(request_timeout)
        self.max_batch = int(max_batch)
        self.max_wait = float(max_wait_ms) / 1000.0
        self.requests: Counter[str] = Counter()
        self.completions = 0
        self.batches = 0  # verl's scoring batches (several requests each when they arrive together)
        self.refused: Counter[int] = Counter()
        self.latencies: deque[float] = deque(maxlen=2000)
        self._queue: asyncio.Queue | None = None
        self._batcher: asyncio.Task | None = None

    # -- validation --------------------------------------------------------------------
    def _check_size(self, n: int) -> None:
        if n > self.max_completions:
            raise RequestError(
                413,
                f"the request holds {n} completions; this server takes at most "
                f"{self.max_completions} per request (--max-completions). Split the batch "
                "into several requests.",
            )

    def openrlhf_body(self, body: Any) -> tuple[list, list | None, list | None]:
        """``(queries, prompts, labels)`` of an OpenRLHF body, or a :class:`RequestError`."""
        if not isinstance(body, Mapping):
            raise RequestError(422, "the body must be a JSON object with 'query' (a list)")
        queries = body.get("query")
        if not isinstance(queries, list):
            raise RequestError(
                422,
                "'query' must be a list of strings (prompt + response per sample), got "
                f"{type(queries).__name__}",
            )
        self._check_size(len(queries))
        if not all(isinstance(q, str) for q in queries):
            raise RequestError(422, "every 'query' entry must be a string")
        out: list[list | None] = []
        for key in ("prompts", "labels"):
            values = body.get(key)
            if values is not None and (not isinstance(values, list) or len(values) != len(queries)):
                raise RequestError(
                    422, f"'{key}' must be a list with one entry per query ({len(queries)})"
                )
            out.append(values)
        return queries, out[0], out[1]

    def verl_samples(self, body: Any) -> tuple[list[dict], bool]:
        """``(samples, whether one sample was sent)`` of a verl body."""
        single = isinstance(body, Mapping)
        samples = [body] if single else body
        if not isinstance(samples, list):
            raise RequestError(
                422, "the body must be one sample (a JSON object) or a list of samples"
            )
        self._check_size(len(samples))
        for i, sample in enumerate(samples):
            if not isinstance(sample, Mapping):
                raise RequestError(422, f"sample {i} is not a JSON object")
            unknown = sorted(set(sample) - set(VERL_FIELDS))
            if unknown:
                raise RequestError(
                    422, f"sample {i} has unknown fields {unknown}; send {list(VERL_FIELDS)}"
                )
            if "solution_str" not in sample:
                raise RequestError(422, f"sample {i} lacks 'solution_str' (the response)")
            info = sample.get("extra_info")
            if info is not None and not isinstance(info, Mapping):
                raise RequestError(422, f"sample {i}: 'extra_info' must be an object or null")
        return [dict(s) for s in samples], single

    # -- scoring -----------------------------------------------------------------------
    def score_openrlhf(self, queries, prompts, labels) -> dict[str, Any]:
        totals, logs = self.openrlhf.score_lists(queries, prompts, labels)
        return {"rewards": totals, "scores": list(totals), "extra_logs": logs}

    def score_verl(self, samples: list[dict]) -> list[dict[str, float]]:
        return [self.verl(**sample) for sample in samples]

    async def _batch_loop(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            first = await queue.get()
            batch = [first]
            deadline = time.monotonic() + self.max_wait
            size = len(first[0])
            while size < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                batch.append(item)
                size += len(item[0])
            samples = [s for item, _ in batch for s in item]
            try:
                scored = await asyncio.to_thread(self.score_verl, samples)
            except Exception as exc:  # a dataset mistake (no task to tell): each request hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            at = 0
            for item, future in batch:
                part = scored[at : at + len(item)]
                at += len(item)
                if not future.done():
                    future.set_result(part)

    async def verl_batched(self, samples: list[dict]) -> list[dict[str, float]]:
        """Score ``samples`` with the other requests that arrive together."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._batcher = asyncio.create_task(self._batch_loop())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((samples, future))
        return await future

    async def close(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
            self._batcher = None
            self._queue = None

    # -- metrics -----------------------------------------------------------------------
    def metrics_text(self) -> str:
        """Prometheus' text format."""
        lines = [
            "# TYPE eemo_requests_total counter",
            *(f'eemo_requests_total{{route="{r}"}} {n}' for r, n in sorted(self.requests.items())),
            "# TYPE eemo_completions_total counter",
            f"eemo_completions_total {self.completions}",
            "# TYPE eemo_verl_batches_total counter",
            f"eemo_verl_batches_total {self.batches}",
            "# TYPE eemo_refused_total counter",
            *(f'eemo_refused_total{{status="{s}"}} {n}' for s, n in sorted(self.refused.items())),
            "# TYPE eemo_term_timeouts_total counter",
            *(
                f'eemo_term_timeouts_total{{term="{r.__name__}"}} {r.timeouts}'
                for r in self.composite.rewards
            ),
        ]
        if self.latencies:
            ordered = sorted(self.latencies)
            lines.append("# TYPE eemo_latency_seconds summary")
            for q in (0.5, 0.9, 0.99):
                value = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
                lines.append(f'eemo_latency_seconds{{quantile="{q}"}} {value:.6f}')
            lines.append(f"eemo_latency_seconds_count {len(ordered)}")
        return "\n".join(lines) + "\n"

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "spec": self.spec if isinstance(self.spec, str | None) else "custom",
            "terms": self.composite.component_names(),
            "max_completions": self.max_completions,
        }


def create_app(service: RewardService | None = None, **settings: Any):
    """The FastAPI application serving ``service`` (built from ``settings`` when not given:
    the keyword arguments of :class:`RewardService`)."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse, PlainTextResponse
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "the reward server needs FastAPI and uvicorn: pip install 'eemo-rewards[serve]'"
        ) from exc
    from contextlib import asynccontextmanager

    service = service or RewardService(**settings)

    @asynccontextmanager
    async def lifespan(app):
        yield
        await service.close()

    app = FastAPI(title="eemo-rewards reward server", lifespan=lifespan)
    app.state.service = service

    async def body_of(request: Request) -> Any:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > service.max_body_bytes:
            raise RequestError(
                413,
                f"the body is {int(declared)} bytes; this server reads at most "
                f"{service.max_body_bytes} (--max-body-mb). Split the batch into several "
                "requests.",
            )
        raw = await request.body()
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(
                400, f"the body is not JSON ({exc}); send application/json"
            ) from None

    async def answer(route: str, request: Request, handle) -> Any:
        start = time.perf_counter()
        service.requests[route] += 1
        try:
            body = await body_of(request)
            result = await asyncio.wait_for(handle(body), service.request_timeout)
        except RequestError as exc:
            service.refused[exc.status] += 1
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except TimeoutError:
            service.refused[504] += 1
            return JSONResponse(
                {
                    "error": f"scoring took longer than {service.request_timeout:g} s "
                    "(--request-timeout); give slow terms a timeout in the spec's params"
                },
                status_code=504,
            )
        except (ValueError, TypeError) as exc:  # a label or sample the adapters refuse
            service.refused[422] += 1
            return JSONResponse({"error": str(exc)}, status_code=422)
        service.latencies.append(time.perf_counter() - start)
        return JSONResponse(result)

    @app.post(OPENRLHF_ROUTE)
    async def get_reward(request: Request):
        async def handle(body):
            queries, prompts, labels = service.openrlhf_body(body)
            service.completions += len(queries)
            return await asyncio.to_thread(service.score_openrlhf, queries, prompts, labels)

        return await answer(OPENRLHF_ROUTE, request, handle)

    @app.post(VERL_ROUTE)
    async def verl_compute_score(request: Request):
        async def handle(body):
            samples, single = service.verl_samples(body)
            service.completions += len(samples)
            scored = await service.verl_batched(samples)
            return scored[0] if single else scored

        return await answer(VERL_ROUTE, request, handle)

    @app.get("/health")
    async def health():
        return service.health()

    @app.get("/metrics")
    async def metrics():
        return PlainTextResponse(service.metrics_text())

    return app
