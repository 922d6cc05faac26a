"""One record per network, and one per published checkpoint: every fact
about them that the toolkit uses.

A `NetworkSpec` says where the network lives (module, function, arg_scope),
its default input size, the preprocessing family it trains and evaluates
with, its arg_scope's batch-norm decay parameter and default, whether it
takes video, and the class count and label offset of its published weights. A `Checkpoint` is one set of published
ImageNet weights, keyed by its name in `CHECKPOINTS` (`inception_v3`,
`mobilenet_v1_0.50_160`, `mobilenet_v1_1.0_224_quant`, `nasnet-a_mobile`,
...): the network it restores into, the tarball's URL, the checkpoint file
in it, the weights' class count and the `--labels_offset` they need with the
1001-class ImageNet records, the preprocessing and size they were trained
with (ResNet V2's differ from the network's defaults), a MobileNet's width,
whether they are quantized (`--quantize`), their top-1/top-5 where the
image-models README lists them, and the tarball's SHA-256 where it is
known. A network may have several (MobileNet v1: 4 sizes, float and
quantized); `NetworkSpec.checkpoint` is its main one (float, the largest
size), the one the table of networks in docs/networks.md links to.

These tables are the single source for `nets_factory` (`networks_map`,
`arg_scopes_map`, `default_image_size`, `is_video`, the batch-norm decay),
for the preprocessing family image_classifier picks for a network (the
preprocessing factory keeps its own copy of the original's aliases, which
tests/preprocessing/test_preprocessing_factory.py checks against these
records), for `tools/download_checkpoint.py` and for the table of networks in
docs/networks.md (`markdown_table()`). The original kept parallel dicts
that drifted apart (8 of 40 networks had no preprocessing); here a network
cannot be registered without one.

Pure data (no TensorFlow import), so light modules can read it.
"""
import collections
import dataclasses
import posixpath


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
  """Every fact about one network that the toolkit uses.

  Attributes:
    module: the module defining it (`nets.inception_v3`).
    function: the network function's name in `module`.
    arg_scope: the arg_scope function's name in `module`.
    default_image_size: the square input size it is built for.
    preprocessing: the preprocessing family it trains and evaluates with
      (a family of `preprocessing.preprocessing_factory`).
    batch_norm_decay_parameter: the arg_scope's parameter that sets the
      batch-norm decay (`batch_norm_decay`, MobileNet v2/v3's `bn_decay`),
      None for a network without batch norm. Recorded rather than read from
      the signature, which `functools.partial` arg_scopes (NASNet) and
      `**kwargs` forwarding (MobileNet v2) hide; tests/nets/test_registry.py
      checks it against the signatures.
    batch_norm_decay: that parameter's default (None without batch norm).
    is_video: it takes [batch, frames, height, width, channels].
    checkpoint: its main published weights (a Checkpoint), or None.
  """
  module: str
  function: str
  arg_scope: str
  default_image_size: int
  preprocessing: str
  batch_norm_decay_parameter: str | None = None
  batch_norm_decay: float | None = None
  is_video: bool = False
  checkpoint: 'Checkpoint | None' = None

  @property
  def weights_num_classes(self):
    """The class count of the main published weights, None without any."""
    return self.checkpoint.num_classes if self.checkpoint else None

  @property
  def weights_labels_offset(self):
    """The --labels_offset the main published weights need with the
    1001-class ImageNet records (1 for 1000-class weights), None without
    any."""
    return self.checkpoint.labels_offset if self.checkpoint else None


# The arg_scopes' batch-norm decay parameters and their defaults.
_NO_BATCH_NORM = (None, None)
_BN_0_9997 = ('batch_norm_decay', 0.9997)  # Inception, MobileNet v1, NASNet.
_BN_0_999 = ('batch_norm_decay', 0.999)  # I3D, S3D-G.
_BN_0_997 = ('batch_norm_decay', 0.997)  # ResNet.
_BN_0_9 = ('batch_norm_decay', 0.9)  # NASNet CIFAR, EfficientNetV2.
_MOBILENET_BN = ('bn_decay', 0.997)  # MobileNet v2, v3, EdgeTPU.
_BN_0_99 = ('batch_norm_decay', 0.99)  # EfficientNet (Keras' momentum).


def _spec(module, function, arg_scope, size, preprocessing, batch_norm,
          is_video=False):
  return NetworkSpec('nets.' + module, function, arg_scope, size,
                     preprocessing, *batch_norm, is_video=is_video)


# name: NetworkSpec(module, network function, arg_scope function,
#                   default_image_size, preprocessing family,
#                   batch-norm decay (parameter, default), is_video).
NETWORKS = {
    'alexnet_v2': _spec('alexnet', 'alexnet_v2', 'alexnet_v2_arg_scope', 224, 'vgg', _NO_BATCH_NORM),
    'cifarnet': _spec('cifarnet', 'cifarnet', 'cifarnet_arg_scope', 32, 'cifarnet', _NO_BATCH_NORM),
    'overfeat': _spec('overfeat', 'overfeat', 'overfeat_arg_scope', 231, 'vgg', _NO_BATCH_NORM),
    'vgg_a': _spec('vgg', 'vgg_a', 'vgg_arg_scope', 224, 'vgg', _NO_BATCH_NORM),
    'vgg_16': _spec('vgg', 'vgg_16', 'vgg_arg_scope', 224, 'vgg', _NO_BATCH_NORM),
    'vgg_19': _spec('vgg', 'vgg_19', 'vgg_arg_scope', 224, 'vgg', _NO_BATCH_NORM),
    'inception_v1': _spec('inception_v1', 'inception_v1', 'inception_v1_arg_scope', 224, 'inception', _BN_0_9997),
    'inception_v2': _spec('inception_v2', 'inception_v2', 'inception_v2_arg_scope', 224, 'inception', _BN_0_9997),
    'inception_v3': _spec('inception_v3', 'inception_v3', 'inception_v3_arg_scope', 299, 'inception', _BN_0_9997),
    'inception_v4': _spec('inception_v4', 'inception_v4', 'inception_v4_arg_scope', 299, 'inception', _BN_0_9997),
    'inception_resnet_v2': _spec('inception_resnet_v2', 'inception_resnet_v2',
                                 'inception_resnet_v2_arg_scope', 299, 'inception', _BN_0_9997),
    'i3d': _spec('i3d', 'i3d', 'i3d_arg_scope', 224, 'inception', _BN_0_999, is_video=True),
    's3dg': _spec('s3dg', 's3dg', 's3dg_arg_scope', 224, 'inception', _BN_0_999, is_video=True),
    'lenet': _spec('lenet', 'lenet', 'lenet_arg_scope', 28, 'lenet', _NO_BATCH_NORM),
    'resnet_v1_50': _spec('resnet_v1', 'resnet_v1_50', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v1_101': _spec('resnet_v1', 'resnet_v1_101', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v1_152': _spec('resnet_v1', 'resnet_v1_152', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v1_200': _spec('resnet_v1', 'resnet_v1_200', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v2_50': _spec('resnet_v2', 'resnet_v2_50', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v2_101': _spec('resnet_v2', 'resnet_v2_101', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v2_152': _spec('resnet_v2', 'resnet_v2_152', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'resnet_v2_200': _spec('resnet_v2', 'resnet_v2_200', 'resnet_arg_scope', 224, 'vgg', _BN_0_997),
    'mobilenet_v1': _spec('mobilenet_v1', 'mobilenet_v1', 'mobilenet_v1_arg_scope', 224, 'inception', _BN_0_9997),
    'mobilenet_v1_075': _spec('mobilenet_v1', 'mobilenet_v1_075', 'mobilenet_v1_arg_scope', 224, 'inception', _BN_0_9997),
    'mobilenet_v1_050': _spec('mobilenet_v1', 'mobilenet_v1_050', 'mobilenet_v1_arg_scope', 224, 'inception', _BN_0_9997),
    'mobilenet_v1_025': _spec('mobilenet_v1', 'mobilenet_v1_025', 'mobilenet_v1_arg_scope', 224, 'inception', _BN_0_9997),
    'mobilenet_v2': _spec('mobilenet.mobilenet_v2', 'mobilenet', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_v2_140': _spec('mobilenet.mobilenet_v2', 'mobilenet_v2_140', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_v2_035': _spec('mobilenet.mobilenet_v2', 'mobilenet_v2_035', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_v3_small': _spec('mobilenet.mobilenet_v3', 'small', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_v3_large': _spec('mobilenet.mobilenet_v3', 'large', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_v3_small_minimalistic': _spec('mobilenet.mobilenet_v3', 'small_minimalistic',
                                             'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_v3_large_minimalistic': _spec('mobilenet.mobilenet_v3', 'large_minimalistic',
                                             'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_edgetpu': _spec('mobilenet.mobilenet_v3', 'edge_tpu', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'mobilenet_edgetpu_075': _spec('mobilenet.mobilenet_v3', 'edge_tpu_075', 'training_scope', 224, 'inception', _MOBILENET_BN),
    'nasnet_cifar': _spec('nasnet.nasnet', 'build_nasnet_cifar', 'nasnet_cifar_arg_scope', 32, 'cifarnet', _BN_0_9),
    'nasnet_mobile': _spec('nasnet.nasnet', 'build_nasnet_mobile', 'nasnet_mobile_arg_scope', 224, 'inception', _BN_0_9997),
    'nasnet_large': _spec('nasnet.nasnet', 'build_nasnet_large', 'nasnet_large_arg_scope', 331, 'inception', _BN_0_9997),
    'pnasnet_large': _spec('nasnet.pnasnet', 'build_pnasnet_large', 'pnasnet_large_arg_scope', 331, 'inception', _BN_0_9997),
    'pnasnet_mobile': _spec('nasnet.pnasnet', 'build_pnasnet_mobile', 'pnasnet_mobile_arg_scope', 224, 'inception', _BN_0_9997),
    'convnext_tiny': _spec('convnext', 'convnext_tiny', 'convnext_arg_scope', 224, 'center_crop', _NO_BATCH_NORM),
    'convnext_small': _spec('convnext', 'convnext_small', 'convnext_arg_scope', 224, 'center_crop', _NO_BATCH_NORM),
    'convnext_base': _spec('convnext', 'convnext_base', 'convnext_arg_scope', 224, 'center_crop', _NO_BATCH_NORM),
    'convnext_large': _spec('convnext', 'convnext_large', 'convnext_arg_scope', 224, 'center_crop', _NO_BATCH_NORM),
    'convnext_xlarge': _spec('convnext', 'convnext_xlarge', 'convnext_arg_scope', 224, 'center_crop', _NO_BATCH_NORM),
    'efficientnet_v2_b0': _spec('efficientnet_v2', 'efficientnet_v2_b0', 'efficientnet_v2_arg_scope', 224, 'center_crop', _BN_0_9),
    'efficientnet_v2_b1': _spec('efficientnet_v2', 'efficientnet_v2_b1', 'efficientnet_v2_arg_scope', 240, 'center_crop', _BN_0_9),
    'efficientnet_v2_b2': _spec('efficientnet_v2', 'efficientnet_v2_b2', 'efficientnet_v2_arg_scope', 260, 'center_crop', _BN_0_9),
    'efficientnet_v2_b3': _spec('efficientnet_v2', 'efficientnet_v2_b3', 'efficientnet_v2_arg_scope', 300, 'center_crop', _BN_0_9),
    'efficientnet_v2_s': _spec('efficientnet_v2', 'efficientnet_v2_s', 'efficientnet_v2_arg_scope', 384, 'center_crop', _BN_0_9),
    'efficientnet_v2_m': _spec('efficientnet_v2', 'efficientnet_v2_m', 'efficientnet_v2_arg_scope', 480, 'center_crop', _BN_0_9),
    'efficientnet_v2_l': _spec('efficientnet_v2', 'efficientnet_v2_l', 'efficientnet_v2_arg_scope', 480, 'center_crop', _BN_0_9),
    'efficientnet_b0': _spec('efficientnet', 'efficientnet_b0', 'efficientnet_arg_scope', 224, 'center_crop', _BN_0_99),
    'efficientnet_b1': _spec('efficientnet', 'efficientnet_b1', 'efficientnet_arg_scope', 240, 'center_crop', _BN_0_99),
    'efficientnet_b2': _spec('efficientnet', 'efficientnet_b2', 'efficientnet_arg_scope', 260, 'center_crop', _BN_0_99),
    'efficientnet_b3': _spec('efficientnet', 'efficientnet_b3', 'efficientnet_arg_scope', 300, 'center_crop', _BN_0_99),
    'efficientnet_b4': _spec('efficientnet', 'efficientnet_b4', 'efficientnet_arg_scope', 380, 'center_crop', _BN_0_99),
    'efficientnet_b5': _spec('efficientnet', 'efficientnet_b5', 'efficientnet_arg_scope', 456, 'center_crop', _BN_0_99),
    'efficientnet_b6': _spec('efficientnet', 'efficientnet_b6', 'efficientnet_arg_scope', 528, 'center_crop', _BN_0_99),
    'efficientnet_b7': _spec('efficientnet', 'efficientnet_b7', 'efficientnet_arg_scope', 600, 'center_crop', _BN_0_99),
}


# ------------------------------------------------------- published weights

# One set of published weights.
#   model_name: the network it restores into (a NETWORKS key).
#   url: the tarball (https); file: the checkpoint in it, at its top level
#     (`<file>`, or `<file>.index` with `<file>.data-*`).
#   num_classes: 1001 (class 0 is background) or 1000; labels_offset: what
#     to pass as --labels_offset with the 1001-class ImageNet records.
#   preprocessing, image_size: the eval preprocessing family and input size
#     the weights were trained for (--preprocessing_name, --eval_image_size).
#   depth_multiplier: a MobileNet's width, None for other networks.
#   quantized: made by quantization-aware training, so they hold the
#     `<layer>/{weights,act}_quant/{min,max}` ranges: evaluate with
#     --quantize (slim/quantize.py names its ranges the same way).
#   network_kwargs: what the network function needs beyond model_name's
#     defaults (a width that no factory name builds); empty when the flags
#     are enough.
#   listed_as: the tarball name the image-models README's table shows, None
#     for weights it does not list.
#   top1, top5: ImageNet accuracy (%) as accuracy_source gives it; None
#     where no source at hand lists the weights (figures are never recalled).
#   sha256: the tarball's hex SHA-256, None while unknown (never guessed:
#     tools/download_checkpoint.py then checks the tarball's members and
#     prints its SHA-256 for the user to pin with --sha256).
Checkpoint = collections.namedtuple(
    'Checkpoint',
    ['model_name', 'url', 'file', 'num_classes', 'labels_offset',
     'preprocessing', 'image_size', 'depth_multiplier', 'quantized',
     'network_kwargs', 'listed_as', 'top1', 'top5', 'accuracy_source',
     'sha256'])

ACCURACY_SOURCE = 'image-models README'

# The image-models README's table of pre-trained models (a verbatim copy:
# compat/pretrained_models_table.txt): tarball name -> (top-1, top-5). Its
# 22nd row, ResNet V2 200, has no tarball ("TBA").
_README_ACCURACY = {
    'inception_v1_2016_08_28.tar.gz': (69.8, 89.6),
    'inception_v2_2016_08_28.tar.gz': (73.9, 91.8),
    'inception_v3_2016_08_28.tar.gz': (78.0, 93.9),
    'inception_v4_2016_09_09.tar.gz': (80.2, 95.2),
    'inception_resnet_v2_2016_08_30.tar.gz': (80.4, 95.3),
    'resnet_v1_50_2016_08_28.tar.gz': (75.2, 92.2),
    'resnet_v1_101_2016_08_28.tar.gz': (76.4, 92.9),
    'resnet_v1_152_2016_08_28.tar.gz': (76.8, 93.2),
    'resnet_v2_50_2017_04_14.tar.gz': (75.6, 92.8),
    'resnet_v2_101_2017_04_14.tar.gz': (77.0, 93.7),
    'resnet_v2_152_2017_04_14.tar.gz': (77.8, 94.1),
    'vgg_16_2016_08_28.tar.gz': (71.5, 89.8),
    'vgg_19_2016_08_28.tar.gz': (71.1, 89.8),
    'mobilenet_v1_1.0_224.tgz': (70.9, 89.9),
    'mobilenet_v1_0.50_160.tgz': (59.1, 81.9),
    'mobilenet_v1_0.25_128.tgz': (41.5, 66.3),
    'mobilenet_v2_1.4_224.tgz': (74.9, 92.5),
    'mobilenet_v2_1.0_224.tgz': (71.9, 91.0),
    'nasnet-a_mobile_04_10_2017.tar.gz': (74.0, 91.6),
    'nasnet-a_large_04_10_2017.tar.gz': (82.7, 96.2),
    'pnasnet-5_large_2017_12_13.tar.gz': (82.9, 96.2),
}

# URL layouts. The tarball names of the README's rows are its own (its
# table names the files, not where they are served); the rest is RECALLED,
# NOT CHECKED (no network here), from the original mobilenet_v1.md, the
# MobileNet v2 README and the NASNet README:
# - the slim and NASNet tarballs at download.tensorflow.org/models/ (where
#   this project fetched the first 13 from before), NASNet / PNASNet holding
#   model.ckpt.{index,data-*} at the top level;
# - MobileNet v1: mobilenet_v1_2018_08_02/mobilenet_v1_<width>_<size>
#   [_quant].tgz holding mobilenet_v1_<width>_<size>[_quant].ckpt.{index,
#   data-*,meta}, a frozen .pb, a .tflite and an info.txt, all at the top
#   level. The README shows the 0.5 width as `0.50`; the files are recalled
#   as `0.5` (mobilenet_v1_0.5_160.tgz): both names resolve;
# - MobileNet v2: storage.googleapis.com/mobilenet_v2/checkpoints/
#   mobilenet_v2_<width>_<size>.tgz holding mobilenet_v2_<width>_<size>.ckpt.*
#   for the widths and sizes of _MOBILENET_V2_WIDTHS. The quantized
#   mobilenet_v2_1.0_224_quant.tgz is the least certain: the MobileNet v2
#   README may link it under another name (quantized_v2_224_100.tgz).
# A wrong guess fails the download (404) or the member check with one line;
# it cannot install the wrong files.
_TF_MODELS = 'https://download.tensorflow.org/models/'
_MOBILENET_V1 = _TF_MODELS + 'mobilenet_v1_2018_08_02/'
_MOBILENET_V2 = 'https://storage.googleapis.com/mobilenet_v2/checkpoints/'


def _checkpoint(model_name, url, file, num_classes=1001, preprocessing=None,
                image_size=None, depth_multiplier=None, quantized=False,
                network_kwargs=None, listed_as=None):
  """A Checkpoint; preprocessing and size default to the network's, the
  accuracy is the README's for `listed_as` (default: the tarball's name)."""
  spec = NETWORKS[model_name]
  if listed_as is None and posixpath.basename(url) in _README_ACCURACY:
    listed_as = posixpath.basename(url)
  top1, top5 = _README_ACCURACY.get(listed_as, (None, None))
  return Checkpoint(
      model_name, url, file, num_classes, 1001 - num_classes,
      preprocessing or spec.preprocessing,
      image_size or spec.default_image_size, depth_multiplier, quantized,
      dict(network_kwargs or {}), listed_as, top1, top5,
      ACCURACY_SOURCE if top1 is not None else None, None)


def _slim(model_name, tarball, file, num_classes=1001, preprocessing=None,
          image_size=None):
  return _checkpoint(model_name, _TF_MODELS + tarball, file, num_classes,
                     preprocessing, image_size)


# From the image-models README's table. VGG and ResNet V1 weights have 1000
# classes (no background class); the ResNet V2 weights were trained with
# Inception preprocessing at 299 x 299 although the networks' own
# preprocessing is VGG's at 224.
_SLIM_CHECKPOINTS = {
    'inception_v1': _slim('inception_v1', 'inception_v1_2016_08_28.tar.gz', 'inception_v1.ckpt'),
    'inception_v2': _slim('inception_v2', 'inception_v2_2016_08_28.tar.gz', 'inception_v2.ckpt'),
    'inception_v3': _slim('inception_v3', 'inception_v3_2016_08_28.tar.gz', 'inception_v3.ckpt'),
    'inception_v4': _slim('inception_v4', 'inception_v4_2016_09_09.tar.gz', 'inception_v4.ckpt'),
    'inception_resnet_v2': _slim('inception_resnet_v2', 'inception_resnet_v2_2016_08_30.tar.gz',
                                 'inception_resnet_v2_2016_08_30.ckpt'),
    'resnet_v1_50': _slim('resnet_v1_50', 'resnet_v1_50_2016_08_28.tar.gz', 'resnet_v1_50.ckpt', 1000),
    'resnet_v1_101': _slim('resnet_v1_101', 'resnet_v1_101_2016_08_28.tar.gz', 'resnet_v1_101.ckpt', 1000),
    'resnet_v1_152': _slim('resnet_v1_152', 'resnet_v1_152_2016_08_28.tar.gz', 'resnet_v1_152.ckpt', 1000),
    'resnet_v2_50': _slim('resnet_v2_50', 'resnet_v2_50_2017_04_14.tar.gz', 'resnet_v2_50.ckpt',
                          preprocessing='inception', image_size=299),
    'resnet_v2_101': _slim('resnet_v2_101', 'resnet_v2_101_2017_04_14.tar.gz', 'resnet_v2_101.ckpt',
                           preprocessing='inception', image_size=299),
    'resnet_v2_152': _slim('resnet_v2_152', 'resnet_v2_152_2017_04_14.tar.gz', 'resnet_v2_152.ckpt',
                           preprocessing='inception', image_size=299),
    'vgg_16': _slim('vgg_16', 'vgg_16_2016_08_28.tar.gz', 'vgg_16.ckpt', 1000),
    'vgg_19': _slim('vgg_19', 'vgg_19_2016_08_28.tar.gz', 'vgg_19.ckpt', 1000),
    # The NASNet tarballs all hold `model.ckpt` (installed in a folder of
    # their own, see install_path).
    'nasnet-a_mobile': _slim('nasnet_mobile', 'nasnet-a_mobile_04_10_2017.tar.gz', 'model.ckpt'),
    'nasnet-a_large': _slim('nasnet_large', 'nasnet-a_large_04_10_2017.tar.gz', 'model.ckpt'),
    'pnasnet-5_large': _slim('pnasnet_large', 'pnasnet-5_large_2017_12_13.tar.gz', 'model.ckpt'),
}

# MobileNet v1: the 16 float and 16 quantized weights of the MobileNet paper's
# widths and sizes. width -> (its name as the README writes it, as the files
# are named, the factory name that builds it).
_MOBILENET_V1_WIDTHS = {
    1.0: ('1.0', '1.0', 'mobilenet_v1'),
    0.75: ('0.75', '0.75', 'mobilenet_v1_075'),
    0.5: ('0.50', '0.5', 'mobilenet_v1_050'),
    0.25: ('0.25', '0.25', 'mobilenet_v1_025'),
}
_MOBILENET_V1_SIZES = (224, 192, 160, 128)


def _mobilenet_v1_checkpoints():
  checkpoints = {}
  for width, (shown, filed, model_name) in _MOBILENET_V1_WIDTHS.items():
    for size in _MOBILENET_V1_SIZES:
      for suffix in ('', '_quant'):
        name = f'mobilenet_v1_{shown}_{size}{suffix}'
        stem = f'mobilenet_v1_{filed}_{size}{suffix}'
        listed_as = name + '.tgz'
        checkpoints[name] = _checkpoint(
            model_name, _MOBILENET_V1 + stem + '.tgz', stem + '.ckpt',
            image_size=size, depth_multiplier=width,
            quantized=bool(suffix),
            listed_as=listed_as if listed_as in _README_ACCURACY else None)
  return checkpoints


# MobileNet v2: width -> (sizes published, factory name building it or None).
# Below width 1 the published weights keep the 1280-wide last layer
# (finegrain_classification_mode, as the paper describes and the factory's
# mobilenet_v2_035 builds). No factory name builds widths 1.3, 0.75 and 0.5:
# they need network_kwargs on mobilenet_v2.
_MOBILENET_V2_WIDTHS = {
    1.4: ((224,), 'mobilenet_v2_140'),
    1.3: ((224,), None),
    1.0: ((224, 192, 160, 128, 96), 'mobilenet_v2'),
    0.75: ((224, 192, 160, 128, 96), None),
    0.5: ((224, 192, 160, 128, 96), None),
    0.35: ((224, 192, 160, 128, 96), 'mobilenet_v2_035'),
}


def _mobilenet_v2(width, size, model_name, suffix=''):
  stem = f'mobilenet_v2_{width}_{size}{suffix}'
  network_kwargs = None
  if model_name is None:
    model_name = 'mobilenet_v2'
    network_kwargs = {'depth_multiplier': width,
                      'finegrain_classification_mode': width < 1}
  return stem, _checkpoint(model_name, _MOBILENET_V2 + stem + '.tgz',
                           stem + '.ckpt', image_size=size,
                           depth_multiplier=width, quantized=bool(suffix),
                           network_kwargs=network_kwargs)


def _mobilenet_v2_checkpoints():
  checkpoints = dict(_mobilenet_v2(width, size, model_name)
                     for width, (sizes, model_name)
                     in _MOBILENET_V2_WIDTHS.items() for size in sizes)
  checkpoints.update([_mobilenet_v2(1.0, 224, 'mobilenet_v2', '_quant')])
  return checkpoints


# name -> Checkpoint, every published weight.
CHECKPOINTS = {**_SLIM_CHECKPOINTS, **_mobilenet_v1_checkpoints(),
               **_mobilenet_v2_checkpoints()}


def _main_checkpoint(model_name):
  """A network's float weights at the largest size, built by its name."""
  own = [c for c in CHECKPOINTS.values()
         if c.model_name == model_name and not c.quantized
         and not c.network_kwargs]
  return max(own, key=lambda c: c.image_size, default=None)


NETWORKS = {
    name: dataclasses.replace(spec, checkpoint=_main_checkpoint(name))
    for name, spec in NETWORKS.items()}


def tarball_name(checkpoint):
  """The file name of `checkpoint`'s tarball."""
  return posixpath.basename(checkpoint.url)


def _tarball_stem(checkpoint):
  name = tarball_name(checkpoint)
  for extension in ('.tar.gz', '.tgz'):
    if name.endswith(extension):
      return name[:-len(extension)]
  return name


def find_checkpoint(name):
  """The key of CHECKPOINTS that `name` names, or None.

  Args:
    name: a key (`mobilenet_v1_0.50_160`), a tarball's file name with or
      without its extension (`mobilenet_v1_0.5_160.tgz`,
      `inception_v3_2016_08_28`) or the tarball name the image-models
      README shows (`mobilenet_v1_0.50_160.tgz`).

  Returns:
    The key, or None when no published weights have that name.
  """
  if name in CHECKPOINTS:
    return name
  for key, checkpoint in CHECKPOINTS.items():
    if name in (tarball_name(checkpoint), _tarball_stem(checkpoint),
                checkpoint.listed_as):
      return key
  return None


def install_path(name):
  """Where checkpoint `name` is installed, relative to --checkpoint_dir.

  Its file name, or `<name>/<file>` where other weights have a checkpoint
  of the same file name (the NASNet tarballs' `model.ckpt`), so that no
  weights can be mistaken for others already installed.
  """
  file = CHECKPOINTS[name].file
  shared = sum(c.file == file for c in CHECKPOINTS.values()) > 1
  return posixpath.join(name, file) if shared else file


def network_flags(checkpoint):
  """The eval flags that build the network `checkpoint` restores into.

  Returns:
    E.g. ['--model_name=mobilenet_v1_050', '--eval_image_size=160',
    '--quantize'], or None when no --model_name builds it (then
    `checkpoint.network_kwargs` must go to the network function).
  """
  if checkpoint.network_kwargs:
    return None
  spec = NETWORKS[checkpoint.model_name]
  flags = [f'--model_name={checkpoint.model_name}']
  if checkpoint.labels_offset:
    flags.append(f'--labels_offset={checkpoint.labels_offset}')
  if checkpoint.preprocessing != spec.preprocessing:
    flags.append(f'--preprocessing_name={checkpoint.preprocessing}')
  if checkpoint.image_size != spec.default_image_size:
    flags.append(f'--eval_image_size={checkpoint.image_size}')
  if checkpoint.quantized:
    flags.append('--quantize')
  return flags


def markdown_table():
  """docs/networks.md's table of networks, one row per record, by name."""
  rows = ['| name | function | size | preprocessing | published weights |',
          '|---|---|---|---|---|']
  for name in sorted(NETWORKS):
    spec = NETWORKS[name]
    size = f'{spec.default_image_size}' + (' (video)' if spec.is_video else '')
    rows.append(f'| {name} | `{spec.module}.{spec.function}` | {size} | '
                f'{spec.preprocessing} | {_weights_cell(name)} |')
  return '\n'.join(rows)


def _weights_cell(name):
  """The main weights of network `name` and how many it has in all."""
  ckpt = NETWORKS[name].checkpoint
  if ckpt is None:
    return ''
  spec = NETWORKS[name]
  weights = f'[{ckpt.num_classes} classes]({ckpt.url})'
  if ckpt.labels_offset:
    weights += f', `--labels_offset={ckpt.labels_offset}`'
  if (ckpt.preprocessing, ckpt.image_size) != (spec.preprocessing,
                                               spec.default_image_size):
    weights += f', trained with {ckpt.preprocessing} at {ckpt.image_size}'
  count = sum(c.model_name == name for c in CHECKPOINTS.values())
  if count > 1:
    weights += f'; {count} published weights in all'
  return weights
