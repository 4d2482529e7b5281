"""Train sb3-contrib's MaskablePPO on the captioning environment.

A policy choosing among every word of a vocabulary explores badly. The
environment's ``action_masks()`` allows only the pre-trained generator's 10
most likely next words (plus end-of-sentence); MaskablePPO samples within that
mask, so it starts from sensible captions and learns which ones score a higher
CIDEr-D against the five reference captions of each image.

    pip install 'seq2seq-gym[sb3]'
    python examples/sb3_maskable_ppo_captioning.py --timesteps 20000
"""

import argparse

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks

import seq2seq_gym  # noqa: F401  (registers the Seq2Seq/* environments)
from seq2seq_gym.envs.sb3 import make_sb3_vec_env

parser = argparse.ArgumentParser()
parser.add_argument("--timesteps", type=int, default=4_096)
parser.add_argument("--num-envs", type=int, default=8)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

# Eight captions written at once with one batched decoder step (the native vector
# env), presented to SB3 as its VecEnv. Each observation is the decoder state.
venv = make_sb3_vec_env("Seq2Seq/Captioning-v0", num_envs=args.num_envs, mask_top_k=10)

model = MaskablePPO("MlpPolicy", venv, n_steps=128, batch_size=256, seed=args.seed, verbose=1)
model.learn(total_timesteps=args.timesteps)
# The vector env reports each finished caption as SB3's Monitor does (info["episode"]),
# so SB3 logs rollout/ep_rew_mean above and keeps the last 100 episodes here.
rewards = [ep["r"] for ep in model.ep_info_buffer]
print(f"episodes: {len(rewards)}  mean CIDEr-D of the last {len(rewards)}: {np.mean(rewards):.3f}")

# Caption one image with the trained policy, still restricted to the mask.
env = gym.make("Seq2Seq/Captioning-v0", mask_top_k=10, render_mode="ansi")
obs, info = env.reset(seed=args.seed + 1)
done = False
while not done:
    action, _ = model.predict(obs, action_masks=get_action_masks(env.unwrapped), deterministic=True)
    obs, reward, terminated, truncated, info = env.step(int(action))
    done = terminated or truncated
print(env.render())
record = env.unwrapped.last_episode  # the record of the finished episode
print("caption:", record["text"], "| CIDEr-D:", record["scores"])
