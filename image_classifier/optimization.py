"""Optimizers and learning-rate schedules of train_image_classifier.py.

Each is a table row: name -> fn(learning_rate or values, hyper-parameters).
The hyper-parameters are the original flags' values, passed in as a plain
`OptimizerParams`/`ScheduleParams` record so that nothing here reads flags.
Behaviour is the original's: exponential decay is staircase, polynomial decay
has power 1.0 and no cycle, and warm-up is linear over `warmup_epochs`.

New rows: the `cosine` schedule, the `adamw` optimizer (Adam with decoupled
weight decay, `AdamWOptimizer`) and Nesterov momentum (`nesterov`, for
`momentum`).
"""
import collections
import math

import tensorflow as tf

from image_classifier import cli

tf1 = tf.compat.v1

OptimizerParams = collections.namedtuple('OptimizerParams', [
    'adadelta_rho', 'adagrad_initial_accumulator_value', 'adam_beta1',
    'adam_beta2', 'opt_epsilon', 'ftrl_learning_rate_power',
    'ftrl_initial_accumulator_value', 'ftrl_l1', 'ftrl_l2', 'momentum',
    'rmsprop_momentum', 'rmsprop_decay', 'nesterov', 'adamw_weight_decay'])

ScheduleParams = collections.namedtuple('ScheduleParams', [
    'learning_rate', 'end_learning_rate', 'learning_rate_decay_factor',
    'num_epochs_per_decay', 'warmup_epochs'])

# Step counts a schedule may use: decay (num_epochs_per_decay epochs),
# warmup (warmup_epochs epochs, a float) and total (the cosine's span).
ScheduleSteps = collections.namedtuple('ScheduleSteps',
                                       ['decay', 'warmup', 'total'])

# The last name component, or a scope, of variables AdamW does not decay.
_NO_DECAY_NAMES = ('biases', 'bias', 'beta', 'gamma')
_NORM_SCOPES = ('BatchNorm', 'LayerNorm', 'GroupNorm', 'InstanceNorm')


def decays_weight(variable):
  """Whether AdamW's decoupled weight decay applies to `variable`.

  Kernels (weights, depthwise_weights, embeddings: rank 2 or more) decay;
  biases and normalisation parameters (BatchNorm/LayerNorm beta and gamma)
  and every other vector or scalar do not, as in timm and big_vision.

  Args:
    variable: a tf.Variable.

  Returns:
    A bool.
  """
  parts = variable.op.name.split('/')
  if parts[-1] in _NO_DECAY_NAMES or any(p in _NORM_SCOPES for p in parts):
    return False
  rank = variable.shape.rank
  return rank is None or rank > 1


class AdamWOptimizer(tf1.train.AdamOptimizer):
  """Adam with decoupled weight decay (Loshchilov & Hutter, ICLR 2019).

  Each step, before Adam's update and with the gradients already computed,
  every variable that `decay_filter` accepts shrinks by
  `var -= learning_rate * weight_decay * var`, where learning_rate is the
  scheduled rate of the step (not Adam's bias-corrected one), as in
  PyTorch's and Keras' AdamW. The decay is not part of the loss, so Adam's
  moments never see it. Slots are named `AdamW` and `AdamW_1`.
  """

  def __init__(self, learning_rate, weight_decay, beta1=0.9, beta2=0.999,
               epsilon=1e-8, decay_filter=decays_weight, use_locking=False,
               name='AdamW'):
    """Builds the optimizer.

    Args:
      learning_rate: a float, a scalar tensor or a callable returning one.
      weight_decay: the decoupled decay rate (a float >= 0).
      beta1: exponential decay rate of the first-moment estimates.
      beta2: exponential decay rate of the second-moment estimates.
      epsilon: added to the denominator for numerical stability.
      decay_filter: fn(variable) -> bool, which variables decay.
      use_locking: use locks for the updates.
      name: name of the slots and of the ops.

    Raises:
      ValueError: if weight_decay is negative.
    """
    if weight_decay < 0:
      raise ValueError(f'weight_decay must be >= 0. Received: '
                       f'{weight_decay}.')
    super().__init__(learning_rate, beta1=beta1, beta2=beta2,
                     epsilon=epsilon, use_locking=use_locking, name=name)
    self._decay_rate = learning_rate
    self._weight_decay = weight_decay
    self._decay_filter = decay_filter

  def apply_gradients(self, grads_and_vars, global_step=None, name=None):
    """Decays the filtered variables, then applies Adam's update.

    Args:
      grads_and_vars: list of (gradient, variable) pairs.
      global_step: optional variable incremented after the update.
      name: optional name of the returned operation.

    Returns:
      The operation that applies the decay and the gradients.
    """
    grads_and_vars = list(grads_and_vars)
    decayed = [v for g, v in grads_and_vars
               if g is not None and self._decay_filter(v)]
    if not self._weight_decay or not decayed:
      return super().apply_gradients(grads_and_vars, global_step, name)
    rate = self._decay_rate
    if callable(rate):
      rate = rate()
    # The gradients read the variables: decay only once they are computed.
    gradients = [g.op for g, _ in grads_and_vars if g is not None]
    with tf.name_scope(self.get_name() + '_decay'):
      with tf.control_dependencies(gradients):
        decays = []
        for variable in decayed:
          dtype = variable.dtype.base_dtype
          shrink = tf.cast(rate, dtype) * tf.cast(self._weight_decay, dtype)
          decays.append(tf1.assign_sub(
              variable, shrink * tf.convert_to_tensor(variable),
              use_locking=self._use_locking))
    with tf.control_dependencies(decays):
      return super().apply_gradients(grads_and_vars, global_step, name)


_OPTIMIZERS = {
    'adadelta': lambda lr, p: tf1.train.AdadeltaOptimizer(
        lr, rho=p.adadelta_rho, epsilon=p.opt_epsilon),
    'adagrad': lambda lr, p: tf1.train.AdagradOptimizer(
        lr, initial_accumulator_value=p.adagrad_initial_accumulator_value),
    'adam': lambda lr, p: tf1.train.AdamOptimizer(
        lr, beta1=p.adam_beta1, beta2=p.adam_beta2, epsilon=p.opt_epsilon),
    'adamw': lambda lr, p: AdamWOptimizer(
        lr, p.adamw_weight_decay, beta1=p.adam_beta1, beta2=p.adam_beta2,
        epsilon=p.opt_epsilon),
    'ftrl': lambda lr, p: tf1.train.FtrlOptimizer(
        lr, learning_rate_power=p.ftrl_learning_rate_power,
        initial_accumulator_value=p.ftrl_initial_accumulator_value,
        l1_regularization_strength=p.ftrl_l1,
        l2_regularization_strength=p.ftrl_l2),
    'momentum': lambda lr, p: tf1.train.MomentumOptimizer(
        lr, momentum=p.momentum, use_nesterov=p.nesterov, name='Momentum'),
    'rmsprop': lambda lr, p: tf1.train.RMSPropOptimizer(
        lr, decay=p.rmsprop_decay, momentum=p.rmsprop_momentum,
        epsilon=p.opt_epsilon),
    'sgd': lambda lr, p: tf1.train.GradientDescentOptimizer(lr),
}


def _cosine_decay(p, step, steps):
  """end + (lr0 - end) * (1 + cos(pi * min(step - W, T) / T)) / 2, T = total
  - W; the rate stays at lr0 during the W warm-up steps."""
  span = steps.total - steps.warmup
  progress = tf.clip_by_value(tf.cast(step, tf.float32) - steps.warmup, 0.0,
                              span) / span
  return tf.add(p.end_learning_rate,
                (p.learning_rate - p.end_learning_rate) * 0.5 *
                (1.0 + tf.cos(math.pi * progress)),
                name='cosine_decay_learning_rate')


_SCHEDULES = {
    'cosine': _cosine_decay,
    'exponential': lambda p, step, steps: tf1.train.exponential_decay(
        p.learning_rate, step, steps.decay, p.learning_rate_decay_factor,
        staircase=True, name='exponential_decay_learning_rate'),
    'fixed': lambda p, step, steps: tf.constant(
        p.learning_rate, name='fixed_learning_rate'),
    'polynomial': lambda p, step, steps: tf1.train.polynomial_decay(
        p.learning_rate, step, steps.decay, p.end_learning_rate, power=1.0,
        cycle=False, name='polynomial_decay_learning_rate'),
}

OPTIMIZER_NAMES = tuple(sorted(_OPTIMIZERS))
SCHEDULE_NAMES = tuple(sorted(_SCHEDULES))

# Optimizers for which --opt_epsilon's default (1.0, tuned for RMSProp) is
# far too large: Adam's step becomes about lr * m / (sqrt(v) + 1).
_SMALL_EPSILON_OPTIMIZERS = ('adam', 'adamw')


def check_optimizer_name(name):
  """Raises ValueError unless `name` is a known optimizer."""
  if name not in _OPTIMIZERS:
    raise ValueError(f'Optimizer [{name}] was not recognized. Valid '
                     f'optimizers: {", ".join(OPTIMIZER_NAMES)}.')


def check_schedule_name(name):
  """Raises ValueError unless `name` is a known learning-rate schedule."""
  if name not in _SCHEDULES:
    raise ValueError(f'learning_rate_decay_type [{name}] was not '
                     f'recognized. Valid types: {", ".join(SCHEDULE_NAMES)}.')


def epsilon_warning(name, epsilon_given):
  """The warning for adam/adamw with --opt_epsilon left at its default.

  Args:
    name: the --optimizer value.
    epsilon_given: whether --opt_epsilon was on the command line.

  Returns:
    A one-line message, or None when there is nothing to warn about.
  """
  if name not in _SMALL_EPSILON_OPTIMIZERS or epsilon_given:
    return None
  return (f'--optimizer={name} with --opt_epsilon at its default 1.0 (tuned '
          'for RMSProp) learns very slowly; pass --opt_epsilon=1e-8.')


def configure_optimizer(name, learning_rate, params):
  """The tf.compat.v1 optimizer `name` with the given hyper-parameters.

  Raises:
    ValueError: if `name` is not a known optimizer.
    cli.UserError: if a hyper-parameter is out of its range.
  """
  check_optimizer_name(name)
  with cli.user_input(f'--optimizer={name}'):
    return _OPTIMIZERS[name](learning_rate, params)


def configure_learning_rate(decay_type, params, num_samples_per_epoch,
                            batch_size, global_step, replicas_to_aggregate=1,
                            max_number_of_steps=None):
  """The learning-rate tensor, as the original computed it.

  steps_per_epoch = num_samples_per_epoch / batch_size (divided by
  replicas_to_aggregate when syncing replicas); decay_steps =
  int(steps_per_epoch * num_epochs_per_decay). With warm-up, the rate is
  min(learning_rate * step / (steps_per_epoch * warmup_epochs), decayed).

  `cosine` goes from learning_rate to end_learning_rate over
  max_number_of_steps, or over decay_steps when max_number_of_steps is None
  (training until stopped), starting after the warm-up; then it stays at
  end_learning_rate, as `polynomial` does after decay_steps.

  Raises:
    cli.UserError: if the cosine schedule would have no steps after warm-up.
  """
  check_schedule_name(decay_type)
  steps_per_epoch = num_samples_per_epoch / batch_size
  steps_per_epoch /= replicas_to_aggregate
  decay_steps = int(steps_per_epoch * params.num_epochs_per_decay)
  warmup_steps = steps_per_epoch * params.warmup_epochs
  total_steps = max_number_of_steps or decay_steps
  if decay_type == 'cosine' and total_steps <= warmup_steps:
    span = (f'--max_number_of_steps={max_number_of_steps}'
            if max_number_of_steps else
            f'--num_epochs_per_decay={params.num_epochs_per_decay:g} '
            f'({decay_steps} steps)')
    cli.fail(
        f'--learning_rate_decay_type=cosine decays over {span}, which must '
        f'be more than the warm-up (--warmup_epochs={params.warmup_epochs:g}'
        f', {warmup_steps:g} steps).')
  learning_rate = _SCHEDULES[decay_type](
      params, global_step,
      ScheduleSteps(decay_steps, warmup_steps, total_steps))
  if params.warmup_epochs:
    warmup = (params.learning_rate * tf.cast(global_step, tf.float32) /
              (steps_per_epoch * params.warmup_epochs))
    learning_rate = tf.minimum(warmup, learning_rate)
  return learning_rate
