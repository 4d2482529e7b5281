"""Reinforcement-learning agents that fine-tune the whole encoder-decoder.

Built so far (the parts that do not depend on rollouts or the agent base):

- :mod:`~seq2seq_gym.agents.losses`: pure loss functions, one equation each
  (REINFORCE, cross-entropy, MIXER, the mixed CE/RL objective, entropy, KL penalties,
  PPO clip, value and TD losses, dueling aggregation);
- :mod:`~seq2seq_gym.agents.advantages`: baselines (self-critical, batch mean,
  leave-one-out, moving average), reward-to-go, GAE, n-step returns, DQN / Double DQN /
  expected-SARSA bootstrap values;
- :mod:`~seq2seq_gym.agents.schedules`: state-free schedules for the learning rate,
  ``eta``, MIXER's ``delta`` and exploration;
- :mod:`~seq2seq_gym.agents.logger`: stdout / CSV / JSON / TensorBoard logger with SB3's keys;
- :mod:`~seq2seq_gym.agents.callbacks`: SB3-shaped callbacks;
- :mod:`~seq2seq_gym.agents.evaluation`: bootstrap intervals and the paired bootstrap test;
- :mod:`~seq2seq_gym.agents.heads`: critic heads on the decoder features (value, full linear,
  tied, dueling, top-k and copy-slot Q), each able to start from the generator, a registry
  and :func:`~seq2seq_gym.agents.heads.build_critic` (shared or own trunk, ``detach_trunk``);
- :mod:`~seq2seq_gym.agents.buffers`: replay of examples and token prefixes with n-step
  rewards, uniform or prioritized (Schaul et al. 2016);
- :mod:`~seq2seq_gym.agents.targets`: target networks (hard or Polyak) and checked DQN /
  Double DQN / expected-SARSA targets.

Planned (see the project issues): the rollout API, the ``Agent`` base, and REINFORCE,
self-critical sequence training, MIXER, the mixed loss, A2C, PPO, DQN / Double DQN /
Dueling DQN and actor-critic with Q critics, in the Stable-Baselines3 style.
"""

from seq2seq_gym.agents import advantages, buffers, heads, losses, schedules, targets
from seq2seq_gym.agents.buffers import PrioritizedReplayBuffer, ReplayBuffer, ReplaySample
from seq2seq_gym.agents.callbacks import (
    BaseCallback,
    CallbackList,
    CheckpointCallback,
    ConvertCallback,
    EvalCallback,
    EventCallback,
    EveryNTimesteps,
    ProgressBarCallback,
    StopTrainingOnMaxUpdates,
    StopTrainingOnMetricThreshold,
    as_callback,
)
from seq2seq_gym.agents.evaluation import PairedBootstrapResult, ScoreInterval, bootstrap_ci, paired_bootstrap
from seq2seq_gym.agents.heads import (
    CopyQHead,
    Critic,
    CriticHead,
    DuelingQHead,
    LinearQHead,
    TiedQHead,
    TopKQHead,
    ValueHead,
    build_critic,
    make_head,
    register_head,
)
from seq2seq_gym.agents.logger import LOG_KEYS, Logger, configure
from seq2seq_gym.agents.targets import TargetNetwork, q_targets

__all__ = [
    "LOG_KEYS",
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "ConvertCallback",
    "CopyQHead",
    "Critic",
    "CriticHead",
    "DuelingQHead",
    "EvalCallback",
    "EventCallback",
    "EveryNTimesteps",
    "LinearQHead",
    "Logger",
    "PairedBootstrapResult",
    "PrioritizedReplayBuffer",
    "ProgressBarCallback",
    "ReplayBuffer",
    "ReplaySample",
    "ScoreInterval",
    "StopTrainingOnMaxUpdates",
    "StopTrainingOnMetricThreshold",
    "TargetNetwork",
    "TiedQHead",
    "TopKQHead",
    "ValueHead",
    "advantages",
    "as_callback",
    "bootstrap_ci",
    "buffers",
    "build_critic",
    "configure",
    "heads",
    "losses",
    "make_head",
    "paired_bootstrap",
    "q_targets",
    "register_head",
    "schedules",
    "targets",
]
