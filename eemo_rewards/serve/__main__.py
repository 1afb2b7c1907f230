"""``python -m eemo_rewards.serve --spec SPEC --port P``: run the reward server."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m eemo_rewards.serve",
        description="Serve a reward spec over HTTP (OpenRLHF's and verl's remote contracts).",
    )
    parser.add_argument(
        "--spec",
        default=None,
        help="a preset name, inline spec JSON or a .json/.yaml spec file (default: the "
        "default spec); give slow terms a timeout in their params",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fallback", type=float, default=0.0)
    parser.add_argument("--max-completions", type=int, default=4096)
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--max-batch", type=int, default=256)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--max-body-mb", type=float, default=256.0)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    from eemo_rewards.serve import create_app

    app = create_app(
        spec=args.spec,
        fallback=args.fallback,
        max_completions=args.max_completions,
        request_timeout=args.request_timeout,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_body_mb=args.max_body_mb,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
