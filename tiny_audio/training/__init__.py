"""Training on the Hugging Face Trainer from YAML recipes (configs/)."""
