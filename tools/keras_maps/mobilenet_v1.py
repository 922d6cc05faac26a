"""MobileNet v1 <- keras.applications.MobileNet.

The two compute the same function: Keras' stride-2 depthwise convolutions
pad (0, 1) explicitly where ours pad 'SAME', which for the even feature maps
of every published size (128, 160, 192, 224) is the same (0, 1); batch norm
with scale and epsilon 1e-3 in both; the same 1x1 convolution with bias as
the classifier. The files of the other sizes (`mobilenet_<alpha>_<size>_tf.h5`)
hold weights of the same shapes and import the same way.
"""
from tools.keras_maps import records

_URL = ('https://storage.googleapis.com/tensorflow/keras-applications/'
        'mobilenet/mobilenet_{}_224_tf.h5')

# Our model name -> the alpha in the Keras file name. Keras records no hash
# for the MobileNet files.
_ALPHAS = {
    'mobilenet_v1': '1_0',
    'mobilenet_v1_075': '7_5',
    'mobilenet_v1_050': '5_0',
    'mobilenet_v1_025': '2_5',
}
_ALPHA_VALUES = {'1_0': 1.0, '7_5': 0.75, '5_0': 0.5, '2_5': 0.25}

KERAS_WEIGHTS = {
    name: records.KerasWeights(
        f'MobileNet(alpha={_ALPHA_VALUES[alpha]})', _URL.format(alpha))
    for name, alpha in _ALPHAS.items()
}

_NUM_BLOCKS = 13


def layer_map(unused_model_name):
  """The same layers at every width."""
  scope = 'MobilenetV1'
  layers = {
      'conv1': (f'{scope}/Conv2d_0/weights',),
      'conv1_bn': records.batch_norm(f'{scope}/Conv2d_0/BatchNorm'),
  }
  for block in range(1, _NUM_BLOCKS + 1):
    depthwise = f'{scope}/Conv2d_{block}_depthwise'
    pointwise = f'{scope}/Conv2d_{block}_pointwise'
    layers[f'conv_dw_{block}'] = (f'{depthwise}/depthwise_weights',)
    layers[f'conv_dw_{block}_bn'] = records.batch_norm(f'{depthwise}/BatchNorm')
    layers[f'conv_pw_{block}'] = (f'{pointwise}/weights',)
    layers[f'conv_pw_{block}_bn'] = records.batch_norm(f'{pointwise}/BatchNorm')
  layers['conv_preds'] = records.conv(f'{scope}/Logits/Conv2d_1c_1x1')
  return layers
