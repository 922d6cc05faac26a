"""ConvNeXt T / S / B / L / XL, the function of keras.applications.ConvNeXt*.

Liu et al., "A ConvNet for the 2020s", https://arxiv.org/abs/2201.03545

A stem (4x4/4 convolution, layer norm), then four stages; stages 1-3 open
with a downsampling layer (layer norm, 2x2/2 convolution). Every block is

    x + drop_path(layer_scale * pointwise_2(gelu(pointwise_1(
        layer_norm(depthwise_7x7(x))))))

with a biased 7x7 depthwise convolution, a channels-last layer norm
(epsilon 1e-6), two pointwise layers written as fully connected ones on the
last axis (4x expansion, as the original and Keras, whose kernels they
take unchanged), exact (erf) GELU and a learned per-channel layer scale.
The head averages the last feature map, normalizes it and classifies.

The five variants differ only by `CONFIGS`: blocks and widths per stage and
the stochastic-depth rate they were trained with.

The network takes pixels in [0, 255]: it normalizes them with the ImageNet
mean and standard deviation itself, as the Keras models' built-in
`Normalization` layer does, so the preprocessing only resizes and crops.

  with slim.arg_scope(convnext.convnext_arg_scope()):
    logits, end_points = convnext.convnext_tiny(images, num_classes=1000)

The Keras weights these networks import are listed in
tools/keras_maps/convnext.py.
"""
import collections

import numpy as np
import tensorflow as tf

import slim
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['CONFIGS', 'IMAGENET_MEAN', 'IMAGENET_STDDEV', 'block', 'convnext',
           'convnext_arg_scope', 'convnext_tiny', 'convnext_small',
           'convnext_base', 'convnext_large', 'convnext_xlarge',
           'drop_path_rates', 'end_point_names', 'normalize_pixels']

# The ImageNet pixel statistics the published weights were trained with,
# on the [0, 255] scale (Keras' `PreStem` normalization).
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STDDEV = (0.229 * 255, 0.224 * 255, 0.225 * 255)

# Blocks per stage, the stages' channels and the stochastic-depth rate of
# the last block (the rates grow linearly from 0 at the first).
Config = collections.namedtuple('Config',
                                ['stage_blocks', 'stage_widths',
                                 'drop_path_rate'])

# Drop path rates: the paper's ImageNet-1K training settings for T/S/B/L
# (0.1 / 0.4 / 0.5 / 0.5, also timm's); XL was only trained on
# ImageNet-22K, whose pre-training rate for it is 0.2 (paper's appendix,
# recalled). Keras builds its twins with 0, which changes nothing at
# inference.
CONFIGS = {
    'convnext_tiny': Config((3, 3, 9, 3), (96, 192, 384, 768), 0.1),
    'convnext_small': Config((3, 3, 27, 3), (96, 192, 384, 768), 0.4),
    'convnext_base': Config((3, 3, 27, 3), (128, 256, 512, 1024), 0.5),
    'convnext_large': Config((3, 3, 27, 3), (192, 384, 768, 1536), 0.5),
    'convnext_xlarge': Config((3, 3, 27, 3), (256, 512, 1024, 2048), 0.2),
}

LAYER_NORM_EPSILON = 1e-6
LAYER_SCALE_INIT = 1e-6
EXPANSION = 4


def convnext_arg_scope(weight_decay=0.00004, stddev=0.02):
  """The original's initialisation, L2 decay on kernels, linear layers.

  Args:
    weight_decay: the L2 weight decay of the convolution and fully
      connected kernels (biases, norms and layer scales are not decayed, as
      in the original's AdamW recipe).
    stddev: the standard deviation of the truncated-normal kernels.

  Returns:
    An arg_scope.
  """
  layers = [slim.conv2d, slim.separable_conv2d, slim.fully_connected]
  with slim.arg_scope(layers,
                      weights_initializer=zoo.trunc_normal(stddev),
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      biases_initializer=tf1.zeros_initializer(),
                      activation_fn=None):
    with slim.arg_scope([slim.layer_norm], begin_norm_axis=-1,
                        begin_params_axis=-1,
                        epsilon=LAYER_NORM_EPSILON) as sc:
      return sc


def normalize_pixels(images):
  """[0, 255] pixels -> ImageNet-normalized ones, in the images' dtype.

  Keras divides by max(sqrt(variance), 1e-7); the standard deviations are
  far above that, so it is a plain division.
  """
  with tf1.name_scope('normalize'):
    dtype = images.dtype.base_dtype
    mean = tf.constant(np.float32(IMAGENET_MEAN), dtype)
    stddev = tf.constant(np.float32(IMAGENET_STDDEV), dtype)
    return (images - mean) / stddev


def _layer_scale(net, init_value, scope='layer_scale'):
  """`net` times a learned per-channel scale (Touvron et al., CaiT)."""
  with tf1.variable_scope(scope, values=[net]):
    channels = net.shape[-1]
    gamma = slim.model_variable(
        'gamma', shape=[channels], dtype=net.dtype.base_dtype,
        initializer=tf1.constant_initializer(init_value))
    return net * gamma


def block(net, drop_path_rate, is_training,
          layer_scale_init_value=LAYER_SCALE_INIT, scope=None):
  """One ConvNeXt block: the residual branch and the shortcut.

  Args:
    net: [batch, height, width, channels].
    drop_path_rate: the probability of dropping the branch in training.
    is_training: whether drop path is active.
    layer_scale_init_value: the layer scale's initial value.
    scope: the variable scope.

  Returns:
    A tensor shaped like `net`.
  """
  with tf1.variable_scope(scope, 'block', [net]):
    channels = net.shape[-1]
    branch = slim.separable_conv2d(net, None, [7, 7], scope='depthwise_conv')
    branch = slim.layer_norm(branch, scope='layer_norm')
    branch = slim.fully_connected(branch, EXPANSION * channels,
                                  activation_fn=tf.nn.gelu,
                                  scope='pointwise_conv_1')
    branch = slim.fully_connected(branch, channels, scope='pointwise_conv_2')
    branch = _layer_scale(branch, layer_scale_init_value)
    branch = slim.drop_path(branch, drop_path_rate, is_training=is_training,
                            scope='drop_path')
    return net + branch


def _stem(net, width):
  with tf1.variable_scope('stem', values=[net]):
    # 224 x 224 x 3 -> 56 x 56 x width
    net = slim.conv2d(net, width, [4, 4], stride=4, padding='VALID',
                      scope='conv')
    return slim.layer_norm(net, scope='layer_norm')


def _downsample(net, width):
  with tf1.variable_scope('downsample', values=[net]):
    net = slim.layer_norm(net, scope='layer_norm')
    return slim.conv2d(net, width, [2, 2], stride=2, padding='VALID',
                       scope='conv')


def _head(net, end_points, num_classes):
  """Global average pool, layer norm, logits (when num_classes)."""
  with tf1.variable_scope('head', values=[net]):
    net = tf.reduce_mean(net, [1, 2], name='global_pool')
    end_points.add('global_pool', net)
    net = slim.layer_norm(net, scope='layer_norm')
  end_points.add('PreLogits', net)
  if not num_classes:
    return net
  logits = slim.fully_connected(net, num_classes, scope='Logits')
  end_points.add('Logits', logits)
  end_points['Predictions'] = slim.softmax(logits, scope='Predictions')
  return logits


def end_point_names(stage_blocks):
  """Every end point of a network with `stage_blocks`, in build order."""
  names = ['stem']
  for stage, blocks in enumerate(stage_blocks):
    if stage:
      names.append(f'stage_{stage}/downsample')
    names += [f'stage_{stage}/block_{b}' for b in range(blocks)]
  return names + ['global_pool', 'PreLogits', 'Logits', 'Predictions']


def drop_path_rates(stage_blocks, drop_path_rate):
  """Per-block rates growing linearly from 0 to `drop_path_rate`."""
  return [float(r) for r in np.linspace(0.0, drop_path_rate,
                                        sum(stage_blocks))]


def convnext(inputs,
             stage_blocks,
             stage_widths,
             num_classes=1000,
             is_training=True,
             drop_path_rate=0.0,
             layer_scale_init_value=LAYER_SCALE_INIT,
             final_endpoint='Predictions',
             reuse=None,
             scope='convnext'):
  """A ConvNeXt of `stage_blocks` blocks of `stage_widths` channels.

  Args:
    inputs: [batch, height, width, 3] pixels in [0, 255] (height and width
      at least 32; 224 for the published weights).
    stage_blocks: four ints, the blocks of each stage.
    stage_widths: four ints, the channels of each stage.
    num_classes: the number of classes; 0 or None returns the normalized
      pooled features ('PreLogits').
    is_training: whether stochastic depth is active.
    drop_path_rate: the drop path rate of the last block.
    layer_scale_init_value: the initial layer scale.
    final_endpoint: the end point to stop at (see `end_point_names`).
    reuse: whether to reuse the variables (needs `scope`).
    scope: the variable scope.

  Returns:
    (net, end_points): net is the logits [batch, num_classes], the
    features without classes, or the output of `final_endpoint`.
    end_points maps 'stem', 'stage_<s>/downsample', 'stage_<s>/block_<b>',
    'global_pool', 'PreLogits', 'Logits' and 'Predictions' to their
    outputs.

  Raises:
    ValueError: for an unknown `final_endpoint` or a bad stage table.
  """
  if len(stage_blocks) != 4 or len(stage_widths) != 4:
    raise ValueError('convnext: stage_blocks and stage_widths must hold four '
                     f'ints each; received {stage_blocks!r}, '
                     f'{stage_widths!r}.')
  zoo.check_final_endpoint(final_endpoint, end_point_names(stage_blocks),
                           scope)
  end_points = zoo.EndPoints(final_endpoint=final_endpoint)
  rates = iter(drop_path_rates(stage_blocks, drop_path_rate))
  with tf1.variable_scope(scope, 'convnext', [inputs], reuse=reuse):
    net = normalize_pixels(inputs)
    net = _stem(net, stage_widths[0])
    if end_points.add('stem', net):
      return net, end_points
    for stage, (blocks, width) in enumerate(zip(stage_blocks, stage_widths)):
      with tf1.variable_scope(f'stage_{stage}', values=[net]):
        if stage:
          net = _downsample(net, width)
          if end_points.add(f'stage_{stage}/downsample', net):
            return net, end_points
        for b in range(blocks):
          net = block(net, next(rates), is_training, layer_scale_init_value,
                      scope=f'block_{b}')
          if end_points.add(f'stage_{stage}/block_{b}', net):
            return net, end_points
    net = _head(net, end_points, num_classes)
    return net, end_points


convnext.default_image_size = 224


def _variant(name):
  """The network function of `name`, a key of CONFIGS."""
  config = CONFIGS[name]

  def network(inputs,
              num_classes=1000,
              is_training=True,
              drop_path_rate=config.drop_path_rate,
              layer_scale_init_value=LAYER_SCALE_INIT,
              final_endpoint='Predictions',
              reuse=None,
              scope=name):
    return convnext(inputs, config.stage_blocks, config.stage_widths,
                    num_classes=num_classes, is_training=is_training,
                    drop_path_rate=drop_path_rate,
                    layer_scale_init_value=layer_scale_init_value,
                    final_endpoint=final_endpoint, reuse=reuse, scope=scope)

  network.__name__ = network.__qualname__ = name
  network.__doc__ = (
      f'{name}: ConvNeXt with {config.stage_blocks} blocks of '
      f'{config.stage_widths} channels, drop path rate '
      f'{config.drop_path_rate}.\n\n'
      f'  Arguments and results as `convnext` (default scope {name!r}).\n')
  network.default_image_size = 224
  return network


convnext_tiny = _variant('convnext_tiny')
convnext_small = _variant('convnext_small')
convnext_base = _variant('convnext_base')
convnext_large = _variant('convnext_large')
convnext_xlarge = _variant('convnext_xlarge')
