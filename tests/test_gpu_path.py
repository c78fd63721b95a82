"""The full-size GPU path, proven on CPU at tiny size: `train --check` on the GPU recipes, activation checkpointing
with encoder and decoder LoRA, bf16 backbones with float32 trained weights, FSDP2 and DDP on two CPU processes,
resume under DDP, the named Hub datasets streamed in their real schemas, and the throughput benchmark's smoke mode.

Some tests run this file as a worker in child processes: `python tests/test_gpu_path.py MODE ARGS...`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tiny_backbones
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {
    "hubert": ROOT / "configs" / "hubert-xlarge-smollm3.yaml",
    "whisper": ROOT / "configs" / "whisper-turbo-qwen3.yaml",
}
ENCODER_LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "k_proj"]}
DECODER_LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
CHILD_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
TWO_CPU_PROCESSES = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a launcher and every process under it: torchrun starts its workers in sessions of their own, so
    killing the launcher's process group would leave them running."""
    import psutil

    try:
        family = [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]
    except psutil.NoSuchProcess:
        return
    for member in family:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=30)


def run_child(command: list[str], timeout: float, **env: str) -> str:
    """Run a child process to the end; returns its output, failing the test with the output's tail otherwise (on a
    timeout, after killing it and its workers)."""
    environment = {**os.environ, **CHILD_ENV, **env}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output = process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        kill_tree(process)
        output = process.communicate()[0]
        pytest.fail(f"{command[:6]} ran past {timeout} s:\n{output[-4000:]}")
    assert process.returncode == 0, output[-4000:]
    return output


def randomise_lora_up(model) -> None:
    """LoRA's B matrices start at zero, so A would get no gradient: give B small values, as after some training."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.02)


def gradient_norms(model) -> dict[str, float]:
    return {name: float(p.grad.norm()) for name, p in model.named_parameters() if p.requires_grad}


# -- tiny-audio train --check ----------------------------------------------------------------------------------


def run_check(capsys, recipe: Path, *arguments: str) -> tuple[int, str]:
    from tiny_audio.cli import main

    code = main(["train", "--config", str(recipe), "--check", *arguments])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("recipe", "counts"),
    [
        # encoder total (HuBERT-XLarge 964 M + LoRA), decoder frozen (SmolLM3-3B), trained in total
        ("hubert", (" 964,463,488 |", " 3,075,098,624 |", "47,731,200")),
        # encoder total (Whisper-large-v3-turbo's encoder), decoder frozen (Qwen3-1.7B, as its safetensors count)
        ("whisper", (" 636,968,960 |", " 1,720,574,976 |", "27,541,504")),
    ],
)
def test_check_builds_each_gpu_recipe_offline_and_passes(capsys, recipe, counts):
    code, report = run_check(capsys, RECIPES[recipe])
    assert code == 0, report[-3000:]
    assert report.count("shipped") >= 2  # both backbone configs from the shipped copies, offline
    for count in counts:
        assert count in report
    assert "LoRA targets found" in report and "q_proj" in report
    assert "| one GPU " in report and "| FSDP, 8 GPUs " in report and "Korthikanti" in report
    assert "check passed (single:" in report
    assert "speechbrain/LoquaciousSet [small] train, columns wav + text" in report  # the audio column it publishes


def use_an_unknown_source(recipe: dict) -> None:
    recipe["data"]["train"][0]["hub"] = "loquaciousset"


@pytest.mark.parametrize(
    ("arguments", "edit", "expected"),
    [
        (["model.encoder_lora.target_modules=[q_proj,query]"], None, ["names 'query'", "'out_proj'", "'k_proj'"]),
        (["--gpu-memory-gb", "1"], None, ["does not fit in 1 GiB", "no setup fits"]),
        (
            ["training.activation_checkpointing=false"],
            None,
            ["does not fit in 80 GiB", "with activation checkpointing"],
        ),
        (["training.ddp_find_unused_parameters=false", "--launcher", "ddp"], None, ["ddp_find_unused_parameters=true"]),
        (["--launcher", "fsdp"], None, ["set training.activation_checkpointing=false"]),
        (["data.eval.hub.audio_column=audio"], None, ["no audio column 'audio'", "'wav'"]),
        ([], use_an_unknown_source, ["unknown Hub source 'loquaciousset'"]),
    ],
    ids=["lora-target", "memory", "no-checkpointing", "ddp-layerdrop", "fsdp-checkpointing", "column", "source"],
)
def test_check_fails_naming_what_to_change(capsys, tmp_path, arguments, edit, expected):
    recipe = RECIPES["hubert"]
    if edit is not None:  # data.train is a list: its items are not override paths
        loaded = yaml.safe_load(recipe.read_text())
        edit(loaded)
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(yaml.safe_dump(loaded))
    code, report = run_check(capsys, recipe, *arguments)
    assert code == 1, report[-3000:]
    for text in expected:
        assert text in report, report[-3000:]


# -- activation checkpointing, bf16 backbones ------------------------------------------------------------------


@pytest.mark.parametrize("encoder", ["hubert", "whisper"])
def test_activation_checkpointing_trains_encoder_lora_projector_and_decoder_lora(backbone_paths, encoder):
    """The Trainer's `activation_checkpointing` on ASRModel with LoRA on both backbones: every layer runs again in
    the backward pass, and the gradients of the encoder LoRA, the projector and the decoder LoRA are those of a run
    without checkpointing."""
    from tiny_audio.training.memory_estimate import layer_stack

    results = {}
    for checkpointing in (False, True):
        model, processor = tiny_backbones.build_model(
            backbone_paths[encoder], backbone_paths["qwen3"], encoder_lora=ENCODER_LORA, decoder_lora=DECODER_LORA
        )
        randomise_lora_up(model)
        model.train()
        if checkpointing:
            model.activation_checkpointing_enable()  # what Trainer(activation_checkpointing=True) calls
        calls = {"encoder": 0, "decoder": 0}
        for part in calls:  # a module inside the first layer: the layer's own hooks stay outside the checkpoint
            first_layer = layer_stack(getattr(model, part))[0]
            query = next(module for name, module in first_layer.named_modules() if name.endswith("q_proj"))
            query.register_forward_hook(lambda *_, part=part, calls=calls: calls.update({part: calls[part] + 1}))
        batch = processor(audio=[tiny_backbones.tone(1.0), tiny_backbones.tone(0.6, 500)], text=["hello", "hi there"])
        np.random.seed(0)  # HuBERT's SpecAugment draws its masks from numpy, LayerDrop and dropout from torch
        torch.manual_seed(0)
        loss = model(**batch).loss
        loss.backward()
        results[checkpointing] = (calls, gradient_norms(model))
    calls, gradients = results[True]
    assert calls == {"encoder": 2, "decoder": 2}  # forward, then recomputed in the backward pass
    assert results[False][0] == {"encoder": 1, "decoder": 1}
    for name, norm in gradients.items():
        assert norm == pytest.approx(results[False][1][name], rel=1e-4, abs=1e-7), name
    for part in ("encoder.", "projector.", "decoder."):
        trained = [norm for name, norm in gradients.items() if name.startswith(part)]
        assert trained and all(norm > 0 for norm in trained), part
    assert any("lora_A" in name for name in gradients if name.startswith("encoder."))


def test_bf16_backbones_train_float32_weights(backbone_paths):
    """training.backbone_dtype=bfloat16 with bf16 autocast (the GPU recipes' bf16: true): one optimizer step gives a
    finite loss, changes the float32 projector and LoRA weights and leaves the bf16 backbones untouched."""
    from tiny_audio.training.trainer import build_model

    section = {
        "encoder_name_or_path": str(backbone_paths["hubert"]),
        "decoder_name_or_path": str(backbone_paths["qwen3"]),
        "projector_type": "swiglu",
        "projector_stack": 2,
        "projector_hidden_size": 64,
        "encoder_lora": ENCODER_LORA,
        "decoder_lora": DECODER_LORA,
    }
    model, processor = build_model(section, "bfloat16")
    model.encoder.config.layerdrop = 0.0  # every layer runs, so every LoRA weight gets a gradient in the one step
    randomise_lora_up(model)
    model.train()
    trained = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    frozen = {name: p.detach().clone() for name, p in model.named_parameters() if not p.requires_grad}
    assert {p.dtype for p in trained.values()} == {torch.float32}
    assert {p.dtype for p in frozen.values()} == {torch.bfloat16}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    batch = processor(audio=[tiny_backbones.tone(1.0), tiny_backbones.tone(0.6, 500)], text=["hello", "hi there"])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    assert math.isfinite(float(loss))
    parameters = dict(model.named_parameters())
    for name, before in trained.items():
        assert parameters[name].dtype == torch.float32 and parameters[name].grad.dtype == torch.float32, name
        assert not torch.equal(parameters[name].detach(), before), name
    for name, before in frozen.items():
        assert parameters[name].dtype == torch.bfloat16 and torch.equal(parameters[name].detach(), before), name


# -- two CPU processes: FSDP2, DDP resume ----------------------------------------------------------------------


def fsdp_worker(out_dir: str, encoder_dir: str, decoder_dir: str) -> None:
    """One rank (of torchrun's 2): the model prepared as `accelerate launch --config_file configs/accelerate/fsdp.yaml`
    prepares it (accelerate's own FSDP2 code: activation checkpointing, then fully_shard per layer), bf16 backbones,
    bf16 mixed precision, one optimizer step; writes what it saw to OUT_DIR/rank-N.json."""
    from accelerate import PartialState
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.fsdp_utils import fsdp2_apply_ac, fsdp2_prepare_model
    from torch.distributed.fsdp import FSDPModule

    from tiny_audio.training.memory_estimate import layer_stack
    from tiny_audio.training.trainer import build_model

    state = PartialState(cpu=True)  # gloo, from torchrun's environment
    fsdp = yaml.safe_load((ROOT / "configs" / "accelerate" / "fsdp.yaml").read_text())["fsdp_config"]
    section = {
        "encoder_name_or_path": encoder_dir,
        "decoder_name_or_path": decoder_dir,
        "projector_stack": 2,
        "projector_hidden_size": 64,
        "encoder_lora": ENCODER_LORA,
        "decoder_lora": DECODER_LORA,
    }
    torch.manual_seed(0)
    model, processor = build_model(section, "bfloat16")
    randomise_lora_up(model)
    model.train()
    # The layer classes `train --check` says to name (HuBERT's stable-layer-norm layers are not in _no_split_modules).
    classes = [type(layer_stack(backbone)[0]).__name__ for backbone in (model.encoder, model.decoder)]
    plugin = FullyShardedDataParallelPlugin(
        fsdp_version=fsdp["fsdp_version"],
        auto_wrap_policy=fsdp["fsdp_auto_wrap_policy"].lower(),
        reshard_after_forward=fsdp["fsdp_reshard_after_forward"],
        activation_checkpointing=fsdp["fsdp_activation_checkpointing"],
        cpu_ram_efficient_loading=fsdp["fsdp_cpu_ram_efficient_loading"],
        state_dict_type=fsdp["fsdp_state_dict_type"],
        transformer_cls_names_to_wrap=classes,
    )
    plugin.set_mixed_precision("bf16")
    # accelerate enables FSDP only on accelerators (test_accelerate_launch_with_the_fsdp_config_on_cpu): call its
    # preparation directly, with the attributes it reads from an Accelerator.
    accelerator = type("CpuAccelerator", (), {})()
    accelerator.state, accelerator.mixed_precision = type("State", (), {"fsdp_plugin": plugin})(), "bf16"
    accelerator.is_main_process, accelerator.device = state.is_main_process, torch.device("cpu")
    accelerator.torch_device_mesh = accelerator.parallelism_config = None
    plugin.set_auto_wrap_policy(model)
    model = fsdp2_prepare_model(accelerator, fsdp2_apply_ac(accelerator, model))
    units = [name for name, module in model.named_modules() if isinstance(module, FSDPModule)]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    batch = processor(audio=[tiny_backbones.tone(1.0), tiny_backbones.tone(0.6, 500)], text=["hello", "hi there"])
    loss = model(**batch).loss
    loss.backward()
    gradients = {name: float(p.grad.full_tensor().norm()) for name, p in model.named_parameters() if p.requires_grad}
    optimizer.step()
    record = {
        "loss": float(loss),
        "units": units,
        "gradients": gradients,
        "trained_dtypes": sorted({str(p.dtype) for p in model.parameters() if p.requires_grad}),
        "frozen_dtypes": sorted({str(p.dtype) for p in model.parameters() if not p.requires_grad}),
    }
    Path(out_dir, f"rank-{state.process_index}.json").write_text(json.dumps(record))
    state.destroy_process_group()


def test_fsdp2_shards_and_trains_on_two_cpu_processes(tmp_path, backbone_paths):
    """accelerate's FSDP2 preparation, as configs/accelerate/fsdp.yaml asks for it, on ASRModel with LoRA on both
    backbones (HuBERT, tied-embedding Qwen3): every encoder and decoder layer is its own checkpointed unit, the tied
    lm_head shares its embeddings' unit, and one step trains the encoder LoRA, projector and decoder LoRA."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--rdzv-backend", "c10d"]
    command += ["--rdzv-endpoint", "localhost:0"]  # a free port
    command += [__file__, "fsdp-worker", str(tmp_path), str(backbone_paths["hubert"]), str(backbone_paths["qwen3"])]
    run_child(command, timeout=300)
    ranks = [json.loads((tmp_path / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    assert all(math.isfinite(rank["loss"]) for rank in ranks)  # SpecAugment and LayerDrop draw per process
    units = ranks[0]["units"]
    assert {"encoder.encoder.layers.0", "encoder.encoder.layers.1"} <= set(units)
    assert {"decoder.model.layers.0", "decoder.model.layers.1", "decoder.model.embed_tokens"} <= set(units)
    for part in ("encoder.", "projector.", "decoder."):
        norms = [norm for name, norm in ranks[0]["gradients"].items() if name.startswith(part)]
        assert norms and all(norm > 0 for norm in norms), part
    assert ranks[0]["trained_dtypes"] == ["torch.float32"] and ranks[0]["frozen_dtypes"] == ["torch.bfloat16"]


def accelerate_probe(out_file: str) -> None:
    """What `accelerate launch` made of its config in this process: the Trainer's Accelerator(cpu=True) on CPU."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    if accelerator.is_main_process:
        Path(out_file).write_text(str(accelerator.distributed_type))
    accelerator.end_training()


def test_accelerate_launch_with_the_fsdp_config_on_cpu(tmp_path):
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", "configs/accelerate/fsdp.yaml"]
    command = launch + ["--num_processes", "2", "--mixed_precision", "no", __file__, "accelerate-probe"]
    run_child(command + [str(tmp_path / "type.txt")], timeout=240)
    distributed_type = (tmp_path / "type.txt").read_text()
    if distributed_type != "DistributedType.FSDP":
        pytest.xfail(
            f"accelerate 1.16 enables FSDP only on accelerators: on CPU, `accelerate launch --config_file "
            f"configs/accelerate/fsdp.yaml` runs {distributed_type} (DDP over gloo), silently. FSDP itself is tested "
            "through accelerate's FSDP2 preparation in test_fsdp2_shards_and_trains_on_two_cpu_processes."
        )


def test_ddp_run_resumes_after_a_kill_with_the_gpu_recipe_settings(tmp_path, backbone_paths):
    """Two processes with the HuBERT recipe's training settings (encoder LoRA, activation checkpointing,
    ddp_find_unused_parameters for LayerDrop, made likely here at 0.5) are killed after a checkpoint; the same
    command resumes from it and ends at the same step."""
    from test_training import write_parquet_corpus

    hubert = tmp_path / "hubert"
    shutil.copytree(backbone_paths["hubert"], hubert)
    config = json.loads((hubert / "config.json").read_text())
    (hubert / "config.json").write_text(json.dumps({**config, "layerdrop": 0.5}))
    run_dir = tmp_path / "run"
    recipe = {
        "model": {
            "encoder_name_or_path": str(hubert),
            "decoder_name_or_path": str(backbone_paths["qwen3"]),
            "projector_type": "swiglu",
            "projector_stack": 2,
            "projector_hidden_size": 64,
            "encoder_lora": ENCODER_LORA,
            "decoder_lora": DECODER_LORA,
        },
        "data": {"train": [{"parquet": str(write_parquet_corpus(tmp_path / "corpus", count=8))}]},
        "training": {
            "output_dir": str(run_dir),
            "max_steps": 60,  # many short steps: the kill lands mid-run even when the CPUs are busy
            "per_device_train_batch_size": 2,
            "learning_rate": 3e-3,
            "save_strategy": "steps",
            "save_steps": 20,  # seconds apart: the kill lands between checkpoint writes
            "eval_strategy": "no",
            "logging_steps": 1,
            "report_to": "none",
            "use_cpu": True,
            "seed": 0,
            "activation_checkpointing": True,
            "ddp_find_unused_parameters": True,
        },
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    command = TWO_CPU_PROCESSES + [str(ROOT / "train.py"), "--config", str(tmp_path / "recipe.yaml")]
    env = {**os.environ, **CHILD_ENV}
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        checkpoint, files = run_dir / "checkpoint-20", ("trainer_state.json", "rng_state_0.pth", "rng_state_1.pth")
        deadline = time.time() + 240
        while not all((checkpoint / name).exists() for name in files):
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.time() < deadline, "no checkpoint within 240 s"
            time.sleep(0.05)
        kill_tree(first)
    assert not (run_dir / "model").exists()
    output = run_child(command, timeout=300)
    assert "resuming from" in output
    summary = json.loads((run_dir / "model" / "training_summary.json").read_text())
    resumed_at = int(summary["resumed_from"].rsplit("-", 1)[1])
    assert summary["world_size"] == 2 and summary["global_step"] == 60 and resumed_at in (20, 40), summary


# -- the named Hub datasets, streamed --------------------------------------------------------------------------


def stream_mix(encoder_dir: str, decoder_dir: str, samples: str, out_file: str) -> None:
    """The HuBERT recipe's data section plus Common Voice, streamed from HF_ENDPOINT (set before any import): origin
    counts of the first `samples` rows, one collated batch's label texts, and the eval clips."""
    import collections
    import itertools

    from tiny_audio import ASRConfig, ASRProcessor
    from tiny_audio.training.collator import ASRCollator
    from tiny_audio.training.recipe import load_recipe
    from tiny_audio.training.sources import build_training_mix
    from tiny_audio.training.trainer import load_eval_examples

    data = load_recipe(RECIPES["hubert"], ["data.nonspeech_pool=8"])["data"]
    data["train"].append({"hub": "common_voice", "weight": 0.1})
    rows = list(itertools.islice(build_training_mix(data, seed=42), int(samples)))
    origins = [row["audio"]["path"].split("-")[0] for row in rows]
    first = {}
    for origin, row in zip(origins, rows, strict=True):
        first.setdefault(origin, row)
    processor = ASRProcessor.from_config(ASRConfig(encoder_name_or_path=encoder_dir, decoder_name_or_path=decoder_dir))
    collator = ASRCollator(processor, "Transcribe the audio.", min_seconds=data["min_seconds"], max_seconds=30)
    batch = collator(list(first.values()))
    labels = [[token for token in row if token != -100] for row in batch["labels"].tolist()]
    record = {
        "counts": collections.Counter(origins),
        "weights": {spec["hub"]: spec["weight"] for spec in data["train"]},
        "nonspeech_fraction": data["nonspeech_fraction"],
        "labels": dict(zip(first, processor.batch_decode(labels), strict=True)),
        "texts": {origin: row["text"] for origin, row in first.items()},
        "eval": [text for _, text in load_eval_examples(data["eval"], 0, collator)],
    }
    Path(out_file).write_text(json.dumps(record))


def test_named_hub_datasets_stream_as_a_weighted_mix_through_the_collator(tmp_path, backbone_paths):
    """The five named Hub datasets, each in its published schema (hub_datasets.py), served by LocalHub and streamed
    by `datasets` as the GPU recipes stream them: the mix follows the weights, GigaSpeech's tags become punctuation
    and its garbage segments are left out, transcripts reach the labels with single spaces, and the recipes' eval
    source (LoquaciousSet dev, audio in `wav`) loads."""
    from hub_datasets import seed_named_datasets
    from local_hub import LocalHub

    samples = 400
    with LocalHub(tmp_path / "hub", max_seconds=600) as hub:
        seed_named_datasets(hub, tmp_path / "repos")
        command = [sys.executable, __file__, "stream-mix", str(backbone_paths["hubert"]), str(backbone_paths["qwen3"])]
        command += [str(samples), str(tmp_path / "mix.json")]
        environment = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf-home")}
        run_child(command, timeout=300, **environment)
        asked = {path for _, path in hub.requests}
    record = json.loads((tmp_path / "mix.json").read_text())
    assert any(path.startswith("/api/datasets/speechcolab/gigaspeech") for path in asked)
    weights, share = record["weights"], record["nonspeech_fraction"]
    total = sum(weights.values())
    for source, weight in weights.items():
        expected = (1 - share) * weight / total
        assert record["counts"].get(source, 0) / samples == pytest.approx(expected, abs=0.06), (source, record)
    assert record["counts"].get("nonspeech", 0) / samples < 0.06
    labels, texts = record["labels"], record["texts"]
    assert labels["gigaspeech"].startswith("AS THEY LEFT, DID ROW") and labels["gigaspeech"].endswith("END?")
    assert "<" not in texts["gigaspeech"]
    assert labels["loquacious"].startswith("THE COURSE NUMBER") and "  " in texts["loquacious"]  # two spaces, collapsed
    assert labels["peoples_speech"].startswith("we talked about it for")
    assert labels["common_voice"].startswith("Sentence") and labels["common_voice"].endswith(", read aloud.")
    assert len(record["eval"]) == 6 and all(text.startswith("THE") for text in record["eval"])


# -- the throughput benchmark ----------------------------------------------------------------------------------


def test_gpu_throughput_benchmark_runs_its_tiny_mode_on_cpu():
    output = run_child([sys.executable, "benchmarks/gpu_throughput.py", "--tiny"], timeout=300)
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("|") and "RTFx" in line)
    rows = [line for line in lines[header + 2 :] if line.startswith("|")]
    assert any("stock Whisper" in row for row in rows) and any("train" in row for row in rows), output[-3000:]
    for row in rows:  # every measured figure is a positive number
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        numbers = [float(cell.replace(",", "")) for cell in cells[2:] if cell not in ("", "-")]
        assert numbers and all(number > 0 for number in numbers), row


if __name__ == "__main__":
    modes = {"fsdp-worker": fsdp_worker, "accelerate-probe": accelerate_probe, "stream-mix": stream_mix}
    modes[sys.argv[1]](*sys.argv[2:])
