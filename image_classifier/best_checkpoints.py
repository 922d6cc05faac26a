"""The N best checkpoints by validation accuracy (mAP on multi-label data),
in <train_dir>/best/.

best/index.json is the truth: the kept checkpoints, best first, each with
its validation metrics. A new checkpoint's files are copied in first (on a
local disk under temporary names, `.tmp-*`, renamed into place; on an
object store, which has no atomic rename, directly: an object is listed
only once its upload is complete); only then is index.json replaced
(atomically, `fileio.write_atomic`) to list it, and only after that are the files of the
checkpoint it pushed out deleted. So at any moment (a kill -9 included)
every checkpoint that index.json lists is complete; what a kill can leave
is files that it does not list (temporary copies, a pushed-out checkpoint
not yet deleted), which the next start removes. A TensorFlow `checkpoint`
state file naming the best first is rewritten from index.json after each
change and at each start, so `--checkpoint_path=<train_dir>/best` evaluates
the best checkpoint. When a change puts a new checkpoint first, the state
file is removed before index.json is replaced, so a kill in between leaves
no state file rather than one naming a checkpoint that is no longer the
best; eval_image_classifier.py reads the best from index.json anyway
(`best_checkpoint`).

Every file operation goes through `tf.io.gfile`, so best/ may be on any
filesystem TensorFlow reaches (`gs://`, `ram://` ...).

The checkpoints of <train_dir> itself are only read (copied), never
deleted: the Saver's rotation alone manages them.

Ranking: higher Accuracy (or the `metric` given: mAP for a multi-label
dataset) first; between equal values, the later global step. An undefined
figure (None: an mAP where no class occurs) ranks last.
"""
import json
import os

from absl import logging
import tensorflow as tf

from image_classifier import fileio

DIRNAME = 'best'
INDEX_FILENAME = 'index.json'
STATE_FILENAME = 'checkpoint'
METRIC = 'Accuracy'
_TMP_PREFIX = '.tmp-'


def checkpoint_files(prefix):
  """The files of a checkpoint prefix (.index and .data-*), sorted.

  Listed from the folder, not globbed: `tf.io.gfile.glob` has no escape
  for a prefix holding '*', '?' or '['.
  """
  directory, base = os.path.split(prefix)
  if not tf.io.gfile.isdir(directory):
    return []
  return sorted(os.path.join(directory, name)
                for name in tf.io.gfile.listdir(directory)
                if name == base + '.index'
                or name.startswith(base + '.data-'))


def _rank_key(metric):
  """The sort key of entries: (metric, global step), None lowest."""
  def key(entry):
    value = entry.get(metric)
    return (value is not None, value or 0.0, entry['global_step'])
  return key


def read_index(directory):
  """The entries of directory/index.json, best first; None if there is no
  best/ index there.

  Raises:
    ValueError: if index.json is there but is not a best/ index.
  """
  path = os.path.join(directory, INDEX_FILENAME)
  if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
    return None
  try:
    index = fileio.read_json(path)
    entries = index['checkpoints']
    names = [entry['name'] for entry in entries]
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path} is not an index of best checkpoints '
                     f'({type(e).__name__}: {e}).') from e
  if not all(isinstance(n, str) and n == os.path.basename(n) for n in names):
    raise ValueError(f'{path} is not an index of best checkpoints (names '
                     f'{names}).')
  return entries


def best_checkpoint(directory):
  """The prefix of the best checkpoint of a best/ folder, read from its
  index.json (the truth, whatever its `checkpoint` state file says); None if
  `directory` is not a best/ folder or lists none.

  Raises:
    ValueError: if its index.json cannot be read as one.
  """
  if not directory or not tf.io.gfile.isdir(directory):
    return None
  entries = read_index(directory)
  if not entries:
    return None
  return os.path.join(directory, entries[0]['name'])


class BestCheckpoints:
  """Keeps copies of the `keep` best checkpoints in `directory`."""

  def __init__(self, directory, keep, metric=METRIC):
    """Opens (and cleans) the folder.

    Args:
      directory: the folder, <train_dir>/best.
      keep: how many checkpoints to keep (>= 1).
      metric: the validation figure that ranks them (higher is better).
    """
    if keep < 1:
      raise ValueError(f'keep must be at least 1; received {keep}.')
    self.directory = directory
    self.keep = keep
    self.metric = metric
    tf.io.gfile.makedirs(directory)
    self.entries = read_index(directory) or []
    self._clean()
    self._write_state()

  @property
  def index_path(self):
    return os.path.join(self.directory, INDEX_FILENAME)

  def _listed_files(self):
    names = set()
    for entry in self.entries:
      names.update(os.path.basename(p) for p in checkpoint_files(
          os.path.join(self.directory, entry['name'])))
    return names

  def _clean(self):
    """Removes what index.json does not list (left by a kill)."""
    keep = self._listed_files() | {INDEX_FILENAME, STATE_FILENAME}
    for name in sorted(tf.io.gfile.listdir(self.directory)):
      path = os.path.join(self.directory, name)
      if name not in keep and not tf.io.gfile.isdir(path):
        logging.info('Removing %s from %s (not in %s).', name,
                     self.directory, INDEX_FILENAME)
        tf.io.gfile.remove(path)

  def _write_state(self):
    if not self.entries:
      return
    lines = [f'model_checkpoint_path: "{self.entries[0]["name"]}"']
    lines += [f'all_model_checkpoint_paths: "{entry["name"]}"'
              for entry in reversed(self.entries)]
    fileio.write_atomic(os.path.join(self.directory, STATE_FILENAME),
                        '\n'.join(lines) + '\n')

  def _copy_in(self, sources):
    """Copies checkpoint files into the folder, each complete under its
    final name before the index lists it.

    Locally: every file under a temporary name first, then each renamed
    into place. On an object store a rename is a copy and a delete, but a
    copied object is listed only once complete, so each is copied to its
    final name (overwriting a leftover of a kill, which the index does not
    list).
    """
    finals = [os.path.join(self.directory, os.path.basename(source))
              for source in sources]
    if not fileio.is_local(self.directory):
      for source, final in zip(sources, finals):
        if tf.io.gfile.exists(final):
          tf.io.gfile.remove(final)  # ram:// would append to it.
        tf.io.gfile.copy(source, final)
      return
    temporary = []
    for source, final in zip(sources, finals):
      tmp = os.path.join(self.directory,
                         _TMP_PREFIX + os.path.basename(source))
      tf.io.gfile.copy(source, tmp, overwrite=True)
      temporary.append((tmp, final))
    for tmp, final in temporary:
      tf.io.gfile.rename(tmp, final, overwrite=True)

  def consider(self, checkpoint_prefix, metrics):
    """Keeps a copy of the checkpoint if it ranks among the best.

    Args:
      checkpoint_prefix: the checkpoint just saved (and validated).
      metrics: its validation record (with the ranking metric and
        global_step).

    Returns:
      Whether it is kept.
    """
    name = os.path.basename(checkpoint_prefix)
    entry = dict(metrics, name=name)
    if any(e['name'] == name for e in self.entries):
      return True  # Already kept (a resumed run validated it again).
    ranked = sorted(self.entries + [entry], key=_rank_key(self.metric),
                    reverse=True)
    kept, dropped = ranked[:self.keep], ranked[self.keep:]
    if entry not in kept:
      return False
    sources = checkpoint_files(checkpoint_prefix)
    if not any(s.endswith('.index') for s in sources):
      logging.warning('Not keeping %s among the best: its files are gone.',
                      checkpoint_prefix)
      return False
    self._copy_in(sources)
    state_path = os.path.join(self.directory, STATE_FILENAME)
    if (not self.entries or kept[0]['name'] != self.entries[0]['name']) and (
        tf.io.gfile.exists(state_path)):
      # Never a state file naming a checkpoint that is no longer the best.
      tf.io.gfile.remove(state_path)
    # The commit point: from here on index.json lists the new checkpoint.
    fileio.write_atomic(
        self.index_path,
        json.dumps({'metric': self.metric, 'keep': self.keep,
                    'checkpoints': kept}, indent=2, sort_keys=True) + '\n')
    self.entries = kept
    self._write_state()
    for old in dropped:
      for path in checkpoint_files(os.path.join(self.directory, old['name'])):
        tf.io.gfile.remove(path)
    value = entry[self.metric]
    logging.info('Kept %s among the %d best (%s = %s): %s', name,
                 self.keep, self.metric,
                 'undefined' if value is None else f'{value:.4f}',
                 ', '.join(e['name'] for e in kept))
    return True
