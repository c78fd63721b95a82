"""tiny-audio: a speech recognizer from a pretrained audio encoder, a small trained projector and a pretrained LLM."""

from transformers import AutoConfig, AutoModel, AutoProcessor

from .model import ASRConfig, ASRModel, ASRPipeline, ASRProcessor

__all__ = ["ASRConfig", "ASRModel", "ASRPipeline", "ASRProcessor"]
__version__ = "0.1.0"

# Let the Auto classes find tiny-audio checkpoints without trust_remote_code when this package is installed.
AutoConfig.register(ASRConfig.model_type, ASRConfig, exist_ok=True)
AutoModel.register(ASRConfig, ASRModel, exist_ok=True)
AutoProcessor.register(ASRConfig, ASRProcessor, exist_ok=True)
