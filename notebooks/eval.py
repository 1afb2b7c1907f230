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
    else:
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


if __name__ == "__main__":
    app.run()
