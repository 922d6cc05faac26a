"""The published quantized MobileNet v1 and v2 weights restore into the
`--quantize` graph (slim/quantize.py's create_eval_graph) by their own
variable names, and classify.

The names are compat/mobilenet_v{1,2}_quant_manifest.json: derived from the
originals' float variables and contrib.quantize's naming rules
(compat/quant_manifest.py), not read from our graph. No name needs mapping:
the eval graph's variables are exactly the manifest's (for v2, with the
`post_activation_bypass_quant` ranges of its ten residual adds).
"""
import json

import numpy as np
import pytest
import tensorflow as tf

from det_weights import det_input
from det_weights import det_value
import quant_manifest
import slim
from image_classifier import network
from image_classifier import restore

tf1 = tf.compat.v1

SIZE = 64  # The variables do not depend on the input size.
# The logits' act_quant range: 256 levels 0.005 apart with 0 on the grid
# (so TensorFlow does not nudge it), around the logits of these weights.
LOGITS_RANGE = (-0.64, 0.635)
LOGITS_STEP = 0.005
LOGITS_LAYER = 'Logits/Conv2d_1c_1x1'  # Below MobilenetV1/, MobilenetV2/.
NETWORKS = ('mobilenet_v1', 'mobilenet_v2')
# A residual add of MobileNet v2 and the range its restored
# post_activation_bypass_quant gets: 256 levels 0.02 apart, 0 on the grid.
V2_BYPASS = 'MobilenetV2/expanded_conv_4'
V2_BYPASS_RANGE = (-2.56, 2.54)
V2_BYPASS_STEP = 0.02


def _manifest(name='mobilenet_v1'):
  with open(quant_manifest.QUANT_MANIFESTS[name]) as f:
    return json.load(f)[name]


def _table(variables):
  """{name: (shape, dtype)} of [name, shape, dtype] rows."""
  return {name: (list(shape), dtype) for name, shape, dtype in variables}


def _graph_table():
  return {v.op.name: (v.shape.as_list(), v.dtype.base_dtype.name)
          for v in tf1.global_variables()}


def _build_quantized(name='mobilenet_v1', is_training=False):
  """As eval_image_classifier.py --quantize builds it (global step first)."""
  slim.get_or_create_global_step()
  images, logits, _ = network.build_inference_graph(
      name, 1001, is_training=is_training, image_size=SIZE,
      batch_size=1, quantize=not is_training)
  if is_training:
    slim.quantize.create_training_graph(quant_delay=0)
  return images, logits


@pytest.mark.parametrize('name', NETWORKS)
def test_the_manifest_file_is_its_derivation(name):
  with open(quant_manifest.QUANT_MANIFESTS[name]) as f:
    assert json.load(f) == json.loads(json.dumps(
        quant_manifest.manifest(name)))


def test_v1_manifest_has_4_ranges_a_layer():
  entry = _manifest()
  # 28 layers (conv 0, 13 depthwise, 13 pointwise, logits), 4 scalars each.
  assert len(entry['quantized_layers']) == 28
  ranges = [v for v in entry['variables'] if '_quant/' in v[0]]
  assert len(ranges) == 4 * 28


def test_v2_manifest_adds_a_range_to_each_residual_add():
  entry = _manifest('mobilenet_v2')
  # Conv, 17 blocks (the first without expansion: 2 layers, 16 with 3),
  # Conv_1, logits.
  assert len(entry['quantized_layers']) == 1 + 2 + 16 * 3 + 1 + 1
  # MobileNet v2's stride-1 blocks that keep their depth (its paper's
  # table 2: repeats 2, 3, 4, 3, 3 after the first of each stage).
  assert entry['post_activation_bypasses'] == [
      f'MobilenetV2/expanded_conv_{i}'
      for i in (2, 4, 5, 7, 8, 9, 11, 12, 14, 15)]
  bypass = [v for v in entry['variables']
            if '/post_activation_bypass_quant/' in v[0]]
  assert len(bypass) == 2 * 10
  ranges = [v for v in entry['variables'] if '_quant/' in v[0]]
  assert len(ranges) == 4 * 53 + 2 * 10


@pytest.mark.parametrize('name', NETWORKS)
def test_eval_graph_variables_are_the_manifests(name):
  with tf.Graph().as_default():
    _build_quantized(name)
    got = _graph_table()
  expected = _table(_manifest(name)['variables'])
  assert sorted(set(got) - set(expected)) == []
  assert sorted(set(expected) - set(got)) == []
  assert got == expected


@pytest.mark.parametrize('name', NETWORKS)
def test_training_graph_adds_only_the_moving_average_state(name):
  with tf.Graph().as_default():
    _build_quantized(name, is_training=True)
    got = _graph_table()
  entry = _manifest(name)
  assert got == _table(entry['variables'] + entry['training_only'])


def _range_of(value):
  """A weights range as contrib's last-value quantizer records it."""
  return min(float(value.min()), 0.0), max(float(value.max()), 0.0)


def _checkpoint_values(entry):
  """{name: value} for every variable a trained _quant checkpoint holds."""
  values = {}
  for name, shape, dtype in entry['variables']:
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
    low, high = (LOGITS_RANGE if layer.endswith('/' + LOGITS_LAYER)
                 else (0.0, 6.0))
    values[f'{layer}/act_quant/min'] = np.float32(low)
    values[f'{layer}/act_quant/max'] = np.float32(high)
  for scope in entry.get('post_activation_bypasses', []):
    low, high = V2_BYPASS_RANGE
    values[f'{scope}/post_activation_bypass_quant/min'] = np.float32(low)
    values[f'{scope}/post_activation_bypass_quant/max'] = np.float32(high)
  for name, _, _ in entry['training_only']:
    values[name] = np.float32(0.5 if name.endswith('/biased') else 9.0)
  assert set(values) == {v[0] for v in entry['variables']
                         + entry['training_only']}
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


def _restore(name, directory, fetch=None):
  """Writes a `name`_1.0_224_quant checkpoint of the manifest's variables
  and restores it into the --quantize graph.

  Returns:
    (checkpoint values, values after restore, quantized logits, the
    checkpoint prefix, the image, the value of tensor `fetch` or None).
  """
  values = _checkpoint_values(_manifest(name))
  prefix = _write_checkpoint(str(directory / f'{name}_1.0_224_quant.ckpt'),
                             values)
  image = det_input([1, SIZE, SIZE, 3])
  with tf.Graph().as_default() as graph:
    images, logits = _build_quantized(name)
    to_restore = slim.get_variables_to_restore()
    # What eval_image_classifier.py checks before restoring.
    restore.check_checkpoint_fits(prefix, to_restore, 'the checkpoint',
                                  'It should fit.')
    saver = tf1.train.Saver(to_restore)
    fetches = {'logits': logits}
    if fetch:
      fetches['fetch'] = graph.get_tensor_by_name(fetch)
    with tf1.Session() as sess:
      saver.restore(sess, prefix)
      after = sess.run({v.op.name: v for v in tf1.global_variables()})
      out = sess.run(fetches, {images: image})
  return values, after, out['logits'], prefix, image, out.get('fetch')


@pytest.fixture(scope='module')
def restored(tmp_path_factory):
  """(checkpoint values, values after restore, quantized logits, float
  logits) of MobileNet v1."""
  values, after, out, prefix, image, _ = _restore(
      'mobilenet_v1', tmp_path_factory.mktemp('quant'))
  return values, after, out, _float_logits(prefix, image)


@pytest.fixture(scope='module')
def restored_v2(tmp_path_factory):
  """(checkpoint values, values after restore, quantized logits, the
  V2_BYPASS block's output) of MobileNet v2."""
  values, after, out, _, _, block_output = _restore(
      'mobilenet_v2', tmp_path_factory.mktemp('quant_v2'),
      fetch=f'{V2_BYPASS}/output:0')
  return values, after, out, block_output


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


def test_every_v2_variable_restores_by_its_name(restored_v2):
  values, after, _, _ = restored_v2
  assert f'{V2_BYPASS}/post_activation_bypass_quant/min' in after
  for name, value in after.items():
    np.testing.assert_array_equal(value, values[name], err_msg=name)


def test_v2_residual_add_comes_out_of_its_restored_range(restored_v2):
  """The block's output (its residual add) is on the 8-bit grid of the
  restored post_activation_bypass_quant range, and the logits are finite."""
  _, _, out, block_output = restored_v2
  assert out.shape == (1, 1001) and np.isfinite(out).all()
  low, high = V2_BYPASS_RANGE
  assert low - 1e-4 <= block_output.min()
  assert block_output.max() <= high + 1e-4
  levels = (block_output - low) / V2_BYPASS_STEP
  np.testing.assert_allclose(levels, np.round(levels), atol=1e-2)
  assert len(np.unique(np.round(levels))) > 20
