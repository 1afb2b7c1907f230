import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="eemo-rewards: SFT → GRPO → evaluation")

with app.setup(hide_code=True):
    import argparse
    import json
    import time
    import warnings
    from pathlib import Path

    import marimo as mo
    import polars as pl
    from transformers.utils import logging as hf_logging

    from eemo_rewards.analysis.cards import before_after_cards, completion_cards
    from eemo_rewards.analysis.live import LiveCurves
    from eemo_rewards.analysis.recipe import load_recipe, recipe_note
    from eemo_rewards.analysis.runs import (
        comparison_table,
        examples_frame,
        grpo_charts,
        long_metrics,
        metric_bars,
        results_card,
        round_frame,
        sft_loss_chart,
    )
    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.report.run_report import write_run_report
    from eemo_rewards.spec import PRESETS, RewardSpec, preset
    from eemo_rewards.train.form import derived_numbers, run_label, settings_layout, spec_controls
    from eemo_rewards.train.pipeline import (
        JobSettings,
        builtin_splits,
        evaluate_run,
        list_runs,
        run_job,
    )
    from eemo_rewards.train.runs import RunFolder, RunLocked

    #: where the self-contained report goes besides the run folder (relative to the
    #: working directory, like `--runs-dir`)
    DEFAULT_REPORT = "reports/grpo/report.html"
    # the default recipe checked across seeds (scripts/check_recipe.py)
    RECIPE_CHECK = Path(__file__).resolve().parents[1] / "data" / "study" / "recipe" / "default"


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    # SFT → GRPO → evaluation

    /// admonition | Start here
    1. Pick a **reward preset** and the basic settings below (the defaults finish in a few
       minutes on a laptop CPU; *Advanced settings* hold the rest).
    2. Press **Run SFT → GRPO**. Nothing trains before that, in the editor or as an app.
       Loss and reward are drawn live while it trains.
    3. Read the **results card**: GRPO against its SFT checkpoint on held-out items, with a
       95% interval and a verdict per metric. Curves, tables and sample answers follow.

    Or reopen a finished run under *Open a finished run* to look at it again without training.
    ///

    A vision-language model learns to read the emotion cues of the built-in images:
    supervised fine-tuning on `<think>…</think><answer>…</answer>` demonstrations first, then
    TRL's GRPO with this project's rewards (routed by task), then an evaluation of both
    checkpoints on held-out images, greedy and sampled.

    - As a script or an HTML export it runs at once from command-line flags, e.g.
      `python notebooks/grpo.py --grpo-steps 60` or
      `marimo export html notebooks/grpo.py -o reports/grpo.html -- --model tiny`.
    - Runs live in `runs/<model>-<job id>/`, their SFT stage in `runs/sft-<model>-<SFT id>/`.
      The same settings reuse the finished run at once; more GRPO steps continue it; an
      interrupted run resumes with every weight; other GRPO settings reuse the SFT stage.
    - Every run also writes a self-contained `report.html` (charts, evaluation, sample
      answers; opens offline from disk) into its run folder and to `--report`
      (default `reports/grpo/report.html`, PNG copies of the charts beside it;
      `--report none` writes only the run folder's copy).
    """)
    return


@app.function(hide_code=True)
def split_report_flag(cli: dict) -> tuple[str | None, list[str]]:
    """The ``--report`` path (``None`` for ``--report none``) and the job's other flags.

    ``cli`` is what ``marimo.cli_args()`` returns (or any flag -> value mapping).
    """
    argv = flags_to_argv(cli)
    parser = argparse.ArgumentParser(prog="notebooks/grpo.py", add_help=False, allow_abbrev=False)
    parser.add_argument(
        "--report",
        default=DEFAULT_REPORT,
        help="self-contained HTML report of the run (also written into the run folder); "
        "'none' writes only the run folder's copy",
    )
    parsed, rest = parser.parse_known_args(argv)
    report = None if parsed.report.strip().lower() in ("", "none") else parsed.report
    return report, rest


@app.cell(hide_code=True)
def _():
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    report_path, _job_flags = split_report_flag(mo.cli_args().to_dict())
    cli = JobSettings.from_args(_job_flags)
    # A browser session (the editor, or `marimo run` as an app) has a request: there,
    # training waits for the button. `marimo export html` and `python notebooks/grpo.py`
    # have none and run at once from the command line's flags.
    interactive = mo.app_meta().mode in ("edit", "run") and mo.app_meta().request is not None
    return cli, interactive, report_path


@app.function(hide_code=True)
def settings_widgets(cli: JobSettings, fields: dict) -> mo.ui.dictionary:
    """One widget per field of ``fields`` (from :func:`settings_layout`: labels, ranges,
    choices), starting at the command line's values."""
    widgets = {}
    for name, field in fields.items():
        value, label = getattr(cli, name), field["label"]
        if "choices" in field:
            widgets[name] = mo.ui.dropdown(list(field["choices"]), value=value, label=label)
        elif "range" in field:
            start, stop, step = field["range"]
            widgets[name] = mo.ui.number(
                start=start, stop=stop, step=step, value=value, label=label
            )
        else:
            widgets[name] = mo.ui.text(value=str(value), label=label)
    return mo.ui.dictionary(widgets)


@app.function(hide_code=True)
def with_help(form: mo.ui.dictionary, fields: dict) -> mo.Html:
    """The widgets of ``form`` one per line, each with its help text."""
    return mo.vstack(
        [
            mo.hstack(
                [form[name], mo.md(f"<small>{fields[name]['help']}</small>")],
                justify="start",
                align="center",
                gap=1,
            )
            for name in fields
        ],
        gap=0.25,
    )


@app.cell(hide_code=True)
def _(cli):
    _layout = settings_layout()
    basic_form = settings_widgets(cli, _layout["basic"])
    advanced_form = settings_widgets(cli, _layout["advanced"])
    spec_preset = mo.ui.dropdown(
        sorted(PRESETS) + (["(from --spec)"] if cli.spec not in PRESETS else []),
        value=cli.spec if cli.spec in PRESETS else "(from --spec)",
        label="reward preset",
    )
    mo.vstack(
        [
            mo.md("## Settings"),
            mo.hstack(
                [spec_preset, mo.md("<small>which rewards GRPO trains with (below)</small>")],
                justify="start",
                align="center",
                gap=1,
            ),
            with_help(basic_form, _layout["basic"]),
            mo.accordion({"Advanced settings": with_help(advanced_form, _layout["advanced"])}),
        ]
    )
    return advanced_form, basic_form, spec_preset


@app.cell(hide_code=True)
def _(cli, spec_preset):
    if spec_preset.value in PRESETS:
        base_spec = preset(spec_preset.value)
    else:
        base_spec = RewardSpec.from_json(cli.spec)
    term_keys = [t.key for t in base_spec.terms]
    weights = mo.ui.dictionary(
        {
            t.key: mo.ui.slider(0.0, 2.0, step=0.05, value=float(t.weight), show_value=True)
            for t in base_spec.terms
        },
        label="reward weights",
    )
    # the controls start at what the preset says, and only those it uses are shown
    _uses = spec_controls(base_spec)
    term_controls = {}
    if "accuracy_mode" in _uses:
        term_controls["accuracy_mode"] = mo.ui.dropdown(
            ["binary", "soft"],
            value=_uses["accuracy_mode"],
            label="accuracy: binary or soft (EEmo-Logic matrix)",
        )
    if "kernel" in _uses:
        term_controls["kernel"] = mo.ui.dropdown(
            ["linear", "gaussian", "laplace", "threshold", "bucket"],
            value=_uses["kernel"],
            label="intensity kernel",
        )
    term_controls = mo.ui.dictionary(term_controls)
    mo.accordion(
        {
            f"Rewards of `{spec_preset.value}`: "
            + ", ".join(f"{t.key} × {t.weight:g}" for t in base_spec.terms): mo.vstack(
                [weights, *([term_controls.hstack()] if _uses else [])]
            )
        }
    )
    return base_spec, term_controls, term_keys, weights


@app.cell(hide_code=True)
def _(base_spec, term_controls, term_keys, weights):
    changes = {f"{key}.weight": float(value) for key, value in weights.value.items()}
    for term in base_spec.terms:
        if term.name == "accuracy" and "accuracy_mode" in term_controls.value:
            changes[f"{term.key}.mode"] = term_controls.value["accuracy_mode"]
        if term.name == "intensity" and "kernel" in term_controls.value:
            changes[f"{term.key}.kernel"] = term_controls.value["kernel"]
    spec = base_spec.with_settings(changes) if term_keys else base_spec
    return (spec,)


@app.cell(hide_code=True)
def _(advanced_form, basic_form, cli, spec):
    _values = {**basic_form.value, **advanced_form.value}
    _values["model"] = str(_values["model"]).strip() or "tiny"
    settings = JobSettings.from_form(cli, {**_values, "spec": spec.to_json()})
    finished_runs = [r for r in list_runs(settings.runs_dir) if r["finished"]]
    _numbers = derived_numbers(settings, finished_runs)
    _eta = _numbers["estimated training seconds"]
    mo.md(
        f"**This run:** {_numbers['completions per GRPO step']} completions per GRPO step "
        f"({settings.prompts_per_step} prompts × {settings.num_generations}), "
        f"{_numbers['GRPO completions in all']} in all; "
        f"{_numbers['SFT demonstrations seen']} SFT demonstrations seen. "
        + (
            "Nothing to train: these settings finished before and are read back from disk."
            if _numbers["reused"]
            else f"Estimated training time **{_eta:.0f} s** ({_numbers['estimated from']})."
            if _eta is not None
            else "Estimated time: unknown until one run of this model has finished here."
        )
        + f"  \nRun folder: `{settings.run_dir}`"
    )
    return finished_runs, settings


@app.cell(hide_code=True)
def _(finished_runs):
    run_picker = mo.ui.dropdown(
        {"(train with the settings above)": ""}
        | {run_label(r): str(r["path"]) for r in finished_runs},
        value="(train with the settings above)",
        label="Open a finished run",
    )
    mo.vstack(
        [
            run_picker,
            mo.md(
                f"<small>{len(finished_runs)} finished run(s) in this runs folder; opening one "
                "shows its results and curves without training.</small>"
            ),
        ]
    )
    return (run_picker,)


@app.cell(hide_code=True)
def _(finished_runs):
    _rows = [
        {
            "run": r["path"].name,
            "GRPO steps": r["grpo_step"],
            **{
                f"{row['stage']} {m}": row.get(m)
                for row in r["eval"]
                if row.get("decoding") == "greedy"
                for m in ("reward_mean", "format_rate")
            },
        }
        for r in finished_runs
    ]
    mo.accordion(
        {
            "Compare finished runs (greedy held-out metrics)": mo.ui.table(
                round_frame(pl.DataFrame(_rows)), selection=None
            )
            if _rows
            else mo.md("No finished run yet.")
        }
    )
    return


@app.cell(hide_code=True)
def _(run_picker, settings):
    job_settings = (
        JobSettings.from_dict(json.loads((Path(run_picker.value) / "settings.json").read_text()))
        if run_picker.value
        else settings
    )
    data = builtin_splits(job_settings)
    _counts = pl.DataFrame([data["counts"]])
    _tasks = data["qa"].group_by("task", "split").len().sort("task", "split")
    mo.accordion(
        {
            "Data of this run": mo.vstack(
                [
                    mo.ui.table(_counts, selection=None),
                    mo.ui.table(_tasks, selection=None, page_size=25),
                ]
            )
        }
    )
    return data, job_settings


@app.cell(hide_code=True)
def _(interactive, run_picker):
    run_button = mo.ui.run_button(label="Run SFT → GRPO", kind="success")
    if interactive and not run_picker.value:
        mo.output.replace(run_button)
    return (run_button,)


@app.cell(hide_code=True, expand_output=True)
def _(data, interactive, job_settings, run_button, run_picker):
    mo.stop(
        interactive and not run_picker.value and not run_button.value,
        mo.callout(
            mo.md("Set the options, then press **Run SFT → GRPO** (or open a finished run)."),
            kind="info",
        ),
    )
    _start = time.perf_counter()
    _live = LiveCurves(every=max(1, min(5, job_settings.grpo_steps // 10)))

    def _draw():
        mo.output.replace(
            mo.vstack(
                [
                    mo.md("### Training (live)\n" + _live.status()),
                    mo.ui.altair_chart(_live.chart(), chart_selection=False, legend_selection=False)
                    if _live.points
                    else mo.md("waiting for the first logged step…"),
                    *(
                        [
                            mo.md(f"**Latest GRPO completion** ({_live.sample[0]}):"),
                            mo.plain_text(_live.sample[1]),
                        ]
                        if _live.sample
                        else []
                    ),
                ]
            )
        )

    def _on_step(stage, step, total, logs):
        if _live.record(stage, step, total, logs) and interactive:
            _draw()
        if not interactive and total and (step == total or step % 10 == 0):
            print(
                f"[{time.perf_counter() - _start:6.1f}s] {stage} step {step}/{total}",
                flush=True,
            )

    try:
        job = run_job(job_settings, data=data, live=_on_step, evaluate=False)
    except RunLocked as _locked:
        mo.stop(True, mo.callout(mo.md(f"**This run is busy.** {_locked}"), kind="warn"))
    train_seconds = time.perf_counter() - _start
    if interactive and _live.points:
        _draw()
    elif interactive:
        mo.output.replace(
            mo.callout(
                mo.md(
                    f"Opened `{job_settings.run_dir}` from disk: it had finished with these "
                    "settings, so nothing was trained."
                ),
                kind="info",
            )
        )
    return job, train_seconds


@app.cell(hide_code=True)
def _(job):
    run = RunFolder(job["settings"].run_dir)
    return (run,)


@app.cell(hide_code=True)
def _(job, run):
    # evaluate_run reads back the evaluation stored in the run folder when it was made of
    # the same models' steps and evaluation settings (its eval_stamp.json): re-opening a
    # finished run does not re-generate thousands of answers, and a changed run is never
    # served a stale evaluation
    evaluation = evaluate_run(run.path)
    return (evaluation,)


@app.cell(hide_code=True, expand_output=True)
def _(evaluation, job):
    card = results_card(evaluation)
    card["recipe"] = recipe_note(load_recipe(RECIPE_CHECK), job["settings"].to_dict())
    mo.vstack(
        [
            mo.md("## Results"),
            mo.callout(
                mo.md(card["text"]),
                kind="warn" if card["regressions"] else "success",
            ),
            mo.md(card["recipe"]),
            mo.ui.table(card["table"], selection=None, page_size=20)
            if card["table"].height
            else mo.md(""),
            mo.md(
                f"<small>change = grpo − sft; low/high: {card['covers']}. "
                "Verdict: *helps* / *hurts* when the whole interval is above / below 0, "
                "*within noise* otherwise.</small>"
            ),
        ]
    )
    return (card,)


@app.cell(hide_code=True)
def _():
    smoothing = mo.ui.slider(1, 25, value=5, step=1, label="smoothing (rolling mean over steps)")
    return (smoothing,)


@app.cell(hide_code=True, expand_output=True)
def _(job, run, smoothing):
    sft_chart, sft_points = sft_loss_chart(
        RunFolder(job["settings"].sft_dir).read_metrics(), window=smoothing.value
    )
    run_charts = grpo_charts(RunFolder(run.path / "grpo").read_metrics(), window=smoothing.value)
    _charts = [sft_chart, *[chart for chart, _ in run_charts.values()]]
    mo.vstack(
        [
            mo.md("## Training curves"),
            smoothing,
            # two charts a row; each has its own legend and takes the width it is given
            *[
                mo.hstack(_charts[i : i + 2], widths="equal", gap=1)
                for i in range(0, len(_charts), 2)
            ],
        ]
    )
    return run_charts, sft_chart, sft_points


@app.cell(hide_code=True)
def _(run):
    # the reward-hacking monitor over this run's logged GRPO metrics (eemo_rewards.audit)
    from eemo_rewards.audit.report import signals_chart as _signals_chart
    from eemo_rewards.audit.signals import run_signals as _run_signals

    _signals = _run_signals(run.path)
    _flags = "\n".join(
        f"- **{_f.signal}** at step {_f.step}: {_f.message}" for _f in _signals.flags
    )
    mo.vstack(
        [
            mo.callout(
                mo.md(_flags or "No signature of reward hacking in the logged metrics."),
                kind="warn" if _flags else "success",
            ),
            mo.ui.altair_chart(
                _signals_chart(_signals), chart_selection=False, legend_selection=False
            ),
        ]
    )
    return


@app.cell(hide_code=True, expand_output=True)
def _(evaluation):
    _long = long_metrics(evaluation, ["stage", "decoding"])
    eval_table = comparison_table(_long)
    eval_chart = metric_bars(_long, x="stage", row="decoding")
    mo.vstack(
        [
            mo.md("### Held-out evaluation: every metric, SFT checkpoint → after GRPO"),
            mo.ui.table(eval_table, selection=None, page_size=60),
            eval_chart,
        ]
    )
    return eval_chart, eval_table


@app.cell(hide_code=True, expand_output=True)
def _(job, run):
    _funcs, _weights = job["settings"].spec.build()
    grpo_cards = completion_cards(
        job["grpo"].samples or RunFolder(run.path / "grpo").read_samples(),
        weights=dict(zip([f.__name__ for f in _funcs], _weights, strict=True)),
        group_size=job["settings"].num_generations,
        limit=8,
    )
    grpo_samples = round_frame(
        pl.DataFrame(
            job["grpo"].samples
            or RunFolder(run.path / "grpo").read_samples()
            or [{"completion": ""}]
        )
    )
    mo.vstack(
        [
            mo.md(
                "### Completions of the last GRPO step\n"
                "<small>One card per completion, different prompts first: think and answer "
                "whole, each reward's score, the weighted total and the advantage within its "
                "group (recomputed from the totals as TRL scales by group).</small>"
            ),
            mo.Html(grpo_cards),
        ]
    )
    return grpo_cards, grpo_samples


@app.cell(hide_code=True, expand_output=True)
def _(evaluation):
    eval_examples = round_frame(
        examples_frame(
            evaluation,
            ["stage", "decoding"],
            ["task", "solution", "completion", "correct", "reward"],
        )
    )
    before_after = before_after_cards(evaluation, limit=4)
    mo.vstack(
        [
            mo.md("### The same held-out prompts before (sft) and after (grpo), greedy"),
            mo.Html(before_after),
        ]
    )
    return before_after, eval_examples


@app.cell(hide_code=True)
def _(card, evaluation, interactive, job, run, train_seconds):
    _grpo = job["grpo"]
    _summary = {
        "run folder": str(run.path),
        "training seconds (this session)": round(train_seconds, 1),
        "reused from disk": bool(job["reused"]),
        "GRPO global step": _grpo.global_step,
        "GRPO s/step": round(sum(_grpo.step_seconds) / max(len(_grpo.step_seconds), 1), 3),
        "reward share of GRPO time": f"{_grpo.reward_share:.3%}",
    }
    if not interactive:
        print("summary:", _summary)
        print("results card:", card["text"])
        for _row in evaluation:
            _keys = ("reward_mean", "format_rate", "perception_acc", "emotion_acc")
            print(
                _row["stage"], _row["decoding"], {k: round(_row[k], 3) for k in _keys if k in _row}
            )
    run_summary = _summary
    mo.accordion({"Run summary": mo.ui.table(pl.DataFrame([_summary]), selection=None)})
    return (run_summary,)


@app.cell(hide_code=True)
def _(
    before_after,
    card,
    eval_chart,
    eval_examples,
    eval_table,
    grpo_cards,
    grpo_samples,
    interactive,
    report_path,
    run,
    run_charts,
    run_summary,
    sft_chart,
    sft_points,
):
    _charts = {"sft_loss": (sft_chart, sft_points), **run_charts}
    _charts["evaluation"] = (eval_chart, eval_table.height)
    written_reports = write_run_report(
        [run.path / "report.html", *([Path(report_path)] if report_path else [])],
        run_dir=run.path,
        summary=run_summary,
        charts=_charts,
        eval_table=eval_table,
        grpo_samples=grpo_samples,
        eval_examples=eval_examples,
        results=card,
        grpo_cards=grpo_cards,
        before_after=before_after,
    )
    if not interactive:
        for _path in written_reports:
            print(f"standalone report: {_path}", flush=True)
    mo.md(
        "### Standalone report\n\nA self-contained copy of this run's charts and tables "
        "(opens offline from disk): " + ", ".join(f"`{_path}`" for _path in written_reports)
    )
    return


@app.function(hide_code=True)
def test_report_flag_is_split_from_the_job_flags():
    assert split_report_flag({"grpo-steps": 3}) == (DEFAULT_REPORT, ["--grpo-steps", "3"])
    report, rest = split_report_flag({"report": "out/r.html", "tasks": "emotion"})
    assert (report, rest) == ("out/r.html", ["--tasks", "emotion"])
    assert split_report_flag({"report": "none"})[0] is None
    assert JobSettings.from_args(rest).tasks == ("emotion",)


if __name__ == "__main__":
    app.run()
