"""One harness for the entry-point tests: flag values, tiny data, processes.

The scripts are thin: `train_image_classifier.train(values)`,
`eval_image_classifier.evaluate(values, checkpoint)` and
`export_inference_graph.build_inference_graph(...)` take plain values, so
most tests run in-process on a SimpleNamespace built from a script's absl flag
defaults (`flag_values`). A few tests run the real script in a subprocess
(`run_script`) for exit codes, one-line stderr and signals.

Several scripts define flags of the same name (`batch_size`, `master`,
`dataset_name` ...) on the global absl FLAGS, so importing two of them in one
process would raise DuplicateFlagError. `script_module` imports a script with
overriding allowed and records its defaults at import time.
"""
import functools
import glob
import hashlib
import importlib
import os
import re
import signal
import subprocess
import sys
import time
import types

from absl import flags
import tensorflow as tf

from datasets import convert_shapes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
NUM_CLASSES = 5  # The shapes dataset: circle, square, triangle, cross, diamond.
SCRIPTS = ('train_image_classifier', 'eval_image_classifier',
           'export_inference_graph', 'tools.freeze_graph',
           'tools.label_image', 'tools.summarize_graph', 'tools.dump_images',
           'tools.export_saved_model', 'tools.download_checkpoint',
           'tools.import_keras_weights', 'tools.score_classifications',
           'download_and_convert_data', 'classify_images')

_DEFAULTS = {}


def _snapshot(name):
  module = sys.modules[name]
  if name not in _DEFAULTS:
    _DEFAULTS[name] = {f.name: f.default
                       for f in flags.FLAGS.get_flags_for_module(module)}


def _allow_override_everywhere():
  for name in list(flags.FLAGS):
    flags.FLAGS[name].allow_override = True


def script_module(name):
  """Imports script module `name` even if another script defined its flags.

  An overridden flag disappears from its first module's flag list, so the
  defaults of every script already imported are recorded first.
  """
  for other in SCRIPTS:
    if other in sys.modules:
      _snapshot(other)
  if name not in sys.modules:
    _allow_override_everywhere()
    importlib.import_module(name)
    _allow_override_everywhere()
  for other in SCRIPTS:  # `name` and the scripts it imported.
    if other in sys.modules:
      _snapshot(other)
  return sys.modules[name]


def flag_values(name, **overrides):
  """A SimpleNamespace of script `name`'s flag defaults plus `overrides`."""
  script_module(name)
  values = dict(_DEFAULTS[name])
  unknown = sorted(set(overrides) - set(values))
  assert not unknown, f'{name} has no flags {unknown}'
  values.update(overrides)
  return types.SimpleNamespace(**values)


# Fast, deterministic training on the shapes data: CifarNet (32x32) with
# lenet preprocessing ((x - 128) / 128, no random distortion).
FAST_TRAIN = dict(
    dataset_name='shapes', dataset_split_name='train', model_name='cifarnet',
    preprocessing_name='lenet', batch_size=8, optimizer='sgd',
    learning_rate=0.05, learning_rate_decay_type='fixed', weight_decay=0.0,
    num_readers=1, num_preprocessing_threads=1, log_every_n_steps=1,
    save_summaries_secs=0, save_interval_secs=0, max_number_of_steps=2)

FAST_EVAL = dict(
    dataset_name='shapes', dataset_split_name='validation',
    model_name='cifarnet', preprocessing_name='lenet', batch_size=16,
    num_preprocessing_threads=1, progress_bar=False)


def train_values(dataset_dir, train_dir, **overrides):
  """train_image_classifier values for a tiny fast run."""
  return flag_values('train_image_classifier',
                     **dict(FAST_TRAIN, dataset_dir=str(dataset_dir),
                            train_dir=str(train_dir), **overrides))


def eval_values(dataset_dir, eval_dir, **overrides):
  """eval_image_classifier values for a tiny fast run."""
  return flag_values('eval_image_classifier',
                     **dict(FAST_EVAL, dataset_dir=str(dataset_dir),
                            eval_dir=str(eval_dir), **overrides))


def cli_args(values_dict):
  """['--name=value', ...] for a dict of flag values (None left out)."""
  args = []
  for name, value in values_dict.items():
    if value is None:
      continue
    if isinstance(value, bool):
      value = 'true' if value else 'false'
    args.append(f'--{name}={value}')
  return args


def make_shapes(dataset_dir, train=96, validation=48, seed=0):
  """The shapes dataset in `dataset_dir` (no worker processes)."""
  convert_shapes.run(str(dataset_dir), seed=seed, num_shards=2,
                     num_workers=0,
                     split_sizes={'train': train, 'validation': validation})
  return str(dataset_dir)


def _env(tf_cpp_min_log_level='3'):
  env = dict(os.environ, PYTHONUNBUFFERED='1')
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  if tf_cpp_min_log_level is not None:
    env['TF_CPP_MIN_LOG_LEVEL'] = tf_cpp_min_log_level
  return env


def script_path(script):
  return os.path.join(ROOT, script)


def run_script(script, *args, timeout=180, tf_cpp_min_log_level='3'):
  """Runs `python <script> args...` in the repository; CompletedProcess.

  tf_cpp_min_log_level=None runs it with TF_CPP_MIN_LOG_LEVEL unset, as a
  user would.
  """
  return subprocess.run([PYTHON, script_path(script)] + list(args),
                        cwd=ROOT, env=_env(tf_cpp_min_log_level),
                        capture_output=True, text=True, timeout=timeout)


def start_script(script, *args):
  """Starts `python <script> args...`; stderr piped (stdout merged in)."""
  return subprocess.Popen([PYTHON, script_path(script)] + list(args),
                          cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1)


def wait_for_line(process, pattern, timeout=120):
  """Reads the process's output until a line matches; returns (match, text).

  Raises:
    AssertionError: if the process ends or the time runs out first.
  """
  regex = re.compile(pattern)
  deadline = time.time() + timeout
  seen = []
  while time.time() < deadline:
    line = process.stdout.readline()
    if not line:
      break
    seen.append(line)
    match = regex.search(line)
    if match:
      return match, ''.join(seen)
  raise AssertionError(f'no line matching {pattern!r}; output:\n'
                       + ''.join(seen))


# A Python log line: absl's 'I1130 00:27:38.152512 1397... learning.py:398] '
# or the 'INFO:tensorflow:' of TensorFlow's own handler (C++ lines, '.cc:',
# are not Python's).
_LOG_PREFIX = re.compile(r'^(?:[IWEF]\d{4} [\d:.]+ +\d+ \S+\.py:\d+\] |'
                         r'(?:DEBUG|INFO|WARNING|ERROR):tensorflow:)')


def log_messages(stderr):
  """The messages of the Python log lines of `stderr`, prefixes removed."""
  return [_LOG_PREFIX.sub('', line) for line in stderr.splitlines()
          if _LOG_PREFIX.match(line)]


# The absl log prefix names the source file: 'I1207 ... learning.py:464] '.
_LOG_SOURCE = re.compile(r'^[IWEF]\d{4} [\d:.]+ +\d+ (\S+\.py):\d+\] ')


@functools.lru_cache(maxsize=None)
def _our_source_files():
  """The file names of this repository's Python modules (not the venv's)."""
  names = set()
  for folder, subfolders, files in os.walk(ROOT):
    subfolders[:] = [d for d in subfolders
                     if not d.startswith('.') and d != '__pycache__']
    names.update(name for name in files if name.endswith('.py'))
  return names - {'__init__.py'}


def our_log_messages(stderr):
  """The messages that this repository's code logged (absl lines whose
  source file is one of ours), prefixes removed: TensorFlow's own lines,
  such as its repeated timings, are not ours to judge."""
  ours = _our_source_files()
  return [_LOG_PREFIX.sub('', line) for line in stderr.splitlines()
          if (match := _LOG_SOURCE.match(line)) and match.group(1) in ours]


def assert_quiet_logs(stderr):
  """Asserts each message our code logs printed once, no deprecation
  notice and none of TensorFlow's C++ start-up notices."""
  messages = our_log_messages(stderr)
  repeated = [m for m, n in zip(messages, messages[1:]) if m == n]
  assert not repeated, stderr
  assert 'deprecated' not in stderr, stderr
  assert 'absl::InitializeLog' not in stderr, stderr
  assert 'oneDNN custom operations' not in stderr, stderr


def kill_9_after(process, *patterns):
  """Waits for a line matching each pattern in turn, then kill -9s the
  process and checks that the kill is what ended it."""
  try:
    for pattern in patterns:
      wait_for_line(process, pattern)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()
  assert process.returncode == -signal.SIGKILL


def user_error(result, script):
  """Asserts a one-line user error (exit 2, no traceback); its message."""
  prefix = f'{os.path.basename(script)}: error: '
  assert result.returncode == 2, (result.returncode, result.stderr)
  assert 'Traceback' not in result.stderr, result.stderr
  lines = [l for l in result.stderr.splitlines() if l.strip()]
  assert lines and lines[-1].startswith(prefix), result.stderr
  assert sum(prefix in line for line in lines) == 1, result.stderr
  return lines[-1][len(prefix):]


def file_hashes(path, folders=False):
  """{path relative to `path`: sha256 hex} of every file under it ({'':
  sha256} for a file), and {folder: 'folder'} too with `folders`: to show
  that a user's files were left as they were."""
  path = str(path)
  if os.path.isfile(path):
    with open(path, 'rb') as f:
      return {'': hashlib.sha256(f.read()).hexdigest()}
  hashes = {}
  for folder, subfolders, names in os.walk(path):
    if folders:
      hashes.update({os.path.relpath(os.path.join(folder, name), path):
                     'folder' for name in subfolders})
    for name in names:
      full = os.path.join(folder, name)
      with open(full, 'rb') as f:
        hashes[os.path.relpath(full, path)] = hashlib.sha256(
            f.read()).hexdigest()
  return hashes


def read_scalars(logdir):
  """{tag: {step: value}} of the scalar summaries in `logdir`."""
  scalars = {}
  for path in glob.glob(os.path.join(str(logdir), 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        scalars.setdefault(value.tag, {})[event.step] = value.simple_value
  return scalars


def checkpoint_step(train_dir):
  """The global_step stored in the latest checkpoint of `train_dir`."""
  latest = tf.train.latest_checkpoint(str(train_dir))
  assert latest, f'no checkpoint in {train_dir}'
  return int(tf.train.load_checkpoint(latest).get_tensor('global_step'))


def read_checkpoint(path):
  """{variable name: numpy value} of a checkpoint (file or directory)."""
  if os.path.isdir(str(path)):
    path = tf.train.latest_checkpoint(str(path))
  reader = tf.train.load_checkpoint(str(path))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}
