"""NASNet / PNASNet knobs at small sizes.

Manifest parity and the golden forward pass are in test_nets_contract.py and
test_nets_goldens.py; here: features, drop path (training only, scheduled by
current_step / total_training_steps), final_endpoint, the aux head, configs.
Small configs keep graphs tiny: 3 cells of 8 filters.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils
from nets.nasnet import pnasnet
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

SMALL = {'num_cells': 3, 'num_conv_filters': 8}


def _build(builder, arg_scope, shape, **kwargs):
  slim.get_or_create_global_step()
  images = tf1.placeholder(tf.float32, shape, name='input')
  with slim.arg_scope(arg_scope()):
    net, end_points = builder(images, **kwargs)
  return images, net, end_points


def _random_ops(scope_part):
  return [op.name for op in tf1.get_default_graph().get_operations()
          if op.type == 'RandomUniform' and scope_part in op.name]


def test_calc_reduction_layers():
  assert nasnet_utils.calc_reduction_layers(18, 2) == [6, 12]
  assert nasnet_utils.calc_reduction_layers(12, 2) == [4, 8]
  assert nasnet_utils.calc_reduction_layers(9, 2) == [3, 6]


def test_num_classes_zero_gives_features():
  with tf.Graph().as_default():
    _, net, end_points = _build(
        nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
        [2, 32, 32, 3], num_classes=0, is_training=True, config=SMALL)
    # Last cell: 6 concatenated states of 8 * 2 * 2 filters.
    assert net.shape.as_list() == [2, 6 * 32]
    assert end_points['global_pool'] is net
    assert 'Logits' not in end_points and 'AuxLogits' not in end_points
    assert not [v for v in tf1.global_variables()
                if v.op.name.startswith(('final_layer', 'aux_'))]


@pytest.mark.parametrize('builder,arg_scope,size', [
    (nasnet.build_nasnet_mobile, nasnet.nasnet_mobile_arg_scope, 96),
    (pnasnet.build_pnasnet_mobile, pnasnet.pnasnet_mobile_arg_scope, 96),
])
def test_small_imagenet_models_forward(builder, arg_scope, size):
  with tf.Graph().as_default():
    images, logits, end_points = _build(
        builder, arg_scope, [2, size, size, 3], num_classes=7,
        is_training=False, config=SMALL)
    assert logits.shape.as_list() == [2, 7]
    assert end_points['Predictions'].op.name == 'final_layer/predictions'
    assert logits.op.name == 'final_layer/FC/BiasAdd'
    x = np.random.RandomState(0).rand(2, size, size, 3).astype(np.float32)
    probs = harness.run_initialised(end_points['Predictions'], {images: x})
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_aux_head_only_in_training():
  for is_training in (True, False):
    with tf.Graph().as_default():
      _, _, end_points = _build(
          nasnet.build_nasnet_mobile, nasnet.nasnet_mobile_arg_scope,
          [1, 96, 96, 3], num_classes=5, is_training=is_training,
          config=SMALL)
      aux_vars = [v for v in tf1.global_variables()
                  if v.op.name.startswith('aux_')]
      assert ('AuxLogits' in end_points) == is_training
      assert bool(aux_vars) == is_training
      if is_training:
        assert end_points['AuxLogits'].shape.as_list() == [1, 5]


def test_drop_path_only_in_training():
  # cifar_config has drop_path_keep_prob=0.6.
  with tf.Graph().as_default():
    _build(nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
           [2, 32, 32, 3], num_classes=10, is_training=True, config=SMALL)
    assert _random_ops('comb_iter')
  with tf.Graph().as_default():
    images, logits, _ = _build(
        nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
        [2, 32, 32, 3], num_classes=10, is_training=False, config=SMALL)
    assert not _random_ops('')
    with harness.initialised_session() as sess:
      x = np.random.RandomState(1).rand(2, 32, 32, 3).astype(np.float32)
      np.testing.assert_array_equal(sess.run(logits, {images: x}),
                                    sess.run(logits, {images: x}))


def test_no_drop_path_when_keep_prob_is_one():
  # mobile_imagenet_config has drop_path_keep_prob=1.0.
  with tf.Graph().as_default():
    _build(nasnet.build_nasnet_mobile, nasnet.nasnet_mobile_arg_scope,
           [1, 96, 96, 3], num_classes=5, is_training=True, config=SMALL)
    assert not _random_ops('comb_iter')


def test_drop_path_uses_graph_global_step_without_stray_variable():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
      nasnet.build_nasnet_cifar(images, 10, is_training=True, config=SMALL)
    steps = [v.op.name for v in tf1.global_variables()
             if v.op.name.endswith('global_step')]
    assert steps == ['global_step']
    # The cells' drop path reads that step.
    step = slim.get_global_step()
    readers = [op for op in tf1.get_default_graph().get_operations()
               if step.op in [t.op for t in op.inputs]]
    assert [op.name for op in readers if op.name.startswith('cell_')]


@pytest.mark.parametrize('step', [0, 250, 1000, 5000])
def test_drop_path_schedule(step):
  """keep = 1 - min(1, step / total) * (cell + 1) / cells * (1 - keep_prob)."""
  keep_prob, total_cells, total_steps, cell_num = 0.6, 10, 1000, 4
  cell = nasnet_utils.NasNetANormalCell(8, keep_prob, total_cells,
                                        total_steps)
  cell._cell_num = cell_num  # pylint: disable=protected-access
  layer_keep = 1 - (cell_num + 1) / total_cells * (1 - keep_prob)
  expected = 1 - min(1.0, step / total_steps) * (1 - layer_keep)
  with tf.Graph().as_default():
    current_step = tf1.placeholder(tf.int64, [])
    ones = tf.ones([4096, 1, 1, 1])
    with slim.arg_scope([nasnet_utils.drop_path], is_training=True):
      # pylint: disable-next=protected-access
      out = cell._apply_drop_path(ones, current_step=current_step)
    with tf1.Session() as sess:
      value = sess.run(out, {current_step: step}).ravel()
  kept = value[value > 0]
  np.testing.assert_allclose(kept, 1 / expected, rtol=1e-5)
  # About `expected` of the examples survive (4096 draws: +-4 sigma).
  assert abs(len(kept) / value.size - expected) < 4 * np.sqrt(
      expected * (1 - expected) / value.size) + 1e-9


def test_current_step_zero_means_no_drop():
  with tf.Graph().as_default():
    step = tf1.placeholder(tf.int64, [])
    images, logits, _ = _build(
        nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
        [4, 32, 32, 3], num_classes=10, is_training=True, config=SMALL,
        current_step=step)
    with harness.initialised_session() as sess:
      x = np.random.RandomState(2).rand(4, 32, 32, 3).astype(np.float32)
      first = sess.run(logits, {images: x, step: 0})
      np.testing.assert_array_equal(first, sess.run(logits,
                                                    {images: x, step: 0}))
      late = [sess.run(logits, {images: x, step: 10**7}) for _ in range(3)]
    assert any(np.abs(l - first).max() > 0 for l in late)


@pytest.mark.parametrize('final_endpoint', ['Stem', 'Cell_0',
                                            'Reduction_Cell_0', 'global_pool'])
def test_final_endpoint_stops_early(final_endpoint):
  with tf.Graph().as_default():
    _, net, end_points = _build(
        nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
        [1, 32, 32, 3], num_classes=10, is_training=False, config=SMALL,
        final_endpoint=final_endpoint)
    assert net is end_points[final_endpoint]
    names = nasnet.endpoint_names(nasnet.cifar_config().override_from_dict(
        SMALL))
    assert list(end_points) == names[:names.index(final_endpoint) + 1]
    assert not [v for v in tf1.global_variables()
                if v.op.name.startswith('final_layer')]


def test_pnasnet_end_points_have_no_reduction_cells():
  with tf.Graph().as_default():
    _, _, end_points = _build(
        pnasnet.build_pnasnet_mobile, pnasnet.pnasnet_mobile_arg_scope,
        [1, 96, 96, 3], num_classes=5, is_training=False, config=SMALL,
        final_endpoint='Cell_2')
    assert list(end_points) == ['Stem', 'Cell_0', 'Cell_1', 'Cell_2']
    # Cell_1 is strided (reduction index 1 of 3 cells).
    assert end_points['Cell_1'].shape.as_list()[1] == \
        end_points['Cell_0'].shape.as_list()[1] // 2


def test_unknown_final_endpoint_lists_valid_values():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    with pytest.raises(ValueError, match="'Cell_9'.*Reduction_Cell_0"):
      nasnet.build_nasnet_cifar(images, 10, config=SMALL,
                                final_endpoint='Cell_9')
    assert not tf1.global_variables()


def test_config_records():
  config = nasnet.large_imagenet_config()
  assert config.num_conv_filters == 168 and config.drop_path_keep_prob == 0.7
  config.set_hparam('num_cells', 6)
  assert config.values()['num_cells'] == 6
  with pytest.raises(ValueError, match='num_celz.*num_cells'):
    config.set_hparam('num_celz', 6)
  assert pnasnet.large_imagenet_config().num_conv_filters == 216
  assert pnasnet.mobile_imagenet_config().num_cells == 9
  # The builders never modify the caller's config.
  mine = nasnet.cifar_config()
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
      nasnet.build_nasnet_cifar(images, 10, is_training=False,
                                config=mine.override_from_dict(SMALL))
  assert mine.drop_path_keep_prob == 0.6


def test_default_image_sizes():
  assert nasnet.build_nasnet_cifar.default_image_size == 32
  assert nasnet.build_nasnet_mobile.default_image_size == 224
  assert nasnet.build_nasnet_large.default_image_size == 331
  assert pnasnet.build_pnasnet_mobile.default_image_size == 224
  assert pnasnet.build_pnasnet_large.default_image_size == 331


def test_nchw_has_the_same_variables():
  tables = []
  for data_format in ('NHWC', 'NCHW'):
    with tf.Graph().as_default():
      _, logits, _ = _build(
          nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
          [1, 32, 32, 3], num_classes=10, is_training=True,
          config=dict(SMALL, data_format=data_format))
      assert logits.shape.as_list() == [1, 10]
      tables.append([(v.op.name, v.shape.as_list())
                     for v in tf1.global_variables()])
  assert tables[0] == tables[1]


def test_bounded_activation_uses_relu6():
  with tf.Graph().as_default():
    _build(nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
           [1, 32, 32, 3], num_classes=10, is_training=False,
           config=dict(SMALL, use_bounded_activation=True))
    types = {op.type for op in tf1.get_default_graph().get_operations()}
    assert 'Relu6' in types and 'Relu' not in types


def test_helpers_need_a_data_format():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='data_format'):
      nasnet_utils.global_avg_pool(tf.zeros([1, 2, 2, 3]))
    with slim.arg_scope([nasnet_utils.get_channel_dim], data_format='NCHW'):
      assert nasnet_utils.get_channel_dim([1, 5, 2, 2]) == 5
