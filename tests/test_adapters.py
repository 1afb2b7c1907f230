"""Each trainer adapter, called exactly as its trainer calls it (REFERENCE §4)."""

from __future__ import annotations

import importlib.util
import json
import math
import pickle
import warnings

import pytest

from eemo_rewards.adapters import composite_for, decode_label, easyr1, openrlhf, swift, verl
from eemo_rewards.spec import RewardSpec, RewardTerm, default_spec

GOOD_JOY = "<think>warm light, smiling faces</think><answer>joy</answer>"
GOOD_FEAR = "<think>dark alley, a shadow</think><answer>fear</answer>"
MALFORMED = "joy"
DEFAULT = default_spec().composite()
COMPONENTS = DEFAULT.component_names()
FLAGS = ("commits", "zero/malformed", "zero/uncommitted", "zero/wrong")  # what was read


def _expected(completion, solution, task=None, options=None):
    return DEFAULT.score(completion, solution, task=task, options=options)


# -- shared label decoding -----------------------------------------------------------------
def test_decode_label_reads_json_dicts_and_plain_solutions():
    label = json.dumps({"task": "multiple_choice", "solution": "B", "options": ["x", "y"]})
    assert decode_label(label) == {
        "task": "multiple_choice",
        "solution": "B",
        "options": ["x", "y"],
    }
    assert decode_label({"solution": "joy", "taxonomy": "mikels8"})["taxonomy"] == "mikels8"
    assert decode_label("joy, fear, awe")["solution"] == "joy, fear, awe"
    assert decode_label(b'{"solution": "no"}')["solution"] == "no"
    # text that merely looks like a dict stays the solution
    assert decode_label("{not json}")["solution"] == "{not json}"
    assert decode_label(None) == {"task": None, "solution": None, "options": None}


def test_decode_label_without_solution_says_how_to_write_it():
    with pytest.raises(ValueError, match="has no 'solution' key"):
        decode_label('{"task": "emotion", "answer": "joy"}')


def test_composite_for_caches_and_rejects_junk():
    assert composite_for(None) is composite_for("default")
    spec = RewardSpec([RewardTerm("format", 2.0)])
    assert composite_for(spec) is composite_for(RewardSpec([RewardTerm("format", 2.0)]))
    with pytest.raises(TypeError, match="preset name"):
        composite_for(3)


# -- verl ----------------------------------------------------------------------------------
def test_verl_call_shape_with_extra_info():
    # verl's reward manager: compute_score(data_source=..., solution_str=..., ground_truth=...,
    # extra_info=...) with keyword arguments
    out = verl.compute_score(
        data_source="eemodb",
        solution_str=GOOD_JOY,
        ground_truth="joy",
        extra_info={"task": "emotion", "index": 3, "split": "train"},
    )
    assert set(out) == {"score", *COMPONENTS, *FLAGS}
    assert out["commits"] == 1.0 and out["zero/wrong"] == 0.0
    assert all(isinstance(v, float) and math.isfinite(v) for v in out.values())
    assert out["score"] == pytest.approx(_expected(GOOD_JOY, "joy", "emotion"))
    assert (
        out["score"] > verl.compute_score("eemodb", GOOD_FEAR, "joy", {"task": "emotion"})["score"]
    )


def test_verl_keys_are_identical_across_tasks_and_non_applicable_is_fallback():
    a = verl.compute_score("x", GOOD_JOY, "joy", {"task": "emotion"})
    b = verl.compute_score(
        "x", "<think>t</think><answer>valence: 0.7</answer>", "valence: 0.7", {"task": "vad"}
    )
    assert list(a) == list(b)
    assert a["intensity_reward"] == 0.0  # intensity does not apply to emotion samples
    assert b["format_reward"] == 1.0


def test_verl_task_from_json_ground_truth_or_data_source():
    gt = json.dumps({"task": "multiple_choice", "solution": "B", "options": ["calm", "joy"]})
    good = verl.compute_score("eemodb", "<think>t</think><answer>B</answer>", gt)
    bad = verl.compute_score("eemodb", "<think>t</think><answer>A</answer>", gt)
    assert good["score"] > bad["score"]
    via_source = verl.compute_score("emotion", GOOD_JOY, "joy")
    assert via_source["score"] == pytest.approx(_expected(GOOD_JOY, "joy", "emotion"))
    # extra_info options win over nothing in the ground truth
    opts = verl.compute_score(
        "x", "<think>t</think><answer>B</answer>", "B", {"task": "mc", "options": ["a", "b"]}
    )
    assert opts["score"] == pytest.approx(good["score"])


def test_verl_factory_uses_another_spec_and_pickles():
    score = verl.make_compute_score(RewardSpec([RewardTerm("format", 3.0)]))
    read = {"zero/uncommitted": 0.0, "zero/wrong": 0.0}
    assert score("x", GOOD_JOY, "joy") == {
        "score": 3.0,
        "format_reward": 1.0,
        "commits": 1.0,
        "zero/malformed": 0.0,
        **read,
    }
    again = pickle.loads(pickle.dumps(score))
    assert again("x", MALFORMED, "joy") == {
        "score": 0.0,
        "format_reward": 0.0,
        "commits": 0.0,
        "zero/malformed": 1.0,
        **read,
    }


def test_verl_never_raises_on_junk_responses():
    for response in (None, "", b"\xff\xfe", 42, ["<answer>joy</answer>"], "x" * 100_000):
        out = verl.compute_score("x", response, "joy", {"task": "emotion"})
        assert math.isfinite(out["score"])


# -- OpenRLHF ------------------------------------------------------------------------------
CHATML_PROMPT = (
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n<image>Which emotion?"
    "<|im_end|>\n<|im_start|>assistant\n"
)


def test_response_from_query_handles_prefix_bos_markers_and_tails():
    q = CHATML_PROMPT + GOOD_JOY + "<|im_end|>\n<|endoftext|>"
    assert openrlhf.response_from_query(q, CHATML_PROMPT) == GOOD_JOY
    # a BOS token in front of the prompt
    assert openrlhf.response_from_query(
        "<s>" + CHATML_PROMPT + GOOD_JOY + "</s>", CHATML_PROMPT
    ) == (GOOD_JOY)
    # an explicit marker when the prompt is unrelated
    assert openrlhf.response_from_query(
        CHATML_PROMPT + GOOD_JOY, "different prompt", markers=["<|im_start|>assistant\n"]
    ) == (GOOD_JOY)
    llama = "<|start_header_id|>assistant<|end_header_id|>\n\n" + GOOD_JOY + "<|eot_id|>"
    assert (
        openrlhf.response_from_query(llama, None, markers=openrlhf.ASSISTANT_MARKERS).strip()
        == GOOD_JOY
    )
    # end markers inside the response are kept: only trailing ones are removed
    inner = "<think>a <|im_end|> b</think><answer>joy</answer>"
    assert openrlhf.response_from_query(CHATML_PROMPT + inner, CHATML_PROMPT) == inner


def test_response_after_an_expanded_image_placeholder_is_found_by_the_prompt_tail():
    # a VLM processor expands one image token into many: the prompt is no longer a substring
    for header, end in [
        ("<|im_start|>assistant\n", "<|im_end|>"),
        ("<｜Assistant｜>", "<｜end▁of▁sentence｜>"),  # DeepSeek-style, in no marker list
        ("\n### Response:\n", "</s>"),
    ]:
        prompt = f"<｜User｜><image>Which emotion does it evoke?{header}"
        query = (
            "<｜User｜>"
            + "<|image_pad|>" * 50
            + "Which emotion does it evoke?"
            + header
            + GOOD_JOY
            + end
        )
        assert openrlhf.response_from_query(query, prompt) == GOOD_JOY, header
        assert openrlhf.locate_response(query, prompt)[1] == "tail"


def test_response_not_found_is_none_and_too_short_a_tail_does_not_count():
    assert openrlhf.response_from_query("plain " + GOOD_JOY, "other") is None
    assert openrlhf.response_from_query(GOOD_JOY, None) is None
    # a short common suffix ("?" or a space) is not a delimiter
    assert openrlhf.locate_response("xx Which? " + GOOD_JOY, "<image>Unrelated?")[0] is None


def test_reward_func_counts_unfound_responses_and_warns_at_1_10_100():
    torch = pytest.importorskip("torch")
    func = openrlhf.make_reward_func("format_only")
    with pytest.warns(UserWarning, match=r"could not find the response .*\(1 of 1"):
        out = func(["plain " + GOOD_JOY], ["other"], ["joy"])
    assert out["rewards"].tolist() == [0.0]
    assert out["extra_logs"]["response_not_found"].tolist() == [1.0]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(9):
            func(["plain " + GOOD_JOY], ["other"], ["joy"])
    counted = [str(w.message) for w in seen if "could not find" in str(w.message)]
    assert len(counted) == 1 and "(10 of 10" in counted[0]
    assert func.not_found == 10
    ok = func([CHATML_PROMPT + GOOD_JOY], [CHATML_PROMPT], ["joy"])
    assert ok["extra_logs"]["response_not_found"].tolist() == [0.0]
    assert torch.is_tensor(ok["rewards"])


def test_reward_func_strict_mode_raises():
    pytest.importorskip("torch")
    func = openrlhf.make_reward_func(strict=True)
    with pytest.raises(openrlhf.ResponseNotFoundError, match="could not find the response"):
        func(["plain " + GOOD_JOY], ["other"], ["joy"])


class _Template:
    """A tokenizer stand-in with a DeepSeek-like chat template."""

    eos_token = "<｜end▁of▁sentence｜>"
    pad_token = None

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "<｜begin▁of▁sentence｜>"
        for m in messages:
            if m["role"] == "user":
                text += "<｜User｜>" + m["content"]
            else:
                text += "<｜Assistant｜>" + m["content"] + self.eos_token
        return text + ("<｜Assistant｜>" if add_generation_prompt else "")


def test_chat_template_markers_read_the_tokenizers_own_template():
    header, ends = openrlhf.chat_template_markers(_Template())
    assert header == "<｜Assistant｜>"
    assert ends[0] == "<｜end▁of▁sentence｜>"
    pytest.importorskip("torch")
    func = openrlhf.make_reward_func("format_only", tokenizer=_Template())
    # the prompt was re-rendered differently: only the template's header delimits it
    query = "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜>" + GOOD_JOY + _Template.eos_token
    assert func([query], ["unrelated"], ["joy"])["rewards"].tolist() == [1.0]


# A plain label carries no task, so every term applies (REWARD contract for task=None) and
# intensity/ranking warn that "joy" is not their kind of solution: expected here.
@pytest.mark.filterwarnings("ignore:.*cannot read:UserWarning")
def test_openrlhf_reward_func_call_shape():
    torch = pytest.importorskip("torch")
    queries = [CHATML_PROMPT + GOOD_JOY + "<|im_end|>", CHATML_PROMPT + GOOD_FEAR + "<|im_end|>"]
    prompts = [CHATML_PROMPT, CHATML_PROMPT]
    labels = [json.dumps({"task": "emotion", "solution": "joy"}), "joy"]
    out = openrlhf.reward_func(queries, prompts, labels)
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].shape == (2,)
    assert out["rewards"].dtype == torch.float32
    assert torch.equal(out["rewards"], out["scores"])
    assert out["rewards"][0].item() == pytest.approx(_expected(GOOD_JOY, "joy", "emotion"))
    assert out["rewards"][1].item() == pytest.approx(_expected(GOOD_FEAR, "joy"))
    assert set(out["extra_logs"]) == {*COMPONENTS, *FLAGS, "response_not_found"}
    assert out["extra_logs"]["commits"].tolist() == [1.0, 1.0]
    assert all(t.shape == (2,) for t in out["extra_logs"].values())


def test_openrlhf_length_mismatch_is_explained():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="one prompt and one label per query"):
        openrlhf.reward_func(["a", "b"], ["a"], ["joy", "joy"])


def test_openrlhf_module_loads_from_its_file_path():
    # OpenRLHF imports the --remote_rm_url file by path, under a name of its own
    spec = importlib.util.spec_from_file_location("reward_func_module", openrlhf.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.reward_func)


# -- EasyR1 --------------------------------------------------------------------------------
# A plain label carries no task, so every term applies (REWARD contract for task=None) and
# intensity/ranking warn that "joy" is not their kind of solution: expected here.
@pytest.mark.filterwarnings("ignore:.*cannot read:UserWarning")
def test_easyr1_batch_contract():
    assert easyr1.REWARD_TYPE == "batch"
    assert isinstance(easyr1.REWARD_NAME, str) and easyr1.REWARD_NAME
    inputs = [
        {"response": GOOD_JOY, "response_length": 12, "ground_truth": "joy"},
        {
            "response": "<think>t</think><answer>joy, fear, awe</answer>",
            "response_length": 14,
            "ground_truth": json.dumps({"task": "ranking", "solution": "joy, fear, awe"}),
        },
        {"response": MALFORMED, "response_length": 1, "ground_truth": "joy"},
    ]
    out = easyr1.compute_score(inputs)
    assert len(out) == 3
    assert all(set(o) == {"overall", *COMPONENTS, *FLAGS} for o in out)
    assert [o["zero/malformed"] for o in out] == [0.0, 0.0, 1.0]
    assert out[0]["overall"] == pytest.approx(_expected(GOOD_JOY, "joy"))
    assert out[1]["overall"] == pytest.approx(
        _expected("<think>t</think><answer>joy, fear, awe</answer>", "joy, fear, awe", "ranking")
    )
    assert out[2]["overall"] < out[0]["overall"]


def test_easyr1_kwargs_select_a_spec():
    inputs = [{"response": GOOD_JOY, "response_length": 3, "ground_truth": "joy"}]
    (out,) = easyr1.compute_score(inputs, spec="format_only")
    assert {k: v for k, v in out.items() if k not in FLAGS} == {
        "overall": 1.0,
        "format_reward": 1.0,
    }
    as_json = RewardSpec([RewardTerm("format", 2.0)]).to_json()
    assert easyr1.compute_score(inputs, spec=as_json)[0]["overall"] == 2.0
    with pytest.raises(TypeError, match="wrap it in a list"):
        easyr1.compute_score(inputs[0])


# -- ms-swift ------------------------------------------------------------------------------
def test_swift_orm_call_shape():
    orm = swift.EEmoORM()
    completions = [GOOD_JOY, GOOD_FEAR, MALFORMED, "<think>t</think><answer>A</answer>"]
    out = orm(
        completions,
        solution=["joy", "joy", "joy", "B"],
        task=["emotion", "emotion", "emotion", "multiple_choice"],
        options=[None, None, None, ["calm", "joy"]],
        messages=[[{"role": "user", "content": "?"}]] * 4,
    )
    assert len(out) == 4 and all(isinstance(v, float) for v in out)
    assert out[0] > out[1] >= out[2]
    assert out[3] == pytest.approx(
        _expected(completions[3], "B", "multiple_choice", ["calm", "joy"])
    )


def test_swift_non_applicable_task_scores_fallback():
    orm = swift.EEmoORM(RewardSpec([RewardTerm("accuracy", tasks=["emotion"])]), fallback=-1.0)
    assert orm([GOOD_JOY, GOOD_JOY], solution=["joy", "x"], task=["emotion", "ranking"])[1] == -1.0


def test_swift_register_into_a_given_registry_and_without_swift():
    registry: dict = {}
    cls = swift.register("eemo", orms=registry)
    assert registry["eemo"] is cls is swift.EEmoORM
    logic = swift.register("eemo_logic", spec="format_only", orms=registry)
    assert logic().spec == "format_only"
    assert logic()([GOOD_JOY], solution=["joy"]) == [1.0]
    if importlib.util.find_spec("swift") is None:
        with pytest.raises(ImportError, match="ms-swift is not installed"):
            swift.register("eemo")


# -- spec forms, reward kwargs, args=, the tag-loss warning ---------------------------------
def test_coerce_reads_every_form_a_config_carries(tmp_path):
    from eemo_rewards.spec import default_spec, preset

    resolve_spec = RewardSpec.coerce
    spec = RewardSpec([RewardTerm("format", 2.0)])
    assert resolve_spec(None) == default_spec() and resolve_spec(spec) is spec
    assert resolve_spec(" soft ") == preset("soft")
    assert resolve_spec(spec.to_json()) == spec
    assert resolve_spec(spec.to_dict()) == spec
    (tmp_path / "s.json").write_text(spec.to_json())
    assert resolve_spec(str(tmp_path / "s.json")) == spec
    assert resolve_spec(tmp_path / "s.json") == spec
    pytest.importorskip("yaml")
    (tmp_path / "s.yaml").write_text(spec.to_yaml())
    assert resolve_spec(str(tmp_path / "s.yaml")) == spec
    with pytest.raises(ValueError, match="preset name"):
        resolve_spec("sotf")
    with pytest.raises(FileNotFoundError, match="full path"):
        resolve_spec("missing.json")
    with pytest.raises(ValueError, match="not valid JSON"):
        resolve_spec("{terms: [")
    with pytest.raises(TypeError, match="preset name"):
        resolve_spec(3)
    # a Mapping that is not a dict (Hydra's DictConfig is one) with list-likes inside
    from types import MappingProxyType

    nested = MappingProxyType({"terms": ({"name": "format", "weight": 2.0},)})
    assert composite_for(nested).score(GOOD_JOY) == 2.0


def test_verl_reward_kwargs_choose_the_spec_and_reject_unknown_keys():
    soft = composite_for("soft")
    label = {"task": "emotion"}
    out = verl.compute_score("x", GOOD_FEAR, "joy", label, spec="soft")
    assert out["score"] == pytest.approx(soft.score(GOOD_FEAR, "joy", task="emotion"))
    assert out["score"] != pytest.approx(verl.compute_score("x", GOOD_FEAR, "joy", label)["score"])
    inline = '{"terms": [{"name": "format", "weight": 4.0}]}'
    assert verl.compute_score("x", GOOD_JOY, "joy", spec=inline)["score"] == 4.0
    malformed = verl.compute_score("x", MALFORMED, "joy", spec="format_only", fallback=-1.0)
    assert (malformed["score"], malformed["format_reward"]) == (0.0, 0.0)
    # verl's own extra call arguments are not ours to read
    verl.compute_score("x", GOOD_JOY, "joy", spec="format_only", reward_router_address=None)
    with pytest.raises(TypeError, match=r"unknown reward_kwargs \['sepc'\]"):
        verl.compute_score("x", GOOD_JOY, "joy", sepc="soft")


def test_swift_orm_is_built_with_args_and_leaves_not_applicable_to_nansum():
    args = object()
    orm = swift.EEmoORM(args=args)
    assert orm.args is args and orm.spec is None
    emotion_only = RewardSpec([RewardTerm("accuracy", tasks=["emotion"])])
    cls = swift.register("only", spec=emotion_only, orms={})
    out = cls(args=args)([GOOD_JOY, GOOD_JOY], solution=["joy", "x"], task=["emotion", "ranking"])
    assert out == [1.0, None]
    with_number = swift.register("only0", spec=emotion_only, fallback=0.0, orms={})
    assert with_number(args=args)([GOOD_JOY], solution=["x"], task=["ranking"]) == [0.0]


def test_tag_watch_warns_once_for_a_tagless_batch_or_a_long_run():
    from eemo_rewards.adapters import TagsMissingWarning, TagWatch

    watch = TagWatch("test", min_batch=4, streak=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not watch.observe(["joy", GOOD_JOY, "joy", "joy"])  # one tagged: no warning
        assert not watch.observe(["joy"] * 3)  # too small a batch, run of 5
    with pytest.warns(TagsMissingWarning, match="none of the last 6 completions"):
        assert watch.observe(["joy"])  # the run reaches 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not watch.observe(["joy"] * 10)  # once per watch
    fresh = TagWatch("test")
    with pytest.warns(TagsMissingWarning, match="skip_special_tokens=True"):
        assert fresh.observe(["warm light, smiling facesjoy"] * 4)
    # look-alike spellings and message lists count as tags
    assert not TagWatch("t", min_batch=1).observe(["< answer >joy</answer >"])
    assert not TagWatch("t", min_batch=1).observe([[{"role": "assistant", "content": GOOD_JOY}]])


def test_swift_and_easyr1_watch_their_batches():
    from eemo_rewards.adapters import TagsMissingWarning

    orm = swift.EEmoORM()
    with pytest.warns(TagsMissingWarning, match="ms-swift"):
        orm(["joy"] * 4, solution=["joy"] * 4, task=["emotion"] * 4)
    easyr1._watch.warned = False
    inputs = [{"response": "joy", "response_length": 1, "ground_truth": "joy"}] * 4
    with pytest.warns(TagsMissingWarning, match="skip_special_tokens=false"):
        easyr1.compute_score(inputs, spec="format_only")


def test_special_tag_tokens_lists_the_tags_a_tokenizer_makes_special():
    from eemo_rewards.adapters import special_tag_tokens

    class Tok:
        all_special_tokens = ("<|im_end|>", "<answer>", "</answer>")

    assert special_tag_tokens(Tok()) == ["<answer>", "</answer>"]

    class Processor:
        tokenizer = Tok()

    assert special_tag_tokens(Processor()) == ["<answer>", "</answer>"]
    assert special_tag_tokens(object()) == []


def test_easyr1_strips_the_end_token_a_special_tokens_decoding_leaves():
    from eemo_rewards.adapters import strip_end_tokens

    assert strip_end_tokens(GOOD_JOY + "<|im_end|>\n<|endoftext|>") == GOOD_JOY
    assert strip_end_tokens(GOOD_JOY + "<｜end▁of▁sentence｜>") == GOOD_JOY
    assert strip_end_tokens(GOOD_JOY + " trailing") == GOOD_JOY + " trailing"
    assert strip_end_tokens(None) is None
    inputs = [{"response": GOOD_JOY + "<|im_end|>", "response_length": 9, "ground_truth": "joy"}]
    assert easyr1.compute_score(inputs, spec="format_only")[0]["overall"] == 1.0


def test_easyr1_rejects_a_misspelt_kwarg():
    inputs = [{"response": GOOD_JOY, "response_length": 3, "ground_truth": "joy"}]
    with pytest.raises(TypeError, match=r"unknown reward_function_kwargs \['sepc'\]"):
        easyr1.compute_score(inputs, sepc="soft")


def test_a_pickled_tag_watch_keeps_its_settings_and_counts_afresh():
    from eemo_rewards.adapters import TagWatch

    watch = TagWatch("verl", min_batch=2, streak=5, fix="do X")
    watch.observe(["no tags"] * 3)
    assert watch.warned and watch.run == 3
    again = pickle.loads(pickle.dumps(watch))
    assert (again.trainer, again.min_batch, again.streak, again.fix) == ("verl", 2, 5, "do X")
    assert not again.warned and again.run == 0
