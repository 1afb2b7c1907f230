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

    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.report import StandaloneReport
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
    #: the charts of the standalone report, in page order, with their captions
    REPORT_CHARTS_CAPTIONS = {
        "sft_loss": "SFT loss over steps",
        "reward": "GRPO reward mean over steps: total and per reward",
        "zero_std": "share of GRPO groups whose rewards all agree (no gradient)",
        "completion_length": "completion length (tokens) and share clipped at the limit",
        "kl": "KL to the reference model (logged when beta > 0) and entropy",
        "reward_std": "reward standard deviation within groups",
        "evaluation": "held-out metrics before (sft) and after (grpo) GRPO",
    }
    REPORT_CHARTS = tuple(REPORT_CHARTS_CAPTIONS)


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
    - Runs live in `runs/<model>-<settings id>/` (checkpoints, `metrics.parquet`, `spec.json`,
      `config.json`); the same settings resume or reuse a run instead of starting over.
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


@app.cell
def _(cli):
    model = mo.ui.text(value=cli.model, label="model (tiny, smollm2, hub id or folder)")
    n_images = mo.ui.number(start=7, stop=1_000_000, step=100, value=cli.n_images, label="images")
    sft_rows = mo.ui.number(
        start=1, stop=10_000_000, step=16, value=cli.sft_rows, label="SFT demonstrations"
    )
    eval_rows = mo.ui.number(
        start=1, stop=1_000_000, step=16, value=cli.eval_rows, label="held-out rows"
    )
    sft_steps = mo.ui.number(
        start=0, stop=1_000_000, step=10, value=cli.sft_steps, label="SFT steps"
    )
    grpo_steps = mo.ui.number(
        start=1, stop=1_000_000, step=5, value=cli.grpo_steps, label="GRPO steps"
    )
    num_generations = mo.ui.number(
        start=2, stop=1024, step=1, value=cli.num_generations, label="generations per prompt"
    )
    prompts_per_step = mo.ui.number(
        start=1, stop=4096, step=1, value=cli.prompts_per_step, label="prompts per step"
    )
    grpo_lr = mo.ui.number(
        start=0.0, stop=1.0, step=1e-6, value=cli.grpo_learning_rate, label="GRPO learning rate"
    )
    beta = mo.ui.number(start=0.0, stop=100.0, step=0.01, value=cli.beta, label="beta (KL)")
    loss_type = mo.ui.dropdown(
        ["dapo", "grpo", "dr_grpo", "bnpo"], value=cli.loss_type, label="loss type"
    )
    scale_rewards = mo.ui.dropdown(
        ["group", "batch", "none"], value=cli.scale_rewards, label="scale rewards"
    )
    aggregation = mo.ui.dropdown(
        ["sum_then_normalize", "normalize_then_sum"],
        value=cli.multi_objective_aggregation,
        label="multi-objective aggregation",
    )
    completion_length = mo.ui.number(
        start=1, stop=65536, step=8, value=cli.max_completion_length, label="max completion tokens"
    )
    seed = mo.ui.number(start=0, stop=2**31 - 1, step=1, value=cli.seed, label="seed")
    spec_preset = mo.ui.dropdown(
        sorted(PRESETS) + (["(from --spec)"] if cli.spec not in PRESETS else []),
        value=cli.spec if cli.spec in PRESETS else "(from --spec)",
        label="reward preset",
    )
    mo.vstack(
        [
            mo.md("### Data and model"),
            mo.hstack([model, n_images, sft_rows, eval_rows], wrap=True),
            mo.md("### Training"),
            mo.hstack([sft_steps, grpo_steps, num_generations, prompts_per_step], wrap=True),
            mo.hstack([grpo_lr, beta, loss_type, scale_rewards, aggregation], wrap=True),
            mo.hstack([completion_length, seed, spec_preset], wrap=True),
        ]
    )
    return (
        aggregation,
        beta,
        completion_length,
        eval_rows,
        grpo_lr,
        grpo_steps,
        loss_type,
        model,
        n_images,
        num_generations,
        prompts_per_step,
        scale_rewards,
        seed,
        sft_rows,
        sft_steps,
        spec_preset,
    )


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
def _(
    aggregation,
    beta,
    cli,
    completion_length,
    eval_rows,
    grpo_lr,
    grpo_steps,
    loss_type,
    model,
    n_images,
    num_generations,
    prompts_per_step,
    scale_rewards,
    seed,
    sft_rows,
    sft_steps,
    spec,
):
    settings = JobSettings.from_dict(
        {
            **cli.to_dict(),
            "model": model.value.strip() or "tiny",
            "n_images": int(n_images.value),
            "sft_rows": int(sft_rows.value),
            "eval_rows": int(eval_rows.value),
            "sft_steps": int(sft_steps.value),
            "grpo_steps": int(grpo_steps.value),
            "num_generations": int(num_generations.value),
            "prompts_per_step": int(prompts_per_step.value),
            "grpo_learning_rate": float(grpo_lr.value),
            "beta": float(beta.value),
            "loss_type": loss_type.value,
            "scale_rewards": scale_rewards.value,
            "multi_objective_aggregation": aggregation.value,
            "max_completion_length": int(completion_length.value),
            "seed": int(seed.value),
            "spec": spec.to_json(),
        }
    )
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
    grpo_metrics = pl.DataFrame(RunFolder(run.path / "grpo").read_metrics())
    sft_metrics = pl.DataFrame(RunFolder(job["settings"].sft_dir).read_metrics())
    return grpo_metrics, run, sft_metrics


@app.cell
def _(sft_metrics):
    _loss = (
        sft_metrics.filter(pl.col("loss").is_not_null())
        .select("step", pl.col("loss").cast(pl.Float64).fill_nan(None))
        .drop_nulls("loss")
        if "loss" in sft_metrics.columns
        else pl.DataFrame({"step": [], "loss": []}, schema={"step": pl.Int64, "loss": pl.Float64})
    )
    sft_chart = (
        alt.Chart(_loss, title="SFT loss")
        .mark_line(point=True)
        .encode(x="step:Q", y="loss:Q")
        .properties(width=600, height=200)
    )
    sft_points = _loss.height
    mo.vstack([mo.md("### SFT loss"), sft_chart])
    return sft_chart, sft_points


@app.cell
def _(grpo_metrics):
    _steps = (
        grpo_metrics.filter(pl.col("reward").is_not_null())
        if "reward" in grpo_metrics.columns
        else grpo_metrics.clear()
    )

    def _long(columns, names=None):
        present = [c for c in columns if c in _steps.columns]
        if not present:
            return pl.DataFrame(
                {"step": [], "series": [], "value": []},
                schema={"step": pl.Int64, "series": pl.String, "value": pl.Float64},
            )
        frame = _steps.select("step", *present).unpivot(index="step", variable_name="series")
        if names:
            frame = frame.with_columns(pl.col("series").replace(names))
        # NaN cannot travel in a chart's JSON; a missing point is a gap either way
        return frame.with_columns(pl.col("value").cast(pl.Float64).fill_nan(None)).drop_nulls(
            "value"
        )

    _reward_cols = [c for c in _steps.columns if c.startswith("rewards/") and c.endswith("/mean")]
    _std_cols = [c for c in _steps.columns if c.startswith("rewards/") and c.endswith("/std")]

    def _chart(frame, title):
        return (
            alt.Chart(frame, title=title)
            .mark_line(point=True)
            .encode(x="step:Q", y="value:Q", color="series:N")
            .properties(width=280, height=180)
        )

    # name -> (chart, number of points): the standalone report keeps the charts with data
    grpo_charts = {}
    for _name, _columns, _title in [
        ("reward", ["reward", *_reward_cols], "reward mean (total and per reward)"),
        ("reward_std", ["reward_std", *_std_cols], "reward std"),
        ("zero_std", ["frac_reward_zero_std"], "groups with zero reward spread"),
        (
            "completion_length",
            ["completions/mean_length", "completions/clipped_ratio"],
            "completion length / clipped share",
        ),
        ("kl", ["kl", "entropy"], "KL to reference (beta > 0) and entropy"),
        ("learning_rate", ["learning_rate"], "learning rate"),
    ]:
        _frame = _long(_columns)
        grpo_charts[_name] = (_chart(_frame, _title), _frame.height)
    _charts = [chart for chart, _ in grpo_charts.values()]
    mo.vstack(
        [
            mo.md("### GRPO over steps"),
            alt.vconcat(alt.hconcat(*_charts[:3]), alt.hconcat(*_charts[3:])),
        ]
    )
    return (grpo_charts,)


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
    _frame = pl.DataFrame([{k: v for k, v in r.items() if k != "examples"} for r in evaluation])
    _metrics = [
        c
        for c in _frame.columns
        if c not in ("stage", "decoding", "seconds", "n") and _frame[c].dtype.is_numeric()
    ]
    _long = _frame.unpivot(index=["stage", "decoding"], on=_metrics, variable_name="metric")
    eval_table = (
        _long.pivot(on="stage", index=["metric", "decoding"], values="value")
        .with_columns((pl.col("grpo") - pl.col("sft")).alias("change"))
        .sort("decoding", "metric")
    )
    _main = [
        "reward_mean",
        "format_rate",
        "perception_acc",
        "emotion_acc",
        "emotion_f1",
        "ranking_score",
        "comparison_acc",
        "valence_srcc",
        "arousal_srcc",
        "dominance_srcc",
    ]
    eval_chart = (
        alt.Chart(
            _long.filter(pl.col("metric").is_in(_main)).with_columns(
                pl.col("value").cast(pl.Float64).fill_nan(None)
            )
        )
        .mark_bar()
        .encode(
            x=alt.X("stage:N", title=None),
            y=alt.Y("value:Q"),
            color="stage:N",
            column=alt.Column("metric:N", title=None),
            row=alt.Row("decoding:N", title=None),
        )
        .properties(width=60, height=120)
    )
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
    eval_examples = pl.DataFrame(
        [
            {"stage": r["stage"], "decoding": r["decoding"], **e}
            for r in evaluation
            for e in r["examples"]
        ]
    ).select("stage", "decoding", "task", "solution", "completion", "correct", "reward")
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
    grpo_charts,
    grpo_samples,
    interactive,
    job,
    report_path,
    run,
    run_summary,
    sft_chart,
    sft_points,
):
    _charts = {"sft_loss": (sft_chart, sft_points), **grpo_charts}
    _charts["evaluation"] = (eval_chart, eval_table.height)
    written_reports = write_report(
        [run.path / "report.html", *([Path(report_path)] if report_path else [])],
        settings=job["settings"],
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
def write_report(
    paths: list,
    *,
    settings: JobSettings,
    summary: dict,
    charts: dict,
    eval_table: pl.DataFrame,
    grpo_samples: pl.DataFrame,
    eval_examples: pl.DataFrame,
    n_examples: int = 8,
) -> list[Path]:
    """The run as one self-contained HTML page, saved at every path in ``paths``; PNG copies
    of its charts go beside the last path. ``charts`` maps a name of ``REPORT_CHARTS`` to
    (altair chart, number of points); a chart with no points is named in the text instead of
    drawn blank (a blank chart would read as a rendering failure)."""
    if not paths:
        raise ValueError("write_report needs at least one path to save the report at")
    report = StandaloneReport(f"SFT → GRPO → evaluation: {Path(settings.run_dir).name}")
    report.text(
        f"Generated by notebooks/grpo.py from the run folder {settings.run_dir}; every number "
        "below comes from that run. Settings are in its config.json."
    )
    report.table([summary], caption="run summary")
    drawn = {name: chart for name, (chart, points) in charts.items() if points}
    empty = [name for name in REPORT_CHARTS if name not in drawn]
    if empty:
        report.text(f"Charts left out for want of logged values: {', '.join(empty)}.")
    report.heading("Training")
    for name in REPORT_CHARTS[:-1]:
        if name in drawn:
            report.chart(drawn[name], caption=REPORT_CHARTS_CAPTIONS[name])
    report.heading("Held-out evaluation: SFT checkpoint → after GRPO")
    report.table(eval_table, caption="one row per metric and decoding; change = grpo - sft")
    if "evaluation" in drawn:
        report.chart(drawn["evaluation"], caption=REPORT_CHARTS_CAPTIONS["evaluation"])
    report.heading("Sample completions")
    report.table(
        grpo_samples.head(n_examples),
        caption=f"last GRPO step, first {n_examples} completions, with each reward's score",
    )
    report.table(eval_examples.head(n_examples), caption=f"held-out answers, first {n_examples}")
    written = [report.save(path) for path in paths]
    # PNG copies (vl-convert, well under a second each) for slides and issues
    for name in REPORT_CHARTS:
        if name in drawn:
            drawn[name].save(written[-1].parent / f"{name}.png")
    return written


@app.function
def test_report_flag_is_split_from_the_job_flags():
    assert split_report_flag({"grpo-steps": 3}) == (DEFAULT_REPORT, ["--grpo-steps", "3"])
    report, rest = split_report_flag({"report": "out/r.html", "tasks": "emotion"})
    assert (report, rest) == ("out/r.html", ["--tasks", "emotion"])
    assert split_report_flag({"report": "none"})[0] is None
    assert JobSettings.from_args(rest).tasks == ("emotion",)


if __name__ == "__main__":
    app.run()
