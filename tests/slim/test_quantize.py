"""slim.quantize: batch-norm folding and fake quantization as a graph rewrite.

Checked against what tf.contrib.quantize did (compat/contrib_quantize.md):
range-variable names and collections, the folded layer's output, the delay,
the weights' 8-bit levels (against a numpy fake quant), and one network of
every family module going through the rewrite or failing with one line.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from det_weights import det_input, det_value
from nets import nets_factory
from nets.registry import NETWORKS
from slim import quantize
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

# MobileNet v1 at 0.25 on 32x32: Conv2d_0, 13 depthwise + 13 pointwise
# layers and the logits, every conv but the logits followed by batch norm.
MOBILENET_LAYERS = (['Conv2d_0'] + [
    f'Conv2d_{i}_{kind}' for i in range(1, 14)
    for kind in ('depthwise', 'pointwise')] + ['Logits/Conv2d_1c_1x1'])
CIFARNET_LAYERS = ('conv1', 'conv2', 'fc3', 'fc4', 'logits')


def _np_fake_quant(x, min_value, max_value, num_bits=8):
  """FakeQuantWithMinMaxVars in numpy (float32): zero nudged onto the grid."""
  x = np.asarray(x, np.float32)
  quant_max = np.float32(2 ** num_bits - 1)
  scale = np.float32((max_value - min_value) / quant_max)
  zero_point = np.clip(np.round(-min_value / scale), 0, quant_max)
  nudged_min = np.float32(-zero_point * scale)
  nudged_max = np.float32((quant_max - zero_point) * scale)
  clamped = np.clip(x, nudged_min, nudged_max)
  return (np.floor((clamped - nudged_min) * np.float32(1 / scale) + 0.5)
          * scale + nudged_min).astype(np.float32)


def _build(name, is_training=True, **kwargs):
  """`name` on a [2, size, size, 3] placeholder: (input, logits, end_points)."""
  size = (32 if name.startswith('mobilenet')
          else NETWORKS[name].default_image_size)
  return harness.build(name, [2, size, size, 3], num_classes=5,
                       is_training=is_training, **kwargs)


def _new_variables(graph, rewrite):
  before = set(tf1.global_variables())
  with graph.as_default():
    rewrite()
  return [v for v in tf1.global_variables() if v not in before]


@pytest.mark.parametrize('is_training', [True, False])
def test_mobilenet_range_variables_named_as_contrib(is_training):
  with tf.Graph().as_default() as graph:
    _build('mobilenet_v1', is_training, depth_multiplier=0.25)
    trainable = list(tf1.trainable_variables())
    model = list(slim.get_model_variables())
    if is_training:
      new = _new_variables(graph, lambda: quantize.create_training_graph(
          quant_delay=0))
    else:
      new = _new_variables(graph, quantize.create_eval_graph)
    names = {v.op.name for v in new}
    expected = set()
    for layer in MOBILENET_LAYERS:
      for kind in ('weights_quant', 'act_quant'):
        expected |= {f'MobilenetV1/{layer}/{kind}/{m}' for m in ('min', 'max')}
        if is_training and kind == 'act_quant':
          # Zero-debiased moving averages, as assign_moving_average made.
          expected |= {f'MobilenetV1/{layer}/{kind}/{m}/{v}'
                       for m in ('min', 'max')
                       for v in ('biased', 'local_step')}
    assert names == expected
    ranges = [v for v in new if v.op.name.endswith(('/min', '/max'))]
    assert set(tf1.get_collection(tf1.GraphKeys.MOVING_AVERAGE_VARIABLES)) \
        == set(ranges)
    # What a quantization-aware checkpoint holds besides the model: the
    # ranges, each once (the EMA state is training's own).
    assert sorted(v.op.name for v in quantize.range_variables()) == sorted(
        v.op.name for v in ranges)
    assert all(v.dtype.base_dtype == tf.float32 and v.shape.rank == 0
               for v in new)
    # Folding adds no trainable or model variable.
    assert tf1.trainable_variables() == trainable
    assert slim.get_model_variables() == model
    ops = {op.name for op in graph.get_operations()}
    for op in ('Conv2d_0/Conv2D_Fold', 'Conv2d_0/mul_fold',
               'Conv2d_0/add_fold', 'Conv2d_1_depthwise/depthwise_Fold',
               'Conv2d_0/weights_quant/FakeQuantWithMinMaxVars',
               'Conv2d_0/act_quant/FakeQuantWithMinMaxVars'):
      assert 'MobilenetV1/MobilenetV1/' + op in ops
    with tf1.Session() as sess:
      sess.run(tf1.variables_initializer(ranges))
      values = dict(zip([v.op.name for v in ranges], sess.run(ranges)))
  assert values['MobilenetV1/Conv2d_0/weights_quant/min'] == -6.0
  assert values['MobilenetV1/Conv2d_0/act_quant/min'] == 0.0
  assert values['MobilenetV1/Conv2d_0/act_quant/max'] == 6.0


def _bn_layer(kind, inputs, is_training):
  """One layer of `kind` with batch norm and relu, non-trivial statistics."""
  rng = np.random.default_rng(3)
  channels = 6 if kind != 'depthwise' else 2 * inputs.shape[-1]
  constant = lambda shape, low, high: tf1.constant_initializer(
      rng.uniform(low, high, shape).astype(np.float32))
  bn_params = dict(is_training=is_training, scale=True, param_initializers={
      'gamma': constant([channels], 0.5, 2.0),
      'beta': constant([channels], -1.0, 1.0),
      'moving_mean': constant([channels], -0.5, 0.5),
      'moving_variance': constant([channels], 0.2, 3.0)})
  common = dict(normalizer_fn=slim.batch_norm, normalizer_params=bn_params,
                scope='layer')
  if kind == 'conv':
    return slim.conv2d(inputs, channels, [3, 3], **common,
                       weights_initializer=constant([3, 3, 3, channels],
                                                    -1, 1))
  if kind == 'depthwise':
    return slim.separable_conv2d(
        inputs, None, [3, 3], depth_multiplier=2, **common,
        weights_initializer=constant([3, 3, 3, 2], -1, 1))
  return slim.fully_connected(
      slim.flatten(inputs), channels, **common,
      weights_initializer=constant([5 * 7 * 3, channels], -1, 1))


@pytest.mark.parametrize('kind', ['conv', 'depthwise', 'fully_connected'])
@pytest.mark.parametrize('is_training', [False, True])
def test_folded_layer_equals_layer_and_batch_norm(kind, is_training):
  """Same output (and, training, same moving-average updates) after folding."""
  inputs = np.random.default_rng(0).uniform(-1, 1, [4, 5, 7, 3]).astype(
      np.float32)

  def run(sess):
    sess.run(tf1.global_variables_initializer())
    updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    output, *_ = sess.run([outputs] + updates, {images: inputs})
    return output, sess.run(tf1.get_collection(
        tf1.GraphKeys.MODEL_VARIABLES, 'layer/BatchNorm/moving'))

  with tf.Graph().as_default() as graph:
    images = tf1.placeholder(tf.float32, [4, 5, 7, 3])
    outputs = _bn_layer(kind, images, is_training)
    with tf1.Session() as sess:
      expected, expected_moving = run(sess)
    folded = quantize.fold_batch_norms(graph)
    assert [name.rpartition('/')[2] for name in folded] == [{
        'conv': 'Conv2D_Fold', 'depthwise': 'depthwise_Fold',
        'fully_connected': 'MatMul_Fold'}[kind]]
    with tf1.Session() as sess:
      got, moving = run(sess)
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
  assert got.std() > 0.1
  np.testing.assert_allclose(moving, expected_moving, rtol=1e-5, atol=1e-6)


def _load_det_model_weights(sess):
  """det_value weights for the model variables, defaults for the rest."""
  sess.run(tf1.global_variables_initializer())
  model = slim.get_model_variables()
  sess.run([v.initializer for v in model],
           {v.initializer.inputs[1]: det_value(v.op.name, v.shape.as_list())
            for v in model})


def _float_outputs(name, inputs, end_point, **kwargs):
  with tf.Graph().as_default():
    images, logits, end_points = _build(name, **kwargs)
    with tf1.Session() as sess:
      _load_det_model_weights(sess)
      return sess.run((end_points[end_point], logits), {images: inputs})


@pytest.mark.parametrize('name,kwargs,layer,end_point', [
    ('cifarnet', {'dropout_keep_prob': 1.0}, 'CifarNet/conv2', 'conv2'),
    ('mobilenet_v1', {'depth_multiplier': 0.25, 'dropout_keep_prob': 1.0},
     'MobilenetV1/Conv2d_2_pointwise', 'Conv2d_2_pointwise'),
])
def test_delay_then_weights_on_256_levels(name, kwargs, layer, end_point):
  """Float before quant_delay; from it on, 8-bit weights and outputs."""
  inputs = det_input([2, 32, 32, 3])
  expected_layer, expected = _float_outputs(name, inputs, end_point, **kwargs)
  with tf.Graph().as_default() as graph:
    images, logits, end_points = _build(name, **kwargs)
    quantize.create_training_graph(quant_delay=3)
    global_step = tf1.train.get_global_step()
    weights_quant = graph.get_operation_by_name(
        layer.replace('MobilenetV1/', 'MobilenetV1/MobilenetV1/')
        + '/weights_quant/FakeQuantWithMinMaxVars')
    conv = [op for op in graph.get_operations()
            if op.type == 'Conv2D' and op.name.startswith(
                weights_quant.name.rpartition('/weights_quant')[0] + '/')
            and op.inputs[1].op.type != 'ReadVariableOp'][0]
    fetches = {'logits': logits, 'layer': end_points[end_point],
               'conv_weights': conv.inputs[1],
               'weights': weights_quant.inputs[0],
               'min': weights_quant.inputs[1], 'max': weights_quant.inputs[2],
               'quantized': weights_quant.outputs[0]}
    with tf1.Session() as sess:
      _load_det_model_weights(sess)
      before = sess.run(fetches, {images: inputs})
      sess.run(global_step.assign(3))
      after = sess.run(fetches, {images: inputs})
  # MobileNet's batch norms on 2 examples at 1x1 amplify float rounding
  # from layer to layer: tight on an early layer, looser on the logits.
  np.testing.assert_allclose(before['layer'], expected_layer, atol=1e-5)
  np.testing.assert_allclose(before['logits'], expected, atol=2e-3)
  np.testing.assert_array_equal(before['conv_weights'], before['weights'])
  # Quantized: off the float values by about a quantization step.
  error = np.abs(after['layer'] - expected_layer).max()
  print(f'{end_point}: quantized - float {error:.4f} of '
        f'{np.abs(expected_layer).max():.4f}')
  assert 1e-4 < error < 0.05 * np.abs(expected_layer).max()
  # Weights: range = the batch's [min, max] widened to 0, 256 levels.
  weights = after['weights']
  assert after['min'] == min(weights.min(), 0)
  assert after['max'] == max(weights.max(), 0)
  np.testing.assert_array_equal(after['conv_weights'], after['quantized'])
  step = (after['max'] - after['min']) / 255
  # Equal to numpy's fake quant but for float ties at a half step.
  error = np.abs(after['quantized']
                 - _np_fake_quant(weights, after['min'], after['max']))
  assert error.max() <= 1.001 * step
  assert np.mean(error > 1e-6) < 1e-3
  levels = np.unique(after['quantized'])
  assert 100 < len(levels) <= 256
  np.testing.assert_allclose(np.diff(levels) / step,
                             np.round(np.diff(levels) / step), atol=1e-3)


def test_residual_add_quantized_as_contrib():
  """ResNet v1: the conv into an add is `conv_quant`; relu after the add is
  the unit's `act_quant`."""
  with tf.Graph().as_default():
    _build('resnet_v1_50', is_training=False)
    quantize.create_eval_graph()
    names = {v.op.name for v in tf1.global_variables()}
  unit = 'resnet_v1_50/block1/unit_1/bottleneck_v1'
  for name in (f'{unit}/conv3/conv_quant/min', f'{unit}/act_quant/min',
               f'{unit}/shortcut/conv_quant/max',
               f'{unit}/conv1/act_quant/min', f'{unit}/conv1/weights_quant/min',
               'resnet_v1_50/conv1/act_quant/max'):
    assert name in names
  assert f'{unit}/conv3/act_quant/min' not in names
  # Every add is followed by a relu (the unit's act_quant): none is a
  # post-activation bypass.
  assert not [name for name in names if 'post_activation_bypass' in name]


# MobileNet v2's blocks whose input is added to their output.
MOBILENET_V2_RESIDUAL_BLOCKS = (2, 4, 5, 7, 8, 9, 11, 12, 14, 15)


def test_post_activation_bypass_quantized_in_the_adds_scope():
  """MobileNet v2, two clones, training with a delay: each residual add
  after a `project` layer's Identity gets one shared
  `<block>/post_activation_bypass_quant` range, starting at [-6, 6], that
  the block's output reads (delayed like the others)."""
  with tf.Graph().as_default() as graph:
    images = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    for clone in range(2):
      with tf1.name_scope(f'clone_{clone}'), tf1.variable_scope(
          tf1.get_variable_scope(), reuse=True if clone else None):
        network_fn = nets_factory.get_network_fn('mobilenet_v2', 5)
        network_fn(images, depth_multiplier=0.35)
    quantize.create_training_graph(quant_delay=2)
    names = {v.op.name for v in tf1.global_variables()}
    bypass = {name for name in names
              if '/post_activation_bypass_quant/' in name}
    assert bypass == {
        f'MobilenetV2/expanded_conv_{i}/post_activation_bypass_quant/{end}'
        for i in MOBILENET_V2_RESIDUAL_BLOCKS
        for end in ('min', 'max', 'min/biased', 'min/local_step',
                    'max/biased', 'max/local_step')}
    # The project layer's Identity is still quantized as its act_quant.
    assert 'MobilenetV2/expanded_conv_2/project/act_quant/min' in names
    for clone in range(2):
      block = f'clone_{clone}/MobilenetV2/expanded_conv_2'
      output = graph.get_operation_by_name(f'{block}/output')
      assert output.inputs[0].op.name.startswith(
          f'{block}/post_activation_bypass_quant/delayed_quant/')
      add = graph.get_operation_by_name(f'{block}/add')
      assert sorted(x.op.name.rpartition('/')[0] for x in add.inputs) == [
          block, f'{block}/project/act_quant/delayed_quant']
    ranges = [v for v in tf1.global_variables()
              if v.op.name.startswith('MobilenetV2/expanded_conv_2/post_')
              and v.op.name.endswith(('/min', '/max'))]
    assert set(ranges) <= set(tf1.get_collection(
        tf1.GraphKeys.MOVING_AVERAGE_VARIABLES))
    with tf1.Session() as sess:
      sess.run(tf1.variables_initializer(ranges))
      assert sorted(sess.run(ranges)) == [-6.0, 6.0]


def test_eval_graph_reads_ranges_without_updating():
  with tf.Graph().as_default():
    images, logits, _ = _build('cifarnet', is_training=False)
    quantize.create_eval_graph()
    ranges = tf1.get_collection(tf1.GraphKeys.MOVING_AVERAGE_VARIABLES)
    assert len(ranges) == 2 * 2 * len(CIFARNET_LAYERS)
    with tf1.Session() as sess:
      _load_det_model_weights(sess)
      sess.run(logits, {images: det_input([2, 32, 32, 3])})
      assert set(sess.run(ranges)) == {-6.0, 0.0, 6.0}


def _family_representatives():
  """The first registered network of each family module.

  The variants of a module (resnet_v1_50 ... _200, mobilenet_v1_025,
  nasnet_cifar/_mobile/_large) differ in depth, width and repeat counts,
  not in the layer kinds the rewrite matches, so one a module covers the
  family; building all 40 took ~190 s of the test run on 2 busy cores.
  """
  representatives = {}
  for name, spec in NETWORKS.items():
    representatives.setdefault(spec.module, name)
  return sorted(representatives.values())


@pytest.mark.parametrize('name', _family_representatives())
def test_registry_family_rewrites_or_fails_in_one_line(name):
  """One network per family, inference graph: the rewrite succeeds and
  quantizes each layer's weights, or (video networks, Conv3D) names the
  layer it cannot handle in one line."""
  shape = [1] + list(harness.manifest()[name]['input_shape'][1:])
  with tf.Graph().as_default():
    harness.build(name, shape, is_training=False)
    trainable = list(tf1.trainable_variables())
    if NETWORKS[name].is_video:
      with pytest.raises(quantize.UnsupportedLayerError) as raised:
        quantize.create_eval_graph()
      message = str(raised.value)
      assert '\n' not in message
      assert message.startswith('layer InceptionV1/Conv2d_1a_7x7 is a Conv3D')
      return
    quantize.create_eval_graph()
    names = {v.op.name for v in tf1.global_variables()}
    assert tf1.trainable_variables() == trainable
    quantized = 0
    for variable in trainable:
      scope, _, leaf = variable.op.name.rpartition('/')
      # A separable conv's depthwise half is left to its pointwise one.
      separable = (leaf == 'depthwise_weights'
                   and f'{scope}/pointwise_weights' in names)
      if leaf.endswith('weights') and not separable:
        assert f'{scope}/weights_quant/min' in names, scope
        quantized += 1
    assert quantized > 0


def test_training_rewrite_before_gradients():
  """Gradients reach every trainable variable through the rewritten graph,
  and quant_delay must be >= 0."""
  with tf.Graph().as_default():
    _, logits, _ = _build('mobilenet_v1', depth_multiplier=0.25)
    quantize.create_training_graph(quant_delay=0)
    grads = tf1.gradients(tf.reduce_sum(logits), tf1.trainable_variables())
    assert all(g is not None for g in grads)
    with pytest.raises(ValueError, match='quant_delay must be >= 0'):
      quantize.create_training_graph(quant_delay=-1)


def test_eval_rewrite_of_a_scope_leaves_the_training_network_and_shares_ranges():
  """An inference copy of a quantization-aware network (validation inside
  the training graph): only the copy's scope is rewritten, on the training
  ranges; a copy reading the weights' moving averages uses the same ranges
  (`weights_names`)."""
  with tf.Graph().as_default() as graph:
    images = tf1.placeholder(tf.float32, [2, 32, 32, 3])
    train_fn = nets_factory.get_network_fn('cifarnet', 5, is_training=True)
    train_fn(images)
    quantize.create_training_graph(quant_delay=0)
    ranges = set(quantize.range_variables())
    averages = tf1.train.ExponentialMovingAverage(0.9)
    averages.apply(slim.get_model_variables())

    def getter(getter, *args, **kwargs):  # pylint: disable=redefined-outer-name
      variable = getter(*args, **kwargs)
      average = averages.average(variable)
      return variable if average is None else average

    eval_fn = nets_factory.get_network_fn('cifarnet', 5, is_training=False)
    with tf1.name_scope('copy'), tf1.variable_scope(
        tf1.get_variable_scope(), reuse=True, custom_getter=getter):
      eval_fn(images)
    names = {averages.average(v).op.name: v.op.name
             for v in slim.get_model_variables()}
    before = {op.name for op in graph.get_operations()}
    new = _new_variables(graph, lambda: quantize.create_eval_graph(
        scope='copy', weights_names=names))
    assert new == [] and set(quantize.range_variables()) == ranges
    added = [op for op in graph.get_operations() if op.name not in before]
    quant_ops = [op for op in added if op.type == 'FakeQuantWithMinMaxVars']
    assert len(quant_ops) == 2 * len(CIFARNET_LAYERS)
    assert all(op.name.startswith('copy/') for op in added)
