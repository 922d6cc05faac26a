"""Every trainable variable of every registered network learns.

Driven by the registry: each network is built for training at the smallest
input it accepts (batch 2, so that batch norm on a 1 x 1 map still passes a
gradient), with 3 classes, and one run of `tf.gradients` of a
cross-entropy loss on the logits (plus 'AuxLogits' where the network has an
auxiliary head, as training adds it) must give every trainable variable a
non-zero gradient. A variable left out of the loss's graph, or cut off by a
stop-gradient, an integer cast or a dead branch, fails here although the
manifest test still passes.
"""
import numpy as np
import pytest
import tensorflow as tf

from nets.registry import NETWORKS
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

# Building the training graphs and their gradients takes minutes.
pytestmark = pytest.mark.slow

# The smallest height and width each network accepts where that is not 32:
# a fixed fully connected head (the fc-as-conv nets, CifarNet, LeNet), the
# fixed 7 x 7 logits pool of Inception v1, or an auxiliary head that pools
# 5 x 5 at stride 16. MobileNet v2, v3 and EdgeTPU get 64: a residual
# block's linear projection feeds only convolutions followed by batch norm,
# which removes any constant shift, so on the 1 x 1 maps of a 32 input the
# projection's beta has exactly zero gradient; on 2 x 2 maps the depthwise
# convolution's zero padding makes the shift position-dependent.
_SMALLEST = {
    'alexnet_v2': 224, 'overfeat': 231, 'vgg_a': 224, 'vgg_16': 224,
    'vgg_19': 224, 'lenet': 28, 'inception_v1': 193, 'inception_v3': 107,
    'inception_v4': 107, 'inception_resnet_v2': 107, 'nasnet_mobile': 80,
    'nasnet_large': 80, 'pnasnet_mobile': 80, 'pnasnet_large': 80,
}
_SMALLEST.update({name: 64 for name in NETWORKS
                  if name.startswith(('mobilenet_v2', 'mobilenet_v3',
                                      'mobilenet_edgetpu'))})
NUM_FRAMES = 8  # The video networks stride by 8 in time.


def _input_shape(name):
  size = _SMALLEST.get(name, 32)
  if NETWORKS[name].is_video:
    return [2, NUM_FRAMES, size, size, 3]
  return [2, size, size, 3]


# Variants that build the same layers as a sibling at another depth or
# width (the same code path per layer): checked through the sibling, which
# keeps this test to a few minutes on 2 cores. The large NASNet and PNASNet
# repeat the mobile ones' cells; ResNets 101-200 repeat the 50's blocks;
# ConvNeXt S-XL repeat T's blocks, more of them and wider.
_SAME_CODE_AS = {
    'resnet_v1_101': 'resnet_v1_50', 'resnet_v1_152': 'resnet_v1_50',
    'resnet_v1_200': 'resnet_v1_50', 'resnet_v2_101': 'resnet_v2_50',
    'resnet_v2_152': 'resnet_v2_50', 'resnet_v2_200': 'resnet_v2_50',
    'mobilenet_v1_025': 'mobilenet_v1', 'mobilenet_v1_050': 'mobilenet_v1',
    'mobilenet_v1_075': 'mobilenet_v1', 'mobilenet_v2_035': 'mobilenet_v2',
    'mobilenet_v2_140': 'mobilenet_v2',
    'mobilenet_edgetpu_075': 'mobilenet_edgetpu',
    'mobilenet_v3_large_minimalistic': 'mobilenet_v3_small_minimalistic',
    'nasnet_large': 'nasnet_mobile', 'pnasnet_large': 'pnasnet_mobile',
    'vgg_a': 'vgg_16', 'vgg_19': 'vgg_16',
    'convnext_small': 'convnext_tiny', 'convnext_base': 'convnext_tiny',
    'convnext_large': 'convnext_tiny', 'convnext_xlarge': 'convnext_tiny',
    # EfficientNetV2: other widths, depths and stage tables of b0's blocks.
    **{f'efficientnet_v2_{variant}': 'efficientnet_v2_b0'
       for variant in ('b1', 'b2', 'b3', 's', 'm', 'l')},
    # EfficientNet B1-B7 scale B0's blocks in width and repeats.
    **{f'efficientnet_b{i}': 'efficientnet_b0' for i in range(1, 8)},
}


def test_variants_left_out_share_their_siblings_code():
  for variant, sibling in _SAME_CODE_AS.items():
    assert sibling not in _SAME_CODE_AS
    assert NETWORKS[variant].module == NETWORKS[sibling].module, variant


@pytest.mark.parametrize('name', sorted(set(NETWORKS) - set(_SAME_CODE_AS)))
def test_gradients_reach_every_trainable_variable(name):
  shape = _input_shape(name)
  with tf.Graph().as_default():
    tf1.set_random_seed(0)
    images, logits, end_points = harness.build(name, shape, num_classes=3,
                                               is_training=True)
    labels = tf.one_hot([1, 2], 3)
    loss = tf1.losses.softmax_cross_entropy(labels, logits)
    if 'AuxLogits' in end_points:
      loss += tf1.losses.softmax_cross_entropy(labels, end_points['AuxLogits'])
    variables = tf1.trainable_variables()
    gradients = tf.gradients(loss, variables)
    unreached = [v.op.name for v, g in zip(variables, gradients) if g is None]
    assert not unreached, f'{name}: no gradient path to {unreached[:10]}'
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    values = harness.run_initialised(gradients, {images: x})
  zero = [v.op.name for v, g in zip(variables, values) if not np.any(g)]
  assert not zero, f'{name}: zero gradient for {zero[:10]} ({len(zero)})'
