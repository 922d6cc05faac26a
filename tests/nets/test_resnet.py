"""ResNet v1/v2 knobs and resnet_utils, on tiny blocks and tiny inputs.

Manifest parity and golden values live in test_nets_contract.py and
test_nets_goldens.py; this file checks what those cannot: conv2d_same and
subsample numerics, atrous `output_stride` (the dense output, subsampled,
equals the nominal one, as upstream's resnet tests did),
`store_non_strided_activations`, and the shapes the knobs give.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets import nets_factory, resnet_utils, resnet_v1, resnet_v2
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

VERSIONS = {'v1': resnet_v1, 'v2': resnet_v2}


def _blocks(version, units=(3, 3, 3, 2)):
  """Four tiny blocks (bottleneck depths 1, 2, 4, 8), strides 2, 2, 2, 1."""
  block = getattr(VERSIONS[version], f'resnet_{version}_block')
  return [block(f'block{i + 1}', base_depth=2**i, num_units=n, stride=s)
          for i, (n, s) in enumerate(zip(units, (2, 2, 2, 1)))]


def _resnet_small(version, inputs, num_classes=None, scope='resnet_small',
                  **kwargs):
  """The family's base network on `_blocks`: nominal stride 32, depth 32."""
  base = getattr(VERSIONS[version], f'resnet_{version}')
  return base(inputs, _blocks(version), num_classes, scope=scope, **kwargs)


def _input(shape, seed=0):
  return np.random.RandomState(seed).normal(size=shape).astype(np.float32)


_run = harness.run_initialised


def _shapes(end_points, keys):
  return {k: end_points[k].shape.as_list() for k in keys}


# ------------------------------------------------------------- resnet_utils


def test_subsample():
  x = _input([1, 7, 6, 2])
  with tf.Graph().as_default():
    inputs = tf.constant(x)
    assert resnet_utils.subsample(inputs, 1) is inputs
    by2, by3 = _run((resnet_utils.subsample(inputs, 2),
                     resnet_utils.subsample(inputs, 3)))
  np.testing.assert_array_equal(by2, x[:, ::2, ::2, :])
  np.testing.assert_array_equal(by3, x[:, ::3, ::3, :])


@pytest.mark.parametrize('size', [6, 7])
@pytest.mark.parametrize('kernel_size', [1, 3, 4, 7])
def test_conv2d_same_is_explicit_pad_then_valid(size, kernel_size):
  """Stride 2: pad (k-1)//2 before, the rest after, then a 'VALID' conv."""
  x = _input([2, size, size + 1, 3])
  w = _input([kernel_size, kernel_size, 3, 2], seed=1)
  pad_beg = (kernel_size - 1) // 2
  pad_end = kernel_size - 1 - pad_beg
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d], activation_fn=None,
                        weights_initializer=tf.constant_initializer(w),
                        biases_initializer=None):
      out = resnet_utils.conv2d_same(tf.constant(x), 2, kernel_size,
                                     stride=2, scope='Conv')
    padded = np.pad(x, [[0, 0], [pad_beg, pad_end], [pad_beg, pad_end],
                        [0, 0]])
    expected = tf.nn.conv2d(padded, w, strides=2, padding='VALID')
    out, expected = _run((out, expected))
  assert out.shape == (2, (size + 1) // 2, (size + 2) // 2, 2)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('size', [4, 5])
def test_conv2d_same_equals_dense_conv_subsampled(size):
  """As upstream's testConv2DSameEven/Odd: unlike 'SAME' with stride 2."""
  x = _input([1, size, size, 1])
  with tf.Graph().as_default(), slim.arg_scope(
      [slim.conv2d], activation_fn=None, biases_initializer=None,
      weights_initializer=tf.constant_initializer(
          np.arange(1, 10, dtype=np.float32).reshape(3, 3, 1, 1))):
    inputs = tf.constant(x)
    dense = slim.conv2d(inputs, 1, [3, 3], stride=1, scope='Conv')
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
      same = resnet_utils.conv2d_same(inputs, 1, 3, stride=1, scope='Conv')
      strided = resnet_utils.conv2d_same(inputs, 1, 3, stride=2,
                                         scope='Conv')
      tf_same = slim.conv2d(inputs, 1, [3, 3], stride=2, scope='Conv')
    dense, same, strided, sub, tf_same = _run(
        (dense, same, strided, resnet_utils.subsample(dense, 2), tf_same))
  np.testing.assert_allclose(same, dense, rtol=1e-6)
  np.testing.assert_allclose(strided, sub, rtol=1e-6)
  if size % 2 == 0:  # 'SAME' pads only at the end for even sizes.
    assert not np.allclose(tf_same, sub)


def test_block_strides_in_last_unit():
  block = resnet_v1.resnet_v1_block('block1', base_depth=64, num_units=3,
                                    stride=2)
  assert block.scope == 'block1' and block.unit_fn is resnet_v1.bottleneck
  assert block.args == [{'depth': 256, 'depth_bottleneck': 64, 'stride': 1}
                       ] * 2 + [{'depth': 256, 'depth_bottleneck': 64,
                                 'stride': 2}]
  assert resnet_v2.resnet_v2_block('b', 8, 1, 1).unit_fn is \
      resnet_v2.bottleneck


OUTPUT_STRIDES = (1, 2, 4, 8, None)


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_stack_blocks_dense_atrous_values(version):
  """Atrous features at `output_stride`, subsampled, equal nominal ones."""
  nominal_stride = 8
  blocks = _blocks(version, units=(2, 2, 2, 2))
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()), slim.arg_scope(
          [slim.batch_norm], is_training=False):
    tf1.set_random_seed(0)
    inputs = tf.constant(_input([1, 30, 31, 3]))  # Odd and even sizes.
    expected = resnet_utils.stack_blocks_dense(inputs, blocks, None)
    outputs = []
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
      for output_stride in OUTPUT_STRIDES:
        dense = resnet_utils.stack_blocks_dense(inputs, blocks, output_stride)
        outputs.append(resnet_utils.subsample(
            dense, nominal_stride // (output_stride or nominal_stride)))
    expected, outputs = _run((expected, outputs))
  assert expected.shape == (1, 4, 4, 32)
  for output_stride, out in zip(OUTPUT_STRIDES, outputs):
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4,
                               err_msg=f'output_stride={output_stride}')


def test_striding_last_unit_vs_subsampling_block_end():
  """store_non_strided_activations: same output, full-size block outputs."""
  blocks = _blocks('v1', units=(2, 2, 2, 2))
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()), slim.arg_scope(
          [slim.batch_norm], is_training=False):
    tf1.set_random_seed(0)
    inputs = tf.constant(_input([1, 30, 31, 3]))
    pairs = []
    for n, output_stride in enumerate(OUTPUT_STRIDES):
      with tf1.variable_scope(tf1.get_variable_scope(), reuse=n > 0):
        strided = resnet_utils.stack_blocks_dense(
            inputs, blocks, output_stride,
            store_non_strided_activations=False,
            outputs_collections=f'strided{n}')
      with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
        stored = resnet_utils.stack_blocks_dense(
            inputs, blocks, output_stride, store_non_strided_activations=True,
            outputs_collections=f'stored{n}')
      strided_eps = slim.utils.convert_collection_to_dict(f'strided{n}')
      stored_eps = slim.utils.convert_collection_to_dict(f'stored{n}')
      pairs.append((strided, stored))
      for i, block in enumerate(blocks[:-1]):
        stored_ep = stored_eps[block.scope]
        if not (output_stride is not None and 2**i >= output_stride):
          # Not yet atrous: the stored activation is the unstrided one.
          assert (stored_ep.shape[1] + 1) // 2 == \
              strided_eps[block.scope].shape[1]
          stored_ep = resnet_utils.subsample(stored_ep, 2)
        pairs.append((strided_eps[block.scope], stored_ep))
    for got, expected in _run(pairs):
      np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_stack_blocks_dense_unreachable_output_stride():
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [1, 16, 16, 3])
    for output_stride in (3, 16):
      with pytest.raises(ValueError, match=(
          rf'output_stride.*stride of {output_stride} .*reachable: '
          r'\[1, 2, 4, 8\]')):
        resnet_utils.stack_blocks_dense(inputs, _blocks('v1'), output_stride)
    # Checked before any layer is built.
    assert not tf1.global_variables()


def test_resnet_arg_scope_defaults():
  with slim.arg_scope(resnet_utils.resnet_arg_scope()) as sc:
    bn = sc[slim.arg_scope_func_key(slim.batch_norm)]
    conv = sc[slim.arg_scope_func_key(slim.conv2d)]
    pool = sc[slim.arg_scope_func_key(slim.max_pool2d)]
  assert (bn['decay'], bn['epsilon'], bn['scale']) == (0.997, 1e-5, True)
  assert bn['updates_collections'] == tf1.GraphKeys.UPDATE_OPS
  assert conv['normalizer_fn'] is slim.batch_norm
  assert conv['activation_fn'] is tf.nn.relu
  assert pool['padding'] == 'SAME'
  with slim.arg_scope(resnet_utils.resnet_arg_scope(
      use_batch_norm=False)) as sc:
    assert sc[slim.arg_scope_func_key(slim.conv2d)]['normalizer_fn'] is None
  assert resnet_v1.resnet_arg_scope is resnet_utils.resnet_arg_scope
  assert resnet_v2.resnet_arg_scope is resnet_utils.resnet_arg_scope


# --------------------------------------------------------- tiny ResNets


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_classification_end_points(version):
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [2, 64, 64, 3])
    logits, end_points = _resnet_small(version, inputs, 10,
                                       spatial_squeeze=False)
  assert logits.op.name == 'resnet_small/logits/BiasAdd'
  assert logits.shape.as_list() == [2, 1, 1, 10]
  # 64 -> conv1 32 -> pool1 16 -> 8 -> 4 -> 2 -> 2 (block4 has stride 1).
  assert _shapes(end_points, [
      'resnet_small/conv1', 'resnet_small/block1', 'resnet_small/block2',
      'resnet_small/block3', 'resnet_small/block4', 'global_pool',
      'resnet_small/logits', 'predictions']) == {
          'resnet_small/conv1': [2, 32, 32, 64],
          'resnet_small/block1': [2, 8, 8, 4],
          'resnet_small/block2': [2, 4, 4, 8],
          'resnet_small/block3': [2, 2, 2, 16],
          'resnet_small/block4': [2, 2, 2, 32],
          'global_pool': [2, 1, 1, 32],
          'resnet_small/logits': [2, 1, 1, 10],
          'predictions': [2, 1, 1, 10]}
  assert 'resnet_small/spatial_squeeze' not in end_points
  unit = f'resnet_small/block1/unit_1/bottleneck_{version}'
  assert end_points[unit].shape.as_list() == [2, 16, 16, 4]
  assert unit + '/shortcut' in end_points


@pytest.mark.parametrize('version', ['v1', 'v2'])
@pytest.mark.parametrize('output_stride,sizes', [
    # 65 -> conv1 33 -> pool1 17 -> block1 9 -> block2 5 -> block3 3 -> 3.
    (None, (9, 5, 3, 3)),
    (16, (9, 5, 5, 5)),
    (8, (9, 9, 9, 9)),
])
def test_fully_convolutional_end_point_shapes(version, output_stride, sizes):
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [2, 65, 65, 3])
    net, end_points = _resnet_small(version, inputs, global_pool=False,
                                    output_stride=output_stride)
  assert net.shape.as_list() == [2, sizes[-1], sizes[-1], 32]
  for i, size in enumerate(sizes):
    assert end_points[f'resnet_small/block{i + 1}'].shape.as_list() == [
        2, size, size, 4 * 2**i]
  assert 'global_pool' not in end_points
  assert 'predictions' not in end_points


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_atrous_network_values(version):
  """resnet_vN at output_stride 4..32, subsampled, equals the nominal net."""
  nominal_stride = 32
  x = _input([2, 81, 81, 3])
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    tf1.set_random_seed(0)
    inputs = tf.constant(x)
    expected, _ = _resnet_small(version, inputs, is_training=False,
                                global_pool=False)
    outputs = []
    for output_stride in (4, 8, 16, 32):
      net, _ = _resnet_small(version, inputs, is_training=False,
                             global_pool=False, output_stride=output_stride,
                             reuse=True)
      outputs.append(resnet_utils.subsample(net,
                                            nominal_stride // output_stride))
    expected, outputs = _run((expected, outputs))
  assert expected.shape == (2, 3, 3, 32)
  for out in outputs:
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_unknown_batch_and_size(version):
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [None, None, None, 3])
    logits, end_points = _resnet_small(version, inputs, 10,
                                       is_training=False)
    features, _ = _resnet_small(version, inputs, global_pool=False,
                                is_training=False, output_stride=8,
                                reuse=True)
    assert logits.shape.as_list() == [None, 10]
    logits, preds, features = _run(
        (logits, end_points['predictions'], features),
        {inputs: _input([3, 33, 33, 3])})
  assert logits.shape == (3, 10)
  np.testing.assert_allclose(preds.sum(axis=1), 1, rtol=1e-5)
  assert features.shape == (3, 5, 5, 32)  # 33 -> 17 -> 9 -> 5, then atrous.


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_is_training_none_leaves_batch_norm_alone(version):
  def update_ops(**kwargs):
    with tf.Graph().as_default(), slim.arg_scope(
        resnet_utils.resnet_arg_scope()), slim.arg_scope(
            [slim.batch_norm], is_training=False):
      _resnet_small(version, tf1.placeholder(tf.float32, [1, 32, 32, 3]),
                    **kwargs)
      return len(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS))

  assert update_ops(is_training=None) == 0
  assert update_ops(is_training=False) == 0
  assert update_ops(is_training=True) > 0


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_reuse_and_include_root_block(version):
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    _resnet_small(version, inputs, 10)
    count = len(tf1.global_variables())
    _, end_points = _resnet_small(version, inputs, 10, reuse=True)
    assert len(tf1.global_variables()) == count
    assert 'resnet_small/block4' in end_points
    net, end_points = _resnet_small(version, inputs, scope='headless',
                                    include_root_block=False,
                                    global_pool=False)
  assert 'headless/conv1' not in end_points
  assert net.shape.as_list() == [1, 4, 4, 32]  # 32 / 8, no root stride.


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_output_stride_errors(version):
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    with pytest.raises(ValueError, match=r'output_stride.*multiple of 4.*6'):
      _resnet_small(version, inputs, output_stride=6)
    with pytest.raises(ValueError, match=r'output_stride.*stride of 16 '):
      _resnet_small(version, inputs, output_stride=64, scope='other')


def test_bounded_activations():
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf.constant(10 * _input([1, 8, 8, 16]))
    out = resnet_v1.bottleneck(inputs, 32, 8, 2, scope='unit',
                               use_bounded_activations=True)
    out = _run(out)
  assert out.shape == (1, 4, 4, 32)
  assert out.min() >= 0 and out.max() <= 6


# ------------------------------------------- the registered depths (graphs)


ALL = [f'resnet_{v}_{n}' for v in ('v1', 'v2') for n in (50, 101, 152, 200)]


@pytest.mark.parametrize('name', ALL)
def test_variant_functions(name):
  version = name.split('_')[1]
  fn = getattr(VERSIONS[version], name)
  assert fn.__name__ == name
  assert fn.default_image_size == 224
  assert nets_factory.networks_map[name] is fn
  assert nets_factory.arg_scopes_map[name] is resnet_utils.resnet_arg_scope


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_resnet_50_knobs(version):
  """Features, output_stride=16, store_non_strided_activations, widths."""
  fn = getattr(VERSIONS[version], f'resnet_{version}_50')
  name = f'resnet_{version}_50'
  blocks = [f'{name}/block{i}' for i in (1, 2, 3, 4)]
  with tf.Graph().as_default(), slim.arg_scope(
      resnet_utils.resnet_arg_scope()):
    inputs = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    net, end_points = fn(inputs, 7, output_stride=16, spatial_squeeze=False)
    assert net.shape.as_list() == [1, 1, 1, 7]
    assert [end_points[b].shape.as_list()[1] for b in blocks] == [
        28, 14, 14, 14]

    net, end_points = fn(inputs, num_classes=0, reuse=True)
    assert net.shape.as_list() == [1, 1, 1, 2048]
    assert 'predictions' not in end_points
    assert f'{name}/logits' not in end_points

    _, end_points = fn(inputs, 7, store_non_strided_activations=True,
                       reuse=True)
    assert [end_points[b].shape.as_list()[1] for b in blocks] == [
        56, 28, 14, 7]

    _, end_points = fn(inputs, 7, depth_multiplier=0.25, scope='thin')
    assert [end_points[f'thin/block{i}'].shape.as_list()[3]
            for i in (1, 2, 3, 4)] == [64, 128, 256, 512]
    conv1 = f'thin/block1/unit_1/bottleneck_{version}/conv1/weights'
    assert [v.shape.as_list() for v in tf1.global_variables()
            if v.op.name == conv1] == [[1, 1, 64, 16]]

    _, end_points = fn(inputs, 7, depth_multiplier=0.01, min_base_depth=8,
                       scope='min')
    assert end_points['min/block1'].shape.as_list()[3] == 32
