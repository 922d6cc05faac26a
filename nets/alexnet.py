"""AlexNet v2 ("one weird trick" version), checkpoint-compatible.

Krizhevsky, "One weird trick for parallelizing convolutional neural
networks", https://arxiv.org/abs/1404.5997 (no local response normalization,
no grouped convolutions, as in research/slim's alexnet_v2).

The fully connected layers are convolutions ('fc6' is 5x5 'VALID' on the
5 x 5 pool5 of a 224 input), so larger inputs give spatial score maps, or
with `global_pool` one averaged vector.

  with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
    logits, end_points = alexnet.alexnet_v2(images, num_classes=1000)
"""
import tensorflow as tf

import slim
from nets import classifier_heads

__all__ = ['alexnet_v2', 'alexnet_v2_arg_scope']


def alexnet_v2_arg_scope(weight_decay=0.0005):
  """ReLU, L2 weight decay, 0.1 biases, 'SAME' convs and 'VALID' pools.

  Args:
    weight_decay: the L2 weight decay.

  Returns:
    An arg_scope.
  """
  return classifier_heads.fc_conv_arg_scope(
      weight_decay, tf.constant_initializer(0.1), max_pool_padding='VALID')


def alexnet_v2(inputs,
               num_classes=1000,
               is_training=True,
               dropout_keep_prob=0.5,
               spatial_squeeze=True,
               scope='alexnet_v2',
               global_pool=False):
  """AlexNet v2: five convolutions, three pools and three conv "fc" layers.

  Args:
    inputs: a [batch, height, width, channels] float tensor (224 x 224 for
      1 x 1 logits).
    num_classes, is_training, dropout_keep_prob, spatial_squeeze,
      global_pool: passed to `classifier_heads.fc_conv_classifier` and
      documented there (no classes returns fc7's features; squeezing needs
      1 x 1 logits).
    scope: the variable scope.

  Returns:
    (net, end_points): net is the logits ([batch, num_classes], or
    [batch, h, w, num_classes] without spatial_squeeze) or, without classes,
    the fc7 features. end_points maps '<scope>/conv1' ... '<scope>/fc8' to
    their outputs.
  """
  with classifier_heads.fc_conv_network_scope(scope, 'alexnet_v2',
                                              inputs) as sc:
    net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID',
                      scope='conv1')
    # 54 x 54 x 64
    net = slim.max_pool2d(net, [3, 3], 2, scope='pool1')
    # 26 x 26 x 64
    net = slim.conv2d(net, 192, [5, 5], scope='conv2')
    net = slim.max_pool2d(net, [3, 3], 2, scope='pool2')
    # 12 x 12 x 192
    net = slim.conv2d(net, 384, [3, 3], scope='conv3')
    net = slim.conv2d(net, 384, [3, 3], scope='conv4')
    net = slim.conv2d(net, 256, [3, 3], scope='conv5')
    net = slim.max_pool2d(net, [3, 3], 2, scope='pool5')
    # 5 x 5 x 256 -> fc6 -> 1 x 1 x 4096
    return classifier_heads.fc_conv_classifier(
        net, sc, 4096, [5, 5], num_classes, is_training, dropout_keep_prob,
        spatial_squeeze, global_pool, fc_weights_stddev=0.005)


alexnet_v2.default_image_size = 224
