import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="eemo-rewards: SFT → GRPO → evaluation")

with app.setup:
    import argparse
    import time
    import warnings
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl
    from transformers.utils import logging as hf_logging

    from eemo_rewards.analysis.runs import (
        change_table,
        examples_frame,
        grpo_charts,
        long_metrics,
        metric_bars,
        sft_loss_chart,
    )
    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.report.run_report import write_run_report
    from eemo_rewards.spec import PRESETS, RewardSpec, preset
    from eemo_rewards.train.pipeline import (
        JobSettings,
        builtin_splits,
        evaluate_run,
        run_job,
    )
    from eemo_rewards.train.runs import RunFolder

    #: where the self-contained report goes besides the run folder (relative to the
    #: working directory, like `--runs-dir`)
    DEFAULT_REPORT = "reports/grpo/report.html"


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    # SFT → GRPO → evaluation

    The project's main job. A vision-language model learns to read the emotion cues of the
    built-in images: supervised fine-tuning on `<think>…</think><answer>…</answer>`
    demonstrations first, then TRL's GRPO with this project's rewards (routed by task), then
    an evaluation of both checkpoints on held-out images, greedy and sampled.

    - In the editor, set the options and press **Run**; training waits for the button.
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


@app.function
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


@app.cell
def _():
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    report_path, _job_flags = split_report_flag(mo.cli_args().to_dict())
    cli = JobSettings.from_args(_job_flags)
    # `marimo export html` runs the notebook in edit mode too, but without a browser
    # session: only a real editor has a request, and only there can a button be pressed.
    interactive = mo.app_meta().mode == "edit" and mo.app_meta().request is not None
    return cli, interactive, report_path


@app.function
def settings_form(cli: JobSettings, group: str) -> mo.ui.dictionary:
    """One widget per setting of ``group``, built from ``JobSettings.form_fields`` (labels,
    ranges, choices, help), starting at the command line's values."""
    widgets = {}
    for name, field in JobSettings.form_fields(group).items():
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


@app.cell
def _(cli):
    data_form = settings_form(cli, "data")
    training_form = settings_form(cli, "training")
    spec_preset = mo.ui.dropdown(
        sorted(PRESETS) + (["(from --spec)"] if cli.spec not in PRESETS else []),
        value=cli.spec if cli.spec in PRESETS else "(from --spec)",
        label="reward preset",
    )
    mo.vstack(
        [
            mo.md("### Data and model"),
            data_form.hstack(wrap=True),
            mo.md("### Training"),
            training_form.hstack(wrap=True),
            spec_preset,
        ]
    )
    return data_form, spec_preset, training_form


@app.cell
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
    accuracy_mode = mo.ui.dropdown(
        ["binary", "soft"], value="binary", label="accuracy: binary or soft (EEmo-Logic matrix)"
    )
    kernel = mo.ui.dropdown(
        ["linear", "gaussian", "laplace", "threshold", "bucket"],
        value="linear",
        label="intensity kernel",
    )
    accuracy_default = next(
        (t.params.get("mode", "binary") for t in base_spec.terms if t.name == "accuracy"),
        "binary",
    )
    if accuracy_default != "binary":
        accuracy_mode = mo.ui.dropdown(
            ["binary", "soft"],
            value=accuracy_default,
            label="accuracy: binary or soft (EEmo-Logic matrix)",
        )
    mo.vstack([mo.md("### Rewards"), weights, mo.hstack([accuracy_mode, kernel])])
    return accuracy_mode, base_spec, kernel, term_keys, weights


@app.cell
def _(accuracy_mode, base_spec, kernel, term_keys, weights):
    changes = {f"{key}.weight": float(value) for key, value in weights.value.items()}
    for term in base_spec.terms:
        if term.name == "accuracy":
            changes[f"{term.key}.mode"] = accuracy_mode.value
        if term.name == "intensity":
            changes[f"{term.key}.kernel"] = kernel.value
    spec = base_spec.with_settings(changes) if term_keys else base_spec
    return (spec,)


@app.cell
def _(cli, data_form, spec, training_form):
    _values = {**data_form.value, **training_form.value}
    _values["model"] = str(_values["model"]).strip() or "tiny"
    settings = JobSettings.from_form(cli, {**_values, "spec": spec.to_json()})
    return (settings,)


@app.cell
def _(settings):
    data = builtin_splits(settings)
    _counts = pl.DataFrame([data["counts"]])
    _tasks = data["qa"].group_by("task", "split").len().sort("task", "split")
    mo.vstack(
        [
            mo.md(f"### Data\nRun folder: `{settings.run_dir}`"),
            mo.ui.table(_counts, selection=None),
            mo.ui.table(_tasks, selection=None, page_size=25),
        ]
    )
    return (data,)


@app.cell
def _(interactive):
    run_button = mo.ui.run_button(label="Run SFT → GRPO")
    if interactive:
        mo.output.replace(run_button)
    return (run_button,)


@app.cell
def _(data, interactive, run_button, settings):
    mo.stop(
        interactive and not run_button.value,
        mo.md("Set the options, then press **Run SFT → GRPO**."),
    )
    _total = (0 if settings.sft_from else settings.sft_steps) + settings.grpo_steps
    _seen: dict[str, int] = {}
    _start = time.perf_counter()
    with mo.status.progress_bar(total=_total, title="SFT → GRPO", remove_on_exit=True) as _bar:

        def _progress(stage, step, total):
            if not total:
                return
            if stage not in _seen:
                _seen[stage] = 0
            if step > _seen[stage]:
                _bar.update(increment=step - _seen[stage], subtitle=f"{stage} {step}/{total}")
                _seen[stage] = step
            if not interactive and (step == total or step % 10 == 0):
                print(
                    f"[{time.perf_counter() - _start:6.1f}s] {stage} step {step}/{total}",
                    flush=True,
                )

        job = run_job(settings, data=data, progress=_progress, evaluate=False)
    train_seconds = time.perf_counter() - _start
    return job, train_seconds


@app.cell
def _(job):
    run = RunFolder(job["settings"].run_dir)
    return (run,)


@app.cell
def _(job, run):
    sft_chart, sft_points = sft_loss_chart(RunFolder(job["settings"].sft_dir).read_metrics())
    run_charts = grpo_charts(RunFolder(run.path / "grpo").read_metrics())
    _charts = [chart for chart, _ in run_charts.values()]
    mo.vstack(
        [
            mo.md("### SFT loss"),
            sft_chart,
            mo.md("### GRPO over steps"),
            alt.vconcat(alt.hconcat(*_charts[:3]), alt.hconcat(*_charts[3:])),
        ]
    )
    return run_charts, sft_chart, sft_points


@app.cell
def _(job, run):
    grpo_samples = pl.DataFrame(
        job["grpo"].samples or RunFolder(run.path / "grpo").read_samples() or [{"completion": ""}]
    )
    mo.vstack(
        [
            mo.md("### Completions of the last GRPO step, with each reward's score"),
            mo.ui.table(grpo_samples, selection=None, page_size=8),
        ]
    )
    return (grpo_samples,)


@app.cell
def _(job, run):
    # Cached on disk by run folder and GRPO step: re-opening a finished run does not
    # re-generate thousands of answers.
    _cached_eval = mo.persistent_cache(evaluate_run)
    evaluation = _cached_eval(str(run.path), job["grpo"].global_step)
    return (evaluation,)


@app.cell
def _(evaluation):
    _long = long_metrics(evaluation, ["stage", "decoding"])
    eval_table = change_table(
        _long, on="stage", index=["metric", "decoding"], before="sft", after="grpo",
        sort=["decoding", "metric"],
    )  # fmt: skip
    eval_chart = metric_bars(_long, x="stage", row="decoding")
    mo.vstack(
        [
            mo.md("### Held-out evaluation: SFT checkpoint → after GRPO"),
            mo.ui.table(eval_table, selection=None, page_size=40),
            eval_chart,
        ]
    )
    return eval_chart, eval_table


@app.cell
def _(evaluation):
    eval_examples = examples_frame(
        evaluation, ["stage", "decoding"], ["task", "solution", "completion", "correct", "reward"]
    )
    mo.vstack([mo.md("### Example held-out answers"), mo.ui.table(eval_examples, selection=None)])
    return (eval_examples,)


@app.cell
def _(evaluation, interactive, job, run, train_seconds):
    _grpo = job["grpo"]
    _summary = {
        "run folder": str(run.path),
        "training seconds (this session)": round(train_seconds, 1),
        "GRPO global step": _grpo.global_step,
        "GRPO s/step": round(sum(_grpo.step_seconds) / max(len(_grpo.step_seconds), 1), 3),
        "reward share of GRPO time": f"{_grpo.reward_share:.3%}",
    }
    if not interactive:
        print("summary:", _summary)
        for _row in evaluation:
            _keys = ("reward_mean", "format_rate", "perception_acc", "emotion_acc")
            print(
                _row["stage"], _row["decoding"], {k: round(_row[k], 3) for k in _keys if k in _row}
            )
    run_summary = _summary
    mo.vstack([mo.md("### Run summary"), mo.ui.table(pl.DataFrame([_summary]), selection=None)])
    return (run_summary,)


@app.cell
def _(
    eval_chart,
    eval_examples,
    eval_table,
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
    )
    if not interactive:
        for _path in written_reports:
            print(f"standalone report: {_path}", flush=True)
    mo.md(
        "### Standalone report\n\nA self-contained copy of this run's charts and tables "
        "(opens offline from disk): " + ", ".join(f"`{_path}`" for _path in written_reports)
    )
    return


@app.function
def test_report_flag_is_split_from_the_job_flags():
    assert split_report_flag({"grpo-steps": 3}) == (DEFAULT_REPORT, ["--grpo-steps", "3"])
    report, rest = split_report_flag({"report": "out/r.html", "tasks": "emotion"})
    assert (report, rest) == ("out/r.html", ["--tasks", "emotion"])
    assert split_report_flag({"report": "none"})[0] is None
    assert JobSettings.from_args(rest).tasks == ("emotion",)


if __name__ == "__main__":
    app.run()
