"""Context (issue 46): names and words to expect, told to the decoder in its instruction (docs/context.md).

One function builds the instruction for inference and training (`context_words.with_context`, through
`ASRConfig.instruction`); no context leaves it, and so every transcript, as it was. The pipeline, the command lines,
the evaluation and the training prompts take the same values and refuse the same ones."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tiny_backbones
import torch
import yaml

from tiny_audio.cli import main
from tiny_audio.model.configuration_asr import DEFAULT_PROMPTS, ASRConfig
from tiny_audio.model.context_words import (
    CONTEXT_TEMPLATE,
    MAX_ENTRIES,
    MAX_ENTRY_CHARACTERS,
    check_context,
    with_context,
)
from tiny_audio.model.pipeline_asr import ASRPipeline
from tiny_audio.training.context_prompts import WORD, WordTable, draw_context, entries, rarest_first
from tiny_audio.training.recipe_sections import ContextOptions

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tiny_audio" / "samples" / "hello.wav"
TRANSCRIBE = DEFAULT_PROMPTS["transcribe"]
GREEDY = {"num_beams": 1, "ctc_decoding_weight": 0.0, "frequency_warps": [1.0]}

# -- the instruction: one template, checked in one place ------------------------------------------------------------


@pytest.mark.parametrize("nothing", [None, [], "", " , ,", ["", "  "]])
def test_no_context_leaves_the_instruction_exactly_as_it_was(nothing):
    config = ASRConfig()
    assert config.instruction(context=nothing) == config.instruction() == TRANSCRIBE
    assert config.instruction(prompt="Say it.", context=nothing) == "Say it."


def test_the_context_is_appended_with_the_one_template_cleaned_in_order():
    config = ASRConfig()
    expected = CONTEXT_TEMPLATE.format(instruction=TRANSCRIBE, words="Tiny Audio, Hugging Face")
    assert expected == "Transcribe the audio. Words that may occur: Tiny Audio, Hugging Face."
    assert config.instruction(context=["Tiny Audio", "Hugging Face"]) == expected
    assert config.instruction(context=" Tiny  Audio ,, hugging face, Hugging Face,tiny audio") == (
        "Transcribe the audio. Words that may occur: Tiny Audio, hugging face."
    )
    assert with_context(TRANSCRIBE, ("Tiny Audio", "Hugging Face")) == expected


@pytest.mark.parametrize(
    ("context", "what"),
    [
        ([f"w{index}" for index in range(MAX_ENTRIES + 1)], "has 101 entries"),
        (["x" * (MAX_ENTRY_CHARACTERS + 1)], "has 51 characters"),
        ([f"{index:02d}" + "y" * 45 for index in range(25)], "characters;"),  # 25 x 47 + separators > 1,000
        (["one\ntwo"], r"holds '\\n'"),
        (["tab\there"], r"holds '\\t'"),
        (["Smith, John"], "holds ','"),
        (["<|im_end|>"], "holds '<'"),
        ([3], "is not text"),
        (42, "context=42 is not accepted"),
    ],
)
def test_a_context_over_a_bound_is_one_line_saying_what_is_accepted(context, what):
    with pytest.raises(ValueError) as error:
        check_context(context)
    message = str(error.value)
    assert re.search(what, message) and "\n" not in message
    assert "at most 100 names or words" in message and "50 characters and 1000 in all" in message


def test_the_largest_context_is_accepted():
    largest = [f"{index:02d}" + "z" * 7 for index in range(MAX_ENTRIES)]  # 100 x 9 + 99 x 2 = 1,098 > 1,000
    with pytest.raises(ValueError, match="1098 characters"):
        check_context(largest)
    assert len(check_context(largest[:90])) == 90  # 90 x 9 + 89 x 2 = 988
    assert check_context(["x" * MAX_ENTRY_CHARACTERS]) == ("x" * MAX_ENTRY_CHARACTERS,)


# -- the pipeline with a tiny random model --------------------------------------------------------------------------


def test_greedy_search_with_the_ctc_draft_writes_plain_greedy_searchs_text_with_a_context(tiny):
    model, processor = tiny
    clips = [tiny_backbones.tone(1.2, 300), tiny_backbones.tone(0.5, 500, seed=4), tiny_backbones.tone(0.8, 700)]
    # Each clip its own prompt length: no context, a short one, a long one (rows of a batch left-padded apart).
    instructions = [
        model.config.instruction(),
        model.config.instruction(context="Tiny Audio"),
        model.config.instruction(context=[f"name{index}" for index in range(30)]),
    ]
    batch = processor(audio=clips, instruction=instructions)
    assert len({int(row.sum()) for row in batch["attention_mask"]}) == 3
    plain = model.generate(**batch, **GREEDY, max_new_tokens=12, ctc_draft=False)
    assert torch.equal(model.generate(**batch, **GREEDY, max_new_tokens=12, ctc_draft=True), plain)


@pytest.fixture()
def instructions_seen(monkeypatch):
    """Every instruction the processor is called with, in order."""
    from tiny_audio.model.processing_asr import ASRProcessor

    seen: list = []
    original = ASRProcessor.__call__

    def recording(self, *args, **kwargs):
        seen.append(kwargs["instruction"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ASRProcessor, "__call__", recording)
    return seen


def test_the_pipeline_takes_a_context_as_an_argument_or_in_generate_kwargs(tiny, instructions_seen):
    model, processor = tiny
    asr = ASRPipeline(model=model, processor=processor)
    clip = tiny_backbones.tone(0.8, 400)
    texts = [
        asr(clip, context=["Tiny Audio", "Hugging Face"])["text"],
        asr(clip, context="Tiny Audio, Hugging Face")["text"],
        asr(clip, generate_kwargs={"context": ["Tiny Audio", "Hugging Face"]})["text"],
    ]
    asr(clip)
    seen = instructions_seen
    expected = "Transcribe the audio. Words that may occur: Tiny Audio, Hugging Face."
    assert seen == [expected] * 3 + [TRANSCRIBE] and len(set(texts)) == 1
    with pytest.raises(ValueError, match="context is given twice"):
        asr(clip, context="a", generate_kwargs={"context": "b"})


def test_a_bad_context_fails_before_any_audio_is_read(tiny, tmp_path):
    asr = ASRPipeline(model=tiny[0], processor=tiny[1])
    with pytest.raises(ValueError, match="holds '<'"):
        asr(str(tmp_path / "no-such-file.wav"), context=["<audio>"])


def test_timestamps_still_time_a_transcript_told_a_context(tiny):
    asr = ASRPipeline(model=tiny[0], processor=tiny[1])
    clip = tiny_backbones.tone(1.0, 300)
    timed = asr(clip, context=["Tiny Audio"], return_timestamps="word", generate_kwargs=GREEDY)
    assert timed["text"] == asr(clip, context=["Tiny Audio"], generate_kwargs=GREEDY)["text"]
    assert "".join(chunk["text"] for chunk in timed["chunks"]) == timed["text"]
    with pytest.raises(ValueError, match="use task='transcribe'"):  # a free prompt is not a transcript, context or not
        asr(clip, prompt="Describe the audio.", context=["Tiny Audio"], return_timestamps=True)


def test_the_processors_prompt_cache_stays_bounded(tiny):
    from tiny_audio.model.processing_asr import PROMPT_CACHE_SIZE

    _, processor = tiny
    for index in range(PROMPT_CACHE_SIZE + 10):
        processor._prompt_ids(with_context(TRANSCRIBE, [f"word{index}"]), 3)
    assert len(processor._prompt_cache) == PROMPT_CACHE_SIZE


# -- the embedded model: no context changes nothing ------------------------------------------------------------------


@pytest.mark.slow
def test_the_embedded_models_transcript_is_unchanged_without_a_context():
    from tiny_audio.app.transcribe import load_pipeline

    asr = load_pipeline()
    greedy = {"generate_kwargs": {"num_beams": 1}}
    plain = asr(str(SAMPLE), **greedy)["text"]
    assert plain and "test" in plain.lower()
    for nothing in ([], ""):
        assert asr(str(SAMPLE), context=nothing, **greedy)["text"] == plain
    assert asr(str(SAMPLE), generate_kwargs={"num_beams": 1, "context": []})["text"] == plain
    assert isinstance(asr(str(SAMPLE), context=["Tiny Audio"], **greedy)["text"], str)  # untrained for it: any text


# -- the command lines -----------------------------------------------------------------------------------------------


def transcribe_parser_args(*arguments: str):
    import argparse

    from tiny_audio.app.transcribe import call_options
    from tiny_audio.cli import build_parser

    parser = build_parser(only="transcribe")
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return call_options(subparsers.choices["transcribe"].parse_args(["clip.wav", *arguments]))


def test_transcribe_takes_a_context_or_a_context_file(tmp_path):
    assert transcribe_parser_args("--context", " Tiny Audio, Hugging Face ,") == {
        "context": ["Tiny Audio", "Hugging Face"]
    }
    listed = tmp_path / "words.txt"
    listed.write_text("# names\nTiny Audio\n\n  Hugging Face  \n# the end\n", encoding="utf-8")
    assert transcribe_parser_args("--context-file", str(listed)) == {"context": ["Tiny Audio", "Hugging Face"]}
    assert transcribe_parser_args("--context", "") == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--context", "x" * 51], "has 51 characters"),
        (["--context-file", "MISSING"], "cannot read"),
        (["--context-file", "COMMA"], "holds ','"),
        (["--context", "a", "--context-file", "GOOD"], "not allowed with argument"),
    ],
)
def test_a_bad_context_exits_2_in_one_line_before_any_work(arguments, message, tmp_path, capsys):
    (tmp_path / "comma.txt").write_text("Smith, John\n", encoding="utf-8")
    (tmp_path / "good.txt").write_text("Smith\n", encoding="utf-8")
    names = {name.upper(): str(tmp_path / f"{name}.txt") for name in ("missing", "comma", "good")}
    arguments = [names.get(argument, argument) for argument in arguments]
    for command in (["transcribe", str(SAMPLE)], ["eval", "pocketsphinx", "--dataset", "dev-real"]):
        with pytest.raises(SystemExit) as exit_status:
            main([*command, *arguments])
        errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert exit_status.value.code == 2
        assert len(errors) == 1 and message in errors[0], errors


# -- the demo ---------------------------------------------------------------------------------------------------------


def test_the_demo_passes_its_context_box_to_the_pipeline(tmp_path):
    import soundfile

    from tiny_audio.app.demo import DemoModel

    calls = []
    demo = DemoModel.__new__(DemoModel)
    demo.tasks = ["transcribe"]
    demo.asr = lambda audio, **options: calls.append(options) or {"text": "hi"}
    clip = tmp_path / "clip.wav"
    soundfile.write(clip, tiny_backbones.tone(0.5), 16_000)
    demo.run(str(clip), "transcribe", "", context="Tiny Audio, Hugging Face")
    demo.run(str(clip), "transcribe", "", context="  ")
    assert calls == [{"task": "transcribe", "context": "Tiny Audio, Hugging Face"}, {"task": "transcribe"}]


# -- tiny-audio eval: a context for every clip, and each clip's own --------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tiny, tmp_path_factory):
    model, processor = tiny
    directory = tmp_path_factory.mktemp("context") / "model"
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def write_manifest(folder: Path, contexts: list) -> Path:
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, context in enumerate(contexts):
        soundfile.write(folder / f"{index}.wav", tiny_backbones.tone(0.6, 300 + 100 * index), 16_000)
        rows.append({"audio": f"{index}.wav", "text": "hello there", **({"context": context} if context else {})})
    path = folder / "clips.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_eval_tells_each_clip_the_context_and_records_it(tiny_model_dir, tmp_path, capsys):
    manifest = write_manifest(tmp_path / "data", [["Hugging Face"], None, "Tiny Audio, Alice", ["x<y"]])
    out = tmp_path / "out"
    code = main(
        ["eval", str(tiny_model_dir), "--dataset", str(manifest), "--output-dir", str(out), "--no-progress"]
        + ["--batch-size", "2", "--context", "Tiny Audio"]
    )
    printed = capsys.readouterr()
    assert code == 1  # the fourth clip's context holds a bracket: named, not scored, the others go on
    assert "FAILED sample 4" in printed.out and "holds '<'" in printed.out
    result = json.loads(next(out.glob("eval_*")).joinpath("results.json").read_text())
    assert result["context"] == ["Tiny Audio"]
    assert [row["context"] for row in result["rows"]] == [
        ["Tiny Audio", "Hugging Face"],
        ["Tiny Audio"],
        ["Tiny Audio", "Alice"],
    ]
    assert "Context: Tiny Audio for every clip; 3 of 3 clips given one" in printed.out
    assert "  Context: Tiny Audio, Hugging Face" in printed.out
    code = main(
        ["eval", str(tiny_model_dir), "--dataset", str(manifest), "--output-dir", str(tmp_path / "plain")]
        + ["--no-progress", "--no-clip-context"]
    )
    plain = json.loads(next((tmp_path / "plain").glob("eval_*")).joinpath("results.json").read_text())
    assert code == 0 and plain["context"] is None and all(row["context"] is None for row in plain["rows"])


def test_eval_refuses_a_context_for_a_system_that_takes_none(tmp_path):
    from tiny_audio.evaluation.datasets import resolve_dataset
    from tiny_audio.evaluation.loaders import EvalSample
    from tiny_audio.evaluation.runner import run_evaluation
    from tiny_audio.evaluation.systems import PocketsphinxSystem

    system = PocketsphinxSystem.__new__(PocketsphinxSystem)
    system.spec = type("Spec", (), {"label": "pocketsphinx"})()
    samples = [EvalSample("a", "hello", tiny_backbones.tone(0.5))]
    with pytest.raises(ValueError, match="takes no context; only tiny-audio models do"):
        run_evaluation(system, samples, resolve_dataset("dev-real"), progress=False, context=("Tiny Audio",))


# -- training prompts --------------------------------------------------------------------------------------------------

CORPUS = [
    "Elizabeth Bennet walked to Netherfield in the rain.",
    "Mr. Darcy said nothing at all to the company.",
    "The weather was fine and the party at Longbourn was merry.",
    "Jane wrote a letter to her sister from London.",
    "Captain Wentworth returned to Kellynch after eight years.",
    "Anne Elliot listened to the music without a word.",
    "The carriage stopped at the door of the parsonage.",
    "Catherine Morland read novels at Northanger Abbey.",
] * 3


def said_words(text: str) -> set[str]:
    return {word.casefold() for word in WORD.findall(text)}


def test_entries_are_names_and_uncommon_words_of_the_text():
    table = WordTable.from_texts(CORPUS)
    assert "the" in table.common
    found = entries('Then Elizabeth Bennet said: "I don\'t know, Mr. Darcy."', table.common | {"then"})
    assert "Elizabeth Bennet" in found and "Darcy" in found and "don't" in found  # a common word leaves a name
    assert not {"I", "Mr", "the"} & set(found)
    assert "Captain Wentworth" in table.pool and "Netherfield" in table.pool


def test_spoken_words_are_said_distractors_are_not_and_shares_hold_over_2000_draws():
    table = WordTable.from_texts(CORPUS)
    options = ContextOptions(share=0.6, distractor_only_share=0.3, max_words=2, max_distractors=3)
    given = distractors_only = 0
    for draw in range(2000):
        transcript = CORPUS[draw % 8]
        context = draw_context(transcript, table, options, seed=[7, draw])
        assert context == draw_context(transcript, table, options, seed=[7, draw])  # a pure function of its seed
        assert check_context(context) == context and len(context) <= 5
        if not context:
            continue
        given += 1
        said = said_words(transcript)
        spoken = [entry for entry in context if said_words(entry) <= said]
        others = [entry for entry in context if entry not in spoken]
        assert all(f" {entry.casefold()} " in f" {' '.join(WORD.findall(transcript)).casefold()} " for entry in spoken)
        assert all(not said_words(entry) & said for entry in others), (transcript, context)  # not a word of the clip
        assert len(spoken) <= 2 and len(others) <= 3
        distractors_only += not spoken
    assert given == pytest.approx(0.6 * 2000, rel=0.08)
    assert distractors_only == pytest.approx(0.3 * given, rel=0.15)


def test_the_rarest_spoken_words_come_first():
    texts = ["alpha beta gamma"] + ["beta gamma"] * 4 + ["gamma"] * 9
    table = WordTable.from_texts(texts)
    assert (table.counts["alpha"], table.counts["beta"], table.counts["gamma"]) == (1, 5, 14)
    assert rarest_first(["gamma", "beta", "alpha", "never"], table.counts) == ["never", "alpha", "beta", "gamma"]
    # Ties: a capitalised word (a name) first, then the longer.
    assert rarest_first(["omega", "epsilon", "Delta"], table.counts) == ["Delta", "epsilon", "omega"]
    options = ContextOptions(share=1.0, distractor_only_share=0.0, max_words=2, max_distractors=0)
    picked = Counter(frozenset(draw_context("alpha beta gamma", table, options, [draw])) for draw in range(200))
    assert set(picked) == {frozenset({"alpha"}), frozenset({"alpha", "beta"})}


def test_no_share_draws_no_context_and_bad_settings_are_named():
    table = WordTable.from_texts(CORPUS)
    assert all(draw_context(CORPUS[0], table, ContextOptions(), [draw]) == () for draw in range(100))
    with pytest.raises(ValueError, match=r"context.share=1.5 is not accepted; give a share from 0 to 1"):
        ContextOptions(share=1.5)
    with pytest.raises(ValueError, match="distractor_only_share > 0 needs context.max_distractors"):
        ContextOptions(share=0.5, max_distractors=0)
    with pytest.raises(ValueError, match="a context holds at most 100 entries"):
        ContextOptions(max_words=60, max_distractors=60)


def test_the_memory_estimate_counts_the_longest_context():
    from tiny_audio.training.context_prompts import longest_context_tokens

    assert longest_context_tokens(ContextOptions()) == 0  # off: the prompt of every recipe until now
    tokens = longest_context_tokens(ContextOptions(share=0.5, max_words=3, max_distractors=5))
    assert tokens == -(-8 * 52 // 3) + 8  # 8 entries of at most 50 characters and a separator, 3 per token
    assert longest_context_tokens(ContextOptions(share=0.5, max_words=50, max_distractors=50)) == -(-1000 // 3) + 8


def test_recipes_take_a_context_section_checked_like_the_others(tmp_path):
    from tiny_audio.training.recipe import load_recipe
    from tiny_audio.training.recipe_schema import RecipeError

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"context": {"share": 0.5}}))
    assert load_recipe(recipe)["context"] == {"share": 0.5}
    with pytest.raises(RecipeError, match="context.shares is not a recipe key.*did you mean context.share"):
        load_recipe(recipe, ["context.shares=0.2"])
    with pytest.raises(RecipeError, match=r"context.share=2 is not accepted.*give a share from 0 to 1"):
        load_recipe(recipe, ["context.share=2"])


def test_the_collator_builds_each_prompt_with_the_models_function_and_replays_it(backbone_paths, instructions_seen):
    from tiny_audio.training.collator import ASRCollator
    from tiny_audio.training.context_prompts import ContextPrompts

    _, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    prompts = ContextPrompts.from_texts(ContextOptions(share=0.5), CORPUS)
    rows = [{"audio": {"bytes": wav_bytes(0.5), "path": f"{index}.wav"}, "text": CORPUS[index]} for index in range(8)]
    first = ASRCollator(processor, TRANSCRIBE, seed=3, context=prompts)
    batch = first(rows)
    first(rows)  # the next batch of the epoch
    ASRCollator(processor, TRANSCRIBE, seed=3, context=prompts)(rows)  # a resumed run's first batch
    one, two, replayed = instructions_seen
    assert replayed == one != two  # each batch draws anew; the same (seed, batch) draws the same
    prefix = TRANSCRIBE + " Words that may occur: "
    told = [instruction.removeprefix(prefix).removesuffix(".").split(", ") for instruction in one]
    assert 0 < sum(instruction != TRANSCRIBE for instruction in one) < 8
    for instruction, words in zip(one, told, strict=True):
        context = words if instruction != TRANSCRIBE else None
        assert instruction == ASRConfig().instruction(context=context)  # the inference instruction
    assert batch["input_ids"].shape[0] == 8 and first.draws_randomness
    plain = ASRCollator(processor, TRANSCRIBE, seed=3)
    plain(rows)
    assert instructions_seen[-1] == [TRANSCRIBE] * 8 and not plain.draws_randomness


def wav_bytes(seconds: float) -> bytes:
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, tiny_backbones.tone(seconds), 16_000, format="WAV")
    return buffer.getvalue()


def test_a_tiny_training_run_with_context_completes(tmp_path, backbone_paths):
    from test_training import run_train, tiny_recipe

    recipe = tiny_recipe(tmp_path, backbone_paths, max_steps=3, eval_strategy="no", save_strategy="no")
    process = run_train(recipe, "context.share=0.5", "context.max_distractors=2", "data.eval=null")
    log = process.communicate(timeout=600)[0]
    assert process.returncode == 0, log[-3000:]
    summary = json.loads((tmp_path / "run" / "model" / "training_summary.json").read_text())
    assert summary["global_step"] == 3 and summary["recipe"]["context"]["share"] == 0.5
    assert np.isfinite(summary["train_loss"])


def test_the_cli_transcribes_with_a_context_offline(tiny_model_dir, tmp_path):
    clip = tmp_path / "clip.wav"
    import soundfile

    soundfile.write(clip, tiny_backbones.tone(0.6), 16_000)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "tiny_audio.cli", "transcribe", str(clip), "--model", str(tiny_model_dir)]
    result = subprocess.run([*command, "--context", "Tiny Audio"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
