"""Streamed QA generation: the parquet file write_qa writes holds exactly generate_qa's rows,
bad records go to the quarantine with validate_records' reasons, and subsets read it lazily."""

from __future__ import annotations

import numpy as np
import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eemo_rewards.data import qa as qa_module  # noqa: E402
from eemo_rewards.data.labels import TAXONOMY_LABELS  # noqa: E402
from eemo_rewards.data.qa import check_qa, generate_qa, write_qa  # noqa: E402
from eemo_rewards.data.schema import QA_SCHEMA, validate_records  # noqa: E402
from eemo_rewards.data.subset import build_subset  # noqa: E402

# Defects the quarantine must catch, each with the reason validate_records gives it.
DEFECTS = ("duplicate", "nan", "range", "label", "missing_id", "blank_id", "taxonomy")


def records_with_defects(n: int, seed: int, defect_rate: float = 0.15) -> pl.DataFrame:
    """``n`` seeded records of two taxonomies (one single-label), some of them broken."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        taxonomy = "eemo_bench7" if rng.random() < 0.7 else "mikels8"
        labels = TAXONOMY_LABELS[taxonomy]
        k = 3 if taxonomy == "eemo_bench7" else 1
        ranking = [str(x) for x in rng.choice(labels, size=k, replace=False)]
        row = {
            "id": f"img{i:04d}",
            "image_path": None if i % 13 == 5 else f"images/{i}.jpg",
            "source": "test",
            "taxonomy": taxonomy,
            "ranking": ranking,
            "emotion": ranking[0],
            "valence": float(np.round(rng.uniform(1, 9), 2)),
            "arousal": float(np.round(rng.uniform(1, 9), 2)) if rng.random() < 0.8 else None,
            "dominance": float(np.round(rng.uniform(1, 9), 2)),
            "vad_scale": "1-9",
            "content": str(rng.choice(["animal", "human", "landscape"])),
            "split": "test" if rng.random() < 0.1 else None,
        }
        if i and rng.random() < defect_rate:
            defect = DEFECTS[int(rng.integers(len(DEFECTS)))]
            if defect == "duplicate":  # an id of any earlier row, often in an earlier batch
                row["id"] = f"img{int(rng.integers(i)):04d}"
            elif defect == "nan":
                row["valence"] = float("nan")
            elif defect == "range":
                row["dominance"] = 12.5
            elif defect == "label":
                row["emotion"] = "boredom"
            elif defect == "missing_id":
                row["id"] = None
            elif defect == "blank_id":  # repeated: "missing id" and, later, "duplicate id"
                row["id"] = " "
            else:
                row["taxonomy"] = "klingon"
        rows.append(row)
    return pl.DataFrame(rows, schema_overrides={"arousal": pl.Float64, "split": pl.String})


RECORDS = records_with_defects(160, seed=11)


def test_the_seeded_input_has_every_kind_of_defect():
    _, quarantine = validate_records(RECORDS, require_label=False)
    reasons = " | ".join(quarantine["reason"].to_list())
    for reason in ("duplicate id", "NaN valence", "outside the 1-9", "unknown label", "missing id"):
        assert reason in reasons
    assert "missing id; duplicate id" in reasons  # a repeated blank id has both
    assert 10 < quarantine.height < 60


@pytest.mark.slow
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batch=st.integers(1, 70),
    chunk=st.integers(20, 90),
    seed=st.integers(0, 2),
    pairs=st.sampled_from([None, 0, 9]),
    templates=st.sampled_from([("eemo",), ("emovit",), ("emoprompt", "eemo", "emovit")]),
    think=st.sampled_from(["full", "cues", "none"]),
)
def test_streamed_rows_equal_in_memory_rows_whatever_the_batches(
    tmp_path, batch, chunk, seed, pairs, templates, think
):
    kept, quarantine = validate_records(RECORDS, require_label=False)
    options = {"seed": seed, "pairs": pairs, "templates": templates, "think": think}
    expected = generate_qa(kept, chunk_records=chunk, **options)
    out = write_qa(
        RECORDS,
        tmp_path / f"qa-{batch}-{chunk}-{seed}-{pairs}-{len(templates)}-{think}.parquet",
        chunk_records=chunk,
        batch_records=batch,
        **options,
    )
    streamed = pl.read_parquet(out.path)
    assert streamed.schema == pl.Schema(QA_SCHEMA)
    assert streamed.equals(expected), "streamed rows differ from the in-memory rows"
    assert pl.read_parquet(out.quarantine_path).equals(quarantine)
    assert (out.n_records, out.n_kept, out.n_quarantined, out.n_rows) == (
        RECORDS.height,
        kept.height,
        quarantine.height,
        expected.height,
    )


def test_every_kind_of_source_gives_the_same_file(tmp_path):
    source = tmp_path / "records.parquet"
    RECORDS.write_parquet(source, row_group_size=25)
    outs = [
        write_qa(records, tmp_path / f"qa-{i}.parquet", chunk_records=40, batch_records=30)
        for i, records in enumerate([RECORDS, RECORDS.lazy(), source, str(source)])
    ]
    first = pl.read_parquet(outs[0].path)
    quarantine = pl.read_parquet(outs[0].quarantine_path)
    for out in outs[1:]:
        assert pl.read_parquet(out.path).equals(first)
        assert pl.read_parquet(out.quarantine_path).equals(quarantine)
    assert outs[0].quarantine_path == tmp_path / "qa-0.quarantine.parquet"


def test_chunked_output_keeps_every_rule_of_the_generator(tmp_path):
    kept, _ = validate_records(RECORDS, require_label=False)
    out = write_qa(RECORDS, tmp_path / "qa.parquet", chunk_records=30, batch_records=17)
    qa = pl.read_parquet(out.path)
    assert check_qa(qa, kept).height == 0
    assert qa["id"].is_unique().all()
    # Pairs stay within a chunk of 30 valid records: both images are kept rows of one chunk.
    chunk_of = dict(zip(kept["id"], np.arange(kept.height) // 30, strict=True))
    pairs = qa.filter(pl.col("image_id_2").is_not_null())
    assert pairs.height and all(
        chunk_of[a] == chunk_of[b] for a, b in pairs.select("image_id", "image_id_2").iter_rows()
    )
    # Answer letters stay balanced: at most one off per chunk and letter.
    letters = qa.filter(task="multiple_choice", qtype="dominant")["solution"].value_counts()
    n_chunks = -(-kept.height // 30)
    assert letters["count"].max() - letters["count"].min() <= n_chunks


def test_requested_pairs_are_spread_over_the_chunks_and_sum_up():
    kept, _ = validate_records(RECORDS, require_label=False)
    # One taxonomy and one split, so that every chunk can hold its share of the pairs.
    kept = kept.filter(taxonomy="eemo_bench7").with_columns(pl.lit(None, pl.String).alias("split"))
    for chunk in (7, 40, 1000):
        qa = generate_qa(
            kept, pairs=20, chunk_records=chunk, tasks=["comparison"], splits={"train": 1.0}
        )
        # Every pair has valence on both sides, so each gives one comparison.
        assert qa["pair_id"].n_unique() == 20, chunk


def test_generation_never_holds_more_than_a_chunk_of_records(tmp_path, monkeypatch):
    seen = []
    chunk_qa = qa_module._chunk_qa

    def spy(kept, *args):
        seen.append(kept.height)
        return chunk_qa(kept, *args)

    monkeypatch.setattr(qa_module, "_chunk_qa", spy)
    out = write_qa(RECORDS, tmp_path / "qa.parquet", chunk_records=25, batch_records=60)
    assert max(seen) == 25 and sum(seen) == out.n_kept


def test_a_set_smaller_than_a_chunk_is_generated_as_one(tmp_path):
    kept, _ = validate_records(RECORDS, require_label=False)
    whole = generate_qa(kept, seed=3)
    assert generate_qa(kept, seed=3, chunk_records=kept.height).equals(whole)
    assert not generate_qa(kept, seed=3, chunk_records=kept.height // 2).equals(whole)


def test_an_input_with_no_valid_record_writes_empty_files(tmp_path):
    broken = RECORDS.head(5).with_columns(pl.lit("klingon").alias("taxonomy"))
    out = write_qa(broken, tmp_path / "qa.parquet")
    assert (out.n_kept, out.n_quarantined, out.n_rows) == (0, 5, 0)
    assert pl.read_parquet(out.path).schema == pl.Schema(QA_SCHEMA)
    assert pl.read_parquet(out.quarantine_path)["reason"].str.contains("klingon").all()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"chunk_records": 1}, ValueError, "chunk_records must be"),
        ({"batch_records": 0}, ValueError, "batch_records must be"),
        ({"think": "long"}, ValueError, "think must be"),
    ],
)
def test_bad_arguments_raise_clear_errors(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        write_qa(RECORDS, tmp_path / "qa.parquet", **kwargs)


def test_an_unknown_option_is_refused(tmp_path):
    with pytest.raises(TypeError, match="colour"):
        write_qa(RECORDS, tmp_path / "qa.parquet", colour="blue")


def test_records_of_another_type_are_refused(tmp_path):
    with pytest.raises(TypeError, match="DataFrame or LazyFrame or a parquet path"):
        write_qa(RECORDS.to_dicts(), tmp_path / "qa.parquet")


def test_a_subset_of_the_written_file_read_lazily_equals_the_in_memory_one(tmp_path):
    out = write_qa(RECORDS, tmp_path / "qa.parquet", chunk_records=50)
    settings_ = {
        "tasks": ["multiple_choice", "yes_no", "emotion", "assessment"],
        "cap_per_class": 6,
        "split_fractions": {"train": 0.7, "test": 0.3},
        "seed": 2,
    }
    eager = build_subset(pl.read_parquet(out.path), **settings_)
    for source in (pl.scan_parquet(out.path), out.path, str(out.path)):
        lazy = build_subset(source, **settings_)
        assert lazy.frame.equals(eager.frame)
        assert lazy.manifest == eager.manifest
