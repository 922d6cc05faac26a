"""LeNet-5-like network for MNIST, as in research/slim's nets/lenet.py.

Note the original's quirk, kept for exported-graph compatibility: the
`Predictions` op is created outside the `LeNet` scope
(`Predictions/Reshape_1`).
"""
import tensorflow as tf

import slim

tf1 = tf.compat.v1


def lenet(images, num_classes=10, is_training=False, dropout_keep_prob=0.5,
          prediction_fn=slim.softmax, scope='LeNet'):
  """LeNet: conv/pool x2, fc3 (1024), dropout, fc4 logits.

  Args:
    images: [batch, 28, 28, channels] float tensor.
    num_classes: number of classes; 0 or None returns the fc3 features.
    is_training: whether dropout is active.
    dropout_keep_prob: probability of keeping an fc3 activation.
    prediction_fn: maps logits to predictions.
    scope: variable scope.

  Returns:
    (logits, end_points), or (fc3 features, end_points) without classes.
  """
  end_points = {}
  with tf1.variable_scope(scope, 'LeNet', [images]):
    net = end_points['conv1'] = slim.conv2d(images, 32, [5, 5], scope='conv1')
    net = end_points['pool1'] = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
    net = end_points['conv2'] = slim.conv2d(net, 64, [5, 5], scope='conv2')
    net = end_points['pool2'] = slim.max_pool2d(net, [2, 2], 2, scope='pool2')
    net = end_points['Flatten'] = slim.flatten(net)
    net = end_points['fc3'] = slim.fully_connected(net, 1024, scope='fc3')
    if not num_classes:
      return net, end_points
    net = end_points['dropout3'] = slim.dropout(
        net, dropout_keep_prob, is_training=is_training, scope='dropout3')
    logits = end_points['Logits'] = slim.fully_connected(
        net, num_classes, activation_fn=None, scope='fc4')
  end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


lenet.default_image_size = 28


def lenet_arg_scope(weight_decay=0.0):
  """L2 weight decay, truncated-normal initializers and ReLU."""
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=tf1.truncated_normal_initializer(stddev=0.1),
      activation_fn=tf.nn.relu) as sc:
    return sc
