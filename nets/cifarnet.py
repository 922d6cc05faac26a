"""CifarNet: the small CNN of the TensorFlow CIFAR-10 tutorial.

Checkpoint-compatible with research/slim's nets/cifarnet.py: variables under
`CifarNet/{conv1,conv2,fc3,fc4,logits}` and end points conv1 ... Predictions.
"""
import tensorflow as tf

import slim
from nets import zoo

tf1 = tf.compat.v1


def _lrn(net, name, is_training):
  # Local response normalisation as in the CIFAR-10 tutorial. Training
  # graphs take slim's version, whose gradient is ~4x faster on CPUs than
  # TensorFlow's LRNGrad (same values); inference graphs keep the LRN op
  # that exporters and TFLite know. Both in float32 under mixed precision
  # (LRN has no bfloat16/float16 CPU kernel; sums of squares want float32).
  lrn = slim.local_response_normalization if is_training else tf.nn.lrn
  return slim.precision.in_float32(lrn, net, 4, bias=1.0,
                                   alpha=0.001 / 9.0, beta=0.75, name=name)


def cifarnet(images, num_classes=10, is_training=False, dropout_keep_prob=0.5,
             prediction_fn=slim.softmax, scope='CifarNet'):
  """CifarNet: two conv/pool/LRN stages and three fully connected layers.

  Args:
    images: [batch, 32, 32, channels] float tensor.
    num_classes: number of classes; 0 or None returns the fc4 features.
    is_training: whether dropout is active.
    dropout_keep_prob: probability of keeping an fc3 activation.
    prediction_fn: maps logits to predictions.
    scope: variable scope.

  Returns:
    (logits [batch, num_classes], end_points), or (fc4 features,
    end_points) when num_classes is 0 or None.
  """
  end_points = {}
  with tf1.variable_scope(scope, 'CifarNet', [images]):
    net = end_points['conv1'] = slim.conv2d(images, 64, [5, 5], scope='conv1')
    net = end_points['pool1'] = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
    net = _lrn(net, 'norm1', is_training)
    net = end_points['conv2'] = slim.conv2d(net, 64, [5, 5], scope='conv2')
    net = _lrn(net, 'norm2', is_training)
    net = end_points['pool2'] = slim.max_pool2d(net, [2, 2], 2, scope='pool2')
    net = end_points['Flatten'] = slim.flatten(net)
    net = end_points['fc3'] = slim.fully_connected(net, 384, scope='fc3')
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout3')
    net = end_points['fc4'] = slim.fully_connected(net, 192, scope='fc4')
    if not num_classes:
      return net, end_points
    logits = slim.fully_connected(
        net, num_classes, biases_initializer=tf1.zeros_initializer(),
        weights_initializer=zoo.trunc_normal(1 / 192.0),
        weights_regularizer=None,
        activation_fn=None, scope='logits')
    end_points['Logits'] = logits
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


cifarnet.default_image_size = 32


def cifarnet_arg_scope(weight_decay=0.004):
  """Initializers and L2 weight decay of the CIFAR-10 tutorial."""
  with slim.arg_scope([slim.conv2d],
                      weights_initializer=zoo.trunc_normal(5e-2),
                      activation_fn=tf.nn.relu):
    with slim.arg_scope([slim.fully_connected],
                        biases_initializer=tf1.constant_initializer(0.1),
                        weights_initializer=zoo.trunc_normal(0.04),
                        weights_regularizer=slim.l2_regularizer(weight_decay),
                        activation_fn=tf.nn.relu) as sc:
      return sc
