import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Reward ablations", css_file="static-page.css")

with app.setup(hide_code=True):
    import argparse
    from pathlib import Path

    import marimo as mo
    import polars as pl

    from eemo_rewards.analysis import (
        build_designs,
        builtin_questions,
        charts,
        hackability,
        kernel_curves,
        kind_means,
        perturbation_pool,
        reference_response_pool,
        score_pool,
        separation,
        summary,
        zero_variance,
    )
    from eemo_rewards.analysis.study import (
        diagnosis_chart,
        headline_chart,
        load_study,
        reward_curves_chart,
    )
    from eemo_rewards.analysis.training import gains_over_sft, with_headline
    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.report import StandaloneReport
    from eemo_rewards.train.study import BUDGETS, STUDY_SETTINGS, run_study

    REPO = Path(__file__).resolve().parents[1]
    RESPONSES = REPO.parent / "shared" / "reference" / "eemo-bench" / "responses"
    COMMITTED_STUDY = REPO / "data" / "study" / "full"
    # what each --train budget runs: (settings, seeds)
    GRIDS = {
        "smoke": (["scarce"], [0]),
        "small": (["scarce", "noisy"], [0, 1]),
        "full": (list(STUDY_SETTINGS), [0, 1, 2, 3, 4]),
    }


@app.function(hide_code=True)
def parse_args(cli: dict) -> argparse.Namespace:
    """The notebook's arguments, from `marimo export/edit ... -- --name value` or a script run."""
    parser = argparse.ArgumentParser(prog="notebooks/ablations.py")
    parser.add_argument("--n-images", type=int, default=70, help="built-in images in the pool")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--group-size", type=int, default=8, help="G for the headline table")
    parser.add_argument(
        "--out", default=str(REPO / "reports" / "ablations"), help="folder for charts/metrics"
    )
    parser.add_argument(
        "--responses", default=str(RESPONSES), help="EEmo-Bench model answers (skipped if absent)"
    )
    parser.add_argument(
        "--train",
        default="smoke",
        choices=["none", *BUDGETS],
        help="training grid to run here: smoke (seconds, checks the pipeline), small, full",
    )
    args = parser.parse_args(flags_to_argv(cli))
    if args.n_images < 7:
        parser.error("--n-images must be at least 7 (one image per built-in emotion)")
    return args


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    # Reward ablations

    Which reward design gives GRPO the most useful signal? The first part needs no
    training: a pool of completions whose quality is known is scored by every design, and
    the designs are compared on what a GRPO run needs: separating correct from wrong
    answers (ROC AUC), ranking completions like a graded quality score (Spearman's ρ),
    giving a group of G rollouts different rewards (otherwise the group carries no
    gradient), and not paying for hacks. The second part trains: reward designs against a
    compute-matched SFT control.

    The pool perturbs the reference answers of the built-in dataset into six kinds:
    **correct** (quality 1), **near miss** (0.5), **hedged** (0.25), **wrong**, **hacked**
    and **malformed** (0). The real answers of GPT-4o and Qwen2-VL-7B to the EEmo-Bench
    pair questions, judged by the benchmark, are scored too.
    """)
    return


@app.cell(hide_code=True)
def _():
    study = load_study(COMMITTED_STUDY) if (COMMITTED_STUDY / "study.json").is_file() else None
    return (study,)


@app.cell(hide_code=True, expand_output=True)
def _(study):
    mo.stop(
        study is None,
        mo.md(
            f"No committed study at `{COMMITTED_STUDY.relative_to(REPO)}`: run "
            "`python scripts/run_study.py --budget full`."
        ),
    )
    _meta = study["meta"]
    # the main job's settings every arm started from (older studies: their budget)
    _job = {"prompts_per_step": 1, "grpo_learning_rate": 3e-5, **_meta["budget"]}
    _job.update(_meta.get("budget_settings", {}))
    _items = sorted({r["items"] for r in _meta["items_per_metric"]})
    _trained = "; ".join(
        f"`{i.get('git_commit')}` ({i['arms_trained']} arms)"
        for i in _meta["wall"]["invocations"]
        if i.get("arms_trained")
    )
    study_headline = mo.ui.altair_chart(headline_chart(study["headline"]))
    study_diagnosis = diagnosis_chart(study["diagnosis"])
    study_curves = reward_curves_chart(study["results"])
    mo.vstack(
        [
            mo.md(
                f"""
    ## The study's headline: when does a reward teach more than demonstrations?

    Each (setting, seed) starts from one SFT checkpoint (the tiny offline VLM after
    {_job["sft_steps"]} SFT steps on the setting's demonstrations); each GRPO arm then
    runs {_job["grpo_steps"]} steps of the main job's recipe ({_job["prompts_per_step"]}
    prompts × {_job["num_generations"]} completions per step, learning rate
    {_job["grpo_learning_rate"]:g}), the control continues SFT for the same wall
    time. Every arm of every seed
    answers one fixed held-out set: {len(_meta["seeds"])} seeds × {min(_items)}–{max(_items)}
    items per metric. **vs SFT control** / **vs SFT checkpoint**: the change with its 95%
    interval ({_meta["interval"]}); *helps* / *hurts* when the whole interval is above /
    below 0, *within noise* otherwise.

    Made by `{_meta["command"]}`: arms trained at {_trained}; tables written at
    `{_meta.get("git_commit")}`, {_meta["finished_utc"]}. Study wall time
    {_meta["wall"]["study_wall_seconds"] / 60:.1f} minutes on {_meta.get("cpu_count")} cores.
    """
            ),
            mo.md(study["markdown"]),
            study_headline,
            mo.md(
                "**Diagnosis: what the policy samples while GRPO trains on V/A/D** (windows "
                "of 10 steps, pooled over seeds): the spread of its scores against the "
                "truth's (1 = as spread as the truth), the spread of the scores it samples "
                "for one image (0 = one constant), the share of prompts answered by one "
                "constant, and the format rate."
            ),
            study_diagnosis,
            mo.md("Training reward per GRPO step (mean over seeds):"),
            study_curves,
        ]
    )
    return


@app.cell(hide_code=True)
def _():
    args = parse_args(mo.cli_args().to_dict())
    out_dir = Path(args.out)
    mo.md(
        f"Arguments: `{vars(args)}`. Run as a script with "
        "`python notebooks/ablations.py --n-images 140`, or pass the same flags after `--` to "
        "`marimo edit` / `marimo export html`."
    )
    return args, out_dir


@app.cell(hide_code=True)
def _(args):
    questions = builtin_questions(n_images=args.n_images, seed=args.seed)
    pool = perturbation_pool(questions)
    if Path(args.responses).is_dir():
        real = reference_response_pool(args.responses)
        real_note = f"{real.height} real EEmo-Bench answers loaded from `{args.responses}`."
    else:
        real = pool.clear()
        real_note = f"No real answers: `{args.responses}` is absent; only the built-in pool."
    designs, unavailable = build_designs()
    mo.md(
        f"{pool.height} perturbed completions for {questions.height} questions. {real_note} "
        f"{len(designs)} designs; unavailable: {unavailable or 'none'}."
    )
    return designs, pool, real


@app.cell(hide_code=True)
def _(designs, pool, real):
    scored = score_pool(pl.concat([pool, real]), designs)
    separation_table = separation(scored)
    zero_table = zero_variance(scored)
    hack_table = hackability(scored)
    kind_table = kind_means(scored, by_variant=True)
    curves = kernel_curves(designs)
    return curves, hack_table, kind_table, separation_table, zero_table


@app.cell(hide_code=True)
def _(args, hack_table, separation_table, zero_table):
    summary_table = summary(separation_table, zero_table, hack_table, group_size=args.group_size)
    mo.vstack(
        [
            mo.md(
                f"""
    ## One line per design

    `auc_builtin`: correct vs wrong on the built-in pool (mean over tasks);
    `auc_near_vs_wrong`: does a near miss outscore a clear miss; `srcc_builtin`: Spearman's
    ρ with the graded quality; `auc_real`: correct vs wrong on the real EEmo-Bench answers;
    `zero_variance`: share of groups of {args.group_size} with identical rewards for a policy
    that is right half the time; `hack_rate`: share of hacked completions scoring at least
    half the range.
    """
            ),
            mo.ui.table(summary_table, selection=None),
        ]
    )
    return (summary_table,)


@app.cell(hide_code=True)
def _(separation_table):
    auc_chart = mo.ui.altair_chart(charts.auc_heatmap(separation_table))
    mo.vstack([mo.md("## Separation: correct vs wrong (click a design)"), auc_chart])
    return (auc_chart,)


@app.cell(hide_code=True)
def _(auc_chart, kind_table):
    # the heat map is layered (values, then n/a cells): read the design selection itself
    names = charts.picked_designs(auc_chart.selections)
    shown = kind_table.filter(pl.col("design").is_in(names)) if names else kind_table.head(0)
    mo.vstack(
        [
            mo.md(
                f"Mean score by kind and variant for **{', '.join(names)}**"
                if names
                else "Select designs in the heat map to see how each kind of completion scores."
            ),
            mo.ui.table(shown, selection=None),
        ]
    )
    return


@app.cell(hide_code=True)
def _(separation_table):
    mo.vstack(
        [
            mo.md("## Near miss vs wrong: the graded signal binary rewards lack"),
            charts.auc_heatmap(separation_table, metric="auc_near_vs_wrong"),
        ]
    )
    return


@app.cell(hide_code=True)
def _(args, zero_table):
    mo.vstack(
        [
            mo.md(
                f"""
    ## Learning signal: groups of {args.group_size} with identical rewards

    Exact share over questions for a policy that answers correctly with probability p
    (otherwise one of the other kinds, uniformly). A binary reward loses the group at both
    ends of p; graded rewards keep a signal.
    """
            ),
            charts.zero_variance_chart(zero_table, group_size=args.group_size),
        ]
    )
    return


@app.cell(hide_code=True)
def _(hack_table):
    hack_chart = mo.ui.altair_chart(charts.hackability_chart(hack_table))
    mo.vstack([mo.md("## Hackability: what hacked completions earn"), hack_chart])
    return (hack_chart,)


@app.cell(hide_code=True)
def _(hack_chart, hack_table):
    hack_names = charts.picked_designs(hack_chart.selections)
    mo.ui.table(
        hack_table.filter(pl.col("design").is_in(hack_names)) if hack_names else hack_table,
        selection=None,
    )
    return


@app.cell(hide_code=True)
def _(curves):
    kernel_pick = mo.ui.altair_chart(charts.kernel_chart(curves))
    mo.vstack([mo.md("## Intensity kernels (true value 0.3)"), kernel_pick])
    return


@app.cell(hide_code=True)
def _(kind_table):
    mo.vstack(
        [
            mo.md("## Ranking variants and binary vs soft accuracy, by kind of completion"),
            charts.kind_means_chart(kind_means_of(kind_table), task="ranking"),
            charts.kind_means_chart(kind_means_of(kind_table), task="emotion"),
        ]
    )
    return


@app.function(hide_code=True)
def kind_means_of(kind_table: pl.DataFrame) -> pl.DataFrame:
    """Collapse variants: the mean score per design, task and kind."""
    return kind_table.group_by(["design", "family", "task", "source", "kind"]).agg(
        ((pl.col("mean_score01") * pl.col("n")).sum() / pl.col("n").sum()).alias("mean_score01"),
        pl.col("n").sum(),
    )


@app.cell(hide_code=True)
def _(
    curves,
    hack_table,
    kind_table,
    out_dir,
    separation_table,
    summary_table,
    zero_table,
    args,
    study,
):
    written = write_artifacts(
        out_dir,
        {
            "summary": summary_table,
            "separation": separation_table,
            "zero_variance": zero_table,
            "hackability": hack_table,
            "kind_means": kind_table,
            "kernel_curves": curves,
        },
        {
            "auc_correct_vs_wrong": charts.auc_heatmap(separation_table),
            "auc_near_vs_wrong": charts.auc_heatmap(separation_table, metric="auc_near_vs_wrong"),
            "zero_variance": charts.zero_variance_chart(zero_table, group_size=args.group_size),
            "hackability": charts.hackability_chart(hack_table),
            "intensity_kernels": charts.kernel_chart(curves),
        },
        study=study,
    )
    mo.md(f"Wrote {len(written)} files to `{out_dir}`: " + ", ".join(p.name for p in written))
    return


@app.function(hide_code=True)
def write_artifacts(
    out_dir: Path, tables: dict, chart_map: dict, study: dict | None = None
) -> list[Path]:
    """Metrics as parquet and CSV, charts as SVG and PNG, and a self-contained HTML report
    that leads with the committed study's headline table when there is one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        for suffix, write in ((".parquet", table.write_parquet), (".csv", table.write_csv)):
            path = out_dir / f"{name}{suffix}"
            write(path)
            written.append(path)
    report = StandaloneReport("Reward ablations")
    if study is not None:
        meta = study["meta"]
        report.heading("The study's headline")
        report.text(
            f"Made by {meta['command']} at commit {meta.get('git_commit')}: "
            f"{len(meta['seeds'])} seeds; each change against the compute-matched SFT control "
            f"and against the SFT checkpoint with its {meta['interval']}."
        )
        report.table(study["headline"], caption="every setting, arm and metric")
        report.chart(headline_chart(study["headline"]), caption="change against the SFT control")
        report.chart(diagnosis_chart(study["diagnosis"]), caption="V/A/D during GRPO")
    report.text(
        "Reward designs scored on perturbed built-in completions and real EEmo-Bench answers. "
        "Generated by notebooks/ablations.py; every number below comes from this run."
    )
    report.table(tables["summary"], caption="one line per design")
    for name, chart in chart_map.items():
        for suffix in (".svg", ".png"):
            path = out_dir / f"{name}{suffix}"
            chart.save(path)
            written.append(path)
        report.heading(name.replace("_", " "))
        report.chart(chart)
    written.append(report.save(out_dir / "report.html"))
    return written


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    ## Training ablations: when do rewards teach more than demonstrations?

    Each cell of the grid starts from the same stage-1 model (the tiny offline VLM after SFT
    on the setting's demonstrations), then spends a comparable budget on either more SFT
    (the control, matched in wall-clock time to the GRPO arms) or GRPO with one reward
    design. Settings: **noisy** (40% of demonstrations name the nearest wrong emotion; the
    reward checks the annotation), **scarce** (16 demonstrations, GRPO prompts on every
    training image), **ambiguous** (demonstrations sample one label from a vote
    distribution; the rewards see the whole distribution), **assessment** (V/A/D: every
    intensity kernel and both Thurstone variants), **ranking** (hit + Kendall against NDCG)
    and **diagnosis** (V/A/D with format alone, a lower temperature, a lower learning rate).
    The committed study's numbers lead this notebook (made with `scripts/run_study.py`);
    below is the grid this export ran (`--train`, default `smoke`: seconds long, checks the
    pipeline, not evidence).
    """)
    return


@app.cell(hide_code=True)
def _(args):
    # A browser session (the editor, or `marimo run`) waits for the button; an export or a
    # script runs the grid at once from --train.
    train_interactive = mo.app_meta().mode in ("edit", "run") and mo.app_meta().request is not None
    train_button = mo.ui.run_button(label=f"Run the training grid (--train {args.train})")
    if train_interactive and args.train != "none":
        mo.output.replace(train_button)
    return train_button, train_interactive


@app.cell(hide_code=True)
def _(args, out_dir, train_button, train_interactive):
    mo.stop(args.train == "none", mo.md("No training in this run (`--train none`)."))
    mo.stop(
        train_interactive and not train_button.value,
        mo.md("The training grid waits for its button (it trains models)."),
    )
    grid_settings, grid_seeds = GRIDS[args.train]
    with mo.persistent_cache(name=f"ablations_training_{args.train}"):
        this_run = run_study(
            grid_settings, seeds=grid_seeds, budget=args.train, root=out_dir / "runs"
        )
    this_run.write_parquet(out_dir / "training_results.parquet")
    # CSV holds flat columns only: the training curves (lists) stay in the parquet
    this_run.select(pl.exclude(pl.List(pl.Float64), pl.List(pl.Int64))).write_csv(
        out_dir / "training_results.csv"
    )
    this_run_scored = with_headline(this_run)
    mo.vstack(
        [
            mo.md(
                f"### This export's grid: budget `{args.train}`, settings {grid_settings}, "
                f"seeds {grid_seeds}"
                + (
                    " (smoke: checks the pipeline; these numbers are no evidence)"
                    if args.train == "smoke"
                    else ""
                )
            ),
            charts.training_chart(this_run_scored),
            mo.ui.table(gains_over_sft(this_run_scored, metric="headline"), selection=None),
            mo.ui.table(this_run_scored, selection=None),
        ]
    )
    return


@app.function(hide_code=True)
def test_pool_has_every_kind_for_every_task():
    pool = perturbation_pool(builtin_questions(n_images=7))
    kinds = pool.group_by("task").agg(pl.col("kind").n_unique())
    # yes/no has no near miss: five kinds; every other task has all six
    assert dict(kinds.rows()) == {
        "emotion": 6,
        "multiple_choice": 6,
        "yes_no": 5,
        "ranking": 6,
        "assessment": 6,
    }


@app.function(hide_code=True)
def test_project_rewards_separate_correct_from_wrong():
    pool = perturbation_pool(builtin_questions(n_images=14))
    designs, unavailable = build_designs(["accuracy_binary", "intensity_linear", "ranking_ndcg"])
    assert not unavailable, unavailable
    table = separation(score_pool(pool, designs))
    assert table["auc_correct_vs_wrong"].min() == 1.0


if __name__ == "__main__":
    app.run()
