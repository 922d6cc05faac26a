"""OverFeat ("fast" model), checkpoint-compatible with research/slim.

Sermanet et al., "OverFeat: Integrated Recognition, Localization and
Detection using Convolutional Networks", https://arxiv.org/abs/1312.6229
(without the paper's zero-padding of conv3-conv5 input maps, as in
research/slim).

As in AlexNet v2 its fully connected layers are convolutions: 'fc6' is a
6x6 'VALID' convolution over the 6 x 6 pool5 of a 231 x 231 input, so a
larger input gives a spatial score map (or with `global_pool`, one
averaged vector).

  with slim.arg_scope(overfeat.overfeat_arg_scope()):
    logits, end_points = overfeat.overfeat(images, num_classes=1000)
"""
import tensorflow as tf

import slim
from nets import classifier_heads

__all__ = ['overfeat', 'overfeat_arg_scope']


def overfeat_arg_scope(weight_decay=0.0005):
  """ReLU, L2 weight decay, zero biases, 'SAME' convs and 'VALID' pools.

  `alexnet.alexnet_v2_arg_scope` differs only in its 0.1 biases.

  Args:
    weight_decay: the L2 weight decay.

  Returns:
    An arg_scope.
  """
  return classifier_heads.fc_conv_arg_scope(
      weight_decay, tf.zeros_initializer(), max_pool_padding='VALID')


def overfeat(inputs, num_classes=1000, is_training=True,
             dropout_keep_prob=0.5, spatial_squeeze=True, scope='overfeat',
             global_pool=False):
  """OverFeat: five convolutions, three pools and three conv "fc" layers.

  Args and Returns: as `alexnet.alexnet_v2`, documented there, except that
  231 x 231 inputs give 1 x 1 logits and the default scope is 'overfeat'.
  """
  with classifier_heads.fc_conv_network_scope(scope, 'overfeat',
                                              inputs) as sc:
    net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID',
                      scope='conv1')
    # 56 x 56 x 64
    net = slim.max_pool2d(net, [2, 2], scope='pool1')
    # 28 x 28 x 64
    net = slim.conv2d(net, 256, [5, 5], padding='VALID', scope='conv2')
    # 24 x 24 x 256
    net = slim.max_pool2d(net, [2, 2], scope='pool2')
    # 12 x 12 x 256
    net = slim.conv2d(net, 512, [3, 3], scope='conv3')
    net = slim.conv2d(net, 1024, [3, 3], scope='conv4')
    net = slim.conv2d(net, 1024, [3, 3], scope='conv5')
    net = slim.max_pool2d(net, [2, 2], scope='pool5')
    # 6 x 6 x 1024 -> fc6 -> 1 x 1 x 3072
    return classifier_heads.fc_conv_classifier(
        net, sc, 3072, [6, 6], num_classes, is_training, dropout_keep_prob,
        spatial_squeeze, global_pool, fc_weights_stddev=0.005)


overfeat.default_image_size = 231
