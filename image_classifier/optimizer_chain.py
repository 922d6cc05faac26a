"""The optimizer chain of the training graph, from the clones to the train op.

    learning-rate schedule -> optimizer (image_classifier/optimization.py)
      -> loss scaling (float16, slim.precision) -> replica sync
      -> the clones' gradients (all-reduce workers: averaged over the
         workers) -> update, gated on a finite loss (and, for
         asynchronous replicas, on claiming a step below the limit)
      -> (all-reduce workers: the statistics averaged) -> train op

`build_optimizer_chain` runs these in the order the graph has always been
built in; each link is a function of plain values.
"""
import collections

import tensorflow as tf

import slim
from deployment import all_reduce
from deployment import model_deploy
from image_classifier import cli
from image_classifier import optimization
from image_classifier import train_specs
from image_classifier import train_summaries

tf1 = tf.compat.v1


def variables_to_train(trainable_scopes):
  """Trainable variables under the comma-separated scopes (all if None)."""
  if not trainable_scopes:
    return tf1.trainable_variables()
  found = []
  for scope in train_specs.split_scopes(trainable_scopes):
    found.extend(tf1.get_collection(tf1.GraphKeys.TRAINABLE_VARIABLES, scope))
  if not found:
    cli.fail(f'--trainable_scopes={trainable_scopes} matches no trainable '
             'variable; scopes look like InceptionV3/Logits.')
  return found


def moving_average(decay, global_step):
  """The tf1.train.ExponentialMovingAverage of the weights, or None."""
  if not decay:
    return None
  return tf1.train.ExponentialMovingAverage(decay, global_step)


def build_optimizer(chain, num_samples, batch_size, global_step,
                    batches_per_update=None):
  """The learning-rate tensor and the optimizer that follows it.

  Args:
    chain: the train_specs.OptimizationSpec.
    num_samples: examples per epoch of the training split.
    batch_size: examples per clone and step.
    global_step: the global step variable.
    batches_per_update: the batches of `batch_size` that one update
      averages, where the schedule counts them (all-reduce: workers x
      clones); None: --replicas_to_aggregate with --sync_replicas, else 1.

  Returns:
    (learning_rate, optimizer).
  """
  if batches_per_update is None:
    batches_per_update = (chain.replicas_to_aggregate
                          if chain.sync_replicas else 1)
  learning_rate = optimization.configure_learning_rate(
      chain.decay_type, chain.schedule, num_samples, batch_size,
      global_step, replicas_to_aggregate=batches_per_update,
      max_number_of_steps=chain.max_number_of_steps)
  optimizer = optimization.configure_optimizer(
      chain.optimizer, learning_rate, chain.optimizer_params)
  return learning_rate, optimizer


def wrap_optimizer(optimizer, precision, chain, num_replicas,
                   averages=None, variables_device=''):
  """The optimizer with loss scaling (float16) and replica sync around it.

  Args:
    optimizer: the tf1 optimizer.
    precision: the ModelSpec's precision.
    chain: the train_specs.OptimizationSpec (sync_replicas, replicas_to_aggregate).
    num_replicas: the number of worker replicas.
    averages: the ExponentialMovingAverage of the weights, or None; the
      SyncReplicasOptimizer updates it.
    variables_device: where the loss scale's variables live.

  Returns:
    (optimizer, the SyncReplicasOptimizer or None).
  """
  if precision == 'float16':
    # float16 gradients underflow without loss scaling.
    with tf1.device(variables_device):
      optimizer = slim.precision.LossScaleOptimizer(optimizer)
  if not chain.sync_replicas:
    return optimizer, None
  # The chief's queue runner aggregates the gradients, applies them and
  # updates the moving averages, once per global step.
  optimizer = tf1.train.SyncReplicasOptimizer(
      optimizer, replicas_to_aggregate=chain.replicas_to_aggregate,
      total_num_replicas=num_replicas, variable_averages=averages,
      variables_to_average=(slim.get_model_variables()
                            if averages is not None else None))
  return optimizer, optimizer


def _apply_gradients(optimizer, grads_and_vars, global_step, checked_loss,
                     learning_rate, step_limit):
  """The update op, gated on a finite loss.

  With `step_limit` (asynchronous replicas), the step is claimed before the
  update with an atomic count_up_to on the global step: a replica that
  finds the limit reached gets OutOfRangeError (which ends training) and
  applies nothing, so the global step stops at exactly the limit however
  many workers race for the last step. The learning rate is read before
  the claim, so the update uses the same rate as without it.
  """
  # A NaN/Inf loss stops the step before any weight is updated, so the
  # last checkpoint stays good.
  with tf.control_dependencies([checked_loss]):
    if step_limit is None:
      return optimizer.apply_gradients(grads_and_vars,
                                       global_step=global_step)
    with tf.control_dependencies([learning_rate]):
      claim = tf.raw_ops.ResourceCountUpTo(
          resource=global_step.handle, limit=step_limit,
          T=global_step.dtype.base_dtype)
  with tf.control_dependencies([claim]):
    return optimizer.apply_gradients(grads_and_vars)


def _statistics(averages):
  """The variables a step changes outside the gradients: the model
  variables that are not trained (batch-norm moving statistics,
  quantization ranges) and the moving averages of the weights."""
  trained = {v.ref() for v in tf1.trainable_variables()}
  model_variables = slim.get_model_variables()
  found = [v for v in model_variables if v.ref() not in trained]
  if averages is not None:
    found += [averages.average(v) for v in model_variables
              if averages.average(v) is not None]
  return found


def _step_updates(update_ops, placement, averages):
  """The op of a step's updates; on all-reduce workers, followed by the
  average over the workers of the statistics the updates changed, so
  that every variable stays the same on every worker."""
  updates = tf.group(*update_ops)
  if placement.collective is None:
    return updates
  with tf.control_dependencies([updates]):
    synced = all_reduce.mean_in_place(_statistics(averages),
                                      placement.collective,
                                      placement.config.optimizer_device())
  return updates if synced is None else synced


OptimizerChain = collections.namedtuple('OptimizerChain', [
    'train_tensor', 'learning_rate', 'sync_optimizer', 'moving_average',
    'summaries'])
OptimizerChain.__doc__ = """The optimizer stage's result: the train op (the
checked total loss, after every update), the learning-rate tensor, the
SyncReplicasOptimizer (or None), the moving average of the weights (or
None) and the summaries of the learning rate, the total loss and (with
summarize_gradients) the gradients."""


def build_optimizer_chain(clones, global_step, chain, model, num_samples,
                          batch_size, placement, summarize_gradients=False):
  """Schedule -> optimizer -> loss scaling -> replica sync -> train op.

  Args:
    clones: the model_deploy clones (built and rewritten).
    global_step: the global step variable.
    chain: the train_specs.OptimizationSpec.
    model: the specs.ModelSpec (precision, moving_average_decay).
    num_samples: examples per epoch of the training split.
    batch_size: examples per clone and step.
    placement: the train_specs.Placement (devices, replicas).
    summarize_gradients: also summarize the gradients.

  Returns:
    An OptimizerChain.
  """
  config = placement.config
  update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS,
                                  config.clone_scope(0))
  averages = moving_average(model.moving_average_decay, global_step)
  batches_per_update = None
  if placement.collective is not None:
    batches_per_update = placement.collective.size * config.num_clones
  with tf1.device(config.optimizer_device()):
    learning_rate, optimizer = build_optimizer(chain, num_samples,
                                               batch_size, global_step,
                                               batches_per_update)
    summaries = {train_summaries.learning_rate_summary(learning_rate)}
  optimizer, sync_optimizer = wrap_optimizer(
      optimizer, model.precision, chain, placement.num_replicas, averages,
      config.variables_device())
  if averages is not None and sync_optimizer is None:
    update_ops.append(averages.apply(slim.get_model_variables()))
  total_loss, clones_gradients = model_deploy.optimize_clones(
      clones, optimizer, var_list=variables_to_train(chain.trainable_scopes))
  summaries |= train_summaries.loss_summaries(
      total_loss, clones_gradients if summarize_gradients else None)
  checked_loss = slim.learning.check_loss_numerics(total_loss)
  if placement.collective is not None:
    # After the summaries, which must not wait for the other workers.
    clones_gradients = all_reduce.mean_gradients(
        clones_gradients, placement.collective, after=checked_loss,
        device=config.optimizer_device())
  exact_stop = (placement.distributed and not chain.sync_replicas
                and chain.max_number_of_steps)
  update_ops.append(_apply_gradients(
      optimizer, clones_gradients, global_step, checked_loss, learning_rate,
      chain.max_number_of_steps if exact_stop else None))
  with tf.control_dependencies([_step_updates(update_ops, placement,
                                               averages)]):
    train_tensor = tf.identity(checked_loss, name='train_op')
  return OptimizerChain(train_tensor, learning_rate, sync_optimizer,
                        averages, summaries)

