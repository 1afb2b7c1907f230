"""EEmo-Logic's evaluation suite (``eemo_rewards.bench``): items, prompts, answer reading,
metrics with intervals, the cache, the release formats, the judge hook over HTTP, and the
command line end to end on the tiny model.

A miniature release (a few records of each file, in the release's own schema) is written by
the tests, so everything here runs without the real files; the tests that reproduce the
published EEmo-Bench table read ``../shared/reference/`` and skip without it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.bench.__main__ import main
from eemo_rewards.bench.files import AnswerCache, CacheMismatch, prompt_sha, read_answers
from eemo_rewards.bench.judge import JudgeError, read_score
from eemo_rewards.bench.run import MissingImages, check_images, run_suite, score_answers
from eemo_rewards.bench.score import MIDPOINT, interval_metrics, score_items
from eemo_rewards.bench.sets import (
    SETS,
    VAD,
    Item,
    aes_options,
    get_set,
    image_path,
    load_items,
    normalise_image_path,
    option_list,
)

ROOT = Path(__file__).resolve().parents[1]
# beside the checkout (CI, the main tree) or beside the worktrees' parent
_CANDIDATES = [ROOT.parent / "shared" / "reference", ROOT.parents[1] / "shared" / "reference"]
REFERENCE = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
TEST_DATA = REFERENCE / "eemo-logic" / "test_data"
RESPONSES = REFERENCE / "eemo-bench" / "responses"
needs_reference = pytest.mark.skipif(
    not TEST_DATA.exists(), reason="needs ../shared/reference/eemo-logic/test_data"
)


# ------------------------------------------------------------------ a miniature release
def _single(name, top3, v, a, d, q=None):
    rec = {
        "image_name": name,
        "category": "Animal",
        "emotion_list": [[e, 30 - i] for i, e in enumerate(top3)],
        "Valence": [v, 1.0, 1.0],
        "Arousal": [a, 1.0, 1.0],
        "Dominance": [d, 1.0, 1.0],
        "judge_Q": f"Is {top3[0]} one of the three main emotions?",
        "judge_A": {"A": "No", "B": "Yes"},
        "judge_answer": "B",
        "choose_Q": "Which emotion is the strongest?",
        "choose_A": {"A": top3[1].capitalize(), "B": top3[0].capitalize(), "C": "Anger"},
        "choose_answer": "B",
    }
    if q:
        rec["open_ended_Q"] = q
    return rec


SINGLE = [
    _single("1.jpg", ["joy", "neutral", "surprise"], 7.0, 4.0, 6.0, "Which elements evoke it?"),
    _single("2.jpg", ["fear", "disgust", "sadness"], 2.0, 8.0, 2.5, "Is it direct?"),
    _single("3.jpg", ["sadness", "fear", "neutral"], 3.0, 3.0, 3.5),
]


def _pair(i1, i2, open_q=""):
    return {
        "image1_url": i1,
        "image2_url": i2,
        "judge_question": f"Do {i1} and {i2} both evoke joy?",
        "judge_options": {"A": "No.", "B": "Yes."},
        "judge_answer": "A",
        "choose_question": f"Which of {i1} and {i2} is more negative?",
        "choose_options": {"A": "The first picture.", "B": "The second picture."},
        "choose_answer": "B",
        "open_ended_question": open_q,
    }


PAIRS = [_pair("1.jpg", "2.jpg", "Which is more negative?"), _pair("3.jpg", "1.jpg", "Why?")]
ARTEMIS = [
    {
        "img_path": f"./test_dominant_images\\0000{i}.jpg",
        "emotion": votes,
        "dominant_emotion": dom,
        "new_id": i,
    }
    for i, (dom, votes) in enumerate(
        [
            ("awe", ["awe", "awe", "fear", "something else", "contentment"]),
            ("fear", ["fear", "fear", "sadness", "awe", "fear"]),
            ("sadness", ["sadness", "sadness", "amusement", "awe", "sadness"]),
        ]
    )
]
ARTPHOTO = [
    {"id": 0, "emotion": "amusement", "image_path": "amusement_1.jpg"},
    {"id": 1, "emotion": "sad", "image_path": "sad_2.jpg"},
    {"id": 2, "emotion": "fear", "image_path": "fear_3.jpg"},
]
UNIAA = [
    {
        "img_path": f"emotion_images/{i}.jpg",
        "question": q,
        "options": opts,
        "answer": ans,
        "type": kind,
        "id": i,
    }
    for i, (q, opts, ans, kind) in enumerate(
        [
            ("Is the mood lonely?", {"A": "Yes", "B": "No"}, "A", "yes_no"),
            ("What mood?", {"A": "Warm", "B": "Lonely", "C": "Noisy"}, "B", "what"),
            ("Is it positive?", {"A": "Yes", "B": "No"}, "B", "yes_no"),
        ]
    )
]
AESE = {
    f"img{i}.png": {
        "AesE_data": {
            "Question": "How does this picture influence the viewer?",
            "Options": "A) It intrigues.\nB) No effect.\nC)It bores.",
        }
    }
    for i in range(3)
}


def write_release(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "ebench-single": SINGLE,
        "ebench-pair": PAIRS,
        "ebench-open": [r for r in SINGLE if "open_ended_Q" in r],
        "ebench-open-pair": PAIRS,
        "artemis": ARTEMIS,
        "artphoto": ARTPHOTO,
        "uniaa-sent": UNIAA,
        "aesbench-aese": AESE,
    }
    for name, records in files.items():
        (folder / SETS[name].file).write_text(json.dumps(records))
    return folder


def write_images(root: Path, data: Path, limit: int | None = None) -> list[Path]:
    from PIL import Image

    written = []
    for bench_set in SETS.values():
        items = load_items(bench_set, data)
        ids = list(dict.fromkeys(i.id for i in items))[:limit]
        for item in items:
            if item.id in ids:
                for name in item.images:
                    path = image_path(root, bench_set.name, name)
                    if not path.exists():
                        path.parent.mkdir(parents=True, exist_ok=True)
                        Image.new("RGB", (24, 24), (180, 90, 40)).save(path)
                        written.append(path)
    return written


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_release(tmp_path_factory.mktemp("release"))


# ------------------------------------------------------------------------- items, paths
segment = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=6)


@given(st.lists(segment, min_size=1, max_size=4), st.sampled_from(["/", "\\"]), st.booleans())
def test_image_paths_normalise_any_separator_and_leading_dot(parts, sep, dotted):
    raw = ("." + sep if dotted else "") + sep.join(parts)
    assert normalise_image_path(raw) == "/".join(parts)
    assert image_path("IMG", "artemis", raw) == Path("IMG", "artemis", *parts)


@given(st.lists(st.sampled_from(["awe", "fear", "sad", "amusement", "anger"]), min_size=1))
def test_sorted_option_order_does_not_depend_on_record_order(labels):
    assert option_list(labels, "sorted") == option_list(list(reversed(labels)), "sorted")
    assert option_list(labels, "sorted") == sorted(set(labels))
    assert sorted(option_list(labels, "released")) == sorted(set(labels))


def test_items_of_every_set_are_unique_and_carry_their_prompt(release):
    for bench_set in SETS.values():
        items = load_items(bench_set, release)
        assert items, bench_set.name
        assert len({i.key for i in items}) == len(items)
        assert {i.task for i in items} <= set(bench_set.tasks)
        assert all(i.prompt and i.images for i in items)
    single = {i.task: i for i in load_items(get_set("ebench-single"), release) if i.id == "1.jpg"}
    assert single["ranking"].truth == ["joy", "neutral", "surprise"]
    assert single["valence"].truth == 7.0
    assert single["yes_no"].prompt.endswith("A:No B:Yes")
    assert "<answer>Valence: x.xxxx</answer>" in single["valence"].prompt
    assert "<answer>Emotion ranking: </answer>" in single["ranking"].prompt
    art = load_items(get_set("artemis"), release)
    assert art[0].images == ("./test_dominant_images\\00000.jpg",)
    assert "[awe, fear, sadness]" in art[0].prompt
    pair_open = load_items(get_set("ebench-open-pair"), release)
    assert [a["emotions"][0] for a in pair_open[0].meta["annotations"]] == ["joy", "fear"]


def test_the_released_option_order_is_available_and_recorded(release):
    for order in ("sorted", "released"):
        item = load_items(get_set("artphoto"), release, option_order=order)[0]
        assert item.meta["labels"] == option_list(["amusement", "sad", "fear"], order)
        assert f"[{', '.join(item.meta['labels'])}]" in item.prompt
    with pytest.raises(ValueError, match="option_order"):
        load_items(get_set("artphoto"), release, option_order="random")


def test_aes_options_read_the_release_option_block():
    assert aes_options("A) x\nB)y\nC) z") == {"A": "x", "B": "y", "C": "z"}
    with pytest.raises(ValueError, match="option lines"):
        aes_options("no options here")


def test_unknown_set_and_missing_data_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="use one of"):
        get_set("ebench")
    monkeypatch.delenv("EEMO_BENCH_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="--data"):
        load_items(get_set("artemis"))
    with pytest.raises(FileNotFoundError, match=r"test_ArtEmis\.json"):
        load_items(get_set("artemis"), tmp_path)


# ------------------------------------------------------------------- scoring answers
def _answers(items, texts):
    return {i.key: {"answer": t} for i, t in zip(items, texts, strict=True)}


def test_choices_commit_to_one_option_and_hedges_are_unanswered(release):
    bench_set = get_set("ebench-pair")
    items = load_items(bench_set, release)  # yes_no key A (No.), what_how key B (second)
    texts = [
        "<think>no shared joy</think><answer>A</answer>",
        "The second picture.",
        "A or B",  # hedged: unanswered, scored wrong
        "Not A.",  # a denied letter commits to nothing
    ]
    rows, values = score_items(bench_set, items, _answers(items, texts))
    assert [r["committed"] for r in rows] == ["A", "B", None, None]
    assert [r["correct"] for r in rows] == [1.0, 1.0, 0.0, 0.0]
    metrics = interval_metrics(values)
    assert metrics["accuracy"] == 0.5
    assert metrics["accuracy_yes_no"] == 0.5 and metrics["accuracy_what_how"] == 0.5
    assert metrics["accuracy_low"] <= 0.5 <= metrics["accuracy_high"]


def test_release_extraction_failures_are_read_here(release):
    """The release reads ``<answer>Dominant emotion: X</answer>`` on one line and crashes
    (``None.replace``) otherwise; here any wording that names one label commits to it."""
    bench_set = get_set("artemis")
    items = load_items(bench_set, release)  # awe, fear, sadness
    texts = [
        "<think>vast sky</think><answer>Dominant emotion:\nawe</answer>",  # multi-line
        "The dominant emotion is fear.",  # no tags at all
        "<answer>sadness or fear</answer>",  # two labels: unanswered
    ]
    rows, values = score_items(bench_set, items, _answers(items, texts))
    assert [r["committed"] for r in rows] == ["awe", "fear", None]
    metrics = interval_metrics(values, labels=sorted({"awe", "fear", "sadness"}))
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    # awe and fear each F1 1, sadness F1 0
    assert metrics["macro_f1"] == pytest.approx(2 / 3)
    # annotators: awe chosen by 2 of 5, fear by 3 of 5, unanswered 0
    assert metrics["annotator_share"] == pytest.approx((0.4 + 0.6 + 0.0) / 3)
    assert metrics["annotator_hit"] == pytest.approx(2 / 3)


COMMITTING = [
    "<answer>Dominant emotion: {}</answer>",  # the release's template
    "<think>seen</think><answer>Dominant emotion:\n{}</answer>",  # multi-line: None there
    "<answer>{}</answer>",
    "The dominant emotion is {}.",  # no tags: None there
    "**{}**",
    "<answer>Dominant emotion: {}.</answer> That is my answer.",
]
HEDGING = ["<answer>{} or {}</answer>", "Either {} or {}.", "<answer>not {}</answer>"]
MIKELS = ["amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"]


@given(st.sampled_from(COMMITTING), st.sampled_from(MIKELS), st.sampled_from(MIKELS))
def test_any_wording_naming_one_label_commits_and_hedges_do_not(template, label, other):
    """The class of answers the release's regular expression drops, over every label."""
    bench_set = get_set("artemis")
    item = Item("0", "emotion", "p", ("x.jpg",), label, None, {"labels": MIKELS})
    rows, _ = score_items(bench_set, [item], {item.key: {"answer": template.format(label)}})
    assert rows[0]["committed"] == label and rows[0]["correct"] == 1.0
    if other != label:
        hedge = HEDGING[MIKELS.index(other) % 2].format(label, other)
        rows, values = score_items(bench_set, [item], {item.key: {"answer": hedge}})
        assert rows[0]["committed"] is None and values["accuracy"] == [0.0]
    rows, _ = score_items(bench_set, [item], {item.key: {"answer": HEDGING[2].format(label)}})
    assert rows[0]["committed"] is None


def test_artphoto_labels_fold_synonyms(release):
    bench_set = get_set("artphoto")
    items = load_items(bench_set, release)  # amusement, sad, fear
    rows, _ = score_items(bench_set, items, _answers(items, ["amusement", "sadness", "awe"]))
    assert [r["correct"] for r in rows] == [1.0, 1.0, 0.0]


def test_rankings_and_scores(release):
    bench_set = get_set("ebench-single")
    items = [i for i in load_items(bench_set, release) if i.task in ("ranking", "valence")]
    texts = {
        ("1.jpg", "ranking"): "<answer>Emotion ranking: joy, neutral, surprise</answer>",
        ("2.jpg", "ranking"): "<answer>Emotion ranking: fear, sadness, disgust</answer>",
        ("3.jpg", "ranking"): "I cannot tell.",
        ("1.jpg", "valence"): "<answer>Valence: 0.8</answer>",
        ("2.jpg", "valence"): "<answer>Valence: 0.1</answer>",
        ("3.jpg", "valence"): "<answer>Valence: between 0.2 and 0.9</answer>",
    }
    rows, values = score_items(bench_set, items, {k: {"answer": t} for k, t in texts.items()})
    by = {(r["id"], r["task"]): r for r in rows}
    assert by[("1.jpg", "ranking")]["correct"] == 1.0
    assert by[("2.jpg", "ranking")]["committed"] == ["fear", "sadness", "disgust"]
    # one adjacent swap: τ over positions is 1/3; the released scorer's τ on the names
    # (ranked alphabetically) is -1 here
    assert values["ranking_score"][1] == pytest.approx((50 + (1 / 3 + 1) * 25) / 100)
    assert values["ranking_score_released"][1] == pytest.approx(0.5)
    assert by[("3.jpg", "ranking")]["committed"] is None
    assert by[("3.jpg", "valence")]["committed"] is None
    assert values["valence_srcc"] == [(7.0, 0.8), (2.0, 0.1), (3.0, MIDPOINT)]
    metrics = interval_metrics(values)
    assert metrics["valence_srcc"] == pytest.approx(1.0)
    assert metrics["valence_constant"] == 0.0
    flat = interval_metrics({"arousal_srcc": [(7.0, MIDPOINT), (2.0, MIDPOINT), (3.0, MIDPOINT)]})
    assert flat["arousal_srcc"] == 0.0 and flat["arousal_constant"] == 1.0
    assert metrics["ranking_score"] != metrics["ranking_score_released"]


def test_aese_scores_only_with_a_key(release, tmp_path):
    bench_set = get_set("aesbench-aese")
    items = load_items(bench_set, release)
    answers = _answers(items, ["A", "It bores.", "B or C"])
    rows, values = score_items(bench_set, items, answers)
    assert [r["committed"] for r in rows] == ["A", "C", None]
    assert values == {} and all(r["correct"] is None for r in rows)
    rows, values = score_items(
        bench_set, items, answers, key={"img0.png": "A", "img1.png": "B", "img2.png": "C"}
    )
    assert values["accuracy"] == [1.0, 0.0, 0.0]


def test_an_aese_key_file_is_read_in_either_shape(release, tmp_path):
    items = load_items(get_set("aesbench-aese"), release)
    answers = _cache_file(tmp_path / "a.jsonl", "aesbench-aese", items, ["A", "B", "B or C"])
    flat = {"img0.png": "A", "img1.png": "(C)", "img2.png": "b"}
    nested = {k: {"AesE_data": {"answer": v}} for k, v in flat.items()}
    for i, key in enumerate((flat, nested)):
        (tmp_path / f"key{i}.json").write_text(json.dumps(key))
        metrics = score_answers(
            "aesbench-aese", answers, tmp_path / f"out{i}", data=release,
            key=tmp_path / f"key{i}.json", log=print,
        )  # fmt: skip
        assert metrics["accuracy"] == pytest.approx(1 / 3) and metrics["n_unanswered"] == 1
    without = score_answers("aesbench-aese", answers, tmp_path / "out", data=release, log=print)
    assert without == {"n_items": 3, "n_unanswered": 1}
    (tmp_path / "bad.json").write_text(json.dumps({"img0.png": 3}))
    with pytest.raises(ValueError, match="not an option letter"):
        score_answers(
            "aesbench-aese", answers, tmp_path / "out", data=release,
            key=tmp_path / "bad.json", log=print,
        )  # fmt: skip


# ------------------------------------------------------------------------ files
def test_cache_resumes_refuses_other_settings_and_repairs_a_cut_line(release, tmp_path):
    items = load_items(get_set("artphoto"), release)
    path = tmp_path / "artphoto" / "answers.jsonl"
    header = {"set": "artphoto", "model": "tiny", "option_order": "sorted"}
    cache = AnswerCache(path, header)
    cache.add(items[:2], ["awe", "fear"])
    again = AnswerCache(path, header)
    assert again.get(items[0]) == "awe" and again.get(items[2]) is None
    with path.open("a") as f:
        f.write('{"id": "2", "task": "emo')  # killed mid-write
    repaired = AnswerCache(path, header)
    assert repaired.repaired == 1 and len(repaired.answers) == 2
    assert path.read_text().endswith("\n")
    with pytest.raises(CacheMismatch, match="other settings"):
        AnswerCache(path, {**header, "model": "smollm2"})
    # another prompt for the same item (another option order) is not reused
    moved = Item(items[0].id, items[0].task, items[0].prompt + " ", items[0].images)
    assert again.get(moved) is None
    assert prompt_sha(items[0].prompt) != prompt_sha(moved.prompt)


def test_answers_of_other_weights_in_the_same_folder_are_not_reused(tmp_path):
    import os

    from eemo_rewards.bench.run import model_fingerprint

    folder = tmp_path / "final"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights one")
    first = model_fingerprint(folder)
    assert first == model_fingerprint(folder) and model_fingerprint("tiny") is None
    (folder / "model.safetensors").write_bytes(b"weights two!")
    os.utime(folder / "model.safetensors", ns=(1, 1))
    assert model_fingerprint(folder) != first


def test_release_formats_name_the_model_from_their_keys(release, tmp_path):
    out = [
        dict(r, **{"all(EEmo-Logic)": "<answer>Dominant emotion: awe</answer>"}) for r in ARTEMIS
    ]
    (tmp_path / "artemis.json").write_text(json.dumps(out, indent=4))
    items = load_items(get_set("artemis"), release)
    model, found, unmatched = read_answers(tmp_path / "artemis.json", get_set("artemis"), items)
    assert model == "EEmo-Logic" and len(found) == 3 and unmatched == 0
    aes = {name: {"AesE_response": "A"} for name in AESE}
    (tmp_path / "aes.json").write_text(json.dumps(aes, indent=4))  # as the release writes it
    items = load_items(get_set("aesbench-aese"), release)
    _, found, _ = read_answers(tmp_path / "aes.json", get_set("aesbench-aese"), items)
    assert len(found) == 3
    (tmp_path / "bad.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="not an answers file"):
        read_answers(tmp_path / "bad.json", get_set("artemis"), items)


def test_eemo_logic_single_image_output_is_read_for_every_task(release, tmp_path):
    rows = []
    for rec in SINGLE:
        rows.append(
            {
                **rec,
                "EEmo-Logic(judge)": "B",
                "EEmo-Logic(choose)": "<answer>B</answer>",
                "predict_emotion_all": "<answer>Emotion ranking: joy, fear, neutral</answer>",
                **{f"predict_{d}_all": f"<answer>{d.capitalize()}: 0.5</answer>" for d in VAD},
            }
        )
    (tmp_path / "single.json").write_text(json.dumps(rows, indent=4))
    bench_set = get_set("ebench-single")
    items = load_items(bench_set, release)
    model, found, unmatched = read_answers(tmp_path / "single.json", bench_set, items)
    assert model == "EEmo-Logic" and unmatched == 0
    assert set(found) == {i.key for i in items}
    metrics = score_answers(
        "ebench-single", tmp_path / "single.json", tmp_path / "out", data=release, log=print
    )
    assert metrics["accuracy"] == 1.0 and metrics["n_items"] == 18


def test_pair_perception_output_matches_items_by_images_and_question(release, tmp_path):
    rows = [{**p, "M(judge)": "A", "M(choose)": "The first picture."} for p in PAIRS]
    (tmp_path / "pair.json").write_text(json.dumps(rows))
    metrics = score_answers(
        "ebench-pair", tmp_path / "pair.json", tmp_path / "out", data=release, log=print
    )
    assert metrics["accuracy_yes_no"] == 1.0 and metrics["accuracy_what_how"] == 0.0


def test_backend_choice_on_a_machine_without_a_gpu():
    from eemo_rewards.bench.generate import choose_backend

    assert choose_backend("tiny") == "transformers"
    with pytest.raises((RuntimeError, ValueError), match="transformers"):
        choose_backend("tiny", "vllm")
    with pytest.raises(ValueError, match="backend"):
        choose_backend("tiny", "onnx")


# ------------------------------------------------------------------------ judge hook
@given(st.sampled_from(["Score: {}", "score:{}", "**Score:** {}", "{}", "Grade... Score = {}"]),
       st.integers(0, 2))  # fmt: skip
def test_judge_grades_are_read_in_any_usual_shape(template, grade):
    assert read_score(template.format(grade)) == grade


@settings(max_examples=30)
@given(st.text(alphabet="abc xyz.,", max_size=30))
def test_a_reply_without_a_grade_is_none(text):
    assert read_score(text) is None


class _Judge(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint: 2 when the graded answer names joy, else 0."""

    seen: ClassVar[list] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body))
        graded = body["messages"][-1]["content"].split("Answer to grade:")[1].split("\n\n")[0]
        grade = 2 if "joy" in graded.lower() else 0
        reply = {"choices": [{"message": {"role": "assistant", "content": f"Score: {grade}"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    _Judge.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Judge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _Judge.seen
    server.shutdown()
    server.server_close()


def _cache_file(path: Path, set_name: str, items, texts) -> Path:
    cache = AnswerCache(path, {"set": set_name, "model": "m"})
    cache.add(items, texts)
    return path


def test_judge_hook_grades_open_answers_over_http(release, tmp_path, judge_server):
    url, seen = judge_server
    bench_set = get_set("ebench-open")
    items = load_items(bench_set, release)
    answers = _cache_file(
        tmp_path / "a.jsonl",
        "ebench-open",
        items,
        ["It evokes joy, warm and pleasant.", "It evokes fear and disgust."],
    )
    argv = ["--data", str(release), "score", "--set", "ebench-open", "--answers", str(answers)]
    argv += ["--out", str(tmp_path / "out"), "--judge-url", url, "--judge-repeats", "2"]
    assert main([*argv, "--judge-model", "my-judge"]) == 0
    metrics = json.loads((tmp_path / "out" / "ebench-open" / "metrics.json").read_text())
    assert metrics["judge_score_annotations"] == 0.5  # 2+2 over 4, then 0+0
    assert "judge_score" not in metrics  # no reference answers in the release's file
    assert len(seen) == 4 and all(path == "/v1/chat/completions" for path, _ in seen)
    assert seen[0][1]["model"] == "my-judge"
    assert "joy, neutral, surprise" in seen[0][1]["messages"][-1]["content"]
    rows = [
        json.loads(x)
        for x in (tmp_path / "out/ebench-open/items.jsonl").read_text().split("\n")
        if x
    ]
    assert rows[0]["committed"]["judge_grades"] == [2, 2]
    # the offline measures, labelled as such
    assert metrics["offline_emotion_in_top3"] == 1.0
    # grades are kept: a second call asks the judge nothing and scores the same
    assert main([*argv, "--judge-model", "my-judge"]) == 0
    assert len(seen) == 4
    again = json.loads((tmp_path / "out" / "ebench-open" / "metrics.json").read_text())
    assert again == metrics


def test_judge_hook_uses_the_reference_answer_a_leaderboard_file_carries(
    release, tmp_path, judge_server
):
    url, seen = judge_server
    rows = [
        {
            "image1_url": p["image1_url"],
            "image2_url": p["image2_url"],
            "question": p["open_ended_question"],
            "question_type": "Open_ended",
            "describing_dimension": "Valence comparison",
            "correct_answer": "REFERENCE TEXT",
            "response(m1)": answer,
            "eval_result(m1)": grades,
        }
        for p, answer, grades in zip(
            PAIRS,
            ["joy in the first", "nothing"],
            [["2"] * 5, ["1", "0", "0", "0", "0"]],
            strict=True,
        )
    ]
    (tmp_path / "lb.json").write_text(json.dumps(rows))
    metrics = score_answers(
        "ebench-open-pair", tmp_path / "lb.json", tmp_path / "out", data=release,
        judge_url=url, judge_repeats=1, log=lambda s: None,
    )  # fmt: skip
    assert metrics["judge_score"] == 0.5
    assert metrics["judge_score_released"] == pytest.approx((1.0 + 0.1) / 2)
    assert metrics["judge_score_released_valence_comparison"] == pytest.approx(0.55)
    assert all("REFERENCE TEXT" in body["messages"][-1]["content"] for _, body in seen)


def test_an_unreachable_judge_is_a_clear_error(release, tmp_path):
    items = load_items(get_set("ebench-open"), release)
    answers = _cache_file(tmp_path / "a.jsonl", "ebench-open", items, ["joy", "fear"])
    with pytest.raises(JudgeError, match="--judge-url"):
        score_answers(
            "ebench-open", answers, tmp_path / "out", data=release,
            judge_url="http://127.0.0.1:9/v1", judge_repeats=1, log=lambda s: None,
        )  # fmt: skip


# ------------------------------------------------------------- end to end, tiny model
@pytest.fixture(scope="module")
def suite(release, tmp_path_factory):
    """One run of every set on the tiny model (--limit 2), through the command line."""
    root = tmp_path_factory.mktemp("suite")
    images, out = root / "images", root / "out"
    write_images(images, release, limit=3)
    argv = ["--data", str(release), "run", "--model", "tiny", "--sets", "all"]
    argv += ["--images", str(images), "--out", str(out), "--limit", "2"]
    argv += ["--max-new-tokens", "4", "--batch-size", "4"]
    return argv, images, out


@pytest.mark.slow
def test_run_writes_every_set_and_a_repeat_generates_nothing(suite, release, capsys):
    argv, _images, out = suite
    assert main(argv) == 0
    first = capsys.readouterr().out
    for bench_set in SETS.values():
        folder = out / bench_set.name
        items = [
            i for i in load_items(bench_set, release) if i.id in _first_ids(bench_set, release, 2)
        ]
        assert f"{bench_set.name}: generated {len(items)}, reused 0" in first
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["n_items"] == len(items)
        assert 0 <= metrics["n_unanswered"] <= len(items)
        for name, value in metrics.items():
            assert isinstance(value, int | float), name
        rows = [json.loads(x) for x in (folder / "items.jsonl").read_text().splitlines()]
        assert [(r["id"], r["task"]) for r in rows] == [
            (i.id, i.meta.get("type", i.task) if i.task == "choice" else i.task) for i in items
        ]
        assert {"id", "task", "committed", "correct"} <= set(rows[0])
    summary = (out / "summary.md").read_text()
    assert all(f"## {name}" in summary for name in SETS)
    before = {p: p.read_text() for p in out.glob("*/answers.jsonl")}
    assert main(argv) == 0
    second = capsys.readouterr().out
    for bench_set in SETS.values():
        assert f"{bench_set.name}: generated 0, reused" in second
    assert {p: p.read_text() for p in out.glob("*/answers.jsonl")} == before


def _first_ids(bench_set, data, n):
    return set(list(dict.fromkeys(i.id for i in load_items(bench_set, data)))[:n])


@pytest.mark.slow
def test_an_interrupted_run_resumes_where_it_stopped(suite, release, tmp_path):
    _argv, images, _out = suite
    out = tmp_path / "out"
    logged: list[str] = []

    def stop_after_first(set_name, done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(
            "tiny", "uniaa-sent", images, out, data=release, limit=3, batch_size=1,
            max_new_tokens=4, on_batch=stop_after_first, log=logged.append,
        )  # fmt: skip
    lines = (out / "uniaa-sent" / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 2  # the header and the one answer finished before the interruption
    run_suite(
        "tiny", "uniaa-sent", images, out, data=release, limit=3, batch_size=1,
        max_new_tokens=4, log=logged.append,
    )  # fmt: skip
    assert logged[-1] == "uniaa-sent: generated 2, reused 1 (3 items)"
    ran = json.loads((out / "uniaa-sent" / "metrics.json").read_text())
    assert ran["n_items"] == 3
    # the cache scores back to the same metrics
    rescored = score_answers(
        "uniaa-sent", out / "uniaa-sent" / "answers.jsonl", tmp_path / "again", data=release,
        log=logged.append,
    )  # fmt: skip
    assert rescored == ran


def test_a_missing_image_stops_the_run_before_any_generation(release, tmp_path, capsys):
    images, out = tmp_path / "images", tmp_path / "out"
    write_images(images, release, limit=2)
    missing = image_path(images, "artemis", ARTEMIS[2]["img_path"])
    assert not missing.exists()  # images for the first 2 records only
    argv = ["--data", str(release), "run", "--model", "no-such-model-is-loaded"]
    argv += ["--sets", "artphoto,artemis", "--images", str(images), "--out", str(out)]
    assert main([*argv, "--limit", "3"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "IMAGES/<set name>/<the image path the set's file gives>" in err
    assert not out.exists()  # nothing generated, nothing written
    with pytest.raises(MissingImages):
        check_images(images, [(get_set("artemis"), load_items(get_set("artemis"), release))])


def test_list_counts_the_items(release, capsys):
    assert main(["--data", str(release), "list"]) == 0
    text = capsys.readouterr().out
    assert "ebench-single" in text and "11760" not in text
    line = next(x for x in text.splitlines() if x.startswith("ebench-single"))
    assert line.split()[1:3] == ["3", "18"]  # 3 images, 6 questions each


# -------------------------------------------------- the real release and published table
@needs_reference
def test_list_reads_the_released_counts(capsys):
    assert main(["--data", str(TEST_DATA), "list"]) == 0
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in capsys.readouterr().out.splitlines()
        if line.split() and line.split()[0] in SETS
    }
    assert counts == {
        "ebench-single": 1960,
        "ebench-pair": 1006,
        "ebench-open": 501,
        "ebench-open-pair": 300,
        "artemis": 1920,
        "artphoto": 806,
        "uniaa-sent": 464,
        "aesbench-aese": 2800,
    }


@needs_reference
@pytest.mark.parametrize("model", ["gpt-4o", "qwen2-7b"])
def test_released_pair_answers_reproduce_the_published_table(model, tmp_path):
    from eemo_rewards.bench.published import published_for

    name = {"gpt-4o": "GPT-4o", "qwen2-7b": "Qwen2-VL-7B"}[model]
    answers = RESPONSES / f"{model}-pair.json"
    out = tmp_path / "out"
    metrics = score_answers("ebench-pair", answers, out, data=TEST_DATA, log=lambda s: None)
    published = published_for("ebench-pair")[name]
    assert metrics["n_items"] == 2012
    for cell in ("accuracy_yes_no", "accuracy_what_how", "accuracy"):
        assert abs(metrics[cell] - published[cell]) <= 0.01, (cell, metrics[cell], published[cell])
    # answers naming no option are unanswered (and wrong), never guessed
    rows = [json.loads(x) for x in (out / "ebench-pair" / "items.jsonl").read_text().splitlines()]
    unanswered = [r for r in rows if r["committed"] is None]
    assert len(unanswered) == metrics["n_unanswered"] > 0
    assert all(r["correct"] == 0.0 for r in unanswered)
    # the open-ended pair scores in the same file are the published description scores
    open_metrics = score_answers(
        "ebench-open-pair", answers, out, data=TEST_DATA, log=lambda s: None
    )
    for cell, value in published_for("ebench-open-pair")[name].items():
        assert abs(open_metrics[cell] - value) <= 0.0001, cell
    assert "| accuracy_yes_no |" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_the_eval_notebook_runs_the_suite_as_a_script(suite, release, tmp_path):
    import os
    import subprocess
    import sys

    pytest.importorskip("marimo")
    _argv, images, _out = suite
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "EEMO_REWARDS_DATA": str(tmp_path / "data"),
        "EEMO_BENCH_DATA": str(release),
        "EEMO_BENCH_IMAGES": str(images),
        "EEMO_BENCH_SETS": "artemis,ebench-pair",
        "EEMO_BENCH_LIMIT": "2",
        "EEMO_BENCH_MAX_NEW_TOKENS": "4",
        "EEMO_BENCH_OUT": str(tmp_path / "bench"),
        "TOKENIZERS_PARALLELISM": "false",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / "eval.py"), "--models", "tiny",
         "--runs-dir", str(tmp_path / "runs"), "--eval-rows", "8", "--sets", "builtin-fresh",
         "--sampled", "false"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "artemis: generated 2, reused 0" in done.stdout
    metrics = json.loads(
        (tmp_path / "bench" / "0-tiny" / "ebench-pair" / "metrics.json").read_text()
    )
    assert metrics["n_items"] == 4
