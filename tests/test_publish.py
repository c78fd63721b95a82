"""Publishing: push a trained model to a local Hub (tests/local_hub.py, a real HTTP server) and load it back the way
a stranger would, in a fresh process where tiny_audio cannot be imported.

The tiny backbones are uploaded to the server as test-org/tiny-hubert and test-org/tiny-qwen3, and the overfitted
model names them by those ids, so a process that knows nothing but HF_ENDPOINT gets everything from the server.
Every push runs as a subprocess (huggingface_hub reads HF_ENDPOINT at import), with a token that must never appear
in any output or stored file.
"""

from __future__ import annotations

import copy
import json
import runpy
import secrets
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile
from conftest import TARGETS
from local_hub import LocalHub
from transformers import TrainerState, pipeline

from tiny_audio.evaluation.results import EvalResult
from tiny_audio.publish.assemble import assemble_repo, find_checkpoint
from tiny_audio.publish.callback import HubRepoCallback
from tiny_audio.publish.model_card import front_matter
from tiny_audio.publish.redaction import REDACTED, drop_secrets
from tiny_audio.publish.verify import VerificationError, check_same_text

TOKEN = f"hf_{secrets.token_hex(16)}"  # what the server accepts; must leak nowhere
REPO = "user/tiny-audio"
BACKBONES = {"hubert": "test-org/tiny-hubert", "qwen3": "test-org/tiny-qwen3"}
EVAL_WER = 0.25
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("publish")


@pytest.fixture(scope="module")
def hub(work, backbone_paths):
    with LocalHub(work / "hub", token=TOKEN, max_seconds=600) as server:
        for kind, repo_id in BACKBONES.items():
            server.seed(repo_id, backbone_paths[kind])
        yield server


@pytest.fixture(scope="module")
def run_dir(trained_model, work) -> Path:
    """A finished run's output directory: model/ (backbones named by their ids on the local Hub) with a training
    summary whose recipe carries the token under training.hub_token, as a careless recipe might."""
    model, processor = trained_model
    published = copy.deepcopy(model)
    published.config.encoder_name_or_path = BACKBONES["hubert"]
    published.config.decoder_name_or_path = BACKBONES["qwen3"]
    model_dir = work / "run" / "model"
    published.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    recipe = {
        "model": {"encoder_name_or_path": BACKBONES["hubert"], "decoder_name_or_path": BACKBONES["qwen3"]},
        "data": {"train": [{"corpus": "data/synth", "split": "train", "weight": 1.0}], "max_seconds": 20.0},
        "training": {"output_dir": "runs/tiny", "max_steps": 150, "hub_token": TOKEN},
    }
    summary = {
        "recipe": recipe,
        "global_step": 150,
        "samples_seen": 300,
        "wall_seconds_this_run": 42.0,
        "train_loss": 0.5,
        "final_eval": {"eval_wer": 0.1, "eval_loss": 0.2},
    }
    (model_dir / "training_summary.json").write_text(json.dumps(summary))
    return work / "run"


@pytest.fixture(scope="module")
def results_dir(run_dir, work) -> Path:
    """What `tiny-audio eval` would have written for this model and for a baseline on the same data."""
    for model, system, wer in (
        (str(run_dir / "model"), "tiny-audio", EVAL_WER),
        ("openai/whisper-tiny.en", "whisper", 0.07),
    ):
        counts = dict(samples=10, skipped=0, substitutions=2, deletions=0, insertions=0, hits=6, reference_words=8)
        timing = dict(audio_seconds=30.0, timed_audio_seconds=27.0, timed_wall_seconds=1.35, avg_time_per_sample=0.1)
        where = dict(dataset="dev-real", dataset_id="dev-real", config=None, split=None)
        result = EvalResult(
            model=model,
            system=system,
            wer=wer,
            rtfx=20.0,
            date="2026-01-01T00:00:00+00:00",
            commit=None,
            **where,
            **counts,
            **timing,
        )
        result.write(work / "outputs" / f"eval_dev-real_{system}")
    return work / "outputs"


@pytest.fixture(scope="module")
def clip_file(training_clips, work) -> Path:
    path = work / "clip.wav"
    soundfile.write(path, training_clips[0], 16_000)
    return path


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """stdout and stderr of every process these tests start (scanned for the token at the end)."""
    return []


def run_push(hub, work, outputs, *arguments, token=TOKEN) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": token,
        "HF_HOME": str(work / "hf_home_push"),
        "TMPDIR": str(work / "tmp"),  # the verify step's scratch cache lands here, and must be gone afterwards
    }
    (work / "tmp").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "tiny_audio.publish.cli", *map(str, arguments)]
    process = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    outputs += [process.stdout, process.stderr]
    return process


@pytest.fixture(scope="module")
def first_push(hub, work, outputs, run_dir, results_dir, clip_file):
    folder = work / "pushed"
    process = run_push(
        hub, work, outputs, run_dir, REPO, "--results", results_dir, "--folder", folder, "--verify-audio", clip_file
    )
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    return SimpleNamespace(process=process, folder=folder, commits=hub.commits(REPO))


@pytest.fixture(scope="module")
def second_push(first_push, hub, work, outputs, run_dir, results_dir):
    seen = len(hub.requests)
    process = run_push(hub, work, outputs, run_dir, REPO, "--results", results_dir, "--folder", work / "pushed")
    assert process.returncode == 0, process.stderr[-3000:]
    return SimpleNamespace(process=process, requests=list(hub.requests)[seen:], commits=hub.commits(REPO))


@pytest.fixture(scope="module")
def dry_run(hub, work, outputs, run_dir):
    seen = len(hub.requests)
    folder = work / "dry-run"
    process = run_push(
        hub, work, outputs, run_dir, "user/tiny-audio-full", "--dry-run", "--self-contained", "--folder", folder
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return SimpleNamespace(process=process, folder=folder, requests=list(hub.requests)[seen:])


FRESH_PROCESS = """
import json, sys
sys.modules["tiny_audio"] = None  # importing tiny_audio now fails: only the repository's code can run
from transformers import pipeline
asr = pipeline(model=sys.argv[1], trust_remote_code=True)
print(json.dumps({"text": asr(sys.argv[2])["text"], "pipeline": type(asr).__name__}))
"""


def test_pushed_model_loads_from_the_hub_in_a_fresh_process_and_says_the_same(
    first_push, hub, work, clip_file, trained_model
):
    model, processor = trained_model
    before = processor.batch_decode(model.generate(**processor(audio=[soundfile.read(clip_file, dtype="float32")[0]])))
    assert before == [TARGETS[0]]
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(work / "hf_home_fresh"), "HF_TOKEN": TOKEN}
    process = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, REPO, str(clip_file)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    answer = json.loads(process.stdout.strip().splitlines()[-1])
    assert answer == {"text": before[0], "pipeline": "ASRPipeline"}
    # --verify did the same comparison itself, against the local model
    assert f"both say {TARGETS[0]!r}" in first_push.process.stdout


def test_push_uploads_the_repository_layout_with_trained_weights_only(first_push, hub, trained_model):
    stored = first_push.commits[0]["files"]
    assert sorted(stored) == sorted(p.name for p in first_push.folder.iterdir())
    expected = {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"}
    expected |= {"modeling_asr.py", "pipeline_asr.py", "processing_asr.py", "README.md", ".gitattributes"}
    assert expected <= set(stored)
    assert not any(name.endswith((".bin", ".pt", ".pkl")) or name == "trainer_state.json" for name in stored)
    config = json.loads((first_push.folder / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_asr.ASRModel"
    assert config["custom_pipelines"]["automatic-speech-recognition"]["impl"] == "pipeline_asr.ASRPipeline"
    assert (config["encoder_name_or_path"], config["decoder_name_or_path"]) == tuple(BACKBONES.values())
    trained_params = sum(t.numel() for t in trained_model[0].trained_state_dict().values())
    assert (first_push.folder / "model.safetensors").stat().st_size < 4 * trained_params + 64 * 1024


def test_second_push_of_the_same_checkpoint_uploads_nothing(first_push, second_push):
    assert second_push.commits == first_push.commits  # no new commit
    assert not [path for method, path in second_push.requests if method == "POST" and "/preupload/" in path]
    assert not [path for method, path in second_push.requests if method == "POST" and "/commit/" in path]
    assert "nothing to upload, no commit made" in second_push.process.stdout


def test_model_card_has_hub_metadata_results_usage_training_and_limitations(first_push):
    card = (first_push.folder / "README.md").read_text()
    metadata = front_matter(card)
    assert metadata["pipeline_tag"] == "automatic-speech-recognition"
    assert metadata["library_name"] == "transformers"
    assert metadata["base_model"] == list(BACKBONES.values())
    assert metadata["license"] == "mit" and "tiny-audio" in metadata["tags"]
    [entry] = metadata["model-index"]
    [result] = entry["results"]
    assert result["task"]["type"] == "automatic-speech-recognition"
    assert result["dataset"]["name"] == "dev-real"
    assert result["metrics"] == [{"type": "wer", "value": 100 * EVAL_WER, "name": "WER (%)"}]
    assert f'pipeline("automatic-speech-recognition", model="{REPO}", trust_remote_code=True)' in card
    assert "| dev-real | **this model** | 25.00% |" in card and "openai/whisper-tiny.en | 7.00%" in card
    for fact in ("Optimizer steps: 150", "Training samples seen: 300", "Wall time: 42 s", "corpus `data/synth`"):
        assert fact in card
    assert "## Limitations" in card and "Synthetic training speech" in card
    summary = json.loads((first_push.folder / "training_summary.json").read_text())
    assert summary["recipe"]["training"]["hub_token"] == REDACTED


def test_dry_run_self_contained_writes_every_weight_and_uploads_nothing(dry_run, work, training_clips):
    assert f"nothing uploaded; the repository is in {dry_run.folder}" in dry_run.process.stdout
    assert not [path for _, path in dry_run.requests if "tiny-audio-full" in path]
    assert not (work / "hub" / "user" / "tiny-audio-full").exists()
    config = json.loads((dry_run.folder / "config.json").read_text())
    assert config["encoder_config"]["model_type"] == "hubert" and config["decoder_config"]["model_type"] == "qwen3"
    assert "self-contained" in (dry_run.folder / "README.md").read_text()
    # loads with no backbone repository reachable at all (this process is offline)
    asr = pipeline(model=str(dry_run.folder), trust_remote_code=True)
    assert asr(training_clips[0]) == {"text": TARGETS[0]}


def test_a_rejected_token_fails_with_a_message_that_does_not_show_it(hub, work, outputs, run_dir):
    wrong = f"hf_{secrets.token_hex(16)}"
    process = run_push(hub, work, outputs, run_dir, "user/other", "--folder", work / "other", token=wrong)
    assert process.returncode == 1
    assert "401" in process.stderr and "Invalid credentials" in process.stderr
    assert wrong not in process.stdout + process.stderr


def test_the_token_appears_in_no_output_and_no_file(first_push, second_push, dry_run, outputs, work, run_dir):
    assert TOKEN in (run_dir / "model" / "training_summary.json").read_text()  # the checkpoint did carry it
    assert len(outputs) >= 6 and all(TOKEN not in text for text in outputs)
    for place in ("pushed", "dry-run", "hub", "hf_home_push", "hf_home_fresh", "tmp"):
        for path in (work / place).rglob("*"):
            assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path
    assert not list((work / "tmp").glob("tiny-audio-verify-*"))  # verify's scratch Hugging Face cache was removed


# -- the parts, without a server -----------------------------------------------------------------------------


def test_find_checkpoint_accepts_model_run_and_trainer_checkpoint_directories(run_dir, tmp_path):
    assert find_checkpoint(run_dir).model_dir == run_dir / "model"
    assert find_checkpoint(run_dir / "model").kind == "model"
    trainer_checkpoint = tmp_path / "run" / "checkpoint-7"
    trainer_checkpoint.parent.mkdir()
    trainer_checkpoint.symlink_to(run_dir / "model", target_is_directory=True)
    with pytest.raises(FileNotFoundError, match="newest checkpoint is .*checkpoint-7"):
        find_checkpoint(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="No checkpoint directory"):
        find_checkpoint(tmp_path / "missing")


def test_trainer_checkpoint_state_is_not_published(run_dir, tmp_path):
    checkpoint = tmp_path / "checkpoint-150"
    checkpoint.mkdir()
    for source in (run_dir / "model").iterdir():
        if source.name != "training_summary.json":
            (checkpoint / source.name).write_bytes(source.read_bytes())
    state = {"global_step": 150, "epoch": 3.0, "log_history": [{"eval_wer": 0.2, "eval_loss": 0.3, "step": 150}]}
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin"):
        (checkpoint / name).write_bytes(b"pickled state")
    source = find_checkpoint(checkpoint)
    assert source.kind == "trainer checkpoint"
    repo = assemble_repo(source, tmp_path / "repo", REPO, log=lambda message: None)
    assert sorted(repo.not_published) == [
        "optimizer.pt",
        "rng_state.pth",
        "scheduler.pt",
        "trainer_state.json",
        "training_args.bin",
    ]
    assert not set(repo.not_published) & set(repo.files)
    assert "Optimizer steps: 150" in repo.card and "WER 20.00%" in repo.card


def test_backbones_named_by_local_path_need_self_contained(trained_model, tmp_path):
    model, processor = trained_model
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    with pytest.raises(ValueError, match="local path .* --self-contained"):
        assemble_repo(find_checkpoint(tmp_path / "model"), tmp_path / "repo", REPO, log=lambda message: None)


def test_verification_failure_shows_both_texts():
    with pytest.raises(VerificationError, match="(?s)differently.*local: 'hello'.*hub:   'hi there'"):
        check_same_text("hello", "hi there", REPO, "clip.wav")


def test_secret_looking_recipe_values_are_dropped_and_model_settings_kept():
    recipe = {"training": {"hub_token": "x", "wandb_api_key": "y"}, "model": {"audio_token": "<audio>"}}
    recipe["model"]["generation"] = {"max_new_tokens": 96}
    cleaned = drop_secrets(recipe)
    assert cleaned["training"] == {"hub_token": REDACTED, "wandb_api_key": REDACTED}
    assert cleaned["model"] == recipe["model"]


def test_trainer_push_callback_completes_the_remote_code_and_writes_the_card(run_dir, tmp_path):
    """transformers 5.23 Trainer._push_from_checkpoint copies only config, generation config and weights from
    checkpoint-N, and the processor adds its own modules: modeling_asr.py and pipeline_asr.py would be missing."""
    checkpoint = tmp_path / "out" / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    for source in (run_dir / "model").iterdir():
        (checkpoint / source.name).write_bytes(source.read_bytes())
    state = TrainerState(global_step=4, log_history=[{"eval_wer": 0.5, "eval_loss": 1.0, "step": 4}])
    args = SimpleNamespace(output_dir=str(tmp_path / "out"), hub_model_id=REPO)
    HubRepoCallback(recipe={"training": {"hub_token": TOKEN}}).on_push_begin(args, state, control=None)
    written = {path.name for path in (tmp_path / "out").iterdir() if path.is_file()}
    assert {"modeling_asr.py", "pipeline_asr.py", "README.md", ".gitattributes"} <= written
    card = (tmp_path / "out" / "README.md").read_text()
    assert front_matter(card)["pipeline_tag"] == "automatic-speech-recognition"
    assert "Optimizer steps: 4" in card and TOKEN not in card


def test_push_script_routes_to_the_push_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["push.py", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "push.py"), run_name="__main__")
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--self-contained" in help_text and "--dry-run" in help_text and "--verify" in help_text


def test_card_of_a_warm_started_run_describes_both_runs_and_the_ctcobjective():
    from tiny_audio.publish.training_record import TrainingRecord, objective, training_section

    earlier = {"global_step": 2800, "samples_seen": 22400, "wall_seconds_this_run": 3737.3, "recipe": {}}
    recipe = {"training": {"init_from": "runs/default/model", "ctc_weight": 1.0, "ctc_only_steps": 0}}
    summary = {"global_step": 800, "recipe": recipe, "warm_start": {"from": "runs/default/model", "summary": earlier}}
    section = training_section(TrainingRecord.from_summary(summary))
    assert "- Optimizer steps: 800" in section
    assert "earlier run (`runs/default/model`: 2,800 steps, 22,400 samples, 62.3 min" in section
    assert "CTC loss (weight 1.0)" in objective(recipe) and "first" not in objective(recipe)
    assert "All 2 runs" not in section  # this run's samples and time are unknown: no total
    # A chain of three runs: each earlier run is named, then the cost of all of them together.
    middle = {**summary, "samples_seen": 6400, "wall_seconds_this_run": 2868.0}
    newest = {"global_step": 2200, "samples_seen": 17600, "wall_seconds_this_run": 6000.0, "recipe": recipe}
    newest["warm_start"] = {"from": "tiny_audio/default_model", "summary": middle}
    section = training_section(TrainingRecord.from_summary(newest))
    assert "Started from the trained weights of an earlier run (`tiny_audio/default_model`: 800 steps" in section
    assert "That run started from an earlier run (`runs/default/model`: 2,800 steps" in section
    assert "All 3 runs together: 5,800 steps, 46,400 samples, 3.5 h" in section
    assert "(of a resumed run" not in section  # none of the three was resumed
    # A resumed run reports all its attempts' time; one from before attempts were summed says it timed the last.
    summed = {**newest, "resumed_from": "runs/x/checkpoint-750", "wall_seconds": 7000.0}
    section = training_section(TrainingRecord.from_summary(summed))
    assert "- Wall time: 116.7 min (all attempts; resumed from checkpoint-750)" in section
    assert "All 3 runs together: 5,800 steps, 46,400 samples, 3.8 h\n" in section + "\n"
    section = training_section(TrainingRecord.from_summary({**summed, "wall_seconds": None}))
    assert "- Wall time: 100.0 min (the attempt that finished it; resumed from checkpoint-750)" in section
    assert "3.5 h (of a resumed run from before attempts were summed, only the last is timed)" in section
    warm_up = {"training": {"ctc_weight": 1, "ctc_only_steps": 2000}}
    assert "The first 2,000 steps trained the projector" in objective(warm_up)
    assert "CTC" not in objective({"training": {}})


def test_card_names_each_training_source_as_training_read_it():
    """The card reads the recipe the run saved, through the parser training used (Hub names resolved there)."""
    from tiny_audio.publish.training_record import TrainingRecord, data_limitation, training_datasets, training_section

    sources = [{"hub": "librispeech", "weight": 0.5}, {"hub": {"path": "org/speech", "name": "clean"}}]
    sources += [{"corpus": "data/synth", "split": "train"}, {"hub": "no-such-name"}]
    recipe = {"data": {"train": sources}}
    assert training_datasets(recipe) == ["openslr/librispeech_asr", "org/speech"]
    section = training_section(TrainingRecord(source="training_summary.json", recipe=recipe))
    expected = "hub `librispeech`, weight 0.5; hub `org/speech/clean`; corpus `data/synth`; {'hub': 'no-such-name'}"
    assert f"- Training data: {expected}\n" in section
    assert "Synthetic training speech" in data_limitation({"data": {"train": sources[2:3]}})
    assert "Synthetic training speech" not in data_limitation(recipe)


def test_card_says_how_the_model_decodes():
    from tiny_audio.publish.model_card import _architecture

    assert "- **Decoding**: greedy" in _architecture({"generation": {"num_beams": 1}})
    assert "- **Decoding**: greedy" in _architecture({})
    beams = _architecture({"generation": {"num_beams": 4, "max_new_tokens": 96}})
    assert "- **Decoding**: beam search with 4 beams" in beams and '{"num_beams": 1}' in beams
    assert "no_repeat_ngram_size" not in beams
    guarded = _architecture({"generation": {"num_beams": 4, "no_repeat_ngram_size": 4}})
    assert "no 4 tokens in a row are written twice" in guarded
    joint = _architecture({"generation": {"num_beams": 4, "ctc_decoding_weight": 0.2}})
    assert "0.8 x the decoder's log-probability + 0.2 x the projector's CTC prefix score" in joint
    warped = _architecture({"generation": {"num_beams": 4, "frequency_warps": [0.9, 1.0, 1.1]}})
    assert "warped by 0.9, 1, 1.1 and decoded from the warp the projector's CTC head reads most" in warped


def test_card_says_whether_the_model_gives_timestamps():
    from tiny_audio.publish.model_card import _length_limitation

    timed = _length_limitation({"data": {"max_seconds": 20.0}}, {"ctc_head_trained": True})
    assert 'Word timestamps (`return_timestamps="word"`)' in timed and "no timestamps" not in timed
    assert "clips of up to 20.0 s" in timed
    assert "There are no timestamps" in _length_limitation(None, {"ctc_head_trained": False})
    # A config without the record counts as trained when it decodes with the head (alignment.ctc_head_is_trained).
    assert "Word timestamps" in _length_limitation(None, {"generation": {"ctc_decoding_weight": 0.2}})


def test_the_embedded_models_card_tells_its_timestamps():
    card = (ROOT / "tiny_audio" / "default_model" / "README.md").read_text()
    assert "There are no timestamps" not in card and 'return_timestamps="word"' in card


def test_the_built_wheel_carries_the_hub_repository_template(tmp_path):
    """push must work from an installed wheel, not only from a checkout: the card template and .gitattributes ship
    inside the package (the checkout's top-level hub_repo/ links to them)."""
    import zipfile

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path)]
    subprocess.run([*command, str(root)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("tiny_audio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("README.md.tmpl", ".gitattributes"):
        assert f"tiny_audio/publish/hub_repo/{name}" in names
    assert (root / "hub_repo").resolve() == root / "tiny_audio/publish/hub_repo"  # one copy, linked
