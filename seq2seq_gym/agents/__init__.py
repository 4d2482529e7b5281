"""Reinforcement-learning agents that fine-tune the whole encoder-decoder.

Planned (see the project issues): REINFORCE, self-critical sequence training,
MIXER, the mixed CE/RL objective, A2C, DQN / Double DQN / Dueling DQN critics
and actor-critic with Q critics, in the Stable-Baselines3 style. Nothing is
exported yet.
"""

__all__: list[str] = []
