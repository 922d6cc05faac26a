"""Downloads and unpacks a published slim ImageNet checkpoint.

    python tools/download_checkpoint.py --checkpoint=inception_v3 \
      --checkpoint_dir=/tmp/checkpoints
    # -> /tmp/checkpoints/inception_v3.ckpt

Streamed, resumable, retried; the tarball is unpacked with the same safe
extraction as the datasets (no member may land outside --checkpoint_dir).
--mirror=URL replaces everything before the file name, for users behind a
mirror. Nothing is downloaded when the checkpoint is already there.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags

from datasets import dataset_utils
from datasets.errors import DatasetError
from image_classifier import cli

_BASE = 'http://download.tensorflow.org/models/'

# name: (tarball file name, checkpoint file it holds). From the research/slim
# README's table of pre-trained models.
CHECKPOINTS = {
    'inception_v1': ('inception_v1_2016_08_28.tar.gz', 'inception_v1.ckpt'),
    'inception_v2': ('inception_v2_2016_08_28.tar.gz', 'inception_v2.ckpt'),
    'inception_v3': ('inception_v3_2016_08_28.tar.gz', 'inception_v3.ckpt'),
    'inception_v4': ('inception_v4_2016_09_09.tar.gz', 'inception_v4.ckpt'),
    'inception_resnet_v2': ('inception_resnet_v2_2016_08_30.tar.gz',
                            'inception_resnet_v2_2016_08_30.ckpt'),
    'resnet_v1_50': ('resnet_v1_50_2016_08_28.tar.gz', 'resnet_v1_50.ckpt'),
    'resnet_v1_101': ('resnet_v1_101_2016_08_28.tar.gz', 'resnet_v1_101.ckpt'),
    'resnet_v1_152': ('resnet_v1_152_2016_08_28.tar.gz', 'resnet_v1_152.ckpt'),
    'resnet_v2_50': ('resnet_v2_50_2017_04_14.tar.gz', 'resnet_v2_50.ckpt'),
    'resnet_v2_101': ('resnet_v2_101_2017_04_14.tar.gz', 'resnet_v2_101.ckpt'),
    'resnet_v2_152': ('resnet_v2_152_2017_04_14.tar.gz', 'resnet_v2_152.ckpt'),
    'vgg_16': ('vgg_16_2016_08_28.tar.gz', 'vgg_16.ckpt'),
    'vgg_19': ('vgg_19_2016_08_28.tar.gz', 'vgg_19.ckpt'),
}

flags.DEFINE_string('checkpoint', 'inception_v3', 'Which checkpoint: '
                    + ', '.join(sorted(CHECKPOINTS)) + '.')
flags.DEFINE_string('checkpoint_dir', '/tmp/checkpoints',
                    'Where the checkpoint is unpacked.')
flags.DEFINE_string('mirror', None, 'URL prefix replacing everything before '
                    'the file name of the default URL.')

FLAGS = flags.FLAGS


def download_checkpoint(name, checkpoint_dir, mirror=None):
  """Returns the local checkpoint path, downloading it if needed.

  Raises:
    ValueError: for an unknown name.
    DatasetError: when the download or extraction fails.
  """
  if name not in CHECKPOINTS:
    raise ValueError(f'Unknown checkpoint {name!r}. Valid names: '
                     f'{", ".join(sorted(CHECKPOINTS))}.')
  tarball, checkpoint_file = CHECKPOINTS[name]
  path = os.path.join(checkpoint_dir, checkpoint_file)
  if os.path.exists(path) or os.path.exists(path + '.index'):
    return path
  archive = dataset_utils.download_and_uncompress_tarball(
      _BASE + tarball, checkpoint_dir, mirror=mirror)
  os.remove(archive)
  return path


def main(argv):
  cli.check_no_arguments(argv)
  if FLAGS.checkpoint not in CHECKPOINTS:
    cli.fail(f'--checkpoint={FLAGS.checkpoint} is unknown. Valid names: '
             f'{", ".join(sorted(CHECKPOINTS))}.')
  print(download_checkpoint(FLAGS.checkpoint, FLAGS.checkpoint_dir,
                            FLAGS.mirror))


if __name__ == '__main__':
  cli.run(main, extra_user_errors=(DatasetError,))
