"""Command line: ``python -m eemo_rewards.report {check,serve} REPORT.html``.

``check`` opens the report in headless Chromium with no network and exits 1 unless at
least ``--expect`` charts drew and no faceted chart shows the same marks in every panel;
``serve`` serves an exported marimo report on localhost with marimo's front end answered
from the installed wheel, for reading it offline.
"""

from __future__ import annotations

import argparse
import threading

from eemo_rewards.report.browser import inspect_report
from eemo_rewards.report.marimo_offline import serve_offline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eemo_rewards.report", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check that a report's charts render offline")
    check.add_argument("report", help="an HTML report (a file) or an http:// address")
    check.add_argument("--expect", type=int, default=1, help="charts the page must draw")
    check.add_argument("--screenshot", default=None, help="save a full-page PNG here")
    check.add_argument("--timeout", type=float, default=60.0)
    serve = commands.add_parser("serve", help="serve an exported marimo report offline")
    serve.add_argument("report", help="an HTML file written by `marimo export html`")
    serve.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if args.command == "check":
        result = inspect_report(
            args.report,
            expect_charts=args.expect,
            timeout_s=args.timeout,
            screenshot=args.screenshot,
        )
        print(result.summary())
        return 0 if result.ok and result.charts_drawn >= args.expect else 1
    server = serve_offline(args.report, port=args.port)
    print(f"serving {args.report} at {server.url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
