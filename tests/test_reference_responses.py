"""Agreement of :func:`extract_choice` with EEmo-Bench's official judgements on real answers.

``../shared/reference/eemo-bench/responses/*-pair.json`` hold the real free-form answers of two
multimodal models to the 2,312 EEmo-Bench pair questions with the benchmark's official 0/1
judgement. For the Yes-or-No and What/How items whose answer names an option (a letter or an
option's text, whatever its polarity), ``extract_choice(response, options) ==
correct_answer`` must agree with that judgement on at least 99.5% of items, per model; the
answers that name no option must be read as naming nothing.

Run ``python tests/test_reference_responses.py`` to print the agreement and every
disagreement.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eemo_rewards.answers import extract_choice, grammar
from eemo_rewards.answers.choice import _answer_region, _option_mentions, normalise_options

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
RESPONSES = REFERENCE / "eemo-bench" / "responses"
MODEL_FILES = {"gpt-4o": "gpt-4o-pair.json", "qwen2-7b": "qwen2-7b-pair.json"}
CHOICE_TYPES = ("Yes-or-No", "What/How")


def names_an_option(response: str, options) -> bool:
    """Whether an answer mentions any option (letter or text), denied or not."""
    region = grammar.fold(_answer_region(response)).strip()
    return bool(grammar.read(region, _option_mentions, normalise_options(options)).mentions)


def reference_agreement(path: Path) -> tuple[float, int, list[dict]]:
    """Agreement of ``extract_choice`` with the official judgement in one response file,
    over the answers that name an option.

    Returns the agreement rate, the number of items compared, and one record per
    disagreement (id, question type, response, our letter, gold letter, official judgement).
    """
    records = json.loads(path.read_text())
    items = [r for r in records if r["question_type"] in CHOICE_TYPES]
    items = [r for r in items if names_an_option(_response(r), r["options"])]
    disagreements = []
    for item in items:
        response_key = next(k for k in item if k.startswith("response("))
        judgement_key = next(k for k in item if k.startswith("eval_result("))
        ours = extract_choice(item[response_key], item["options"])
        official = item[judgement_key]
        # one file stores the judgement as 1, the other as [1]
        official = int(official[0] if isinstance(official, list) else official)
        if int(ours == item["correct_answer"]) != official:
            disagreements.append(
                {
                    "id": item["id"],
                    "type": item["question_type"],
                    "response": item[response_key],
                    "ours": ours,
                    "gold": item["correct_answer"],
                    "official": official,
                    "options": item["options"],
                }
            )
    return 1 - len(disagreements) / len(items), len(items), disagreements


def _response(item: dict) -> str:
    return item[next(k for k in item if k.startswith("response("))]


@pytest.mark.skipif(not RESPONSES.is_dir(), reason=f"reference responses not found at {RESPONSES}")
@pytest.mark.parametrize("model", sorted(MODEL_FILES))
def test_extract_choice_agrees_with_official_judgements(model):
    agreement, n, disagreements = reference_agreement(RESPONSES / MODEL_FILES[model])
    assert n >= 2000
    assert agreement >= 0.995, (
        f"{model}: agreement {agreement:.4f} below 0.995; first disagreements: "
        f"{[(d['id'], d['response'][:60], d['ours'], d['gold']) for d in disagreements[:5]]}"
    )


@pytest.mark.skipif(not RESPONSES.is_dir(), reason=f"reference responses not found at {RESPONSES}")
@pytest.mark.parametrize("model", sorted(MODEL_FILES))
def test_answers_naming_no_option_commit_to_nothing(model):
    records = json.loads((RESPONSES / MODEL_FILES[model]).read_text())
    silent = [
        r
        for r in records
        if r["question_type"] in CHOICE_TYPES and not names_an_option(_response(r), r["options"])
    ]
    assert all(extract_choice(_response(r), r["options"]) is None for r in silent)


def main() -> None:
    if not RESPONSES.is_dir():
        raise SystemExit(f"reference responses not found at {RESPONSES}")
    for model, filename in sorted(MODEL_FILES.items()):
        agreement, n, disagreements = reference_agreement(RESPONSES / filename)
        print(f"{model}: agreement {agreement:.4f} on {n} items, {len(disagreements)} disagree")
        for d in disagreements:
            excerpt = " ".join(d["response"].split())[:110]
            print(
                f"  id={d['id']} {d['type']} ours={d['ours']} gold={d['gold']} "
                f"official={d['official']} options={d['options']} | {excerpt}"
            )


if __name__ == "__main__":
    main()
