"""The model: the files that ship to the Hub as remote code, and nothing else.

Every module here but this one is saved beside a model's weights (`ASRModel.save_pretrained`), linked from the
embedded default model and run by `trust_remote_code=True`. They import only each other (relative imports), the
standard library, torch and transformers (with numpy and safetensors, transformers' own requirements); peft and
soundfile only inside the functions that need them. Nothing here imports the rest of tiny_audio.
"""

from pathlib import Path

from .configuration_asr import ASRConfig
from .modeling_asr import ASRModel
from .pipeline_asr import ASRPipeline
from .processing_asr import ASRProcessor

__all__ = ["ASRConfig", "ASRModel", "ASRPipeline", "ASRProcessor", "remote_code_files"]
MODEL_DIR = Path(__file__).parent


def remote_code_files() -> list[Path]:
    """The modules a saved model carries as remote code: every module of this folder but `__init__.py`."""
    return sorted(path for path in MODEL_DIR.glob("*.py") if path.name != "__init__.py")
