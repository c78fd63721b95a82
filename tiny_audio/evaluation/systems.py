"""The systems an evaluation can run, behind one interface: `System.transcribe(clips) -> texts`.

- "tiny-audio": a saved tiny-audio model (directory or Hub id) through `pipeline(..., trust_remote_code=True)`,
  exactly as users will run it.
- "whisper": any Whisper checkpoint through the stock transformers ASR pipeline (the baseline our encoder comes from).
- "transformers": any other checkpoint the stock ASR pipeline can run (wav2vec2 CTC, ...).
- "pocketsphinx": the classic HMM recogniser with its bundled English models (PyPI `pocketsphinx`), a floor that
  needs no neural network.

How MODEL is told apart (`detect_system`): "pocketsphinx" names the baseline; a prefix forces a kind
("whisper:ID", "tiny-audio:ID", "transformers:ID"); otherwise the checkpoint's config.json decides: model_type
"tiny_audio" (or a custom ASR pipeline in `custom_pipelines`) is ours, "whisper" is Whisper, anything else goes to
the stock pipeline. Reading the config rather than guessing from the name means a fine-tuned Whisper under any
repository name is still run as Whisper, and a tiny-audio model whose name contains "whisper" (its encoder) is not.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from tiny_audio.evaluation.hub import ensure_hub_or_offline, git_head, hub_failure_hint, snapshot_commit
from tiny_audio.model.constants import SAMPLING_RATE

__all__ = ["KINDS", "System", "SystemSpec", "detect_system", "load_system"]

KINDS = ("tiny-audio", "whisper", "transformers", "pocketsphinx")
PREFIXES = {
    "whisper:": "whisper",
    "tiny-audio:": "tiny-audio",
    "tiny_audio:": "tiny-audio",
    "transformers:": "transformers",
}
ACCEPTED = (
    "a saved tiny-audio model directory or Hub id, a Whisper checkpoint (e.g. openai/whisper-tiny.en or "
    "whisper:ID), another transformers ASR checkpoint (transformers:ID), or 'pocketsphinx'"
)


@dataclass(frozen=True)
class SystemSpec:
    """What MODEL means: the system kind, the checkpoint (None for pocketsphinx) and the label used in results."""

    kind: str
    model: str | None
    label: str


class System(ABC):
    """A speech recogniser under test. Subclasses load in __init__ and transcribe 16 kHz float32 clips."""

    kind: str = ""
    takes_context: bool = False  # whether `transcribe` can tell the system names and words to expect

    def __init__(self, spec: SystemSpec):
        self.spec = spec
        self.revision: str | None = None  # git/Hub commit of the weights, when known
        self.version: str | None = None  # package version for systems that ship in a package

    @property
    def label(self) -> str:
        return self.spec.label

    @abstractmethod
    def transcribe(self, clips: list[np.ndarray], contexts: list[tuple[str, ...]] | None = None) -> list[str]:
        """One text per clip, in order; `contexts`: each clip's names and words to expect (`takes_context` systems
        only; the others are never given any)."""


def _is_hub_id(text: str) -> bool:
    return text.count("/") == 1 and not text.startswith((".", "/", "~")) and not Path(text).exists()


def _read_config(model: str) -> tuple[dict, str | None]:
    """config.json of a local directory or Hub repository, and the Hub commit it came from (None if local)."""
    path = Path(model).expanduser()
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise FileNotFoundError(f"{path} has no config.json; MODEL must be {ACCEPTED}")
        return json.loads(config.read_text(encoding="utf-8")), None
    if path.exists():
        raise ValueError(f"{path} is a file; MODEL must be {ACCEPTED}")
    if not _is_hub_id(model):
        raise FileNotFoundError(f"no model directory {model!r} and not a Hub id 'owner/name'; MODEL must be {ACCEPTED}")
    ensure_hub_or_offline(f"needed for model {model}")
    from huggingface_hub import hf_hub_download

    try:
        config_path = hf_hub_download(model, "config.json")
    except Exception as err:  # offline cache miss, unknown repo, gated repo, connection error
        raise RuntimeError(
            f"could not get config.json of model {model!r}: {type(err).__name__}: {err}{hub_failure_hint('model')}"
        ) from err
    return json.loads(Path(config_path).read_text(encoding="utf-8")), snapshot_commit(config_path)


def detect_system(model: str) -> SystemSpec:
    """Decide which kind of system MODEL names (see the module docstring). Reads at most config.json."""
    text = model.strip()
    if text.lower() in ("pocketsphinx", "pocketsphinx:", "pocketsphinx:en-us"):
        return SystemSpec("pocketsphinx", None, "pocketsphinx")
    for prefix, kind in PREFIXES.items():
        if text.lower().startswith(prefix):
            checkpoint = text[len(prefix) :]
            if not checkpoint:
                raise ValueError(f"{model!r} names no checkpoint after {prefix!r}; e.g. whisper:openai/whisper-tiny.en")
            return SystemSpec(kind, checkpoint, checkpoint)
    config, _ = _read_config(text)
    model_type = config.get("model_type")
    pipelines = config.get("custom_pipelines") or {}
    if model_type == "tiny_audio" or "automatic-speech-recognition" in pipelines:
        return SystemSpec("tiny-audio", text, text)
    if model_type == "whisper":
        return SystemSpec("whisper", text, text)
    return SystemSpec("transformers", text, text)


def _revision(model: str, loaded_config) -> str | None:
    path = Path(model).expanduser()
    if path.is_dir():
        return git_head(path)
    # transformers records the Hub commit a checkpoint was resolved to; when it did not (offline loads), the
    # cached snapshot's folder name is that commit.
    commit = getattr(loaded_config, "_commit_hash", None)
    if commit:
        return commit
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "config.json")
    return snapshot_commit(cached) if isinstance(cached, str) else None


class TinyAudioSystem(System):
    kind = "tiny-audio"
    takes_context = True

    def __init__(self, spec: SystemSpec, device: str | None = None, dtype: str | None = None):
        super().__init__(spec)
        from transformers import pipeline

        options = {"dtype": dtype} if dtype else {}  # None: the pipeline's default ("auto", the model's own choice)
        self.pipe = pipeline(
            "automatic-speech-recognition", model=spec.model, trust_remote_code=True, device=device, **options
        )
        self.revision = _revision(spec.model, self.pipe.model.config)

    def transcribe(self, clips: list[np.ndarray], contexts: list[tuple[str, ...]] | None = None) -> list[str]:
        contexts = contexts or [()] * len(clips)
        texts: list[str] = []
        start = 0
        while start < len(clips):  # the pipeline takes one context per call: consecutive clips that share one
            end = start + 1
            while end < len(clips) and contexts[end] == contexts[start]:
                end += 1
            options = {"context": list(contexts[start])} if contexts[start] else {}
            outputs = self.pipe(list(clips[start:end]), batch_size=end - start, **options)
            texts += [output["text"] for output in outputs]
            start = end
        return texts


class StockPipelineSystem(System):
    """transformers' own ASR pipeline (Whisper, CTC models)."""

    kind = "transformers"
    LONG_FORM_SECONDS = 30.0  # Whisper's window; longer clips are transcribed in 30 s chunks

    def __init__(self, spec: SystemSpec, device: str | None = None, dtype: str | None = None):
        super().__init__(spec)
        from transformers import pipeline

        options = {"dtype": dtype} if dtype else {}
        self.pipe = pipeline("automatic-speech-recognition", model=spec.model, device=device, **options)
        self.revision = _revision(spec.model, self.pipe.model.config)
        self.generate_kwargs: dict = {}

    def transcribe(self, clips: list[np.ndarray], contexts: list[tuple[str, ...]] | None = None) -> list[str]:
        # Fresh dicts every call: the pipeline pops keys out of its inputs.
        inputs = [{"raw": clip, "sampling_rate": SAMPLING_RATE} for clip in clips]
        options: dict = {"batch_size": len(clips)}
        if self.generate_kwargs:
            options["generate_kwargs"] = dict(self.generate_kwargs)
        if any(len(clip) > self.LONG_FORM_SECONDS * SAMPLING_RATE for clip in clips):
            options["chunk_length_s"] = self.LONG_FORM_SECONDS
        outputs = self.pipe(inputs, **options)
        return [output["text"] for output in outputs]


class WhisperSystem(StockPipelineSystem):
    kind = "whisper"

    def __init__(self, spec: SystemSpec, device: str | None = None, dtype: str | None = None):
        super().__init__(spec, device, dtype)
        if getattr(self.pipe.model.generation_config, "is_multilingual", False):
            # A multilingual checkpoint otherwise guesses the language per clip and may translate or switch
            # scripts; the test sets are English, as the Open ASR Leaderboard assumes.
            self.generate_kwargs = {"language": "en", "task": "transcribe"}


class PocketsphinxSystem(System):
    kind = "pocketsphinx"

    def __init__(self, spec: SystemSpec, device: str | None = None, dtype: str | None = None):
        super().__init__(spec)  # no torch weights: device and dtype do not apply
        try:
            import pocketsphinx
        except ImportError as err:
            raise ImportError("the pocketsphinx baseline needs PyPI pocketsphinx: pip install pocketsphinx") from err
        pocketsphinx.set_loglevel("FATAL")  # its default INFO logging prints hundreds of lines per clip
        self.decoder = pocketsphinx.Decoder(samprate=SAMPLING_RATE)  # bundled en-us acoustic model, LM, dictionary
        try:
            self.version = metadata.version("pocketsphinx")
        except metadata.PackageNotFoundError:
            self.version = None

    def transcribe(self, clips: list[np.ndarray], contexts: list[tuple[str, ...]] | None = None) -> list[str]:
        texts = []
        for clip in clips:
            pcm = (np.clip(clip, -1.0, 1.0) * 32767).astype("<i2").tobytes()
            self.decoder.start_utt()
            self.decoder.process_raw(pcm, full_utt=True)
            self.decoder.end_utt()
            hypothesis = self.decoder.hyp()
            texts.append(hypothesis.hypstr if hypothesis is not None else "")
        return texts


_CLASSES: dict[str, type[System]] = {
    "tiny-audio": TinyAudioSystem,
    "whisper": WhisperSystem,
    "transformers": StockPipelineSystem,
    "pocketsphinx": PocketsphinxSystem,
}


def load_system(model: str | SystemSpec, device: str | None = None, dtype: str | None = None) -> System:
    """Detect (unless given a SystemSpec) and load the system MODEL names; `dtype` ("float32", "bfloat16") loads
    its weights in that dtype (default: the model's own choice)."""
    spec = model if isinstance(model, SystemSpec) else detect_system(model)
    if spec.model is not None and not Path(spec.model).expanduser().exists():
        ensure_hub_or_offline(f"needed for model {spec.model}")
    return _CLASSES[spec.kind](spec, device=device, dtype=dtype)
