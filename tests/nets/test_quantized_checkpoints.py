"""The published quantized MobileNet v1 weights restore into the `--quantize`
graph (slim/quantize.py's create_eval_graph) by their own variable names,
and classify.

The names are compat/mobilenet_v1_quant_manifest.json: derived from the
original's float variables and contrib.quantize's naming rules
(compat/quant_manifest.py), not read from our graph. No name needs mapping:
the eval graph's variables are exactly the manifest's.
"""
import json

import numpy as np
import pytest
import tensorflow as tf

from det_weights import det_input
from det_weights import det_value
import quant_manifest
import slim
from image_classifier import cli
from image_classifier import network

tf1 = tf.compat.v1

SIZE = 64  # The variables do not depend on the input size.
# The logits' act_quant range: 256 levels 0.005 apart with 0 on the grid
# (so TensorFlow does not nudge it), around the logits of these weights.
LOGITS_RANGE = (-0.64, 0.635)
LOGITS_STEP = 0.005
LOGITS_LAYER = 'MobilenetV1/Logits/Conv2d_1c_1x1'


def _manifest():
  with open(quant_manifest.QUANT_MANIFEST) as f:
    return json.load(f)['mobilenet_v1']


def _table(variables):
  """{name: (shape, dtype)} of [name, shape, dtype] rows."""
  return {name: (list(shape), dtype) for name, shape, dtype in variables}


def _graph_table():
  return {v.op.name: (v.shape.as_list(), v.dtype.base_dtype.name)
          for v in tf1.global_variables()}


def _build_quantized_mobilenet_v1(is_training=False):
  """As eval_image_classifier.py --quantize builds it (global step first)."""
  slim.get_or_create_global_step()
  images, logits, _ = network.build_inference_graph(
      'mobilenet_v1', 1001, is_training=is_training, image_size=SIZE,
      batch_size=1, quantize=not is_training)
  if is_training:
    slim.quantize.create_training_graph(quant_delay=0)
  return images, logits


def test_the_manifest_file_is_its_derivation():
  with open(quant_manifest.QUANT_MANIFEST) as f:
    assert json.load(f) == json.loads(json.dumps(quant_manifest.manifest()))
  entry = _manifest()
  # 28 layers (conv 0, 13 depthwise, 13 pointwise, logits), 4 scalars each.
  assert len(entry['quantized_layers']) == 28
  ranges = [v for v in entry['variables'] if '_quant/' in v[0]]
  assert len(ranges) == 4 * 28


def test_eval_graph_variables_are_the_manifests():
  with tf.Graph().as_default():
    _build_quantized_mobilenet_v1()
    got = _graph_table()
  expected = _table(_manifest()['variables'])
  assert sorted(set(got) - set(expected)) == []
  assert sorted(set(expected) - set(got)) == []
  assert got == expected


def test_training_graph_adds_only_the_moving_average_state():
  with tf.Graph().as_default():
    _build_quantized_mobilenet_v1(is_training=True)
    got = _graph_table()
  entry = _manifest()
  assert got == _table(entry['variables'] + entry['training_only'])


def _range_of(value):
  """A weights range as contrib's last-value quantizer records it."""
  return min(float(value.min()), 0.0), max(float(value.max()), 0.0)


def _checkpoint_values(entry):
  """{name: value} for every variable a trained _quant checkpoint holds."""
  values = {}
  for name, shape, dtype in entry['variables'] + entry['training_only']:
    if dtype == 'int64':
      values[name] = np.int64(1234)
    elif '_quant/' not in name:
      values[name] = det_value(name, shape)
  for layer in entry['quantized_layers']:
    weights = [v for n, v in values.items()
               if n in (f'{layer}/weights', f'{layer}/depthwise_weights')]
    low, high = _range_of(weights[0])
    values[f'{layer}/weights_quant/min'] = np.float32(low)
    values[f'{layer}/weights_quant/max'] = np.float32(high)
    low, high = LOGITS_RANGE if layer == LOGITS_LAYER else (0.0, 6.0)
    values[f'{layer}/act_quant/min'] = np.float32(low)
    values[f'{layer}/act_quant/max'] = np.float32(high)
    for end in ('min', 'max'):
      values[f'{layer}/act_quant/{end}/biased'] = np.float32(0.5)
      values[f'{layer}/act_quant/{end}/local_step'] = np.float32(9.0)
  return values


def _write_checkpoint(prefix, values):
  """A Saver checkpoint of plain variables under the given names."""
  with tf.Graph().as_default():
    variables = {name: slim.variables.variable(
        f'v{i}', initializer=tf.constant(value), trainable=False)
                 for i, (name, value) in enumerate(sorted(values.items()))}
    saver = tf1.train.Saver(variables)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return saver.save(sess, prefix, write_meta_graph=False)


def _float_logits(prefix, image):
  """The float mobilenet_v1's logits with the checkpoint's float weights."""
  with tf.Graph().as_default():
    images, logits, _ = network.build_inference_graph(
        'mobilenet_v1', 1001, image_size=SIZE, batch_size=1)
    saver = tf1.train.Saver(slim.get_variables_to_restore())
    with tf1.Session() as sess:
      saver.restore(sess, prefix)
      return sess.run(logits, {images: image})


@pytest.fixture(scope='module')
def restored(tmp_path_factory):
  """(checkpoint values, values after restore, quantized logits)."""
  values = _checkpoint_values(_manifest())
  prefix = _write_checkpoint(
      str(tmp_path_factory.mktemp('quant') / 'mobilenet_v1_1.0_224_quant.ckpt'),
      values)
  image = det_input([1, SIZE, SIZE, 3])
  with tf.Graph().as_default():
    images, logits = _build_quantized_mobilenet_v1()
    to_restore = slim.get_variables_to_restore()
    # What eval_image_classifier.py checks before restoring.
    cli.check_checkpoint_fits(prefix, to_restore, 'the checkpoint',
                              'It should fit.')
    saver = tf1.train.Saver(to_restore)
    with tf1.Session() as sess:
      saver.restore(sess, prefix)
      after = sess.run({v.op.name: v for v in tf1.global_variables()})
      out = sess.run(logits, {images: image})
  return values, after, out, _float_logits(prefix, image)


def test_every_variable_restores_by_its_name(restored):
  values, after, _, _ = restored
  for name, value in after.items():
    np.testing.assert_array_equal(value, values[name], err_msg=name)


def test_the_restored_ranges_quantize_and_the_weights_classify(restored):
  _, _, out, float_out = restored
  assert out.shape == (1, 1001) and np.isfinite(out).all()
  low, high = LOGITS_RANGE
  # The logits come out of the restored range's 8-bit grid.
  assert low - 1e-4 <= out.min() and out.max() <= high + 1e-4
  levels = (out - low) / LOGITS_STEP
  np.testing.assert_allclose(levels, np.round(levels), atol=1e-2)
  assert len(np.unique(np.round(levels))) > 20
  # And they are the float network's logits, quantized: the restored float
  # weights (batch norms folded with their moving statistics) drive them.
  inside = (float_out > low) & (float_out < high)
  assert inside.mean() > 0.9
  assert np.corrcoef(out[inside], float_out[inside])[0, 1] > 0.9
