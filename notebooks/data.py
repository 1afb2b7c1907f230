import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="eemo-rewards: data", css_file="static-page.css")

with app.setup(hide_code=True):
    import argparse
    from pathlib import Path

    import altair as alt
    import marimo as mo
    import polars as pl

    from eemo_rewards.analysis.charts import class_counts_chart, vad_histograms
    from eemo_rewards.data import readers
    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_hf_dataset, to_parquet, to_trl_dataset, to_verl_parquet
    from eemo_rewards.data.qa import check_qa, generate_qa
    from eemo_rewards.data.schema import default_data_dir, validate_records
    from eemo_rewards.data.subset import build_subset, class_of
    from eemo_rewards.data.templates import TEMPLATE_FAMILIES
    from eemo_rewards.flags import flags_to_argv
    from eemo_rewards.tasks import TASKS

    REPO = Path(__file__).resolve().parents[1]
    REFERENCE = REPO.parent / "shared" / "reference" / "eemo-bench"
    SOURCES = ("builtin", "eemo-bench", "emotion6", "emoset", "folder", "emoverse")
    EXPORTS = ("none", "trl", "hf", "parquet", "verl")


@app.function(hide_code=True)
def parse_args(cli: dict) -> argparse.Namespace:
    """The notebook's arguments, from a script run or `marimo edit/export ... -- --flag value`."""
    parser = argparse.ArgumentParser(
        prog="notebooks/data.py",
        description="Build an emotion QA dataset: read a source, generate QA, subset, export.",
    )
    parser.add_argument("--source", choices=SOURCES, default="builtin")
    parser.add_argument(
        "--path", default=None, help="input file or folder (default: the reference EEmo-Bench)"
    )
    parser.add_argument("--n-images", type=int, default=700, help="built-in images")
    parser.add_argument("--image-size", type=int, default=96, help="built-in image side (px)")
    parser.add_argument("--faces", choices=("drawn", "openmoji"), default="drawn")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks")
    parser.add_argument("--templates", default="eemo", help="comma-separated template families")
    parser.add_argument("--cap-per-class", type=int, default=0, help="0 = no cap")
    parser.add_argument("--pairs", type=int, default=-1, help="image pairs (-1 = half the images)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export", choices=EXPORTS, default="none")
    parser.add_argument(
        "--image-root", default=None, help="folder of the source's images (relative paths)"
    )
    parser.add_argument("--out", default=str(default_data_dir() / "notebook-export"))
    args = parser.parse_args(flags_to_argv(cli))
    if args.n_images < 7:
        parser.error("--n-images must be at least 7 (one image per built-in emotion)")
    return args


@app.function(hide_code=True)
def load_records(
    source: str, path: str | None, n_images: int, image_size: int, faces: str, seed: int
):
    """Canonical image records of the chosen source."""
    if source == "builtin":
        return generate_builtin(n_images, image_size=image_size, seed=seed, faces=faces)
    if source == "eemo-bench":
        return readers.read_eemo_bench(path or REFERENCE)
    if path is None:
        raise ValueError(f"--source {source} needs --path (the dataset's file or folder)")
    read = {
        "emotion6": readers.read_emotion6,
        "emoset": readers.read_emoset,
        "folder": readers.read_folder_labels,
        "emoverse": readers.read_emoverse,
    }[source]
    return read(path)


@app.cell(hide_code=True)
def _():
    mo.md(r"""
    # Data: sources → QA → subset → export

    Pick a source (the built-in procedural images by default, or a reader for EEmo-Bench,
    Emotion6, EmoSet, folder-per-label sets or EmoVerse), generate QA for the task categories
    and template families you want, cap classes, look at the distributions and a few samples,
    and export for TRL, `datasets`, parquet or verl.

    - In the editor, widgets choose everything; the export waits for its button.
    - As a script: `python notebooks/data.py --source builtin --n-images 1400 --export trl`
      (`--help` lists the flags); `marimo export html notebooks/data.py -o data.html` runs it
      headless with the defaults.
    """)
    return


@app.cell(hide_code=True)
def _():
    args = parse_args(mo.cli_args().to_dict())
    # `marimo export html` runs in edit mode without a browser session: only a real editor
    # has a request, and only there can a button be pressed.
    interactive = mo.app_meta().mode in ("edit", "run") and mo.app_meta().request is not None
    return args, interactive


@app.cell(hide_code=True)
def _(args):
    source = mo.ui.dropdown(SOURCES, value=args.source, label="source")
    n_images = mo.ui.number(start=7, stop=200_000, step=7, value=args.n_images, label="images")
    tasks = mo.ui.multiselect(list(TASKS), value=args.tasks.split(","), label="tasks")
    templates = mo.ui.multiselect(
        list(TEMPLATE_FAMILIES), value=args.templates.split(","), label="templates"
    )
    cap = mo.ui.number(start=0, stop=10_000_000, value=args.cap_per_class, label="cap per class")
    seed = mo.ui.number(start=0, stop=2**31 - 1, value=args.seed, label="seed")
    # emotion6, emoset, folder and emoverse read the user's own copy: where it is
    path = mo.ui.text(
        value=args.path or "",
        label="path (file or folder of the source)",
        placeholder="needed for emotion6, emoset, folder, emoverse",
        full_width=True,
    )
    mo.vstack(
        [
            mo.hstack([source, n_images, seed], wrap=True),
            path,
            mo.hstack([tasks, templates, cap], wrap=True),
        ]
    )
    return cap, n_images, path, seed, source, tasks, templates


@app.cell(hide_code=True)
def _(args, n_images, path, seed, source):
    _load = mo.persistent_cache(load_records)
    _path = path.value.strip() or None
    try:
        records = _load(
            source.value, _path, int(n_images.value), args.image_size, args.faces, int(seed.value)
        )
    except (ValueError, OSError) as _error:
        if not mo.app_meta().request:
            raise  # a script or an export stops with the reader's message
        mo.stop(
            True,
            mo.callout(
                mo.md(
                    f"**{source.value} could not be read.** {_error}  \n"
                    "Type the dataset's file or folder into *path* above (or pick the "
                    "built-in source)."
                ),
                kind="danger",
            ),
        )
    kept, quarantine = validate_records(records)
    mo.vstack(
        [
            mo.md(
                f"**{records.height}** records in: **{kept.height}** kept, "
                f"**{quarantine.height}** quarantined."
            ),
            mo.ui.table(quarantine.select("id", "reason"), label="quarantine")
            if quarantine.height
            else mo.md("Nothing quarantined."),
        ]
    )
    return (kept,)


@app.cell(hide_code=True)
def _(args, cap, kept, seed, tasks, templates):
    qa = generate_qa(
        kept,
        tasks=tasks.value or None,
        templates=templates.value or ["eemo"],
        seed=int(seed.value),
        pairs=None if args.pairs < 0 else args.pairs,
    )
    problems = check_qa(qa, kept)
    subset = build_subset(
        qa, cap_per_class=int(cap.value) or None, seed=int(seed.value), dedupe=True
    )
    frame = subset.frame
    mo.md(
        f"**{qa.height}** QA samples generated; the checker found **{problems.height}** "
        f"inconsistent answers. Subset: **{frame.height}** samples on "
        f"{subset.manifest['n_images']} images "
        f"({subset.manifest['n_duplicates_removed']} near-duplicates removed)."
    )
    return frame, subset


@app.cell(hide_code=True)
def _(frame):
    _per_task = (
        alt.Chart(frame.group_by("task", "split").len())
        .mark_bar()
        .encode(x=alt.X("len:Q", title="samples"), y=alt.Y("task:N", sort="-x"), color="split:N")
        .properties(title="Samples per task and split", width=420, height=180)
    )
    _classes = frame.with_columns(class_of()).filter(pl.col("task") != "description")
    _per_class = class_counts_chart(_classes.group_by("task", "class").len())
    mo.vstack([_per_task, _per_class])
    return


@app.cell(hide_code=True)
def _(kept):
    vad_histograms(kept)
    return


@app.cell(hide_code=True)
def _(frame, seed):
    _sample = frame.filter(pl.col("image_path").is_not_null()).sample(
        min(6, frame.height), seed=int(seed.value)
    )
    _cards = []
    for _row in _sample.iter_rows(named=True):
        _path = Path(_row["image_path"])
        _image = mo.image(src=_path, width=96) if _path.is_file() else mo.md("(no image file)")
        _cards.append(
            mo.hstack(
                [
                    _image,
                    mo.md(
                        f"**{_row['task']}** · `{_row['template_id']}`\n\n"
                        f"{_row['question']}\n\n**answer:** `{_row['answer']}`"
                    ),
                ],
                justify="start",
            )
        )
    mo.vstack([mo.md("### Samples"), *_cards])
    return


@app.cell(hide_code=True)
def _(args, interactive):
    export_kind = mo.ui.dropdown(EXPORTS, value=args.export, label="export")
    export_button = mo.ui.run_button(label="Export")
    mo.hstack([export_kind, export_button]) if interactive else mo.md(
        f"Export: `{args.export}` to `{args.out}`."
    )
    return export_button, export_kind


@app.cell(hide_code=True)
def _(args, export_button, export_kind, frame, interactive, subset):
    mo.stop(interactive and not export_button.value, mo.md("Press **Export** to write files."))
    kind = export_kind.value
    out = Path(args.out)
    if kind == "none":
        written = "nothing (choose an export)"
    else:
        subset.write(out)
        if kind == "trl":
            to_trl_dataset(frame, image_root=args.image_root).save_to_disk(str(out / "trl"))
            written = str(out / "trl")
        elif kind == "hf":
            to_hf_dataset(frame, image_root=args.image_root).save_to_disk(str(out / "hf"))
            written = str(out / "hf")
        elif kind == "parquet":
            written = str(to_parquet(frame, out / "qa.parquet"))
        else:
            written = str(to_verl_parquet(frame, out / "verl.parquet", image_root=args.image_root))
    mo.md(f"Wrote {written} (manifest: `{out / 'manifest.json'}`).")
    return


@app.function(hide_code=True)
def test_builtin_pipeline_is_consistent(tmp_path):
    records = generate_builtin(14, image_size=64, cache_dir=tmp_path)
    kept, quarantine = validate_records(records, check_images=True)
    qa = generate_qa(kept, seed=0)
    assert quarantine.height == 0 and check_qa(qa, kept).height == 0
    assert set(qa["task"]) == set(TASKS)


@app.function(hide_code=True)
def test_arguments_parse_and_reject_bad_values():
    args = parse_args({"source": "eemo-bench", "tasks": "emotion,ranking", "seed": "3"})
    assert (args.source, args.tasks, args.seed) == ("eemo-bench", "emotion,ranking", 3)
    try:
        parse_args({"n-images": "3"})
    except SystemExit:
        return
    raise AssertionError("--n-images 3 should be refused")


if __name__ == "__main__":
    app.run()
