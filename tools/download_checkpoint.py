"""Downloads and unpacks a published slim ImageNet checkpoint.

    python tools/download_checkpoint.py --checkpoint=inception_v3 \
      --checkpoint_dir=/tmp/checkpoints
    # -> /tmp/checkpoints/inception_v3.ckpt

Over https, streamed, resumable, retried. The tarball is checked against a
SHA-256 wherever one is known: `--sha256=HEX`, else the record's (none of
the published tarballs has one recorded yet). A tarball that does not match
is deleted and nothing is extracted. Every tarball must hold the record's
checkpoint at its top level (`<file>`, or `<file>.index` and
`<file>.data-*`) and nothing but files and folders (no links); when no
SHA-256 was known, the tarball's is printed on stderr so that the next
download can be pinned with --sha256. Only the checkpoint's files (`<file>`
and `<file>.*`) are installed in --checkpoint_dir; anything else in the
tarball is left out. Extraction is the datasets' (`datasets/extract.py`: no
member may land outside --checkpoint_dir). --mirror=URL replaces everything
before the file name, for users behind a mirror. Nothing is downloaded when
the checkpoint is already there. The checkpoints, their class counts,
labels offsets and preprocessing are the network records of
nets/registry.py.
"""
import functools
import os
import posixpath
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags

from datasets import download
from datasets import extract
from datasets.errors import DatasetError
from image_classifier import cli
from nets.registry import NETWORKS

# name: registry.Checkpoint (URL, checkpoint file, classes, labels offset,
# preprocessing and size, SHA-256), for every network with published weights.
CHECKPOINTS = {name: spec.checkpoint for name, spec in NETWORKS.items()
               if spec.checkpoint is not None}

flags.DEFINE_string('checkpoint', 'inception_v3', 'Which checkpoint: '
                    + ', '.join(sorted(CHECKPOINTS)) + '.')
flags.DEFINE_string('checkpoint_dir', '/tmp/checkpoints',
                    'Where the checkpoint is unpacked.')
flags.DEFINE_string('mirror', None, 'URL prefix replacing everything before '
                    'the file name of the default URL.')
flags.DEFINE_string('sha256', None, 'Expected SHA-256 (64 hex digits) of the '
                    'checkpoint tarball; a tarball that does not match is '
                    'deleted. Default: the one recorded for the checkpoint, '
                    'if any.')

FLAGS = flags.FLAGS

_SHA256_HEX = re.compile('[0-9a-fA-F]{64}')


def is_checkpoint_file(name, checkpoint_file):
  """Whether top-level entry `name` belongs to checkpoint `checkpoint_file`
  (the file itself, or its `.index`, `.data-*`, `.meta`...)."""
  return name == checkpoint_file or name.startswith(checkpoint_file + '.')


def check_checkpoint_members(members, checkpoint_file):
  """Raises ValueError unless `members` are a tarball of `checkpoint_file`.

  Args:
    members: the tarball's `extract.Member`s (already found safe).
    checkpoint_file: the record's checkpoint file name.

  Raises:
    ValueError: a member is a link or another special kind, or the
      checkpoint is not at the tarball's top level.
  """
  for member in members:
    if member.kind not in (extract.DIR, extract.FILE):
      raise ValueError('member %r is a %s; a checkpoint tarball holds only '
                       'files and folders' % (member.name, member.kind))
  top_files = {posixpath.normpath(m.name) for m in members
               if m.kind == extract.FILE}
  if checkpoint_file in top_files:
    return
  if (checkpoint_file + '.index' in top_files and
      any(name.startswith(checkpoint_file + '.data-') for name in top_files)):
    return
  raise ValueError('it holds no %s (nor %s.index with %s.data-* files) at '
                   'its top level, so it is not this checkpoint'
                   % (checkpoint_file, checkpoint_file, checkpoint_file))


def _extract_checkpoint(archive, checkpoint_dir, checkpoint_file):
  """Installs the checkpoint's files of `archive`; deletes a refused one."""
  try:
    extract.safe_extract(
        archive, checkpoint_dir,
        check=functools.partial(check_checkpoint_members,
                                checkpoint_file=checkpoint_file),
        keep=functools.partial(is_checkpoint_file,
                               checkpoint_file=checkpoint_file))
  except DatasetError as e:
    os.remove(archive)
    raise DatasetError('%s; %s was deleted (check --mirror)'
                       % (e, os.path.basename(archive))) from None


def download_checkpoint(name, checkpoint_dir, mirror=None, sha256=None):
  """Returns the local checkpoint path, downloading it if needed.

  Args:
    name: a key of CHECKPOINTS.
    checkpoint_dir: where the checkpoint is installed.
    mirror: optional URL prefix replacing everything before the file name.
    sha256: expected hex SHA-256 of the tarball; None: the record's, if any.
      Without one, the tarball's SHA-256 is printed on stderr.

  Returns:
    The checkpoint path (`checkpoint_dir/<file>`).

  Raises:
    ValueError: for an unknown name.
    DatasetError: when the download fails, the tarball does not match the
      SHA-256 or is not a tarball of the checkpoint (it is then deleted and
      nothing is extracted).
  """
  if name not in CHECKPOINTS:
    raise ValueError(f'Unknown checkpoint {name!r}. Valid names: '
                     f'{", ".join(sorted(CHECKPOINTS))}.')
  checkpoint = CHECKPOINTS[name]
  path = os.path.join(checkpoint_dir, checkpoint.file)
  if os.path.exists(path) or os.path.exists(path + '.index'):
    return path
  expected = sha256.lower() if sha256 else checkpoint.sha256
  archive = download.download_file(
      checkpoint.url, checkpoint_dir, sha256=expected, mirror=mirror,
      mismatch_advice='Check --sha256 and --mirror' if sha256
      else 'Check --mirror')
  _extract_checkpoint(archive, checkpoint_dir, checkpoint.file)
  if expected is None:
    digest = download.sha256_of(archive)
    print(f'sha256 of {os.path.basename(archive)}: {digest}; pass '
          f'--sha256={digest} to pin it', file=sys.stderr)
  os.remove(archive)
  return path


def main(argv):
  cli.check_no_arguments(argv)
  if FLAGS.checkpoint not in CHECKPOINTS:
    cli.fail(f'--checkpoint={FLAGS.checkpoint} is unknown. Valid names: '
             f'{", ".join(sorted(CHECKPOINTS))}.')
  if FLAGS.sha256 is not None and not _SHA256_HEX.fullmatch(FLAGS.sha256):
    cli.fail(f'--sha256 must be a SHA-256, 64 hexadecimal digits; received '
             f'{FLAGS.sha256!r}')
  print(download_checkpoint(FLAGS.checkpoint, FLAGS.checkpoint_dir,
                            FLAGS.mirror, FLAGS.sha256))


if __name__ == '__main__':
  cli.run(main, extra_user_errors=(DatasetError,))
