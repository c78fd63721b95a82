"""The course's classes 1 and 2, walked as a learner walks them on a machine without the Hub (docs/course.md):
each script and command runs in a subprocess, as typed, and what it prints is checked (shapes, the PNG, the one-line
errors), and that no traceback is printed.

Uses the real converted backbones and the embedded default model (as the course does), hence `slow`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLASS2 = ROOT / "course" / "class2"
DEV_REAL = Path("/usr/share/pocketsphinx/test/data/librivox/transcription")
ALL_PASSED = "✅ All checks passed! You're ready to start the course."

pytestmark = pytest.mark.slow
needs_dev_real = pytest.mark.skipif(not DEV_REAL.is_file(), reason="needs Debian's pocketsphinx-testdata")


def run(args: list[str], cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    """`args` as a learner types them (python is this interpreter), offline; the traceback check is the caller's."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **environment}
    command = [sys.executable if args[0] == "python" else args[0], *args[1:]]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def assert_clean(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, done.stderr


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    """A learner's working directory after class 1's `python scripts/download_samples.py` (offline)."""
    directory = tmp_path_factory.mktemp("learner")
    done = run(["python", str(ROOT / "scripts" / "download_samples.py")], directory)
    assert_clean(done)
    return directory


# -- class 1, exercise 1: samples and the set-up check -------------------------------------------------------------


@needs_dev_real
def test_download_samples_offline_says_so_in_one_line_and_puts_real_speech_where_the_course_looks(course_dir):
    import soundfile as sf

    transcripts = (course_dir / "samples" / "dev-real" / "transcripts.txt").read_text().splitlines()
    assert len(transcripts) == 10 and len(list((course_dir / "samples" / "dev-real").glob("*.wav"))) == 10
    assert (course_dir / "samples" / "hello.wav").is_file()
    info = sf.info(str(course_dir / "test.wav"))  # the LibriVox clip closest to class 2's 3 s
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 47840)


def test_download_samples_without_the_hub_prints_one_line_about_it(tmp_path):
    done = run(["python", str(ROOT / "scripts" / "download_samples.py")], tmp_path)
    assert_clean(done)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("The Hugging Face Hub is unreachable, so the course's LibriSpeech samples cannot be")
    assert not any("unreachable" in line for line in lines[1:])
    assert (tmp_path / "test.wav").is_file()


def test_download_samples_with_the_hub_writes_librispeech_where_the_course_looks(tmp_path, monkeypatch):
    """The Hub branch, with the stream of `tiny-audio eval --dataset librispeech-clean` replaced by three clips."""
    import numpy as np
    import soundfile as sf

    from tiny_audio.app import course_samples

    clips = [("1089-134686-0000", "he hoped", 1.5), ("1089-134686-0001", "stuff it into you", 3.2), ("x-y-2", "a", 8)]
    stream = [(clip_id, text, np.full(int(seconds * 16000), 0.1, np.float32)) for clip_id, text, seconds in clips]
    monkeypatch.setattr(course_samples, "_librispeech", lambda count: iter(stream[:count]))
    lines: list[str] = []
    course_samples.fetch_samples(tmp_path, use_hub=True, clips=3, log=lines.append)
    folder = tmp_path / "samples" / "LibriSpeech" / "test-clean"
    assert sorted(path.name for path in folder.glob("*.flac")) == [f"{clip_id}.flac" for clip_id, _, _ in clips]
    assert (folder / "transcripts.txt").read_text().splitlines()[1] == "1089-134686-0001 stuff it into you"
    assert sf.info(str(tmp_path / "test.wav")).frames == 3.2 * 16000  # the clip closest to 3 s
    assert not (tmp_path / "samples" / "dev-real").exists() and not any("unreachable" in line for line in lines)


def test_verify_setup_ends_with_the_courses_line_and_tiny_audio_doctor_is_the_same_check(course_dir):
    script = run(["python", str(ROOT / "scripts" / "verify_setup.py")], course_dir)
    assert_clean(script)
    assert script.stdout.rstrip().splitlines()[-1] == ALL_PASSED
    assert "✓ test.wav and 11 audio files in samples/ here" in script.stdout
    doctor = run([str(Path(sys.executable).parent / "tiny-audio"), "doctor"], course_dir)
    assert_clean(doctor)
    assert doctor.stdout == script.stdout


def test_doctor_names_what_is_missing_and_how_to_fix_it(tmp_path):
    done = run(["python", str(ROOT / "scripts" / "verify_setup.py")], tmp_path, HF_HUB_CACHE=str(tmp_path / "empty"))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert ALL_PASSED not in done.stdout
    assert "❌ openai/whisper-tiny.en (the default model's): not in the cache" in done.stdout
    assert "   - tiny-audio backbones whisper-tiny.en" in done.stdout
    assert "⚠️  no test.wav or samples/ here" in done.stdout  # optional: a note, not a failure


# -- class 1, exercise 2: the model a learner can run offline; Hub ids that cannot be had ------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["python", "scripts/transcribe.py", "tiny_audio/samples/hello.wav", "--model", "mazesmazes/tiny-audio"],
        ["python", "demo/gradio/app.py", "--model", "mazesmazes/tiny-audio", "--port", "7860"],
        [
            "python",
            "scripts/eval.py",
            "mazesmazes/tiny-audio",
            "--dataset",
            "loquacious",
            "--max-samples",
            "100",
            "--split",
            "test",
            "--config",
            "medium",
        ],
        ["python", "course/class2/count_params.py", "mazesmazes/tiny-audio"],
        ["python", "course/class2/explore_hubert.py", "facebook/hubert-xlarge-ls960-ft"],
    ],  # fmt: skip
    ids=["transcribe", "demo", "eval", "count_params", "explore_hubert"],
)
def test_a_hub_id_that_cannot_be_had_is_one_line_naming_what_works_offline(args):
    done = run(args, ROOT)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    hub_id = next(arg for arg in args if arg in ("mazesmazes/tiny-audio", "facebook/hubert-xlarge-ls960-ft"))
    assert "offline mode" in errors[0] and repr(hub_id) in errors[0]
    assert re.search(r"tiny_audio/default_model|openai/whisper-tiny\.en", errors[0]), errors[0]


def test_a_model_the_hub_does_not_have_is_one_line_with_the_hubs_answer(tmp_path):
    from local_hub import LocalHub

    with LocalHub(tmp_path / "hub", max_seconds=300) as hub:
        done = run(
            ["python", "scripts/transcribe.py", "tiny_audio/samples/hello.wav", "--model", "nobody/no-such-model"],
            ROOT, HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "cache"),
        )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert f"'nobody/no-such-model': not a local directory; the Hub ({hub.url}) answered: " in error
    assert "tiny_audio/default_model" in error


def test_eval_writes_the_dtype_to_results_txt(tmp_path):
    done = run(
        ["python", "scripts/eval.py", "tiny_audio/default_model", "--dataset", "dev-real", "--max-samples", "1",
         "--dtype", "float32", "--output-dir", str(tmp_path), "--no-progress"],
        ROOT,
    )  # fmt: skip
    assert_clean(done)
    text = (tmp_path / "eval_dev-real_tiny_audio_default_model" / "results.txt").read_text()
    assert "Device: cpu; dtype: float32; batch size: 1" in text and "Corpus WER:" in text


# -- class 2 -------------------------------------------------------------------------------------------------------


@needs_dev_real
def test_explore_audio_prints_the_shapes_and_writes_the_png(course_dir):
    from PIL import Image

    done = run(["python", str(CLASS2 / "explore_audio.py")], course_dir)
    assert_clean(done)
    for line in (
        "Sample rate: 16000 Hz",
        "Duration: 2.99 seconds",
        "Shape: (47840,)",
        "Shape: torch.Size([1, 47840])",
        "Mean: 0.0000",
        "Std: 1.0000",
        "Shape: (80, 299)  (80 mel bands x 299 frames of 10 ms)",
        "✓ Saved visualization to audio_processing.png",
    ):
        assert line in done.stdout.splitlines(), f"{line!r} not in:\n{done.stdout}"
    with Image.open(course_dir / "audio_processing.png") as image:
        assert image.format == "PNG" and image.size == (3000, 600)  # 20 x 4 inches at 150 dpi


@needs_dev_real
@pytest.mark.parametrize(
    ("encoder", "frames", "width"),
    [([], 150, 384), (["openai/whisper-base"], 150, 512), ([str(ROOT / "tiny_audio" / "default_model")], 150, 384)],
    ids=["default-whisper-tiny.en", "whisper-base", "default-model-encoder"],
)
def test_explore_hubert_with_an_offline_encoder_shows_about_50_frames_a_second(course_dir, encoder, frames, width):
    done = run(["python", str(CLASS2 / "explore_hubert.py"), *encoder], course_dir)
    assert_clean(done)
    for line in (
        "Shape: torch.Size([1, 47840])",
        "Duration: 2.99 seconds",
        f"Shape: torch.Size([1, {frames}, {width}])",
        f"Interpretation: [batch_size=1, time_steps={frames}, embedding_dim={width}]",
        "Time dimension reduction: 318.9x",
        "Each embedding represents: ~19.9ms of audio",
        "✓ Processing complete!",
    ):
        assert line in done.stdout.splitlines(), f"{line!r} not in:\n{done.stdout}"


@needs_dev_real
def test_explore_hubert_with_a_hubert_encoder_gives_the_courses_149_frames(course_dir, backbone_paths):
    """A tiny random HuBERT with the real convolution stack: the course's numbers for 3 s (149 frames, ~20 ms)."""
    done = run(["python", str(CLASS2 / "explore_hubert.py"), str(backbone_paths["hubert"])], course_dir)
    assert_clean(done)
    assert "Shape: torch.Size([1, 149, 32])" in done.stdout
    assert "Time dimension reduction: 321.1x" in done.stdout and "~20.1ms of audio" in done.stdout


def test_count_params_labels_the_default_models_parts_and_the_counts_add_up():
    done = run(["python", "course/class2/count_params.py"], ROOT)
    assert_clean(done)
    headings = [line for line in done.stdout.splitlines() if re.match(r"[A-Z]{4,}( |$)", line)]
    config = json.loads((ROOT / "tiny_audio" / "default_model" / "config.json").read_text())
    assert headings == [
        "ENCODER (openai/whisper-tiny.en" + (" + LoRA)" if config["encoder_lora"] else ")"),
        "PROJECTOR (MLP, stacks 6 frames)",
        "DECODER (HuggingFaceTB/SmolLM2-135M-Instruct + LoRA)",
        "OVERALL MODEL",
    ]
    totals = [int(value.replace(",", "")) for value in re.findall(r"Total params:\s+([\d,]+)", done.stdout)]
    trainable = [int(value.replace(",", "")) for value in re.findall(r"Trainable params:\s+([\d,]+)", done.stdout)]
    assert sum(totals[:3]) == totals[3] and sum(trainable[:3]) == trainable[3]
    assert totals[1] == trainable[1]  # the projector is trained whole
    assert f"✓ We train only {100 * trainable[3] / totals[3]:.1f}% of the total parameters!" in done.stdout
