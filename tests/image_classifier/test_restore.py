"""Tests for image_classifier/restore.py: what a checkpoint must hold for a
graph, whether it fits (and the one line when not), and the quantized
inference rewrite.

The checkpoints are written here from a CifarNet at 8x8 (a few hundred
thousand weights): its variables, the moving averages of its model
variables (as training with --moving_average_decay keeps them), the
global step and, for a quantized graph, its fake-quant ranges.
"""
import os

import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import network
from image_classifier import restore

tf1 = tf.compat.v1

SIZE = 8
NUM_CLASSES = 3
DECAY = 0.99
WHAT = '--checkpoint_path=x'


def _build(quantize=False, num_classes=NUM_CLASSES):
  """CifarNet's inference graph in the default graph."""
  return network.build_inference_graph('cifarnet', num_classes,
                                       image_size=SIZE, quantize=quantize)


def _save(directory, quantize=False, num_classes=NUM_CLASSES):
  """Writes a checkpoint as training would; returns (prefix, {model
  variable: the name of its moving average in the checkpoint})."""
  with tf.Graph().as_default():
    global_step = slim.get_or_create_global_step()
    _build(quantize, num_classes)
    averages = tf1.train.ExponentialMovingAverage(DECAY)
    model_variables = slim.get_model_variables()
    averages.apply(model_variables)
    shadows = {v.op.name: averages.average(v).op.name
               for v in model_variables}
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      prefix = tf1.train.Saver().save(
          sess, os.path.join(str(directory), 'model.ckpt'),
          global_step=global_step)
  return prefix, shadows


@pytest.fixture(scope='module')
def float_checkpoint(tmp_path_factory):
  return _save(tmp_path_factory.mktemp('float'))


@pytest.fixture(scope='module')
def quantized_checkpoint(tmp_path_factory):
  return _save(tmp_path_factory.mktemp('quantized'), quantize=True)


def test_the_weights_themselves_in_creation_order(float_checkpoint):
  prefix, _ = float_checkpoint
  with tf.Graph().as_default():
    _build()
    model_variables = slim.get_model_variables()
    variables = restore.variables_to_restore()
    assert list(variables) == [v.op.name for v in model_variables]
    assert list(variables.values()) == model_variables
    assert restore.misfit_message(prefix, variables, WHAT, 'x') is None
    restore.check_checkpoint_fits(prefix, variables, WHAT, 'x')


def test_moving_averages_are_read_under_their_names(float_checkpoint):
  prefix, shadows = float_checkpoint
  with tf.Graph().as_default():
    _build()
    model_variables = slim.get_model_variables()
    variables = restore.variables_to_restore(DECAY)
    assert list(variables) == [shadows[v.op.name] for v in model_variables]
    assert list(variables.values()) == model_variables
    restore.check_checkpoint_fits(prefix, variables, WHAT, 'x')
    reader = tf.train.load_checkpoint(prefix)
    with tf1.Session() as sess:
      tf1.train.Saver(variables).restore(sess, prefix)
      first = model_variables[0]
      assert (sess.run(first) == reader.get_tensor(
          shadows[first.op.name])).all()


def test_the_global_step_comes_last(float_checkpoint):
  prefix, _ = float_checkpoint
  with tf.Graph().as_default():
    global_step = slim.get_or_create_global_step()
    _build()
    for decay in (None, DECAY):
      variables = restore.variables_to_restore(decay, global_step)
      assert list(variables.items())[-1] == (global_step.op.name,
                                             global_step)
      assert len(variables) == len(slim.get_model_variables()) + 1
      restore.check_checkpoint_fits(prefix, variables, WHAT, 'x')


def test_a_quantized_graph_adds_its_ranges_not_averaged(quantized_checkpoint):
  prefix, shadows = quantized_checkpoint
  with tf.Graph().as_default():
    _build(quantize=True)
    model_variables = slim.get_model_variables()
    # The rewrite's variables: every one that is not the network's.
    ranges = [v for v in tf1.global_variables() if v not in model_variables]
    assert ranges
    assert set(ranges) == set(slim.quantize.range_variables())
    variables = restore.variables_to_restore(DECAY)
    assert list(variables.values()) == (
        model_variables + slim.quantize.range_variables())
    assert list(variables) == (
        [shadows[v.op.name] for v in model_variables]
        + [v.op.name for v in slim.quantize.range_variables()])
    restore.check_checkpoint_fits(prefix, variables, WHAT, 'x')


def test_a_float_checkpoint_does_not_fit_a_quantized_graph(float_checkpoint):
  prefix, _ = float_checkpoint
  advice = restore.model_advice('cifarnet', quantize=True)
  with tf.Graph().as_default():
    _build(quantize=True)
    variables = restore.variables_to_restore()
    missing = [v.op.name for v in slim.quantize.range_variables()]
    message = restore.misfit_message(prefix, variables, WHAT, advice)
    with pytest.raises(cli.UserError) as info:
      restore.check_checkpoint_fits(prefix, variables, WHAT, advice)
  assert str(info.value) == message
  assert message.startswith(f'{WHAT} does not fit the model (')
  assert f'{len(missing)} variable(s) missing: ' in message
  assert missing[0] in message
  assert message.endswith('). ' + advice)
  assert '\n' not in message


def test_another_class_count_is_a_shape_mismatch(float_checkpoint):
  prefix, _ = float_checkpoint
  reader = tf.train.load_checkpoint(prefix)
  with tf.Graph().as_default():
    _build(num_classes=NUM_CLASSES + 1)
    variables = restore.variables_to_restore()
    differ = [name for name, v in variables.items()
              if reader.get_variable_to_shape_map()[name] != v.shape]
    message = restore.misfit_message(prefix, variables, WHAT, 'x')
  assert len(differ) == 2  # The logits' weights and biases.
  assert '(shape mismatch for ' in message
  for name in differ:
    shape = reader.get_variable_to_shape_map()[name]
    assert f'{name} (checkpoint {shape}, graph ' in message


def test_a_truncated_checkpoint_is_named(float_checkpoint, tmp_path):
  prefix, _ = float_checkpoint
  copy = str(tmp_path / 'model.ckpt')
  for name in tf.io.gfile.glob(prefix + '.*'):
    data = open(name, 'rb').read()
    if '.data-' in name:
      data = data[:len(data) // 2]
    with open(copy + name[len(prefix):], 'wb') as f:
      f.write(data)
  with tf.Graph().as_default():
    _build()
    with pytest.raises(cli.UserError, match=r'^x: .*truncated or corrupt'):
      restore.check_checkpoint_fits(copy, restore.variables_to_restore(),
                                    'x', 'advice')


def test_model_advice_names_what_was_chosen():
  assert restore.model_advice('cifarnet') == (
      'Check --model_name=cifarnet, --dataset_name and --labels_offset.')
  assert restore.model_advice('lenet', DECAY, quantize=True) == (
      'Check --model_name=lenet, --dataset_name and --labels_offset; '
      '--moving_average_decay needs a checkpoint trained with it; '
      '--quantize needs a checkpoint trained with '
      'train_image_classifier.py --quantize_delay.')


def test_resume_needs_every_global_variable(float_checkpoint):
  prefix, _ = float_checkpoint
  train_dir = os.path.dirname(prefix)
  with tf.Graph().as_default():
    slim.get_or_create_global_step()
    _build()
    restore.check_resume_fits(prefix, train_dir, 'flags.json')
    slim.variables.global_variable(0.0, name='extra')
    with pytest.raises(cli.UserError) as info:
      restore.check_resume_fits(prefix, train_dir, 'flags.json')
  message = str(info.value)
  assert message.startswith(f'--train_dir={train_dir} holds {prefix}, which '
                            'does not fit the model (1 variable(s) missing: ')
  assert 'extra' in message
  assert message.endswith(restore.resume_advice('flags.json'))
  assert '(flags.json there)' in message


def test_a_network_that_cannot_be_quantized_is_one_line():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 2, 4, 4, 3])
    slim.conv3d(images, 2, [1, 3, 3], scope='Tiny3D')
    with pytest.raises(cli.UserError) as info:
      restore.quantize_inference_graph('i3d')
  message = str(info.value)
  assert message.startswith('--quantize: --model_name=i3d cannot be '
                            'quantized: layer Tiny3D is a Conv3D')
  assert '\n' not in message
