"""VGG 16 / 19 <- keras.applications.VGG16 / VGG19.

The same convolutions and pools; Keras' fully connected fc1 on the
flattened 7 x 7 x 512 map is our 7 x 7 convolution fc6 (Flatten's row-major
order is a kernel's [height, width, channel]), fc2 and predictions our 1 x 1
fc7 and fc8. Keras takes BGR images with the BGR means subtracted ('caffe'
mode); our vgg preprocessing gives RGB minus the RGB means, so the import
reverses the first convolution's input channels and ours computes the Keras
function on the same image in RGB order.
"""
from tools.keras_maps import records

_KERAS = 'https://storage.googleapis.com/tensorflow/keras-applications/'
_NOTES = ('Keras takes BGR (caffe mode); the import reverses conv1_1\'s input '
          'channels, so ours takes the same image as RGB; the means match '
          'to 0.001 (vgg preprocessing: 123.68, 116.78, 103.94)')

KERAS_WEIGHTS = {
    'vgg_16': records.KerasWeights(
        'VGG16', _KERAS + 'vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5',
        '64373286793e3c8b2b4e3219cbf3544b', notes=_NOTES),
    'vgg_19': records.KerasWeights(
        'VGG19', _KERAS + 'vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5',
        'cbe5617147190e668d6c5d5026f83318', notes=_NOTES),
}

# Convolutions per block.
_BLOCKS = {'vgg_16': (2, 2, 3, 3, 3), 'vgg_19': (2, 2, 4, 4, 4)}


def bgr_to_rgb_kernel(kernel):
  """A first-layer kernel for BGR input -> the same one for RGB input."""
  return kernel[:, :, ::-1, :]


def fc6_kernel(kernel):
  """Keras fc1's [7 * 7 * 512, 4096] -> our fc6's [7, 7, 512, 4096]."""
  return kernel.reshape(7, 7, 512, kernel.shape[-1])


def layer_map(model_name):
  layers = {}
  for block, count in enumerate(_BLOCKS[model_name], start=1):
    for conv in range(1, count + 1):
      scope = f'{model_name}/conv{block}/conv{block}_{conv}'
      layers[f'block{block}_conv{conv}'] = records.conv(scope)
  layers['block1_conv1'] = (
      records.Target(f'{model_name}/conv1/conv1_1/weights', bgr_to_rgb_kernel),
      f'{model_name}/conv1/conv1_1/biases')
  layers['fc1'] = (records.Target(f'{model_name}/fc6/weights', fc6_kernel),
                   f'{model_name}/fc6/biases')
  layers['fc2'] = records.conv(f'{model_name}/fc7')
  layers['predictions'] = records.conv(f'{model_name}/fc8')
  return layers
