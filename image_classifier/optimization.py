"""Optimizers and learning-rate schedules of train_image_classifier.py.

Each is a table row: name -> fn(learning_rate or values, hyper-parameters).
The hyper-parameters are the original flags' values, passed in as a plain
`OptimizerParams`/`ScheduleParams` record so that nothing here reads flags.
Behaviour is the original's: exponential decay is staircase, polynomial decay
has power 1.0 and no cycle, and warm-up is linear over `warmup_epochs`.
"""
import collections

import tensorflow as tf

tf1 = tf.compat.v1

OptimizerParams = collections.namedtuple('OptimizerParams', [
    'adadelta_rho', 'adagrad_initial_accumulator_value', 'adam_beta1',
    'adam_beta2', 'opt_epsilon', 'ftrl_learning_rate_power',
    'ftrl_initial_accumulator_value', 'ftrl_l1', 'ftrl_l2', 'momentum',
    'rmsprop_momentum', 'rmsprop_decay'])

ScheduleParams = collections.namedtuple('ScheduleParams', [
    'learning_rate', 'end_learning_rate', 'learning_rate_decay_factor',
    'num_epochs_per_decay', 'warmup_epochs'])

_OPTIMIZERS = {
    'adadelta': lambda lr, p: tf1.train.AdadeltaOptimizer(
        lr, rho=p.adadelta_rho, epsilon=p.opt_epsilon),
    'adagrad': lambda lr, p: tf1.train.AdagradOptimizer(
        lr, initial_accumulator_value=p.adagrad_initial_accumulator_value),
    'adam': lambda lr, p: tf1.train.AdamOptimizer(
        lr, beta1=p.adam_beta1, beta2=p.adam_beta2, epsilon=p.opt_epsilon),
    'ftrl': lambda lr, p: tf1.train.FtrlOptimizer(
        lr, learning_rate_power=p.ftrl_learning_rate_power,
        initial_accumulator_value=p.ftrl_initial_accumulator_value,
        l1_regularization_strength=p.ftrl_l1,
        l2_regularization_strength=p.ftrl_l2),
    'momentum': lambda lr, p: tf1.train.MomentumOptimizer(
        lr, momentum=p.momentum, name='Momentum'),
    'rmsprop': lambda lr, p: tf1.train.RMSPropOptimizer(
        lr, decay=p.rmsprop_decay, momentum=p.rmsprop_momentum,
        epsilon=p.opt_epsilon),
    'sgd': lambda lr, p: tf1.train.GradientDescentOptimizer(lr),
}

_SCHEDULES = {
    'exponential': lambda p, step, decay_steps: tf1.train.exponential_decay(
        p.learning_rate, step, decay_steps, p.learning_rate_decay_factor,
        staircase=True, name='exponential_decay_learning_rate'),
    'fixed': lambda p, step, decay_steps: tf.constant(
        p.learning_rate, name='fixed_learning_rate'),
    'polynomial': lambda p, step, decay_steps: tf1.train.polynomial_decay(
        p.learning_rate, step, decay_steps, p.end_learning_rate, power=1.0,
        cycle=False, name='polynomial_decay_learning_rate'),
}

OPTIMIZER_NAMES = tuple(sorted(_OPTIMIZERS))
SCHEDULE_NAMES = tuple(sorted(_SCHEDULES))


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


def configure_optimizer(name, learning_rate, params):
  """The tf.compat.v1 optimizer `name` with the given hyper-parameters."""
  check_optimizer_name(name)
  return _OPTIMIZERS[name](learning_rate, params)


def configure_learning_rate(decay_type, params, num_samples_per_epoch,
                            batch_size, global_step, replicas_to_aggregate=1):
  """The learning-rate tensor, as the original computed it.

  steps_per_epoch = num_samples_per_epoch / batch_size (divided by
  replicas_to_aggregate when syncing replicas); decay_steps =
  int(steps_per_epoch * num_epochs_per_decay). With warm-up, the rate is
  min(learning_rate * step / (steps_per_epoch * warmup_epochs), decayed).
  """
  check_schedule_name(decay_type)
  steps_per_epoch = num_samples_per_epoch / batch_size
  steps_per_epoch /= replicas_to_aggregate
  decay_steps = int(steps_per_epoch * params.num_epochs_per_decay)
  learning_rate = _SCHEDULES[decay_type](params, global_step, decay_steps)
  if params.warmup_epochs:
    warmup = (params.learning_rate * tf.cast(global_step, tf.float32) /
              (steps_per_epoch * params.warmup_epochs))
    learning_rate = tf.minimum(warmup, learning_rate)
  return learning_rate
