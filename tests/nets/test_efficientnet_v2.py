"""EfficientNetV2 computes keras.applications.EfficientNetV2*'s function.

* efficientnet_v2_b0 at its full size (224): both weight layouts of a seeded
  random Keras twin imported, logits within 1e-4 of the largest Keras logit
  (keras_parity.assert_logits_close).
* b3 (width and depth scaling) and s (the [-1, 1] input scaling, residual
  fused blocks): compared on a 64 x 64 input. Keras refuses another size
  with weights='imagenet', so the Keras side is the same architecture at
  64 x 64 with the twin's weights, its residual branches damped (see
  `_damp_residual_branches`), imported from its .weights.h5 (b0 covers the
  legacy layout). b1, b2, m and l share this code; their
  variable names and shapes are checked against Keras by the manifest
  (tests/nets/modern_manifests/make_efficientnet_v2_manifest.py, test_nets_contract).
* Stochastic depth: Keras' per-block rates, and random ops only in training.
"""
import numpy as np
import pytest
import tensorflow as tf

from nets import efficientnet_v2
from nets import nets_factory
from tests import cli_harness as h
from tests.nets import keras_parity
from tests.nets import keras_twins

keras = keras_twins.keras
tf1 = tf.compat.v1

train_image_classifier = h.script_module('train_image_classifier')


def _pixels(size, batch=1):
  """Random RGB pixels in [0, 255], what both networks take."""
  return keras_parity.random_images(size, low=0.0, high=255.0, batch=batch)


def test_b0_full_size_parity_through_both_weight_files(tmp_path):
  twin = keras_twins.make_twin(keras.applications.EfficientNetV2B0, tmp_path)
  images = _pixels(224)
  expected = twin.logits(images)
  for path in (twin.legacy_h5, twin.weights_h5):
    ours = keras_parity.imported_logits('efficientnet_v2_b0', path, images,
                                        tmp_path)
    keras_parity.assert_logits_close(ours, expected)


def _damp_residual_branches(model, factor=0.2):
  """Scales the last batch norm of every residual branch by `factor`.

  With random weights, 30 and more residual blocks make the activations
  grow into the thousands, and float32 rounding grows with them (2% apart
  at B3's logits, 1e-6 at its stem). Damped branches keep the activations
  near 1 while still adding a fifth of the signal, far above the 1e-4
  tolerance: a wrong weight still shows.
  """
  names = {layer.name for layer in model.layers}
  for layer in model.layers:
    block = layer.name[:-len('project_bn')]
    if layer.name.endswith('project_bn') and f'{block}add' in names:
      for weight in layer.weights:
        if weight.path.split('/')[-1] in ('gamma', 'beta'):
          weight.assign(weight.numpy() * factor)


@pytest.mark.heavy
@pytest.mark.parametrize('model_name, application', [
    ('efficientnet_v2_b3', 'EfficientNetV2B3'),
    ('efficientnet_v2_s', 'EfficientNetV2S'),
])
def test_reduced_input_parity(model_name, application, tmp_path):
  constructor = getattr(keras.applications, application)
  twin = keras_twins.make_twin(constructor, tmp_path)
  small = constructor(weights=None, input_shape=(64, 64, 3),
                      classifier_activation=None)
  small.set_weights(twin.model.get_weights())
  _damp_residual_branches(small)
  weights_file = str(tmp_path / 'damped.weights.h5')
  small.save_weights(weights_file)
  images = _pixels(64)
  ours = keras_parity.imported_logits(model_name, weights_file, images,
                                      tmp_path)
  keras_parity.assert_logits_close(ours, small(images, training=False))


def _keras_drop_rates(application):
  """{block: rate} of the stochastic-depth Dropout layers Keras builds."""
  model = getattr(keras.applications, application)(weights=None)
  rates = {layer.name[:-len('_drop')]: layer.rate for layer in model.layers
           if layer.name.endswith('_drop')}
  keras.backend.clear_session()
  return rates


def _graph_drop_path_blocks(model_name, is_training):
  """The blocks with a drop_path scope and the graph's random op count."""
  network_fn = nets_factory.get_network_fn(model_name, 3,
                                           is_training=is_training)
  with tf.Graph().as_default() as graph:
    network_fn(tf1.placeholder(tf.float32, [2, 32, 32, 3]))
    ops = graph.get_operations()
  blocks = {op.name.split('/')[1] for op in ops if '/drop_path/' in op.name}
  random_ops = [op.name for op in ops if op.type.startswith('Random')
                and '/Initializer/' not in op.name]
  return blocks, random_ops


def test_drop_path_follows_keras_schedule_in_training_only():
  # B1: its depth multiplier makes Keras' rates pass drop_path_rate.
  expected = _keras_drop_rates('EfficientNetV2B1')
  plan = {block.name: block.drop_rate
          for block in efficientnet_v2.block_plan('b1')}
  assert {name: pytest.approx(plan[name]) for name in expected} == expected
  assert max(expected.values()) > 0.2
  # Exactly those blocks drop: one random draw per drop path, one for the
  # top dropout.
  blocks, random_ops = _graph_drop_path_blocks('efficientnet_v2_b1', True)
  assert blocks == set(expected)
  assert len(random_ops) == len(expected) + 1


def test_training_outputs_vary_and_inference_outputs_do_not():
  images = _pixels(32, batch=4)
  outputs = {}
  for is_training in (True, False):
    network_fn = nets_factory.get_network_fn('efficientnet_v2_b0', 3,
                                             is_training=is_training)
    with tf.Graph().as_default():
      tf1.set_random_seed(0)
      inputs = tf1.placeholder(tf.float32, images.shape)
      _, end_points = network_fn(inputs)
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        # block6h: the last block, whose shortcut drops at 0.2 * 20 / 21.
        outputs[is_training] = [sess.run(end_points['block6h'],
                                         {inputs: images})
                                for _ in range(2)]
  assert not np.array_equal(*outputs[True])
  np.testing.assert_array_equal(*outputs[False])
  _, random_ops = _graph_drop_path_blocks('efficientnet_v2_b0', False)
  assert not random_ops


def test_num_classes_0_returns_pooled_features():
  network_fn = nets_factory.get_network_fn('efficientnet_v2_b0', 0)
  with tf.Graph().as_default():
    features, end_points = network_fn(
        tf1.placeholder(tf.float32, [2, 64, 64, 3]))
  assert features.shape.as_list() == [2, 1, 1, 1280]
  assert 'Logits' not in end_points and 'Predictions' not in end_points


def test_final_endpoint_stops_the_body():
  with tf.Graph().as_default():
    net, end_points = efficientnet_v2.efficientnet_v2_base(
        tf1.placeholder(tf.float32, [1, 64, 64, 3]), 'b0',
        final_endpoint='block2b')
  assert list(end_points) == ['stem', 'block1a', 'block2a', 'block2b']
  assert net.shape.as_list() == [1, 16, 16, 32]
  with tf.Graph().as_default(), pytest.raises(ValueError, match='block2z'):
    efficientnet_v2.efficientnet_v2_base(
        tf1.placeholder(tf.float32, [1, 64, 64, 3]), 'b0',
        final_endpoint='block2z')


def test_train_image_classifier_trains_b0(tmp_path):
  data = h.make_shapes(tmp_path / 'shapes', train=8, validation=4)
  train_dir = tmp_path / 'train'
  loss = train_image_classifier.train(h.train_values(
      data, train_dir, model_name='efficientnet_v2_b0',
      preprocessing_name='inception', train_image_size=32, batch_size=4,
      max_number_of_steps=2))
  assert np.isfinite(loss)
  assert h.checkpoint_step(train_dir) == 2
  saved = h.read_checkpoint(train_dir)
  assert saved['efficientnet_v2_b0/Logits/Conv2d_1c_1x1/weights'].shape == (
      1, 1, 1280, h.NUM_CLASSES)
