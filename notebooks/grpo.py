import marimo

__generated_with = "0.25.2"
app = marimo.App(
    width="medium",
    app_title="eemo-rewards: SFT → GRPO → evaluation",
    css_file="static-page.css",
)

with app.setup(hide_code=True):
    import argparse
    import math
    import sys
    import time
    import warnings
    from pathlib import Path

    import marimo as mo
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
    from eemo_rewards.data.frames import rows_frame
    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.report.run_report import write_run_report
    from eemo_rewards.spec import PRESETS, preset
    from eemo_rewards.train.form import (
        compare_rows,
        derived_numbers,
        field_text,
        run_label,
        settings_layout,
        spec_controls,
        spec_name,
        validate_form,
    )
    from eemo_rewards.train.pipeline import (
        JobSettings,
        evaluate_run,
        list_runs,
        plan_job,
        run_job,
        run_settings,
    )
    from eemo_rewards.train.runs import RunFolder, RunLocked

    #: where the self-contained report goes besides the run folder (relative to the
    #: working directory, like `--runs-dir`) when a run trains here
    DEFAULT_REPORT = "reports/grpo/report.html"
    # the default recipe checked across seeds (scripts/check_recipe.py)
    RECIPE_CHECK = Path(__file__).resolve().parents[1] / "data" / "study" / "recipe" / "default"


@app.cell(hide_code=True)
def _(interactive):
    _about = mo.md(r"""
    A vision-language model learns to read the emotion cues of the built-in images:
    supervised fine-tuning on `<think>…</think><answer>…</answer>` demonstrations first, then
    TRL's GRPO with this project's rewards (routed by task), then an evaluation of both
    checkpoints on held-out images, greedy and sampled.

    - As a script or an HTML export it runs at once from command-line flags, e.g.
      `python notebooks/grpo.py --grpo-steps 60` or
      `marimo export html notebooks/grpo.py -o reports/grpo.html -- --model tiny`.
      When another process trains the same run, a script waits for it (a line names the
      holder; `--wait SECONDS` bounds the wait, then it stops with `RunLocked`).
    - Runs live in `runs/<model>-<job id>/`, their SFT stage in `runs/sft-<model>-<SFT id>/`.
      The same settings reuse the finished run at once; more GRPO steps continue it; fewer
      evaluate its checkpoint at that step, or train a new run folder from the same SFT; an
      interrupted run resumes with every weight; other GRPO settings reuse the SFT stage.
      A run's `settings.json` is written when it starts and never rewritten.
    - A run that trains here writes a self-contained `report.html` (charts, evaluation,
      sample answers; opens offline from disk) into its run folder and to `--report`
      (default `reports/grpo/report.html`; `--report none` writes only the run folder's
      copy). Opening a finished run rewrites neither.
    """)
    if interactive:
        _view = mo.vstack(
            [
                mo.md("# SFT → GRPO → evaluation"),
                mo.callout(
                    mo.md(
                        "**Start here.** Set the options below (the defaults finish in a "
                        "few minutes on a laptop CPU) and press **Run SFT → GRPO**: nothing "
                        "trains before that. Loss and reward are drawn live, then the "
                        "**results card** compares GRPO with its SFT checkpoint on held-out "
                        "items. Or open a finished run to look at it again."
                    ),
                    kind="info",
                ),
                mo.accordion({"How runs are kept, reused and reported": _about}),
            ]
        )
    else:
        _view = mo.md("# SFT → GRPO → evaluation")
    mo.output.replace(_view)
    return


@app.function(hide_code=True)
def split_notebook_flags(cli: dict) -> tuple[dict, list[str]]:
    """The notebook's own flags and the job's: ``({"report": path, None for ``--report
    none`` or when not given, "report_asked": bool, "wait": seconds}, job flags)``.

    ``cli`` is what ``marimo.cli_args()`` returns (or any flag -> value mapping).
    """
    argv = flags_to_argv(cli)
    parser = argparse.ArgumentParser(prog="notebooks/grpo.py", add_help=False, allow_abbrev=False)
    parser.add_argument(
        "--report",
        default=None,
        help="self-contained HTML report of a run trained here (also written into the run "
        f"folder; default {DEFAULT_REPORT}); 'none' writes only the run folder's copy",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=math.inf,
        help="seconds a script waits for another process training the same run (default: "
        "until it finishes); then it stops with RunLocked",
    )
    parsed, rest = parser.parse_known_args(argv)
    asked = parsed.report is not None
    text = (parsed.report if asked else DEFAULT_REPORT).strip()
    report = None if text.lower() in ("", "none") else text
    return {"report": report, "report_asked": asked, "wait": parsed.wait}, rest


@app.cell(hide_code=True)
def _():
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    flags, _job_flags = split_notebook_flags(mo.cli_args().to_dict())
    cli = JobSettings.from_args(_job_flags)
    # A browser session (the editor, or `marimo run` as an app) has a request: there,
    # training waits for the button. `marimo export html` and `python notebooks/grpo.py`
    # have none and run at once from the command line's flags.
    interactive = mo.app_meta().mode in ("edit", "run") and mo.app_meta().request is not None
    script = mo.app_meta().mode == "script"
    return cli, flags, interactive, script


@app.cell(hide_code=True)
def _(cli, interactive):
    # the finished runs when the page opened (reload the page to list newer ones)
    finished_runs = [r for r in list_runs(cli.runs_dir) if r["finished"]]
    run_picker = mo.ui.dropdown(
        {"(train with the settings above)": ""}
        | {run_label(r, finished_runs): str(r["path"]) for r in finished_runs},
        value="(train with the settings above)",
        label="Open a finished run",
    )
    _view = mo.vstack(
        [
            run_picker,
            mo.md(
                f"<small>{len(finished_runs)} finished run(s) in `{cli.runs_dir}`, newest "
                "first, each named by the settings that tell it apart; opening one shows its "
                "results and curves without training or rewriting anything.</small>"
            ),
        ]
    )
    mo.output.replace(_view if interactive else None)
    return (run_picker,)


@app.cell(hide_code=True)
def _(cli, get_runs_version, interactive):
    get_runs_version()
    _rows = compare_rows([r for r in list_runs(cli.runs_dir) if r["finished"]])
    _view = mo.accordion(
        {
            "Compare finished runs (settings that differ, greedy held-out metrics)": mo.ui.table(
                round_frame(rows_frame(_rows)), selection=None
            )
            if _rows
            else mo.md("No finished run yet.")
        }
    )
    mo.output.replace(_view if interactive else None)
    return


@app.function(hide_code=True)
def log_line(text: str, script: bool) -> None:
    """A progress line for whoever runs this headless: stdout as a script; under
    ``marimo export`` the terminal's stderr (not the exported page)."""
    print(text, file=sys.stdout if script else sys.__stderr__, flush=True)


@app.cell(hide_code=True)
def _(cli):
    layout = settings_layout()
    form_fields = {**layout["basic"], **layout["advanced"]}

    def _widget(name, field):
        value, label = getattr(cli, name), field["label"]
        if "choices" in field:
            return mo.ui.dropdown(list(field["choices"]), value=value, label=label)
        # numbers are typed as text, so that 2e-5 is read as written and a bad value is
        # shown as an error beside the field instead of being replaced by a default
        return mo.ui.text(value=field_text(value), label=label, debounce=300)

    form = mo.ui.dictionary({name: _widget(name, f) for name, f in form_fields.items()})
    # the preset the command line's spec is, if it is one (any spelling of it)
    _cli_preset = next((p for p in sorted(PRESETS) if preset(p) == cli.spec), None)
    spec_preset = mo.ui.dropdown(
        sorted(PRESETS) + (["(from --spec)"] if _cli_preset is None else []),
        value=_cli_preset or "(from --spec)",
        label="reward preset",
    )
    return form, form_fields, layout, spec_preset


@app.cell(hide_code=True)
def _(form, form_fields, interactive, layout, spec_preset):
    form_values, form_errors = validate_form(form.value)

    def _row(name):
        error = form_errors.get(name)
        note = (
            mo.md(f"<span style='color:#b91c1c'>⚠ {error}</span>")
            if error
            else mo.md(f"<small>{form_fields[name]['help']}</small>")
        )
        return mo.hstack([form[name], note], widths=[2, 3], align="center", gap=1)

    _advanced = list(layout["advanced"])
    _view = mo.vstack(
        [
            mo.md("## Settings"),
            mo.hstack(
                [spec_preset, mo.md("<small>which rewards GRPO trains with (below)</small>")],
                justify="start",
                align="center",
                gap=1,
            ),
            *[_row(name) for name in layout["basic"]],
            mo.accordion(
                {
                    "Advanced settings"
                    + (" (⚠ a value to fix inside)" if set(form_errors) & set(_advanced) else ""): (
                        mo.vstack([_row(name) for name in _advanced], gap=0.25)
                    )
                }
            ),
        ],
        gap=0.25,
    )
    mo.output.replace(_view if interactive else None)
    return form_errors, form_values


@app.cell(hide_code=True)
def _(cli, interactive, spec_preset):
    base_spec = preset(spec_preset.value) if spec_preset.value in PRESETS else cli.spec
    term_keys = [t.key for t in base_spec.terms]
    weights = mo.ui.dictionary(
        {
            t.key: mo.ui.slider(
                0.0, 2.0, step=0.05, value=float(t.weight), show_value=True, label=t.key
            )
            for t in base_spec.terms
        }
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
    _view = mo.accordion(
        {
            f"Rewards of `{spec_preset.value}`: "
            + ", ".join(f"{t.key} × {t.weight:g}" for t in base_spec.terms): mo.vstack(
                [
                    mo.md("<small>weight of each reward in GRPO's total</small>"),
                    *[weights[key] for key in term_keys],
                    *([term_controls.hstack()] if _uses else []),
                ]
            )
        }
    )
    mo.output.replace(_view if interactive else None)
    return base_spec, term_controls, term_keys, weights


@app.cell(hide_code=True)
def _(base_spec, cli, form_errors, form_values, term_controls, term_keys, weights):
    changes = {f"{key}.weight": float(value) for key, value in weights.value.items()}
    for term in base_spec.terms:
        if term.name == "accuracy" and "accuracy_mode" in term_controls.value:
            changes[f"{term.key}.mode"] = term_controls.value["accuracy_mode"]
        if term.name == "intensity" and "kernel" in term_controls.value:
            changes[f"{term.key}.kernel"] = term_controls.value["kernel"]
    spec = base_spec.with_settings(changes) if term_keys else base_spec
    # no settings while a field is wrong: nothing can run on a value the form rejected
    settings = (
        None if form_errors else JobSettings.from_form(cli, {**form_values, "spec": spec.to_json()})
    )
    return settings, spec


@app.cell(hide_code=True)
def _():
    # bumped after every run: the estimate and the compare table read the runs folder again
    get_runs_version, set_runs_version = mo.state(0)
    return get_runs_version, set_runs_version


@app.cell(hide_code=True)
def _(form_errors, get_runs_version, interactive, settings):
    get_runs_version()
    if settings is None:
        _view = mo.callout(
            mo.md(
                f"**{len(form_errors)} field(s) to fix** (marked ⚠ above): Run stays off "
                "until every value is valid."
            ),
            kind="danger",
        )
    else:
        _plan = plan_job(settings)
        _numbers = derived_numbers(_plan["settings"], list_runs(settings.runs_dir), _plan)
        _eta = _numbers["estimated seconds"]
        _stages = ", ".join(
            f"{stage.upper() if stage != 'eval' else 'evaluation'} {sec:.0f} s"
            for stage, sec in _numbers["seconds per stage"].items()
        )
        if _plan["error"] or _numbers["reused"]:
            _when = ""
        elif _eta is not None:
            _when = (
                f" Estimated time **{_eta / 60:.1f} min** ({_stages}), from "
                f"{_numbers['estimated from']}."
            )
        else:
            _when = (
                " Estimated time: unknown until one run of this model has finished on this "
                "machine (its stage times are recorded and used from then on)."
            )
        _busy = (
            f"  \n⚠ Process {_plan['holder'].get('pid')} is training this run now "
            f"(since {_plan['holder'].get('since')}); Run would refuse until it is done."
            if _plan["holder"]
            else ""
        )
        _view = mo.callout(
            mo.md(
                f"**What Run does:** {_plan['text']}{_when}{_busy}  \n"
                f"<small>{_numbers['completions per GRPO step']} completions per GRPO step "
                f"({settings.prompts_per_step} prompts × {settings.num_generations}), "
                f"{_numbers['GRPO completions in all']} in all; "
                f"{_numbers['SFT demonstrations seen']} SFT demonstrations.</small>"
            ),
            kind="danger" if _plan["error"] else "neutral",
        )
    mo.output.replace(_view if interactive else None)
    return


@app.cell(hide_code=True)
def _(form_errors, interactive, run_picker):
    run_button = mo.ui.run_button(
        label="Run SFT → GRPO", kind="success", disabled=bool(form_errors)
    )
    if interactive and not run_picker.value:
        mo.output.replace(run_button)
    return (run_button,)


@app.cell(hide_code=True)
def _(run_picker, settings):
    # an opened run is described by its own settings, not the form's
    job_settings = run_settings(run_picker.value) if run_picker.value else settings
    return (job_settings,)


@app.cell(hide_code=True, expand_output=True)
def _(flags, interactive, job_settings, run_button, run_picker, script):
    job, train_seconds, job_error = None, 0.0, None
    _start = time.perf_counter()
    _live = LiveCurves(
        every=max(1, min(5, (job_settings.grpo_steps if job_settings else 10) // 10))
    )

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
            log_line(f"[{time.perf_counter() - _start:6.1f}s] {stage} step {step}/{total}", script)

    if interactive and not run_picker.value and not run_button.value:
        _view = mo.callout(
            mo.md("Set the options, then press **Run SFT → GRPO** (or open a finished run)."),
            kind="info",
        )
    elif job_settings is None:
        _view = None  # the form's errors say what to fix
    else:
        try:
            job = run_job(
                job_settings,
                live=_on_step,
                evaluate=False,
                # a browser session refuses at once (the callout names the holder); a
                # script waits for it with a progress line, then refuses
                wait=0.0 if interactive else flags["wait"],
                on_wait=lambda line: log_line(line, script),
            )
        except RunLocked as _locked:
            if not interactive:
                raise
            job_error = mo.callout(mo.md(f"**This run is busy.** {_locked}"), kind="warn")
        except (OSError, ValueError, RuntimeError) as _failed:
            if not interactive:
                raise
            job_error = mo.callout(
                mo.md(
                    f"**The run could not start.** {_failed}  \n"
                    "Nothing was kept for it: change the setting named above and press Run "
                    "again."
                ),
                kind="danger",
            )
        train_seconds = time.perf_counter() - _start
        if job_error is not None:
            _view = job_error
        elif interactive and _live.points:
            _draw()
            _view = None
        elif interactive:
            _view = mo.callout(
                mo.md(
                    f"Opened `{job['settings'].run_dir}` from disk: it had finished, so "
                    "nothing was trained."
                ),
                kind="info",
            )
        else:
            _view = None
    if _view is not None:
        mo.output.replace(_view)
    return job, train_seconds


@app.cell(hide_code=True)
def _(job):
    run = RunFolder(job["settings"].run_dir) if job else None
    return (run,)


@app.cell(hide_code=True)
def _(interactive, job, run, script):
    # evaluate_run reads back the evaluation stored in the run folder when it was made of
    # the same models' steps and evaluation settings (its eval_stamp.json): re-opening a
    # finished run does not re-generate thousands of answers, and a changed run is never
    # served a stale evaluation
    evaluation, evaluated_now = None, False
    if job is not None:
        _decodings = 2 if job["settings"].eval_sampled else 1
        _total = 2 * _decodings
        _seen = []
        _start = time.perf_counter()

        def _progress(label):
            _seen.append(label)
            _line = (
                f"Evaluating on held-out items: {label}, {len(_seen)} of {_total} "
                f"({time.perf_counter() - _start:.0f} s so far)"
            )
            if interactive:
                mo.output.replace(mo.callout(mo.md(_line), kind="info"))
            else:
                log_line(_line, script)

        evaluation = evaluate_run(run.path, settings=job["settings"], progress=_progress)
        evaluated_now = bool(_seen)
        mo.output.clear()
    return evaluated_now, evaluation


@app.cell(hide_code=True, expand_output=True)
def _(evaluation, job, train_seconds):
    card = None
    if evaluation is not None:
        card = results_card(evaluation)
        card["recipe"] = recipe_note(load_recipe(RECIPE_CHECK), job["settings"].to_dict())
        _s = job["settings"]
        _how = (
            "opened from disk: nothing was trained now"
            if job["reused"]
            else f"trained here in {train_seconds / 60:.1f} min"
        )
        _own = {
            k: field_text(v)
            for k, v in _s.to_dict().items()
            if k not in ("name", "runs_dir", "tasks", "spec") and v != getattr(JobSettings(), k)
        }
        _view = mo.vstack(
            [
                mo.md("## Results"),
                mo.md(
                    f"<small>Run `{_s.run_dir.name}`: {job['grpo'].global_step} GRPO steps "
                    f"after {_s.sft_steps} SFT steps, reward preset "
                    f"`{spec_name(_s.spec)}`"
                    + (
                        "; differs from the defaults in "
                        + ", ".join(f"{k} = {v}" for k, v in _own.items())
                        if _own
                        else "; default settings"
                    )
                    + f" ({_how}).</small>"
                ),
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
        mo.output.replace(_view)
    return (card,)


@app.cell(hide_code=True)
def _():
    smoothing = mo.ui.slider(1, 25, value=5, step=1, label="smoothing (rolling mean over steps)")
    return (smoothing,)


@app.cell(hide_code=True, expand_output=True)
def _(job, run, smoothing):
    sft_chart, sft_points, run_charts = None, 0, {}
    if job is not None:
        sft_chart, sft_points = sft_loss_chart(
            RunFolder(job["settings"].sft_dir).read_metrics(), window=smoothing.value
        )
        run_charts = grpo_charts(
            RunFolder(run.path / "grpo").read_metrics(), window=smoothing.value
        )
        _charts = [sft_chart, *[chart for chart, _ in run_charts.values()]]
        mo.output.replace(
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
        )
    return run_charts, sft_chart, sft_points


@app.cell(hide_code=True)
def _(run):
    # the reward-hacking monitor over this run's logged GRPO metrics (eemo_rewards.audit)
    from eemo_rewards.audit.report import signals_chart as _signals_chart
    from eemo_rewards.audit.signals import run_signals as _run_signals

    if run is not None:
        _signals = _run_signals(run.path)
        _flags = "\n".join(
            f"- **{_f.signal}** at step {_f.step}: {_f.message}" for _f in _signals.flags
        )
        mo.output.replace(
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
        )
    return


@app.cell(hide_code=True, expand_output=True)
def _(evaluation):
    eval_table, eval_chart = None, None
    if evaluation is not None:
        _long = long_metrics(evaluation, ["stage", "decoding"])
        eval_table = comparison_table(_long)
        eval_chart = metric_bars(_long, x="stage", row="decoding")
        mo.output.replace(
            mo.vstack(
                [
                    mo.md("### Held-out evaluation: every metric, SFT checkpoint → after GRPO"),
                    mo.ui.table(eval_table, selection=None, page_size=60),
                    eval_chart,
                ]
            )
        )
    return eval_chart, eval_table


@app.cell(hide_code=True, expand_output=True)
def _(job, run):
    grpo_cards, grpo_samples = None, None
    if job is not None:
        _funcs, _weights = job["settings"].spec.build()
        _samples = job["grpo"].samples or RunFolder(run.path / "grpo").read_samples()
        grpo_cards = completion_cards(
            _samples,
            weights=dict(zip([f.__name__ for f in _funcs], _weights, strict=True)),
            group_size=job["settings"].num_generations,
            limit=8,
        )
        grpo_samples = round_frame(rows_frame(_samples or [{"completion": ""}]))
        mo.output.replace(
            mo.vstack(
                [
                    mo.md(
                        "### Completions of the last GRPO step\n"
                        "<small>One card per completion, different prompts first: think and "
                        "answer whole, each reward's score, the weighted total and the "
                        "advantage within its group (recomputed from the totals as TRL scales "
                        "by group).</small>"
                    ),
                    mo.Html(grpo_cards),
                ]
            )
        )
    return grpo_cards, grpo_samples


@app.cell(hide_code=True, expand_output=True)
def _(evaluation):
    eval_examples, before_after = None, None
    if evaluation is not None:
        eval_examples = round_frame(
            examples_frame(
                evaluation,
                ["stage", "decoding"],
                ["task", "solution", "completion", "correct", "reward"],
            )
        )
        before_after = before_after_cards(evaluation, limit=4)
        mo.output.replace(
            mo.vstack(
                [
                    mo.md("### The same held-out prompts before (sft) and after (grpo), greedy"),
                    mo.Html(before_after),
                ]
            )
        )
    return before_after, eval_examples


@app.cell(hide_code=True)
def _(card, evaluation, interactive, job, run, script, set_runs_version, train_seconds):
    run_summary = None
    if job is not None:
        _grpo = job["grpo"]
        _trained = not job["reused"]
        run_summary = {
            "run folder": str(run.path),
            "what happened": job["plan"],
            "seconds here (training)": round(train_seconds, 1) if _trained else None,
            "GRPO global step": _grpo.global_step,
            "GRPO s/step": round(sum(_grpo.step_seconds) / len(_grpo.step_seconds), 3)
            if _grpo.step_seconds
            else None,
            "reward share of GRPO time": f"{_grpo.reward_share:.3%}" if _trained else None,
        }
        run_summary = {k: v for k, v in run_summary.items() if v is not None}
        if script:
            print("summary:", run_summary)
            print("results card:", card["text"])
            for _row in evaluation:
                _keys = ("reward_mean", "format_rate", "perception_acc", "emotion_acc")
                print(
                    _row["stage"],
                    _row["decoding"],
                    {k: round(_row[k], 3) for k in _keys if k in _row},
                )
        # the estimate and the compare table read the runs folder again
        set_runs_version(lambda v: v + 1)
        mo.output.replace(
            mo.accordion({"Run summary": mo.ui.table(rows_frame([run_summary]), selection=None)})
            if interactive
            else None
        )
    return (run_summary,)


@app.cell(hide_code=True)
def _(
    before_after,
    card,
    eval_chart,
    eval_examples,
    eval_table,
    evaluated_now,
    flags,
    grpo_cards,
    grpo_samples,
    job,
    run,
    run_charts,
    run_summary,
    script,
    sft_chart,
    sft_points,
):
    written_reports = []
    if job is not None:
        # a report is what was shared: opening a finished run rewrites neither the run's
        # own copy nor the default report; each is written when something was computed
        # here or when it is missing, and --report naming a path writes that path
        _computed = not job["reused"] or evaluated_now
        _targets = []
        if _computed or not (run.path / "report.html").exists():
            _targets.append(run.path / "report.html")
        if flags["report"] and (
            _computed or flags["report_asked"] or not Path(flags["report"]).exists()
        ):
            _targets.append(Path(flags["report"]))
        _charts = {"sft_loss": (sft_chart, sft_points), **run_charts}
        _charts["evaluation"] = (eval_chart, eval_table.height)
        if _targets:
            written_reports = write_run_report(
                _targets,
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
        for _path in written_reports:
            log_line(f"standalone report: {_path}", script)
        _kept = run.path / "report.html"
        mo.output.replace(
            mo.md(
                "<small>Standalone report (self-contained, opens offline): "
                + (
                    "written to " + ", ".join(f"`{_path}`" for _path in written_reports)
                    if written_reports
                    else f"`{_kept}`, as written when the run was computed (left as it is)"
                )
                + ".</small>"
            )
        )
    return


if __name__ == "__main__":
    app.run()
