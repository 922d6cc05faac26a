"""The CifarNet checkpoints several test files share.

* A CifarNet trained on the shapes data, for the tests that need a network
  with real decisions (an int8 model's agreement with the float one, the
  ranges of quantization-aware training). Training takes most of those
  tests' time, so the float run is done once per test session: the
  `shapes_data` and `trained_cifarnet` fixtures of tests/conftest.py call
  `make_shapes` and `train_cifarnet` here, and every test reads the same
  directories. A run that genuinely differs (quantization-aware
  fine-tuning from it) calls `train_cifarnet` with its own flags.
* A CifarNet with random weights large enough that the classes' scores
  differ clearly (`save_random_cifarnet`, the `random_cifarnet` fixture),
  for the tests of tools that only need the formats to agree.
"""
import os

import numpy as np
import tensorflow as tf

import slim
from image_classifier import network
from tests import cli_harness as h

# 128 training images per shape; 100 held out (1 point = 1 image).
SHAPES_SPLITS = dict(train=640, validation=100)
# CifarNet learns the shapes to ~0.8 validation accuracy in 300 Adam steps
# of 32 (~30 s on 2 CPUs), with the lenet preprocessing of FAST_TRAIN.
FLOAT_RUN = dict(max_number_of_steps=300, batch_size=32, optimizer='adam',
                 learning_rate=0.002, opt_epsilon=1e-8, seed=1,
                 log_every_n_steps=100)


def make_shapes(dataset_dir):
  """The shapes dataset of SHAPES_SPLITS in `dataset_dir`; returns it."""
  return h.make_shapes(dataset_dir, **SHAPES_SPLITS)


def train_cifarnet(dataset_dir, train_dir, **overrides):
  """Trains CifarNet with FLOAT_RUN updated by `overrides`.

  Args:
    dataset_dir: the shapes dataset.
    train_dir: where the checkpoints go.
    **overrides: train_image_classifier flag values that differ from
      FLOAT_RUN (e.g. quantize_delay and checkpoint_path to fine-tune).

  Returns:
    `train_dir`, as a string.
  """
  train_image_classifier = h.script_module('train_image_classifier')
  train_image_classifier.train(h.train_values(
      dataset_dir, train_dir, **dict(FLOAT_RUN, **overrides)))
  return str(train_dir)


def save_random_cifarnet(checkpoint_dir, seed=3, step=5):
  """Saves CifarNet (5 classes) with random weights, at global step `step`.

  Each weight is drawn from N(0, (2 / sqrt(fan_in))^2), twice the deviation
  of He initialization, so the logits spread and the probabilities differ
  clearly between classes.

  Returns:
    The checkpoint's path (`checkpoint_dir`/model.ckpt-`step`).
  """
  rng = np.random.default_rng(seed)
  prefix = os.path.join(str(checkpoint_dir), 'model.ckpt')
  with tf.Graph().as_default():
    global_step = slim.get_or_create_global_step()
    network.build_inference_graph('cifarnet', h.NUM_CLASSES)
    with tf.compat.v1.Session() as sess:
      for variable in slim.get_model_variables():
        shape = variable.shape.as_list()
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        variable.load(rng.normal(0, 2.0 / np.sqrt(fan_in), shape), sess)
      global_step.load(step, sess)
      return tf.compat.v1.train.Saver().save(sess, prefix, global_step=step)
