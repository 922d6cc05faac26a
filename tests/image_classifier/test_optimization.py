"""image_classifier/optimization.py: the cosine schedule, AdamW and Nesterov
momentum against their formulas recomputed in numpy, AdamW's decay mask and
the --opt_epsilon warning. (The original schedules and the optimizer flag
are tested in tests/test_train_image_classifier.py.)
"""
import math

import numpy as np
import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import optimization

tf1 = tf.compat.v1

# 96 examples, batch 8: 12 steps an epoch; 2 epochs per decay: 24 steps.
SCHEDULE = optimization.ScheduleParams(
    learning_rate=0.1, end_learning_rate=0.001,
    learning_rate_decay_factor=0.5, num_epochs_per_decay=2.0,
    warmup_epochs=0)
OPTIMIZER = optimization.OptimizerParams(
    **dict.fromkeys(optimization.OptimizerParams._fields))


def _rates(params, steps, max_number_of_steps):
  with tf.Graph().as_default():
    step = tf1.placeholder(tf.int64, [])
    rate = optimization.configure_learning_rate(
        'cosine', params, 96, 8, step,
        max_number_of_steps=max_number_of_steps)
    with tf1.Session() as sess:
      return [sess.run(rate, {step: s}) for s in steps]


@pytest.mark.parametrize('max_number_of_steps,warmup_epochs,total', [
    (60, 0, 60), (60, 1, 60),
    # No max_number_of_steps: the cosine spans num_epochs_per_decay.
    (None, 0, 24), (None, 1, 24)])
def test_cosine_follows_the_formula(max_number_of_steps, warmup_epochs,
                                    total):
  steps = [0, 6, 12, 18, 24, 30, 47, 59, 60, 100]
  warmup = 12 * warmup_epochs
  span = total - warmup
  want = [0.001 + (0.1 - 0.001) * 0.5 * (
      1 + math.cos(math.pi * min(max(s - warmup, 0), span) / span))
          for s in steps]
  if warmup_epochs:
    want = [min(0.1 * s / warmup, w) for s, w in zip(steps, want)]
  got = _rates(SCHEDULE._replace(warmup_epochs=warmup_epochs), steps,
               max_number_of_steps)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)
  assert got[steps.index(total)] == pytest.approx(0.001)


def test_cosine_with_no_steps_after_warm_up_is_a_user_error():
  with tf.Graph().as_default(), pytest.raises(cli.UserError) as info:
    optimization.configure_learning_rate(
        'cosine', SCHEDULE._replace(warmup_epochs=1), 96, 8,
        tf1.train.get_or_create_global_step(), max_number_of_steps=12)
  assert '--max_number_of_steps=12' in str(info.value)
  assert '--warmup_epochs=1' in str(info.value)


def test_adamw_decays_kernels_but_not_biases_or_normalisation():
  with tf.Graph().as_default():
    decayed = {}
    for name, shape in [('conv1/weights', [3, 3, 1, 2]),
                        ('conv1/biases', [2]),
                        ('conv1/BatchNorm/beta', [2]),
                        ('conv1/BatchNorm/gamma', [2]),
                        ('block/LayerNorm/gamma', [2]),
                        ('sep/depthwise_weights', [3, 3, 2, 1]),
                        ('logits/weights', [4, 2]),
                        ('scale', [2])]:
      variable = slim.variables.model_variable(name, shape)
      decayed[name] = optimization.decays_weight(variable)
  assert [n for n, d in decayed.items() if d] == [
      'conv1/weights', 'sep/depthwise_weights', 'logits/weights']


def _train(optimizer_fn, initial, targets, num_steps):
  """Runs num_steps on 0.5 * sum((var - target)^2); values after each."""
  with tf.Graph().as_default():
    variables = {name: slim.variables.model_variable(
        name, value.shape, initializer=tf1.constant_initializer(value))
                 for name, value in initial.items()}
    loss = tf.add_n([0.5 * tf.reduce_sum(tf.square(v - targets[n]))
                     for n, v in variables.items()])
    optimizer = optimizer_fn()
    train_op = optimizer.apply_gradients(
        optimizer.compute_gradients(loss, list(variables.values())))
    slots = sorted({s for v in variables.values()
                    for s in optimizer.get_slot_names()
                    if optimizer.get_slot(v, s) is not None})
    history = []
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for _ in range(num_steps):
        sess.run(train_op)
        history.append(sess.run(variables))
  return history, slots


def _problem():
  rng = np.random.default_rng(0)
  initial = {'fc/weights': rng.normal(size=(2, 3)).astype(np.float32),
             'fc/biases': rng.normal(size=(3,)).astype(np.float32),
             'fc/BatchNorm/gamma': rng.normal(size=(3,)).astype(np.float32)}
  targets = {n: rng.normal(size=v.shape).astype(np.float32)
             for n, v in initial.items()}
  return initial, targets


def test_adamw_updates_match_numpy():
  lr, wd, beta1, beta2, eps = 0.1, 0.5, 0.9, 0.999, 1e-8
  initial, targets = _problem()
  history, slots = _train(
      lambda: optimization.configure_optimizer(
          'adamw', lr, OPTIMIZER._replace(
              adam_beta1=beta1, adam_beta2=beta2, opt_epsilon=eps,
              adamw_weight_decay=wd)),
      initial, targets, num_steps=2)
  assert slots == ['m', 'v']
  var = {n: v.astype(np.float64) for n, v in initial.items()}
  m = {n: 0.0 for n in var}
  v = {n: 0.0 for n in var}
  for t in (1, 2):
    lr_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for n in var:
      g = var[n] - targets[n]
      m[n] = beta1 * m[n] + (1 - beta1) * g
      v[n] = beta2 * v[n] + (1 - beta2) * g * g
      decay = lr * wd * var[n] if n == 'fc/weights' else 0.0
      var[n] = var[n] - decay - lr_t * m[n] / (np.sqrt(v[n]) + eps)
      np.testing.assert_allclose(history[t - 1][n], var[n], rtol=1e-5,
                                 atol=1e-6, err_msg=f'{n} step {t}')


def test_adamw_slots_are_its_own():
  with tf.Graph().as_default():
    weights = slim.variables.model_variable('fc/weights', [2, 2])
    optimizer = optimization.configure_optimizer(
        'adamw', 0.1, OPTIMIZER._replace(
            adam_beta1=0.9, adam_beta2=0.999, opt_epsilon=1e-8,
            adamw_weight_decay=0.01))
    optimizer.minimize(tf.reduce_sum(weights))
    names = {v.op.name for v in tf1.global_variables()}
  assert {'fc/weights/AdamW', 'fc/weights/AdamW_1'} <= names


def test_adamw_negative_weight_decay_is_a_user_error():
  with pytest.raises(cli.UserError, match='--optimizer=adamw.*-1'):
    optimization.configure_optimizer('adamw', 0.1, OPTIMIZER._replace(
        adam_beta1=0.9, adam_beta2=0.999, opt_epsilon=1e-8,
        adamw_weight_decay=-1.0))


@pytest.mark.parametrize('nesterov', [False, True])
def test_momentum_updates_match_numpy(nesterov):
  lr, mu = 0.1, 0.9
  initial, targets = _problem()
  history, slots = _train(
      lambda: optimization.configure_optimizer(
          'momentum', lr, OPTIMIZER._replace(momentum=mu,
                                             nesterov=nesterov)),
      initial, targets, num_steps=2)
  assert slots == ['momentum']
  for n in initial:
    var, accum = initial[n].astype(np.float64), 0.0
    for t in (1, 2):
      g = var - targets[n]
      accum = mu * accum + g
      var = var - lr * (g + mu * accum if nesterov else accum)
      np.testing.assert_allclose(history[t - 1][n], var, rtol=1e-5,
                                 atol=1e-6, err_msg=f'{n} step {t}')


def test_epsilon_warning_only_for_adam_with_the_default():
  for name in ('adam', 'adamw'):
    message = optimization.epsilon_warning(name, epsilon_given=False)
    assert '--opt_epsilon=1e-8' in message and '\n' not in message
    assert optimization.epsilon_warning(name, epsilon_given=True) is None
  assert optimization.epsilon_warning('rmsprop', epsilon_given=False) is None
