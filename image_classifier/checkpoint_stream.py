"""Which checkpoints an evaluation takes: one, or every new one a training
run writes.

A single evaluation resolves --checkpoint_path to one prefix (a directory's
latest checkpoint; for <train_dir>/best, the best its index.json lists).
A waiting one (--wait_for_checkpoints, or the evaluator task a cluster
launcher starts) follows a training directory: it starts beside the
workers, possibly before the chief has created the directory, and yields
each new checkpoint until training stops writing them.
"""
import os

import tensorflow as tf

import slim
from deployment import cluster as cluster_lib
from image_classifier import best_checkpoints
from image_classifier import cli


def is_evaluator_task(tf_config=None):
  """Whether TF_CONFIG (default: the environment's) makes this process a
  launcher's evaluator task.

  Raises:
    cli.UserError: for a malformed TF_CONFIG.
  """
  if tf_config is None:
    tf_config = os.environ.get('TF_CONFIG')
  with cli.user_input():
    task_type = cluster_lib.tf_config_task_type(tf_config)
  return task_type == cluster_lib.EVALUATOR


def _may_become_training_dir(path):
  """Whether `path` is a directory, or nothing yet: an evaluator starts
  beside the workers, before the chief has created --train_dir, and waits
  for it. A checkpoint prefix or a file is not one."""
  if tf.io.gfile.exists(path + '.index'):
    return False
  return tf.io.gfile.isdir(path) or not tf.io.gfile.exists(path)


def checkpoints_to_evaluate(checkpoint_path, wait, min_interval_secs=0,
                            timeout_secs=None):
  """The checkpoint prefixes to evaluate, one or a stream of new ones.

  Args:
    checkpoint_path: a checkpoint prefix or a training directory.
    wait: follow the directory, yielding each new checkpoint.
    min_interval_secs: with `wait`, the least time between two.
    timeout_secs: with `wait`, how long to wait for a new one before the
      stream ends; None waits forever.

  Raises:
    cli.UserError: no checkpoint at `checkpoint_path`, or `wait` with a
      path that is not (and cannot become) a directory.
  """
  if not wait:
    with cli.user_input('--checkpoint_path'):
      # <train_dir>/best: the best that its index.json lists, the truth
      # even where a kill left its state file behind.
      best = best_checkpoints.best_checkpoint(checkpoint_path)
      yield slim.variables.resolve_checkpoint_path(best or checkpoint_path)
    return
  if not _may_become_training_dir(checkpoint_path):
    cli.fail('--wait_for_checkpoints needs --checkpoint_path to be the '
             f'training directory; {checkpoint_path} is not a directory.')
  yield from slim.evaluation.checkpoints_iterator(
      checkpoint_path, min_interval_secs=min_interval_secs,
      timeout=timeout_secs)
