"""Offline HTML reports: pages that render with no network, and a headless-browser check.

Three pieces, each usable alone:

- :class:`~eemo_rewards.report.standalone.StandaloneReport`: one self-contained HTML file
  (headings, text, altair charts, tables) with the Vega libraries inlined once, so it opens
  from disk in any browser with no network;
- :mod:`eemo_rewards.report.marimo_offline`: a ``marimo export html`` page loads its
  scripts from a CDN and is blank offline. The marimo wheel ships the same files, so
  :func:`~eemo_rewards.report.marimo_offline.serve_offline` serves an export on localhost
  with the CDN addresses answered from the wheel;
- :func:`~eemo_rewards.report.browser.inspect_report`: opens a report in headless
  Chromium (with every outside request answered from the marimo wheel or refused) and
  counts the charts that drew marks, for tests and CI.

Needs the ``[notebooks]`` extra (altair, vl-convert); the browser check also needs
Playwright and a Chromium binary (Debian: ``apt-get install chromium``).
"""

from eemo_rewards.report.browser import RenderCheck, find_chromium, inspect_report
from eemo_rewards.report.marimo_offline import (
    OfflineServer,
    marimo_static_dir,
    serve_offline,
    static_asset_for_url,
)
from eemo_rewards.report.standalone import StandaloneReport

__all__ = [
    "OfflineServer",
    "RenderCheck",
    "StandaloneReport",
    "find_chromium",
    "inspect_report",
    "marimo_static_dir",
    "serve_offline",
    "static_asset_for_url",
]
