"""Batch-norm statistics that match the weights.

Batch norm normalizes with the statistics of the batch while training and
with moving averages of them at evaluation. The averages decay as
`moving -= (1 - decay) * (moving - batch_stat)`, so after `steps` updates
`decay ** steps` of their initial values (mean 0, variance 1) is left: a
short run with a network's default decay (0.9997 for most ImageNet models)
evaluates with statistics that match nothing.

Two remedies, both here:

* train with a faster --batch_norm_decay (`decay_warning` says when a run
  was too short for its decay, and which decay would have fit);
* re-estimate the statistics for the final weights (`build_recompute`,
  `recompute`): N batches of the training split go through the network in
  training mode with the moving-average decay of batch k (from 0) set to
  k / (k + 1), which makes each moving mean the exact mean of the N batch
  means (and each moving variance the mean of the N batch variances,
  Bessel-corrected on the fused path as in training): PyTorch's
  "cumulative moving average" (momentum=None). Images are preprocessed as
  for evaluation (no random distortion); dropout runs in training mode,
  which only matters for a batch norm placed after a dropout.
"""
import collections
import dataclasses
import math
import os

from absl import logging
import tensorflow as tf

from image_classifier import cli
from image_classifier import model_on_split
from nets import nets_factory
from nets.registry import NETWORKS

tf1 = tf.compat.v1

# The name scope of the network copy that recomputes the statistics.
RECOMPUTE_SCOPE = 'recompute_batch_norm'

# The share of its initial value a moving average may keep at the end of a
# run without a warning.
RESIDUE_LIMIT = 0.05


def effective_decay(model_name, batch_norm_decay):
  """The batch-norm decay a network trains with.

  Args:
    model_name: a registered network name.
    batch_norm_decay: the --batch_norm_decay value (None: the network's).

  Returns:
    `batch_norm_decay` if set, else the default of the network's arg_scope
    (its record's); None for a network without batch norm.
  """
  if batch_norm_decay is not None:
    return batch_norm_decay
  return NETWORKS[model_name].batch_norm_decay


def check_decay(batch_norm_decay):
  """Fails with one line unless the flag is None or in (0, 1)."""
  if batch_norm_decay is not None and not 0.0 < batch_norm_decay < 1.0:
    cli.fail(f'--batch_norm_decay must be between 0 and 1 (exclusive), e.g. '
             f'0.99; received {batch_norm_decay}.')


def needed_steps(decay):
  """Steps after which decay ** steps <= RESIDUE_LIMIT (~3 / (1 - decay))."""
  return math.ceil(math.log(RESIDUE_LIMIT) / math.log(decay))


def decay_warning(decay, steps):
  """The warning for a run too short for its batch-norm decay, or None.

  Args:
    decay: the moving-average decay the run trained with (None: no batch
      norm, no warning).
    steps: the global step the run ended at.

  Returns:
    A message with the numbers and the flags to use, when
    decay ** steps > RESIDUE_LIMIT; else None.
  """
  if decay is None or not 0.0 < decay < 1.0:
    return None
  steps = max(int(steps), 0)
  residue = decay ** steps
  if residue <= RESIDUE_LIMIT:
    return None
  # The largest decay (3 decimals) for which these steps would have sufficed.
  fitting = math.floor(RESIDUE_LIMIT ** (1.0 / max(steps, 1)) * 1000) / 1000
  return (f'Batch norm: {steps} steps are too few for the moving statistics '
          f'with decay {decay:g}: decay^steps = {residue:.2f} of their '
          f'initial values is left (it takes {needed_steps(decay)} steps, '
          f'about 3/(1 - decay), to fall below {RESIDUE_LIMIT:g}), so '
          'evaluation with them will be poor. Evaluate with '
          '--recompute_batch_norm_statistics=100, or train with '
          f'--batch_norm_decay={max(fitting, 0.5):g} or lower.')


def has_batch_norm(graph_variables):
  """Whether any of the variables is a batch-norm moving mean."""
  return any(v.op.name.endswith('/moving_mean') for v in graph_variables)


Recompute = collections.namedtuple('Recompute',
                                   ['decay', 'update_ops', 'num_batches'])
Recompute.__doc__ = """The ops that re-estimate the batch-norm statistics:
the decay placeholder, the moving-average update ops and the number of
batches to run them on."""


def _decay_placeholder():
  """The decay each recompute run feeds (k / (k + 1) for batch k)."""
  return tf1.placeholder(tf.float32, [], name='recompute_batch_norm_decay')


def _new_update_ops(build_network, model_name, decay, num_batches):
  """A Recompute of the update ops that `build_network()` adds.

  Raises:
    ValueError: if it adds none (the network has no batch norm).
  """
  before = set(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS))
  build_network()
  update_ops = [op for op in tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
                if op not in before]
  if not update_ops:
    raise ValueError(f'{model_name} has no batch norm: there are no '
                     'statistics to recompute.')
  return Recompute(decay, update_ops, num_batches)


def build_recompute_ops(model_name, num_classes, images, num_batches):
  """Builds the network in training mode on `images`, reusing its variables.

  The network must already be built once in the graph (its variables
  exist); this copy's batch norms use the batch statistics and update the
  moving ones with the decay fed to the returned placeholder.

  Args:
    model_name: a registered network name.
    num_classes: the class count the network was built with.
    images: a batch of preprocessed images (each run draws a new one).
    num_batches: how many batches `recompute` runs.

  Returns:
    A Recompute.

  Raises:
    ValueError: if the network has no batch norm.
  """
  decay = _decay_placeholder()
  network_fn = nets_factory.get_network_fn(
      model_name, num_classes, is_training=True, batch_norm_decay=decay)
  return _new_update_ops(
      lambda: model_on_split.apply_network(
          network_fn, images, reuse=True, name_scope=RECOMPUTE_SCOPE),
      model_name, decay, num_batches)


def build_recompute(data, model, input_spec, num_batches, image_size,
                    num_classes):
  """Recompute ops on batches of a split, preprocessed as for evaluation.

  The network (in training mode, at `model`'s precision) reuses the
  variables of the one built before it; its images are drawn from the
  split reshuffled without end (seed 0, one reader).

  Args:
    data: a specs.DataSpec naming the split to draw the batches from (the
      training split).
    model: the specs.ModelSpec of the evaluated network.
    input_spec: a specs.InputSpec (batch size, preprocessing threads).
    num_batches: the number of batches.
    image_size: the evaluation image size.
    num_classes: the class count the network was built with.

  Returns:
    A Recompute.
  """
  decay = _decay_placeholder()
  parts = model_on_split.model_parts(
      data, dataclasses.replace(model, image_size=image_size),
      is_training=True, train_preprocessing=False, batch_norm_decay=decay)
  if parts.num_classes != num_classes:
    cli.fail(f'--batch_norm_split_name={data.split_name} has '
             f'{parts.num_classes} classes; the network has {num_classes}.')
  reading = model_on_split.Reading(
      provider=model_on_split.TRAIN, seed=0, drop_remainder=True,
      repeat=True)
  with cli.user_input('--recompute_batch_norm_statistics'):
    return _new_update_ops(
        lambda: model_on_split.on_split(
            parts, data, dataclasses.replace(input_spec, num_readers=1),
            reading, reuse=True, network_scope=RECOMPUTE_SCOPE),
        model.model_name, decay, num_batches)


def recompute(session, ops):
  """Runs the updates: each moving statistic becomes the batches' mean."""
  for k in range(ops.num_batches):
    session.run(ops.update_ops, feed_dict={ops.decay: k / (k + 1.0)})
  logging.info('Recomputed the batch-norm statistics on %d batches.',
               ops.num_batches)


class RecomputeHook(tf1.train.SessionRunHook):
  """Recomputes the statistics once the checkpoint is restored.

  Optionally saves the result (`saver`, `save_path`), for export.
  """

  def __init__(self, ops, saver=None, save_path=None):
    self._ops = ops
    self._saver = saver
    self._save_path = save_path
    self.saved_path = None

  def after_create_session(self, session, coord):
    del coord
    recompute(session, self._ops)
    if self._saver is not None:
      tf.io.gfile.makedirs(os.path.dirname(self._save_path))
      self.saved_path = self._saver.save(session, self._save_path,
                                         write_meta_graph=False)
      logging.info('Saved the checkpoint with recomputed batch-norm '
                   'statistics: %s', self.saved_path)
