"""``PPOConfig``: every knob of a PPO run, in a module of its own.

It lives apart from :mod:`jinglian.train.ppo` so :mod:`jinglian.train.config` can name it without
importing the trainer (which imports the config): no import circle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PPOConfig:
    """Every knob of a PPO run (the ``args:`` section of a ppo config)."""

    output_dir: str = "out/ppo"
    seed: int = 0
    max_steps: int = 100  # rollout + update iterations
    batch_size: int = 16  # prompts per rollout
    mini_batch_size: int = 8  # rollouts per optimizer step
    num_ppo_epochs: int = 4  # passes over each rollout batch
    learning_rate: float = 1e-5
    max_grad_norm: float = 1.0
    max_prompt_length: int = 256  # longer prompts keep their end
    response_length: int = 64  # max new tokens
    # Sampling: the same temperature/top_k/top_p shape the log-probabilities used for the ratio and
    # the KL (see jinglian.train.ppo.generation_config); top_k=0 and top_p=1.0 mean "off".
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 1.0
    kl_coef: float = 0.05  # per-token KL penalty (k1 estimator: logp - logp_ref); the start value if adaptive
    # Adaptive KL controller (Ziegler et al. 2019, §2.2; InstructGPT): with kl_target set (nats per
    # response), kl_coef *= 1 + clip(KL / kl_target - 1, -0.2, 0.2) * batch_size / kl_horizon each step.
    kl_target: float | None = None
    kl_horizon: int = 10000  # samples; Ziegler et al. use 10,000
    cliprange: float = 0.2
    cliprange_value: float = 0.2
    vf_coef: float = 0.1
    gamma: float = 1.0
    lam: float = 0.95
    whiten_rewards: bool = False
    missing_eos_penalty: float | None = 1.0  # subtracted from the score of responses without EOS
    critic_path: str | None = None  # default: the reward model, else the policy's model
    bf16: bool = False  # autocast on CUDA
    gradient_checkpointing: bool = False
    logging_steps: int = 1
    save_steps: int = 0  # 0: save only at the end
    resume_from_checkpoint: str | bool | None = None
    report_to: str = "none"  # kept for familiarity; metrics go to OUTPUT_DIR/log.jsonl
