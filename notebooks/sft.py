import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="eemo-rewards: SFT", css_file="static-page.css")

with app.setup(hide_code=True):
    import time
    import warnings

    import altair as alt
    import marimo as mo
    import polars as pl
    from transformers.utils import logging as hf_logging

    from eemo_rewards.data.frames import rows_frame
    from eemo_rewards.train.evaluate import evaluate_model
    from eemo_rewards.train.pipeline import JobSettings, builtin_splits, run_sft_stage
    from eemo_rewards.train.runs import RunFolder


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    # Supervised fine-tuning

    Fine-tune a model on the built-in dataset's `<think>…</think><answer>…</answer>`
    demonstrations (LoRA or full), watch the loss, and try the result on held-out images.
    The final model lands in `runs/sft-<model>-<SFT settings id>/final`; start GRPO from it with
    `python notebooks/grpo.py --sft-from <that folder>` (same flags as here).

    In the editor training waits for **Run SFT**; as a script
    (`python notebooks/sft.py --sft-steps 200`) or an HTML export it runs at once.
    """)
    return


@app.cell(hide_code=True)
def _():
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    cli = JobSettings.from_args(mo.cli_args())
    interactive = mo.app_meta().mode in ("edit", "run") and mo.app_meta().request is not None
    return cli, interactive


@app.cell(hide_code=True)
def _(cli):
    model = mo.ui.text(value=cli.model, label="model (tiny, smollm2, hub id or folder)")
    n_images = mo.ui.number(start=7, stop=1_000_000, step=100, value=cli.n_images, label="images")
    tasks = mo.ui.multiselect(
        ["yes_no", "multiple_choice", "emotion", "ranking", "assessment", "comparison",
         "description"],
        value=list(cli.tasks),
        label="tasks",
    )  # fmt: skip
    sft_rows = mo.ui.number(
        start=1, stop=10_000_000, step=16, value=cli.sft_rows, label="demonstrations"
    )
    sft_steps = mo.ui.number(start=1, stop=1_000_000, step=10, value=cli.sft_steps, label="steps")
    batch = mo.ui.number(start=1, stop=4096, step=1, value=cli.sft_batch_size, label="batch size")
    lr = mo.ui.number(
        start=0.0, stop=1.0, step=1e-5, value=cli.sft_learning_rate, label="learning rate"
    )
    lora = mo.ui.dropdown(
        ["auto", "true", "false"],
        value={None: "auto", True: "true", False: "false"}[cli.lora],
        label="LoRA (auto: full for tiny, LoRA otherwise)",
    )
    mo.vstack(
        [
            mo.hstack([model, n_images, tasks], wrap=True),
            mo.hstack([sft_rows, sft_steps, batch, lr, lora], wrap=True),
        ]
    )
    return batch, lora, lr, model, n_images, sft_rows, sft_steps, tasks


@app.cell(hide_code=True)
def _(batch, cli, lora, lr, model, n_images, sft_rows, sft_steps, tasks):
    settings = JobSettings.from_dict(
        {
            **cli.to_dict(),
            "model": model.value.strip() or "tiny",
            "n_images": int(n_images.value),
            "tasks": tuple(tasks.value) or cli.tasks,
            "sft_rows": int(sft_rows.value),
            "sft_steps": int(sft_steps.value),
            "sft_batch_size": int(batch.value),
            "sft_learning_rate": float(lr.value),
            "lora": {"auto": None, "true": True, "false": False}[lora.value],
        }
    )
    data = builtin_splits(settings)
    mo.md(
        f"{data['counts']['sft_rows']} demonstrations from {settings.n_images} images; "
        f"run folder `{settings.sft_dir}`"
    )
    return data, settings


@app.cell(hide_code=True)
def _(interactive):
    run_button = mo.ui.run_button(label="Run SFT")
    if interactive:
        mo.output.replace(run_button)
    return (run_button,)


@app.cell(hide_code=True)
def _(data, interactive, run_button, settings):
    mo.stop(interactive and not run_button.value, mo.md("Press **Run SFT** to train."))
    _start = time.perf_counter()
    with mo.status.progress_bar(total=settings.sft_steps, title="SFT", remove_on_exit=True) as _bar:
        _done = [0]

        def _progress(step, total, logs):
            if step > _done[0]:
                _bar.update(increment=step - _done[0], subtitle=f"step {step}/{total}")
                _done[0] = step
            if not interactive and step and (step % 25 == 0 or step == total):
                print(f"[{time.perf_counter() - _start:6.1f}s] SFT step {step}/{total}", flush=True)

        final, bundle, _result = run_sft_stage(settings, data, progress=_progress)
    metrics = rows_frame(RunFolder(final.parent).read_metrics())
    mo.md(f"Final model: `{final}` ({time.perf_counter() - _start:.0f} s)")
    return bundle, final, metrics


@app.cell(hide_code=True)
def _(metrics):
    _cols = [c for c in ("loss", "mean_token_accuracy", "entropy") if c in metrics.columns]
    _long = (
        metrics.filter(pl.col(_cols[0]).is_not_null())
        .select("step", *_cols)
        .unpivot(index="step", variable_name="series")
        if _cols
        else pl.DataFrame({"step": [], "series": [], "value": []})
    )
    (
        alt.Chart(_long, title="SFT loss, token accuracy and entropy")
        .mark_line(point=True)
        .encode(x="step:Q", y="value:Q", color="series:N")
        .properties(width=600, height=240)
    )
    return


@app.cell(hide_code=True)
def _(bundle, data, final, settings):
    _preview = data["test"].select(range(min(64, len(data["test"]))))
    _result = evaluate_model(
        bundle, _preview, spec=settings.spec, max_new_tokens=settings.max_completion_length
    )
    _rows = rows_frame(_result.rows).select("task", "solution", "completion", "correct")
    _metrics = rows_frame([{k: round(v, 3) for k, v in _result.metrics.items()}])
    mo.vstack(
        [
            mo.md(f"### Greedy answers on {len(_preview)} held-out rows (`{final}`)"),
            mo.ui.table(_metrics, selection=None),
            mo.ui.table(_rows, selection=None, page_size=10),
            mo.md(f"Next: `python notebooks/grpo.py --sft-from {final}`"),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
