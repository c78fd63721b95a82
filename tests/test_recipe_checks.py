"""Recipes refuse what no code takes: an unknown key names the nearest valid one, a wrongly typed value says what is
accepted, a missing corpus says what to build; `tiny-audio train` prints one line and exits 2, before any model loads.
A finished run's last evaluation is not run twice, and its closing line tells its time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tiny_audio.cli import main
from tiny_audio.training.recipe import load_recipe
from tiny_audio.training.recipe_schema import RecipeError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "configs" / "default.yaml"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.projecter_type=swiglu", "model.projecter_type is not a recipe key .*model.projector_type"),
        ("training.learnin_rate=1e-3", "did you mean training.learning_rate?"),  # a TrainingArguments field
        ("training.ctc_weigth=0.5", "did you mean training.ctc_weight?"),  # one of tiny-audio's training keys
        ("data.max_secnds=10", "did you mean data.max_seconds?"),
        ("augmentation.speed_probablity=0.2", "did you mean augmentation.speed_probability?"),
        ("model.decoder_lora.rr=8", "did you mean model.decoder_lora.r?"),
        ("model.generation.num_beam=2", "did you mean model.generation.num_beams?"),
        ("data.train=[{corpuss: data/synth}]", r"data.train\[0\].corpuss .*did you mean data.train\[0\].corpus?"),
        ("data.eval.hub={pth: org/name}", "did you mean data.eval.hub.path?"),
    ],
)
def test_a_typo_names_the_nearest_valid_key(override, message):
    with pytest.raises(RecipeError, match=message) as raised:
        load_recipe(DEFAULT, [override])
    assert f"(override {override})" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.max_steps=ten", "training.max_steps='ten' is not accepted .*give a whole number"),
        ("training.eval_strategy=step", "give one of no, steps, epoch"),  # TrainingArguments' enum, as text
        ("training.encoder_cache=yes", "give true or false"),
        ("data.nonspeech_fraction=lots", "give a number"),
        ("data.train={corpus: data/synth}", "give a list of mappings"),
        ("model.projector_stack=4.5", "give a whole number"),
        ("model.generation.num_beams=0", "num_beams=0 is not accepted; give a whole number from 1 to"),
    ],
)
def test_a_wrongly_typed_value_says_what_is_accepted(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(DEFAULT, [override])


def test_a_typo_in_the_recipe_file_names_the_file(tmp_path):
    recipe = yaml.safe_load(DEFAULT.read_text())
    recipe["training"]["per_device_train_batchsize"] = 4
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError, match=f"in {path}.*did you mean training.per_device_train_batch_size"):
        load_recipe(path)


def test_every_valid_key_of_the_code_is_accepted():
    """The valid keys are the code's own (dataclass fields, signatures): each one loads without an error."""
    import dataclasses

    from transformers import TrainingArguments

    from tiny_audio.training.recipe_sections import OwnTrainingOptions

    recipe = load_recipe(DEFAULT, ["training.torch_empty_cache_steps=10", "model.generation.top_k=5"])
    assert recipe["training"]["torch_empty_cache_steps"] == 10
    for field in (*dataclasses.fields(TrainingArguments), *dataclasses.fields(OwnTrainingOptions)):
        if field.init and field.name in recipe["training"]:
            load_recipe(DEFAULT, [f"training.{field.name}={yaml.safe_dump(recipe['training'][field.name]).strip()}"])


def run_cli(*argv: str, capsys) -> tuple[int, str]:
    code = main(["train", "--config", *argv])
    return code, capsys.readouterr().err


def test_train_prints_one_line_and_exits_2_for_a_typo(capsys):
    code, err = run_cli(str(DEFAULT), "model.projecter_type=swiglu", capsys=capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: model.projecter_type is not a recipe key (override model.projecter_type=swiglu); did you mean "
        "model.projector_type?"
    ]


def test_train_names_a_missing_corpus_and_what_builds_it(tmp_path, capsys):
    corpus = tmp_path / "synth"
    code, err = run_cli(str(DEFAULT), f"data.train=[{{corpus: {corpus}}}]", capsys=capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"data.train[0]: no 'train' shards under {corpus}" in err
    assert f"tiny-audio data synth --output {corpus}" in err


def test_python_train_py_shows_no_traceback():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "train.py"), "--config", str(DEFAULT), "training.max_steps=ten"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("give a whole number.")


def fake_trainer(eval_steps: list[int], global_step: int, dataset=("clip",)) -> SimpleNamespace:
    history = [{"loss": 1.0, "step": step} for step in range(1, global_step + 1)]
    history += [{"eval_wer": 0.5, "eval_loss": 2.0, "epoch": 1.0, "step": step} for step in eval_steps]
    trainer = SimpleNamespace(eval_dataset=list(dataset), state=SimpleNamespace(log_history=history))
    trainer.state.global_step = global_step
    trainer.evaluations = 0

    def evaluate():
        trainer.evaluations += 1
        return {"eval_wer": 0.25}

    trainer.evaluate = evaluate
    return trainer


def test_the_last_steps_evaluation_is_not_run_twice():
    from tiny_audio.training.trainer import final_evaluation

    evaluated_at_the_end = fake_trainer(eval_steps=[3, 6], global_step=6)
    assert final_evaluation(evaluated_at_the_end) == {"eval_wer": 0.5, "eval_loss": 2.0}
    assert evaluated_at_the_end.evaluations == 0
    evaluated_before = fake_trainer(eval_steps=[4], global_step=6)  # eval_steps does not divide max_steps
    assert final_evaluation(evaluated_before) == {"eval_wer": 0.25} and evaluated_before.evaluations == 1
    assert final_evaluation(fake_trainer([], 6, dataset=())) == {}


def test_a_finished_run_tells_its_time_and_wer(tmp_path):
    from tiny_audio.training.cli import closing_line

    summary = {
        "global_step": 60,
        "wall_seconds": 312.4,
        "wall_seconds_this_run": 200.0,
        "final_eval": {"eval_wer": 0.5},
    }
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    assert closing_line(tmp_path) == f"saved model: {tmp_path} (60 steps in 5 min 12 s, eval WER 50.0%)"


def test_the_quick_recipe_is_the_default_one_made_small():
    """configs/quick.yaml (docs/training.md, "A first run") keeps the default recipe's backbones and projector."""
    quick, default = load_recipe(ROOT / "configs" / "quick.yaml"), load_recipe(DEFAULT)
    for key in ("encoder_name_or_path", "decoder_name_or_path", "projector_type", "projector_stack"):
        assert quick["model"][key] == default["model"][key]
    assert quick["training"]["max_steps"] <= 100 and quick["training"]["eval_steps"] == quick["training"]["max_steps"]
