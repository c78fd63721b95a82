"""Publishing: a trained checkpoint becomes a Hugging Face Hub repository that loads with `pipeline(...)`.

| module | job |
| --- | --- |
| `assemble` | find the model in a checkpoint and build the repository folder (model files + `hub_repo/` template) |
| `model_card` | the README.md model card: Hub metadata with model-index, usage, results, limitations |
| `training_record` | `TrainingRecord` (how a checkpoint was trained) and the card's sentences on training and data |
| `upload` | create the repository and commit only the files whose content changed |
| `verify` | load the pushed model in a fresh process without tiny-audio and compare its text with the local one |
| `redaction` | keep the token and secret-looking recipe values out of files and messages |
| `push` | `push()`: the whole job, for the CLI and for training scripts |
| `callback` | `HubRepoCallback`: completes what the Trainer's own Hub pushes upload (remote code, model card) |
| `cli` | the `tiny-audio push` command (also `python push.py`) |
"""
