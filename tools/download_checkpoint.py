"""Downloads and unpacks a published slim ImageNet checkpoint.

    python tools/download_checkpoint.py --checkpoint=inception_v3 \
      --checkpoint_dir=/tmp/checkpoints
    # -> /tmp/checkpoints/inception_v3.ckpt

Streamed, resumable, retried; the tarball is unpacked with the same safe
extraction as the datasets (no member may land outside --checkpoint_dir).
--mirror=URL replaces everything before the file name, for users behind a
mirror. Nothing is downloaded when the checkpoint is already there. The
checkpoints, their class counts, labels offsets and preprocessing are the
network records of nets/registry.py.
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
from nets.registry import NETWORKS

# name: registry.Checkpoint (URL, checkpoint file, classes, labels offset,
# preprocessing and size), for every network with published weights.
CHECKPOINTS = {name: spec.checkpoint for name, spec in NETWORKS.items()
               if spec.checkpoint is not None}

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
  checkpoint = CHECKPOINTS[name]
  path = os.path.join(checkpoint_dir, checkpoint.file)
  if os.path.exists(path) or os.path.exists(path + '.index'):
    return path
  archive = dataset_utils.download_and_uncompress_tarball(
      checkpoint.url, checkpoint_dir, mirror=mirror)
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
