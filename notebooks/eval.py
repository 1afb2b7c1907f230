import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="eemo-rewards: evaluation", css_file="static-page.css")

with app.setup(hide_code=True):
    import argparse
    import json
    import warnings
    from pathlib import Path

    import marimo as mo
    import polars as pl
    from transformers.utils import logging as hf_logging

    from eemo_rewards.analysis.runs import (
        comparison_table,
        examples_frame,
        long_metrics,
        metric_bars,
    )
    from eemo_rewards.data.frames import rows_frame
    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.train.form import model_label, run_label
    from eemo_rewards.train.pipeline import (
        HELDOUT_SETS,
        JobSettings,
        evaluate_folder,
        list_runs,
        run_settings,
    )


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    # Evaluate checkpoints on held-out sets

    Perception accuracy (yes/no and what/how, single image and pair), the EEmo-Bench ranking
    score, V/A/D SRCC/PLCC, dominant-emotion accuracy and macro-F1, each reward's mean, for
    every chosen model on every held-out set, greedy (and sampled) decoding. The first model
    is "before", the last "after".

    Held-out sets: the run's test split, fresh images from another data seed, and a
    cross-domain set drawn with OpenMoji faces instead of the drawn faces the model was
    trained on.

    As a script: `python notebooks/eval.py --models runs/sft-X/final,runs/X/grpo/final`;
    without `--models` it takes the most recent main-job run under `runs/`.
    """)
    return


@app.cell(hide_code=True)
def _():
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    _parser = argparse.ArgumentParser(description="evaluate checkpoints on held-out sets")
    _parser.add_argument("--models", default="", help="comma-separated model folders or names")
    _parser.add_argument("--runs-dir", default="runs")
    _parser.add_argument("--sets", default=",".join(HELDOUT_SETS))
    _parser.add_argument("--eval-rows", type=int, default=256)
    _parser.add_argument("--sampled", type=str.lower, choices=["true", "false"], default="true")
    cli = _parser.parse_args(flags_to_argv(dict(mo.cli_args())))
    interactive = mo.app_meta().mode in ("edit", "run") and mo.app_meta().request is not None
    return cli, interactive


@app.cell(hide_code=True)
def _(cli):
    # main-job runs with GRPO finished, newest first, each named by what tells it apart
    _runs = [r for r in list_runs(cli.runs_dir) if r["finished"]]
    run_choice = mo.ui.dropdown(
        {run_label(r, _runs): str(r["path"]) for r in _runs} | {"(the models below)": ""},
        value=run_label(_runs[0], _runs) if _runs and not cli.models else "(the models below)",
        label="main-job run (its SFT checkpoint and GRPO model)",
    )
    return (run_choice,)


@app.cell(hide_code=True)
def _(cli, run_choice):
    if run_choice.value:
        _run = Path(run_choice.value)
        _default = f"{run_settings(_run).sft_final},{_run / 'grpo' / 'final'}"
    else:
        _default = cli.models
    models = mo.ui.text_area(value=_default.replace(",", "\n"), label="models (one per line)")
    sets = mo.ui.multiselect(
        list(HELDOUT_SETS), value=[s for s in cli.sets.split(",") if s], label="held-out sets"
    )
    rows = mo.ui.number(start=1, stop=1_000_000, step=32, value=cli.eval_rows, label="rows per set")
    sampled = mo.ui.checkbox(value=cli.sampled == "true", label="also sampled (temperature 1)")
    mo.vstack([run_choice, models, mo.hstack([sets, rows, sampled], wrap=True)])
    return models, rows, sampled, sets


@app.cell(hide_code=True)
def _(cli, models, rows, sets):
    model_list = [m.strip() for m in models.value.splitlines() if m.strip()]
    # the evaluation settings of the main job that made the first model, when it has them
    _settings = JobSettings(eval_rows=int(rows.value))
    for _model in model_list:
        for _parent in Path(_model).parents:
            if (_parent / "settings.json").exists():
                _saved = json.loads((_parent / "settings.json").read_text())
                _settings = JobSettings.from_dict({**_saved, "eval_rows": int(rows.value)})
                break
        else:
            continue
        break
    settings_json = json.dumps(_settings.to_dict(), default=str)
    set_list = list(sets.value)
    if not model_list:
        mo.output.replace(
            mo.callout(
                mo.md(
                    f"No model to evaluate: pass `--models` or run the main job first "
                    f"(no finished run under `{cli.runs_dir}/`)."
                ),
                kind="info",
            )
        )
    return model_list, set_list, settings_json


@app.cell(hide_code=True)
def _(interactive):
    run_button = mo.ui.run_button(label="Evaluate")
    if interactive:
        mo.output.replace(run_button)
    return (run_button,)


@app.cell(hide_code=True)
def _(interactive, model_list, run_button, sampled, set_list, settings_json):
    # cached on disk: arguments are plain strings, so re-opening the notebook is instant
    _cached = mo.persistent_cache(evaluate_folder)
    _jobs = [
        (m, s, d)
        for m in model_list
        for s in set_list
        for d in ([False, True] if sampled.value else [False])
    ]
    results = []
    if interactive and not run_button.value:
        mo.output.replace(mo.md("Press **Evaluate**.") if model_list else None)
    elif _jobs:  # an empty bar would spin for ever in the exported page
        for _model, _set, _sample in mo.status.progress_bar(_jobs, title="evaluating"):
            results.append(_cached(_model, _set, settings_json, _sample))
    return (results,)


@app.cell(hide_code=True)
def _(model_list, results):
    long = None
    if results:
        _short = {m: model_label(m, i) for i, m in enumerate(model_list)}
        long = long_metrics(results, ["model", "set", "decoding"]).with_columns(
            pl.col("model").replace(_short)
        )
        _names = [_short[m] for m in model_list]
        # main metrics first, first model -> last model -> change, rounded to 3 decimals
        _table = comparison_table(
            long, on="model", index=("metric", "set", "decoding"), before=_names[0],
            after=_names[-1],
        )  # fmt: skip
        mo.output.replace(
            mo.vstack(
                [
                    mo.md("### Before / after (first → last model)"),
                    mo.ui.table(_table, selection=None, page_size=50),
                ]
            )
        )
    return (long,)


@app.cell(hide_code=True)
def _(long):
    if long is not None:
        mo.output.replace(
            metric_bars(
                long.filter(pl.col("decoding") == "greedy"), x="model", row="set", width=55,
                height=110, labels=False,
            ).properties(title="greedy decoding")
        )  # fmt: skip
    return


@app.cell(hide_code=True)
def _(interactive, model_list, results):
    if results:
        _examples = examples_frame(
            results, ["model", "set", "decoding"], ["task", "solution", "completion", "correct"]
        )
        if not interactive:
            for _r in results:
                _keys = ("perception_acc", "emotion_acc", "ranking_score", "format_rate")
                print(
                    model_list.index(_r["model"]),
                    _r["set"],
                    _r["decoding"],
                    {k: round(_r[k], 3) for k in _keys if k in _r},
                )
        mo.output.replace(
            mo.vstack([mo.md("### Example answers"), mo.ui.table(_examples, selection=None)])
        )
    return


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    ## EEmo-Logic's evaluation suite

    The same models on EEmo-Logic's released test sets (`python -m eemo_rewards.bench`):
    EEmo-Bench single images, pairs and open-ended questions, and the cross-domain ArtEmis,
    ArtPhoto, UNIAA-Sent and AesBench-AesE, each metric with a 95% bootstrap interval over
    items, beside the published EEmo-Bench numbers. It needs the released test files and the
    images (`IMAGES/<set name>/<image path in the file>`), which this project does not ship:
    fill in the two folders below, or set `EEMO_BENCH_DATA` and `EEMO_BENCH_IMAGES` (and
    optionally `EEMO_BENCH_SETS`, `EEMO_BENCH_LIMIT`, `EEMO_BENCH_MAX_NEW_TOKENS`,
    `EEMO_BENCH_OUT`) when running as a
    script. Answers are cached per model under the output folder, so a second run generates
    nothing.
    """)
    return


@app.cell
def _():
    import os as _os

    from eemo_rewards.bench import SETS as BENCH_SETS

    _sets = [s for s in _os.environ.get("EEMO_BENCH_SETS", "").split(",") if s.strip()]
    bench_data = mo.ui.text(
        value=_os.environ.get("EEMO_BENCH_DATA", ""), label="test files", full_width=True
    )
    bench_images = mo.ui.text(
        value=_os.environ.get("EEMO_BENCH_IMAGES", ""), label="images", full_width=True
    )
    bench_sets = mo.ui.multiselect(
        list(BENCH_SETS), value=_sets or list(BENCH_SETS), label="suite sets"
    )
    bench_limit = mo.ui.number(
        start=0, stop=100_000, value=int(_os.environ.get("EEMO_BENCH_LIMIT", "0")),
        label="records per set (0: all)",
    )  # fmt: skip
    bench_tokens = mo.ui.number(
        start=1, stop=8192, value=int(_os.environ.get("EEMO_BENCH_MAX_NEW_TOKENS", "1024")),
        label="max new tokens",
    )  # fmt: skip
    bench_out = mo.ui.text(
        value=_os.environ.get("EEMO_BENCH_OUT", "reports/bench"), label="output folder"
    )
    mo.vstack(
        [
            bench_data,
            bench_images,
            mo.hstack([bench_sets, bench_limit, bench_tokens, bench_out], wrap=True),
        ]
    )
    return bench_data, bench_images, bench_limit, bench_out, bench_sets, bench_tokens


@app.cell
def _(interactive):
    bench_button = mo.ui.run_button(label="Run the suite")
    if interactive:
        mo.output.replace(bench_button)
    return (bench_button,)


@app.cell
def _(
    bench_button,
    bench_data,
    bench_images,
    bench_limit,
    bench_out,
    bench_sets,
    bench_tokens,
    interactive,
    model_list,
):
    from eemo_rewards.bench.run import run_suite

    mo.stop(
        not (bench_data.value.strip() and bench_images.value.strip() and bench_sets.value),
        mo.md("The suite needs the test files and images folders (see above)."),
    )
    mo.stop(interactive and not bench_button.value, mo.md("Press **Run the suite**."))
    bench_runs = {}
    for _i, _model in enumerate(model_list):
        _label = "-".join(p for p in (Path(_model).parent.name, Path(_model).name) if p)
        _folder = Path(bench_out.value) / f"{_i}-{_label}"
        bench_runs[_model] = (
            _folder,
            run_suite(
                _model,
                list(bench_sets.value),
                bench_images.value.strip(),
                _folder,
                data=bench_data.value.strip(),
                limit=int(bench_limit.value) or None,
                max_new_tokens=int(bench_tokens.value),
            ),
        )
    return (bench_runs,)


@app.cell
def _(bench_runs):
    _rows = [
        {"model": _model, "set": _set, "metric": _name, "value": _v,
         "low": _m.get(f"{_name}_low"), "high": _m.get(f"{_name}_high")}
        for _model, (_folder, _results) in bench_runs.items()
        for _set, _m in _results.items()
        for _name, _v in _m.items()
        if not _name.endswith(("_low", "_high"))
    ]  # fmt: skip
    bench_frame = rows_frame(_rows)
    _summaries = [
        mo.md((_folder / "summary.md").read_text()) for _folder, _r in bench_runs.values()
    ]
    mo.vstack(
        [
            mo.md("### Suite metrics (95% bootstrap intervals over items)"),
            mo.ui.table(bench_frame, selection=None, page_size=50),
            mo.accordion({"summaries with the published numbers": mo.vstack(_summaries)}),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
