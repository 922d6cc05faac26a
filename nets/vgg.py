"""VGG 11 (configuration A), 16 (D) and 19 (E), checkpoint-compatible.

Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale
Image Recognition", https://arxiv.org/abs/1409.1556

The three depths differ only by the number of 3x3 convolutions per stage
(`STAGE_REPEATS`). The fully connected layers are convolutions ('fc6' is
7x7 'VALID' on the 7 x 7 pool5 of a 224 input), so larger inputs give
spatial score maps, or with `global_pool` one averaged vector.

  with slim.arg_scope(vgg.vgg_arg_scope()):
    logits, end_points = vgg.vgg_16(images, num_classes=1000)

The published weights (their class count and labels offset) are in the
networks' records in nets/registry.py.
"""
import tensorflow as tf

import slim
from nets import classifier_heads

__all__ = ['vgg_arg_scope', 'vgg', 'vgg_a', 'vgg_16', 'vgg_19', 'vgg_d',
           'vgg_e', 'vgg16', 'vgg19', 'STAGE_REPEATS', 'STAGE_DEPTHS']

# Output depths of the five convolution stages, each ended by a 2x2/2 max pool.
STAGE_DEPTHS = (64, 128, 256, 512, 512)

# 3x3 convolutions per stage: the paper's configurations A, D and E.
STAGE_REPEATS = {
    'vgg_a': (1, 1, 2, 2, 2),
    'vgg_16': (2, 2, 3, 3, 3),
    'vgg_19': (2, 2, 4, 4, 4),
}


def vgg_arg_scope(weight_decay=0.0005):
  """ReLU, L2 weight decay, zero biases and 'SAME' convolutions.

  Args:
    weight_decay: the L2 weight decay.

  Returns:
    An arg_scope.
  """
  return classifier_heads.fc_conv_arg_scope(weight_decay,
                                            tf.zeros_initializer())


def vgg(inputs,
        stage_repeats,
        num_classes=1000,
        is_training=True,
        dropout_keep_prob=0.5,
        spatial_squeeze=True,
        reuse=None,
        scope='vgg',
        fc_conv_padding='VALID',
        global_pool=False):
  """A VGG network with `stage_repeats` 3x3 convolutions per stage.

  Args:
    inputs: a [batch, height, width, channels] float tensor (224 x 224 for
      1 x 1 logits).
    stage_repeats: five ints, the convolutions in stages conv1 ... conv5.
    num_classes, is_training, dropout_keep_prob, spatial_squeeze,
      global_pool: passed to `classifier_heads.fc_conv_classifier` and
      documented there (no classes returns fc7's features; squeezing needs
      1 x 1 logits).
    reuse: whether to reuse the variables (needs `scope`).
    scope: the variable scope.
    fc_conv_padding: padding of the 7x7 'fc6' convolution. 'SAME' keeps the
      pool5 grid, so a larger input gives a larger score map; with 'VALID'
      the map is (pool5 size - 6) wide.

  Returns:
    (net, end_points): net is the logits ([batch, num_classes], or
    [batch, h, w, num_classes] without spatial_squeeze) or, without classes,
    the fc7 features. end_points maps '<scope>/conv1/conv1_1', ...,
    '<scope>/pool5', '<scope>/fc6', '<scope>/fc7' and '<scope>/fc8' to their
    outputs.

  Raises:
    ValueError: if `stage_repeats` does not hold five ints >= 1.
  """
  if (len(stage_repeats) != len(STAGE_DEPTHS) or
      any(not isinstance(r, int) or r < 1 for r in stage_repeats)):
    raise ValueError('stage_repeats must be five ints >= 1 (e.g. '
                     f'{STAGE_REPEATS["vgg_16"]}); received {stage_repeats!r}.')
  with classifier_heads.fc_conv_network_scope(scope, 'vgg', inputs,
                                              reuse=reuse) as sc:
    net = inputs
    for i, (repeats, depth) in enumerate(zip(stage_repeats, STAGE_DEPTHS)):
      # 224 -> conv{i+1} -> 224 / 2**i; pool{i+1} -> 224 / 2**(i+1).
      net = slim.repeat(net, repeats, slim.conv2d, depth, [3, 3],
                        scope=f'conv{i + 1}')
      net = slim.max_pool2d(net, [2, 2], scope=f'pool{i + 1}')
    # 7 x 7 x 512 -> fc6 -> 1 x 1 x 4096
    return classifier_heads.fc_conv_classifier(
        net, sc, 4096, [7, 7], num_classes, is_training, dropout_keep_prob,
        spatial_squeeze, global_pool, fc6_padding=fc_conv_padding)


vgg.default_image_size = 224


def _variant(name):
  """The network function for `name`, a key of STAGE_REPEATS."""
  stage_repeats = STAGE_REPEATS[name]

  def network(inputs,
              num_classes=1000,
              is_training=True,
              dropout_keep_prob=0.5,
              spatial_squeeze=True,
              reuse=None,
              scope=name,
              fc_conv_padding='VALID',
              global_pool=False):
    return vgg(inputs, stage_repeats, num_classes=num_classes,
               is_training=is_training, dropout_keep_prob=dropout_keep_prob,
               spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope,
               fc_conv_padding=fc_conv_padding, global_pool=global_pool)

  network.__name__ = network.__qualname__ = name
  network.__doc__ = (
      f'{name}: VGG with {stage_repeats} 3x3 convolutions per stage.\n\n'
      f'  Arguments and results as `vgg` (default scope {name!r}).\n')
  network.default_image_size = 224
  return network


vgg_a = _variant('vgg_a')
vgg_16 = _variant('vgg_16')
vgg_19 = _variant('vgg_19')

# The paper's configuration letters, as upstream, and the TF-Slim README's
# spelling (`vgg.vgg16(images)`).
vgg_d = vgg16 = vgg_16
vgg_e = vgg19 = vgg_19
