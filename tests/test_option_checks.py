"""Every option checked once, before any work (issue 48): bounds where a value would exhaust the machine, the same in
the pipeline, `generate()` and the command lines; URLs on the command line fetched as the pipeline fetches them; a
model that cannot be loaded said in one line; float audio outside [-1, 1] refused whatever its source. A tiny random
model (tests/tiny_backbones.py); the pickle-only folders hold the embedded model's config and fail before any
backbone is loaded."""

from __future__ import annotations

import functools
import http.server
import json
import pickle
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile
import tiny_backbones

from tiny_audio.app.batch import RESULTS_FILE
from tiny_audio.cli import main
from tiny_audio.model.audio_input import load_audio
from tiny_audio.model.decoding_options import DecodingOptions, check_option

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tiny_audio" / "samples"
DEFAULT_MODEL = ROOT / "tiny_audio" / "default_model"


@pytest.fixture(scope="module")
def tiny_model_dir(backbone_paths, tmp_path_factory):
    model, processor = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["qwen3"], generation={"max_new_tokens": 4}
    )
    directory = tmp_path_factory.mktemp("option_checks") / "model"
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def asr(tiny_model_dir):
    from tiny_audio.app.transcribe import load_pipeline

    return load_pipeline(str(tiny_model_dir))


def write_tone(path: Path, seconds: float = 0.5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, tiny_backbones.tone(seconds), 16_000)
    return path


# -- the bounds: one definition (check_option), taken by DecodingOptions, the pipeline and the command lines ----------


@pytest.mark.parametrize(
    "name,largest,refused,accepted",
    [
        ("num_beams", 32, 1000, "give a whole number from 1 to 32"),
        ("max_new_tokens", 1024, 5000, "give a whole number from 1 to 1024"),
        ("batch_size", 256, 10_000, "give a whole number from 1 to 256"),
        ("chunk_length_s", 30, 60, "give a number of seconds from 1 to 30"),
    ],
)
def test_each_bound_accepts_its_largest_value_and_refuses_past_it_saying_what_is_accepted(
    name, largest, refused, accepted
):
    assert check_option(name, largest) == largest
    for value in (refused, 0):
        with pytest.raises(ValueError) as error:
            check_option(name, value)
        assert str(error.value).startswith(f"{name}={value!r} is not accepted; {accepted}")
    if name in ("num_beams", "max_new_tokens"):  # DecodingOptions (the config's `generation`, generate()) too
        with pytest.raises(ValueError, match=f"{name}={refused} is not accepted"):
            DecodingOptions(**{name: refused})


def test_the_pipeline_refuses_a_bad_option_before_it_reads_any_audio(asr, tmp_path):
    missing = str(tmp_path / "missing.wav")  # were the audio read first, this would say "Audio file not found"
    with pytest.raises(ValueError, match="max_new_tokens=0 is not accepted"):
        asr(missing, max_new_tokens=0)
    with pytest.raises(ValueError, match="num_beams=1000 is not accepted; give a whole number from 1 to 32"):
        asr(missing, generate_kwargs={"num_beams": 1000})
    with pytest.raises(ValueError, match="batch_size=1000 is not accepted"):
        asr([missing], batch_size=1000)
    with pytest.raises(ValueError, match="chunk_length_s=31 is not accepted"):
        asr(missing, chunk_length_s=31)
    assert isinstance(asr(str(write_tone(tmp_path / "a.wav")), generate_kwargs={"num_beams": 32})["text"], str)


# -- the command lines: exit 2 and one error line before any file or model -------------------------------------------


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["transcribe", "IN", "--max-new-tokens", "0"], "max_new_tokens=0 is not accepted; give a whole number from 1"),
        (["transcribe", "IN", "--max-new-tokens", "5000"], "max_new_tokens=5000 is not accepted"),
        (
            ["transcribe", "IN", "--num-beams", "1000"],
            "num_beams=1000 is not accepted; give a whole number from 1 to 32",
        ),
        (["transcribe", "IN", "--batch-size", "0"], "batch_size=0 is not accepted; give a whole number from 1 to 256"),
        (["transcribe", "IN", "--chunk-length-s", "60"], "chunk_length_s=60.0 is not accepted"),
        (["transcribe", "IN", "--chunk-length-s", "abc"], "chunk_length_s='abc' is not accepted"),
        (["transcribe", "IN", "--ctc-decoding-weight", "1"], "ctc_decoding_weight=1.0 is not accepted"),
        (["transcribe", "IN", "--frequency-warps", "3"], "frequency_warps=[3.0] is not accepted"),
        (["transcribe", "IN", "--device", "gpu"], "'gpu' is not a device name; this machine takes cpu"),
        (["eval", "M", "--dataset", "D", "--batch-size", "300"], "batch_size=300 is not accepted"),
        (
            ["eval", "M", "--dataset", "D", "--max-samples", "0"],
            "'0' is not accepted; give a whole number of 1 or more",
        ),
        (["eval", "M", "--dataset", "D", "--checkpoint-every", "0"], "'0' is not accepted"),
        (["eval", "M", "--dataset", "D", "--device", "cuda:7"], "'cuda:7': this machine has 0 CUDA devices"),
        (["train", "--check", "--gpus", "0"], "'0' is not accepted; give a whole number of 1 or more"),
        (["train", "--check", "--gpu-memory-gb", "0"], "'0' is not accepted; give a number above 0"),
    ],
)
def test_a_bad_option_exits_2_in_one_line_before_any_work(arguments, message, tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same message on a machine with a GPU
    folder = write_tone(tmp_path / "in" / "a.wav").parent
    arguments = [str(folder) if argument == "IN" else argument for argument in arguments]
    with pytest.raises(SystemExit) as exit_status:
        main([*arguments, "--output-dir", str(tmp_path / "out")] if arguments[0] != "train" else arguments)
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert exit_status.value.code == 2
    assert len(errors) == 1 and message in errors[0], errors
    assert not (tmp_path / "out").exists()  # nothing was written: no file was read, no model loaded


def test_transcribe_refuses_an_option_the_model_rejects_before_any_file(tiny_model_dir, tmp_path, capsys):
    """What only the model can judge (its tasks) is judged once it is loaded, still before the first file."""
    folder = write_tone(tmp_path / "in" / "a.wav").parent
    out = tmp_path / "out"
    command = ["transcribe", str(folder), "--model", str(tiny_model_dir), "--output-dir", str(out)]
    assert main([*command, "--task", "sing"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: Unknown task 'sing'")
    assert not (out / RESULTS_FILE).exists()


def test_train_names_a_missing_recipe_in_one_line(capsys):
    assert main(["train", "--config", "no-such-recipe.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: No recipe at no-such-recipe.yaml; recipes in configs/")


# -- URLs on the command line --------------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # its access log would go to stderr, among the command's errors
        pass


@pytest.fixture
def samples_server():
    """http://127.0.0.1:PORT/ serving tiny_audio/samples (hello.wav)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SAMPLES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed once the probe is: nothing listens there


def test_urls_on_the_command_line_are_fetched_and_a_bad_one_is_named_like_a_bad_file(
    tiny_model_dir, samples_server, tmp_path, capsys
):
    good, bad = f"{samples_server}/hello.wav", f"http://127.0.0.1:{closed_port()}/gone.wav"
    local = write_tone(tmp_path / "local.wav")
    out = tmp_path / "out"
    command = ["transcribe", good, bad, str(local), "--model", str(tiny_model_dir), "--output-dir", str(out)]
    assert main(command) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(out / "hello.txt"), str(out / "local.txt")]
    errors = captured.err.splitlines()
    assert errors[0].startswith(f"error: {bad}: Cannot fetch audio from {bad}: ") and "refused" in errors[0]
    assert errors[1:] == ["error: 1 of 3 files failed"]
    records = {record["file"]: record for record in map(json.loads, (out / RESULTS_FILE).open())}
    assert records[good]["seconds"] == 4.11 and records[bad]["stage"] == "decode"  # the URL as given, not a path
    assert main(command) == 1 and "3 of 3 files already in" in capsys.readouterr().err  # resumed by URL


# -- a model that cannot be loaded ----------------------------------------------------------------------------------


def pickle_only_folder(root: Path, with_code: bool) -> Path:
    """The embedded model's config.json and a pytorch_model.bin, no model.safetensors; `with_code` adds the remote
    code files as save_pretrained writes them (what a user who converted weights by hand would have)."""
    root.mkdir(parents=True)
    shutil.copy(DEFAULT_MODEL / "config.json", root / "config.json")
    (root / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": [0.0]}))
    if with_code:
        for path in DEFAULT_MODEL.iterdir():
            if path.suffix in (".py", ".jinja") or path.name.endswith("_config.json") or path.name == "tokenizer.json":
                shutil.copy(path, root / path.name)  # follows the symlinks to tiny_audio/model
    return root


@pytest.mark.parametrize(
    "with_code,cause",
    [(True, "has no model.safetensors; tiny-audio loads safetensors weights only"), (False, "pipeline_asr.py")],
)
def test_a_model_that_cannot_be_loaded_is_one_line_in_transcribe_eval_and_demo(with_code, cause, tmp_path, capsys):
    from tiny_audio.app.demo import launch

    model = str(pickle_only_folder(tmp_path / "pickled", with_code))
    clip = write_tone(tmp_path / "a.wav")
    assert main(["transcribe", str(clip), "--model", model]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: could not load model {model!r}: ") and cause in err, err
    assert main(["transcribe", str(clip), "--model", model, "--verbose"]) == 2  # the full error kept
    assert "Traceback" in capsys.readouterr().err

    (tmp_path / "set.tsv").write_text("a.wav\thello\n")
    eval_command = ["eval", model, "--dataset", str(tmp_path / "set.tsv"), "--output-dir", str(tmp_path / "outputs")]
    assert main([*eval_command, "--no-progress"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and errors[0].startswith(f"error: {model}: could not load model ") and cause in errors[0]
    assert errors[1] == f"error: failed: {model}"

    assert launch(model, "127.0.0.1", closed_port()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and cause in err and "Traceback" not in err


# -- audio: [-1, 1] whatever the source; the demo names the upload, not the server's copy ----------------------------


def test_float_audio_far_outside_full_scale_is_refused_from_an_array_and_from_a_file_alike(tmp_path):
    clip = tiny_backbones.tone(0.5)
    loud = 50 * clip / np.abs(clip).max()  # peak 50: int16-like scale, or a gain gone wrong
    soundfile.write(tmp_path / "loud.wav", loud, 16_000, subtype="FLOAT")
    for audio in (loud, {"raw": loud, "sampling_rate": 16_000}, str(tmp_path / "loud.wav")):
        with pytest.raises(ValueError, match=r"has samples up to 50; float audio is accepted in \[-1, 1\]"):
            load_audio(audio)
    overshoot = 1.5 * clip / np.abs(clip).max()  # what resampling and lossy codecs may do to a full-scale clip
    assert np.abs(load_audio(overshoot)).max() == pytest.approx(1.5)
    assert load_audio(loud, check=False).max() > 49  # training and evaluation judge clips themselves


def test_the_demo_names_an_unreadable_upload_by_its_name_not_the_servers_path(tmp_path):
    from tiny_audio.app.demo import DemoModel

    upload = tmp_path / "gradio" / "4f1c9e" / "my recording.wav"  # where gradio keeps its copy of an upload
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"not audio at all")
    page = DemoModel.__new__(DemoModel)  # the page's checks run before the model is used
    page.tasks = ["transcribe"]
    with pytest.raises(ValueError) as refused:
        page.run(str(upload), "transcribe", "")
    assert "my recording.wav" in str(refused.value) and str(tmp_path) not in str(refused.value)
