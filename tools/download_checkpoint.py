"""Lists, downloads and unpacks the published slim ImageNet weights.

    python tools/download_checkpoint.py --list
    # one line per published weight: its name, the flags that build its
    # network, top-1/top-5 where the image-models README gives them, URL
    python tools/download_checkpoint.py --checkpoint=inception_v3 \
      --checkpoint_dir=/tmp/checkpoints
    # -> /tmp/checkpoints/inception_v3.ckpt
    python tools/download_checkpoint.py \
      --checkpoint=mobilenet_v1_0.50_160_quant --checkpoint_dir=/tmp/checkpoints
    # -> /tmp/checkpoints/mobilenet_v1_0.5_160_quant.ckpt; evaluate with
    # --model_name=mobilenet_v1_050 --eval_image_size=160 --quantize

--checkpoint takes a name that --list prints, its tarball's file name (with
or without the extension) or the name the image-models README shows. Over
https, streamed, resumable, retried. The tarball is checked against a
SHA-256 wherever one is known: `--sha256=HEX`, else the record's (none of
the published tarballs has one recorded yet), else the one recorded in
--checkpoint_dir/checkpoint_sha256.json when the same tarball was first
downloaded there (trust on first use). A tarball that does not match
is deleted and nothing is extracted. Every tarball must hold the record's
checkpoint at its top level (`<file>`, or `<file>.index` and
`<file>.data-*`) and nothing but files and folders (no links); when no
SHA-256 was known, the tarball's is recorded there and printed on stderr,
so that a download elsewhere can be pinned with --sha256. Only the
checkpoint's files (`<file>` and `<file>.*`) are installed, in
--checkpoint_dir, or in
--checkpoint_dir/<name>/ for the weights whose file name others share (the
NASNet tarballs' `model.ckpt`); anything else in the tarball is left out.
Extraction is the datasets' (`datasets/extract.py`: no member may land
outside --checkpoint_dir). --mirror=URL replaces everything before the file
name, for users behind a mirror. Nothing is downloaded when the checkpoint
is already there. The weights, their networks, class counts, labels
offsets, preprocessing and sizes are the records of nets/registry.py
(several of whose URL layouts are recalled, not checked: see there).

The Keras ImageNet weights of every network tools/keras_maps can import go
by the network's name, or `<name>_keras` where slim weights have it
(`--checkpoint=inception_v3_keras`, `--checkpoint=mobilenet_v3_large`): the
`.h5` file is downloaded the same way, checked against the MD5 or SHA-256
that Keras records (trust on first use where it records none), imported
(tools/import_keras_weights.py) into --checkpoint_dir/<name>.ckpt of 1000
classes, and deleted.
"""
import difflib
import functools
import json
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
from nets import registry
from tools import keras_maps

# name: registry.Checkpoint (network, URL, checkpoint file, classes, labels
# offset, preprocessing and size, width, quantized, accuracy, SHA-256), for
# every published weight.
CHECKPOINTS = registry.CHECKPOINTS


def _keras_name(model_name):
  """`--checkpoint` of a network's Keras weights: its model name, or
  `<model name>_keras` where it has slim weights (which may go by that
  name)."""
  if (registry.find_checkpoint(model_name) or
      any(c.model_name == model_name for c in CHECKPOINTS.values())):
    return f'{model_name}_keras'
  return model_name


# name: our model name, for every importable Keras weights file
# (tools/keras_maps): downloaded, then imported into a slim checkpoint.
KERAS_CHECKPOINTS = {_keras_name(model_name): model_name
                     for model_name in sorted(keras_maps.importable())}

flags.DEFINE_boolean('list', False, 'Print one line per published weight '
                     '(name, the flags that build its network, top-1/top-5 '
                     'where known, URL) and exit.')
flags.DEFINE_string('checkpoint', 'inception_v3', 'Which published weights: '
                    'a name that --list prints (inception_v3, '
                    'mobilenet_v1_0.50_160, mobilenet_v1_1.0_224_quant, '
                    'nasnet-a_mobile, ...) or its tarball\'s file name.')
flags.DEFINE_string('checkpoint_dir', '/tmp/checkpoints',
                    'Where the checkpoint is unpacked.')
flags.DEFINE_string('mirror', None, 'URL prefix replacing everything before '
                    'the file name of the default URL.')
flags.DEFINE_string('sha256', None, 'Expected SHA-256 (64 hex digits) of the '
                    'checkpoint tarball (or Keras weights file); a file that '
                    'does not match is deleted. Default: the one recorded '
                    'for the checkpoint (an MD5 for some Keras files), if '
                    'any.')

FLAGS = flags.FLAGS

_SHA256_HEX = re.compile('[0-9a-fA-F]{64}')
# In --checkpoint_dir: {tarball: SHA-256} of the tarballs first downloaded
# there without a known checksum; a later download must match it.
RECORD_FILE = 'checkpoint_sha256.json'


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


def _extract_checkpoint(archive, target_dir, checkpoint_file):
  """Installs the checkpoint's files of `archive` in `target_dir`; deletes
  a refused archive (and `target_dir` if it made it)."""
  made_target_dir = not os.path.isdir(target_dir)
  try:
    extract.safe_extract(
        archive, target_dir,
        check=functools.partial(check_checkpoint_members,
                                checkpoint_file=checkpoint_file),
        keep=functools.partial(is_checkpoint_file,
                               checkpoint_file=checkpoint_file))
  except DatasetError as e:
    os.remove(archive)
    if made_target_dir and os.path.isdir(target_dir):
      os.rmdir(target_dir)  # Empty: nothing was extracted.
    raise DatasetError('%s; %s was deleted (check --mirror)'
                       % (e, os.path.basename(archive))) from None


def unknown_name_message(name):
  """The one line for a --checkpoint that names no published weights."""
  close = difflib.get_close_matches(
      name, list(CHECKPOINTS) + list(KERAS_CHECKPOINTS), n=3)
  hint = f' Did you mean {", ".join(close)}?' if close else ''
  return (f'--checkpoint={name} names no published weights.{hint} '
          f'--list prints the {len(CHECKPOINTS) + len(KERAS_CHECKPOINTS)} '
          'names.')


def _accuracy(checkpoint):
  if checkpoint.top1 is None:
    return 'top-1/top-5 not listed'
  return (f'top-1 {checkpoint.top1:.1f} top-5 {checkpoint.top5:.1f} '
          f'({checkpoint.accuracy_source})')


def _how_to_build(checkpoint):
  """The eval flags, or the call for weights no --model_name builds."""
  network_flags = registry.network_flags(checkpoint)
  if network_flags is not None:
    return ' '.join(network_flags)
  kwargs = ', '.join(f'{k}={v}' for k, v in
                     checkpoint.network_kwargs.items())
  return f'(no --model_name: {checkpoint.model_name} with {kwargs})'


def listing():
  """One line per published weight: name, flags, top-1/top-5, URL."""
  rows = [(name, _how_to_build(c), _accuracy(c), c.url)
          for name, c in CHECKPOINTS.items()]
  for name, model_name in KERAS_CHECKPOINTS.items():
    weights = keras_maps.importable()[model_name]
    rows.append((name, f'--model_name={model_name} --labels_offset='
                 f'{weights.labels_offset}', f'Keras {weights.application}',
                 weights.url))
  widths = [max(len(row[i]) for row in rows) for i in range(3)]
  return ['  '.join(cell.ljust(width) for cell, width in
                    zip(row[:3], widths)) + '  ' + row[3] for row in rows]


def download_checkpoint(name, checkpoint_dir, mirror=None, sha256=None):
  """Returns the local checkpoint path, downloading it if needed.

  Args:
    name: a key of CHECKPOINTS or another name `registry.find_checkpoint`
      resolves (a tarball's file name, the README's name).
    checkpoint_dir: where the checkpoint is installed (in a folder named
      after it where `registry.install_path` says so).
    mirror: optional URL prefix replacing everything before the file name.
    sha256: expected hex SHA-256 of the tarball; None: the record's, if any.
      Without one, the tarball's SHA-256 is printed on stderr.

  Returns:
    The checkpoint path (`checkpoint_dir/<file>` or
    `checkpoint_dir/<name>/<file>`).

  Raises:
    ValueError: for an unknown name.
    DatasetError: when the download fails, the tarball does not match the
      SHA-256 or is not a tarball of the checkpoint (it is then deleted and
      nothing is extracted).
  """
  key = registry.find_checkpoint(name)
  if key is None:
    raise ValueError(unknown_name_message(name))
  checkpoint = CHECKPOINTS[key]
  path = os.path.join(checkpoint_dir, *registry.install_path(key).split('/'))
  if os.path.exists(path) or os.path.exists(path + '.index'):
    return path
  tarball = posixpath.basename(checkpoint.url)
  recorded = _recorded_sha256(checkpoint_dir).get(tarball)
  expected = sha256.lower() if sha256 else checkpoint.sha256 or recorded
  archive = download.download_file(
      checkpoint.url, checkpoint_dir, sha256=expected, mirror=mirror,
      mismatch_advice='Check --sha256 and --mirror' if sha256 else
      f'It changed since its first download (recorded in {RECORD_FILE}); '
      'check --mirror' if expected == recorded else 'Check --mirror')
  _extract_checkpoint(archive, os.path.dirname(path), checkpoint.file)
  if expected is None:
    _record_first_download(checkpoint_dir, archive)
  os.remove(archive)
  return path


def download_keras_checkpoint(name, checkpoint_dir, mirror=None, sha256=None):
  """Downloads Keras weights and imports them; returns the checkpoint path.

  Args:
    name: a key of KERAS_CHECKPOINTS (`inception_v3_keras`).
    checkpoint_dir: where `<name>.ckpt` is written (the downloaded file is
      deleted once imported).
    mirror: optional URL prefix replacing everything before the file name.
    sha256: expected hex SHA-256 of the file; None: the hash Keras records
      (MD5 or SHA-256), else the one recorded at the first download there.

  Raises:
    DatasetError: the download fails or the file does not match its hash.
      The file is also deleted when it does not hold the network's
      weights.
  """
  from tools import keras_import  # pylint: disable=import-outside-toplevel
  model_name = KERAS_CHECKPOINTS[name]
  weights = keras_maps.importable()[model_name]
  path = os.path.join(checkpoint_dir, f'{name}.ckpt')
  if os.path.exists(path + '.index'):
    return path
  recorded = _recorded_sha256(checkpoint_dir).get(weights.file_name)
  expected, algorithm = _expected_hash(sha256, weights.file_hash, recorded)
  weights_file = download.download_file(
      weights.url, checkpoint_dir, sha256=expected, mirror=mirror,
      algorithm=algorithm,
      mismatch_advice='Check --sha256 and --mirror' if sha256 else
      f'It changed since its first download (recorded in {RECORD_FILE}); '
      'check --mirror' if expected == recorded else 'Check --mirror')
  if expected is None:
    _record_first_download(checkpoint_dir, weights_file)
  try:
    values = keras_import.checkpoint_values(model_name, weights_file)
  except keras_import.KerasImportError as e:
    os.remove(weights_file)
    raise DatasetError(f'{e}; {weights.file_name} was deleted (check '
                       '--mirror)') from None
  keras_import.write_checkpoint(values, path)
  os.remove(weights_file)
  return path


def _expected_hash(sha256, keras_hash, recorded):
  """(hex digest, hashlib algorithm) a Keras file is checked against."""
  if sha256:
    return sha256.lower(), 'sha256'
  if keras_hash:
    return keras_hash, 'md5' if len(keras_hash) == 32 else 'sha256'
  return recorded, 'sha256'


def _record_first_download(checkpoint_dir, path):
  """Records and prints the SHA-256 of a file downloaded without one."""
  file_name = os.path.basename(path)
  digest = download.sha256_of(path)
  _record_sha256(checkpoint_dir, file_name, digest)
  print(f'sha256 of {file_name}: {digest} (recorded in {RECORD_FILE}, '
        f'checked at its next download); pass --sha256={digest} to pin it '
        'elsewhere', file=sys.stderr)


def _recorded_sha256(checkpoint_dir):
  """{tarball: SHA-256} recorded at first downloads into checkpoint_dir."""
  try:
    with open(os.path.join(checkpoint_dir, RECORD_FILE)) as f:
      recorded = json.load(f)
  except FileNotFoundError:
    return {}
  except (OSError, ValueError) as e:
    raise DatasetError(f'cannot read {RECORD_FILE} in {checkpoint_dir} ({e}); '
                       'delete it to record the checksums anew') from None
  return recorded if isinstance(recorded, dict) else {}


def _record_sha256(checkpoint_dir, tarball, digest):
  """Records a first download's SHA-256 (trust on first use)."""
  recorded = dict(_recorded_sha256(checkpoint_dir), **{tarball: digest})
  cli.write_json_atomic(os.path.join(checkpoint_dir, RECORD_FILE), recorded)


def _print_lines(lines):
  """Prints `lines`; a reader that stops early (`| head`) ends it quietly."""
  try:
    print('\n'.join(lines), flush=True)
  except BrokenPipeError:
    # Else Python reports the broken pipe again when it flushes at exit.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv):
  cli.check_no_arguments(argv)
  if FLAGS.list:
    _print_lines(listing())
    return
  keras = FLAGS.checkpoint in KERAS_CHECKPOINTS
  if not keras and registry.find_checkpoint(FLAGS.checkpoint) is None:
    cli.fail(unknown_name_message(FLAGS.checkpoint))
  if FLAGS.sha256 is not None and not _SHA256_HEX.fullmatch(FLAGS.sha256):
    cli.fail(f'--sha256 must be a SHA-256, 64 hexadecimal digits; received '
             f'{FLAGS.sha256!r}')
  download_fn = download_keras_checkpoint if keras else download_checkpoint
  print(download_fn(FLAGS.checkpoint, FLAGS.checkpoint_dir, FLAGS.mirror,
                    FLAGS.sha256))


if __name__ == '__main__':
  cli.run(main, extra_user_errors=(DatasetError,))
