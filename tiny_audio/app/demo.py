"""`tiny-audio demo [--model DIR_OR_ID] [--port N]`: try a model in the browser (Gradio).

Record or upload a clip and run one of the model's tasks (or a free prompt) on it, optionally with a context (names
and words to expect, docs/context.md) and watching the text grow as the decoder writes it (streaming, greedy search);
a second tab talks to the pretrained decoder alone (no audio, LoRA off), to show what the language model brings.
Audio goes through the same pipeline as `tiny-audio transcribe`, on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..cli_options import add_device_argument
from ..evaluation.hub import ModelUnavailableError
from ..model.audio_input import load_audio
from ..model.constants import SAMPLING_RATE
from .transcribe import load_pipeline

# The tasks offered on the page. tiny-audio's training teaches one instruction, "transcribe"
# (tiny_audio/training/trainer.py); a config's other prompts (configs saved before 2026-12 have "describe") reach a
# model that never learned them and come back as a transcript, so they are not offered.
LEARNED_TASKS = ("transcribe",)


class DemoModel:
    """What the page calls: the ASR pipeline for audio, the bare decoder for text."""

    def __init__(self, model: str | None = None, device: str | None = None):
        self.asr = load_pipeline(model, device)  # ModelUnavailableError (one line) for a model it cannot load
        prompts = self.asr.model.config.prompts
        self.tasks = [task for task in LEARNED_TASKS if task in prompts]
        if not self.tasks:
            raise ValueError(f"The model has no {LEARNED_TASKS[0]!r} prompt (its prompts: {sorted(prompts)}).")

    def run(self, audio_path: str | None, task: str, prompt: str, streamer=None, context: str = "") -> tuple[str, str]:
        """(model output, timing line) for a recorded or uploaded clip; a transformers `streamer` also gets the
        text as it is decoded (greedy search); `context`: comma-separated names and words to expect."""
        if not audio_path:
            raise ValueError("No audio yet: record a clip with the microphone or upload a file (wav, flac, mp3, ogg).")
        if task not in self.tasks:
            raise ValueError(f"This model was trained only to {' and '.join(self.tasks)}; {task!r} is not offered.")
        # A clear error for an unreadable file, before any model work. Gradio hands over its own temporary copy: the
        # message names the file as the user uploaded it (gradio keeps that name), not the server's path.
        upload = Path(audio_path)
        waveform = load_audio({"bytes": upload.read_bytes(), "path": upload.name or "the uploaded audio"})
        seconds = waveform.shape[0] / SAMPLING_RATE
        started = time.perf_counter()
        options = {"prompt": prompt} if prompt and prompt.strip() else {"task": task}
        if context and context.strip():
            options["context"] = context  # judged by the pipeline (context_words.check_context)
        if streamer is not None:
            options["generate_kwargs"] = {"streamer": streamer}
        text = self.asr({"raw": waveform, "sampling_rate": SAMPLING_RATE}, **options)["text"]
        elapsed = time.perf_counter() - started
        return text, f"{elapsed:.2f} s for {seconds:.1f} s of audio (RTFx {seconds / max(elapsed, 1e-9):.1f})"

    def run_streaming(
        self, audio_path: str | None, task: str, prompt: str, context: str = ""
    ) -> Iterator[tuple[str, str]]:
        """`run`, yielding (the text so far, "") while the decoder writes it, then `run`'s (output, timing line).
        Greedy search: transformers cannot stream a beam search (tiny_audio/model/decoding.py)."""
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.asr.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        outcome: dict = {}

        def work():
            try:
                outcome["result"] = self.run(audio_path, task, prompt, streamer=streamer, context=context)
            except Exception as error:  # handed to the page below; the stream must end for the loop to stop
                outcome["error"] = error
                streamer.end()

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        text = ""
        for new_text in streamer:
            text += new_text
            if new_text.strip():
                yield text, ""
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        yield outcome["result"]

    def chat(self, message: str, max_new_tokens: int = 128) -> str:
        """The pretrained decoder's answer to `message`, with no audio and its LoRA (if any) switched off: a LoRA
        trained for transcription mostly repeats the message back."""
        if not message or not message.strip():
            raise ValueError("Type a message first.")
        tokenizer = self.asr.processor.tokenizer
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True, enable_thinking=False
        )
        inputs = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").to(self.asr.model.device)
        decoder = self.asr.model.decoder
        with lora_switched_off(decoder):
            output = decoder.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        return tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()


@contextmanager
def lora_switched_off(module):
    """Run `module` as its pretrained self: every LoRA layer in it is bypassed until the block ends."""
    from peft.tuners.lora import LoraLayer

    layers = [layer for layer in module.modules() if isinstance(layer, LoraLayer)]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.enable_adapters(True)


def build_app(model: DemoModel):
    """The Gradio page for `model`."""
    import gradio as gr

    # Bad input (no audio yet, an unreadable file) is said on the page; it is not a server fault, so gradio is told
    # not to print its traceback on the console.
    def run(audio_path, task, prompt, context, stream):  # a generator: gradio shows each yield (streamed text grows)
        try:
            if stream:
                yield from model.run_streaming(audio_path, task, prompt, context)
            else:
                yield model.run(audio_path, task, prompt, context=context)
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from error

    def chat(message):
        try:
            return model.chat(message)
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from error

    with gr.Blocks(title="tiny-audio") as app:
        gr.Markdown("# tiny-audio\nRecord or upload speech, pick a task (or write your own prompt), and run.")
        with gr.Tab("Audio"):
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech")
            with gr.Row():
                task = gr.Dropdown(
                    model.tasks,
                    value=model.tasks[0],
                    label="Task",
                    info="the tasks this model was trained on; tiny-audio's training teaches transcription only",
                )
                prompt = gr.Textbox(label="Custom prompt (optional; replaces the task; expect a transcript)")
            context = gr.Textbox(
                label="Context (comma-separated names and words)",
                info="words that may occur, told to the model (docs/context.md: what the embedded model makes of them)",
                elem_id="context",
            )
            stream = gr.Checkbox(
                value=False,
                label="Show the text as it is decoded (greedy search: transformers cannot stream a beam search)",
                elem_id="stream",
            )
            run_button = gr.Button("Run", variant="primary", elem_id="run")
            output = gr.Textbox(label="Output", elem_id="output", interactive=False)
            timing = gr.Markdown(elem_id="timing")
            run_button.click(run, [audio, task, prompt, context, stream], [output, timing])
        with gr.Tab("Text mode"):
            message = gr.Textbox(
                label="Message to the pretrained language model (no audio, LoRA off)", elem_id="message"
            )
            chat_button = gr.Button("Send", elem_id="send")
            reply = gr.Textbox(label="Reply", elem_id="reply", interactive=False)
            chat_button.click(chat, [message], [reply])
    return app


def launch(
    model: str | None,
    host: str,
    port: int,
    device: str | None = None,
    share: bool = False,
    verbose: bool = False,
) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline machine
    try:
        demo_model = DemoModel(model, device)
    except ModelUnavailableError as error:  # one line: the offline choice for a Hub id, else the cause
        print(f"error: {error}", file=sys.stderr)
        if verbose:
            traceback.print_exception(error, file=sys.stderr)
        return 2
    app = build_app(demo_model)
    print(f"tiny-audio demo: http://{host}:{port}", flush=True)
    app.launch(server_name=host, server_port=port, share=share)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="saved model directory or Hub id (default: the embedded default model)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: %(default)s; 0.0.0.0: every interface)"
    )
    parser.add_argument("--port", type=int, default=7860, help="(default: %(default)s)")
    add_device_argument(parser)
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument(
        "--verbose", action="store_true", help="when the model cannot be loaded, also print the full error"
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="try a model in the browser (Gradio)")
    add_arguments(parser)
    parser.set_defaults(
        func=lambda args: launch(args.model, args.host, args.port, args.device, args.share, args.verbose)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo/gradio/app.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    from ..evaluation.hub import ensure_hub_or_offline

    ensure_hub_or_offline("needed by the demo")
    return launch(args.model, args.host, args.port, args.device, args.share, args.verbose)
