"""Train Stable-Baselines3's DQN on the summarization environment.

Each observation is the generator's decoder state (a vector), each action is a
word, and the reward arrives at the end of the summary: its ROUGE-L F score
against the reference summaries. DQN learns Q(s, word) for all ~2,200 words.

    pip install 'seq2seq-gym[sb3]'
    python examples/sb3_dqn_summarization.py --timesteps 20000
"""

import argparse

import gymnasium as gym
from stable_baselines3 import DQN

import seq2seq_gym  # noqa: F401  (registers the Seq2Seq/* environments)

parser = argparse.ArgumentParser()
parser.add_argument("--timesteps", type=int, default=5_000)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

# The built-in synthetic summarization task with its shipped pre-trained generator.
# DQN explores uniformly, so it may pick a "copy source word k" action for a source
# with fewer than k rare words: by default (invalid_copy="unk") that emits <unk>.
# reward_mode="dense": every word gets the change of ROUGE-L it causes, which is
# easier to learn from than one number at the end (the sum is the same).
env = gym.make("Seq2Seq/Summarization-v0", reward_mode="dense", max_length=20)

model = DQN(
    "MlpPolicy",
    env,
    learning_starts=500,
    buffer_size=20_000,
    exploration_fraction=0.3,  # explore for the first 30% of training
    target_update_interval=500,
    seed=args.seed,
    verbose=1,
)
model.learn(total_timesteps=args.timesteps, progress_bar=False)

# Watch the learned policy write one summary.
env = gym.make("Seq2Seq/Summarization-v0", max_length=20, render_mode="ansi")
obs, info = env.reset(seed=args.seed + 1)
done = False
while not done:
    action, _ = model.predict(obs, deterministic=True)
    obs, reward, terminated, truncated, info = env.step(int(action))
    done = terminated or truncated
print(env.render())
print("ROUGE-L:", env.unwrapped.last_episode["scores"])  # the record of the finished episode
