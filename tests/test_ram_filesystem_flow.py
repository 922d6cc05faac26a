"""The whole flow with every path on TensorFlow's in-memory `ram://`
filesystem, in one process, touching no local file but the documented ones.

convert shapes -> dump a few images -> train with validation and best
checkpoints -> eval with its report -> export_inference_graph -> freeze ->
SavedModel + TFLite -> classify_images (TFLite and SavedModel), each
script's `main` called in-process with its flags, as a user's command line
would set them. `ram://` lives in the process's memory, so the flow runs
in one child process (`python tests/test_ram_filesystem_flow.py`), started
with an empty HOME, TMPDIR and working directory.

How "no local file" is checked, two ways:
- A Python audit hook (sys.addaudithook) records every local file the
  flow's Python code creates, writes, renames, removes or makes a folder
  at: `open` for writing, os.mkdir, os.rename/replace, os.remove,
  os.rmdir, shutil.rmtree, os.chmod... Paths with a scheme never reach
  these calls.
- TensorFlow's C++ file operations do not go through Python: the empty
  HOME, TMPDIR and working directory must still be empty at the end (a
  relative path, or a `ram:/` mangled by os.path.abspath, lands in the
  working directory; a temporary file in TMPDIR).

The documented local writes (DOCUMENTED_LOCAL_WRITES) are TensorFlow's
own: under TMPDIR and removed when done, the TFLite converter saves and
reloads a temporary SavedModel, autograph writes the functions it converts,
tf_env captures TensorFlow's start-up banners, and absltest's
tempfile.gettempdir() probes TMPDIR; importing TensorFlow imports Keras,
which writes ~/.keras/keras.json. Anything else
fails the test, naming the path and the Python frame that wrote it.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = 'ram://flow'
DATASET_DIR = f'{BASE}/shapes'
TRAIN_DIR = f'{BASE}/train'
EVAL_DIR = f'{BASE}/eval'
IMAGES_DIR = f'{BASE}/images'
SPLIT_SIZES = {'train': 48, 'validation': 16}
NUM_IMAGES = 4
MAX_STEPS = 4

# (file of the Python frame that writes, why it may): local writes the flow
# is allowed, all under TMPDIR and gone at the end.
DOCUMENTED_LOCAL_WRITES = (
    ('image_classifier/tf_env.py', 'TensorFlow\'s start-up banners are '
     'captured in an anonymous temporary file'),
    ('tensorflow/lite/python/', 'the TFLite converter saves and reloads a '
     'temporary SavedModel in a temporary folder'),
    ('tensorflow/python/autograph/', 'autograph writes the source of the '
     'functions it converts (tf.data map functions) to temporary files, '
     'removed at exit'),
    ('absl/testing/absltest.py', 'imported by TensorFlow, it asks '
     'tempfile.gettempdir(), which probes TMPDIR with a file it removes'),
    ('/keras/', 'importing TensorFlow imports Keras (keras/ and TensorFlow\'s '
     'own python/keras/), which writes its settings file '
     '~/.keras/keras.json once and a temporary file'),
)
# What the documented writes leave behind: Keras's settings in HOME.
KERAS_SETTINGS = os.path.join('.keras', 'keras.json')

_WRITE_EVENTS = ('os.mkdir', 'os.rename', 'os.remove', 'os.rmdir',
                 'shutil.rmtree', 'os.chmod', 'os.symlink', 'os.link',
                 'os.truncate', 'os.utime', 'shutil.copyfile', 'shutil.move')


# ------------------------------------------------------------ in the child
def _writing_frame(skipped):
  """The file:line of the innermost frame not in `skipped` (this file and
  the stdlib's os/shutil/tempfile modules): who asked for the write."""
  frame = sys._getframe(2)  # pylint: disable=protected-access
  while frame is not None and frame.f_code.co_filename.endswith(skipped):
    frame = frame.f_back
  return (f'{frame.f_code.co_filename}:{frame.f_lineno}' if frame
          else '?')


def _record_local_writes(writes):
  """Installs the audit hook; appends (event, path, frame) to `writes`."""

  def is_write(event, args):
    if event == 'open':
      path, mode, flags = args
      if isinstance(path, int) or path is None:
        return False
      if mode is not None:
        return any(c in str(mode) for c in 'wax+')
      return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
    return event in _WRITE_EVENTS

  # Bound now: at interpreter exit (atexit removals) globals may be gone.
  skipped = ('/os.py', '<frozen os>', '/shutil.py', '/tempfile.py',
             '/pathlib.py', '/genericpath.py', '<frozen genericpath>',
             os.path.abspath(__file__))
  where, decode, path_types = _writing_frame, os.fsdecode, (str, bytes,
                                                            os.PathLike)

  def hook(event, args):
    if is_write(event, args):
      path = decode(args[0]) if isinstance(args[0], path_types) else ''
      if path and '://' not in path and path != os.devnull:
        writes.append((event, path, where(skipped)))

  sys.addaudithook(hook)


def _run_main(name, args):
  """Runs script `name`'s main with `args` as its command line."""
  from absl import flags  # pylint: disable=import-outside-toplevel
  from tests import cli_harness  # pylint: disable=import-outside-toplevel
  module = cli_harness.script_module(name)
  flags.FLAGS.unparse_flags()
  flags.FLAGS([name] + cli_harness.cli_args(args))
  return module.main([name])


def _flow():
  """Every step of the flow; returns what the parent checks."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from datasets import convert_shapes  # pylint: disable=import-outside-toplevel
  from tests import cli_harness  # pylint: disable=import-outside-toplevel
  gfile = tf.io.gfile
  convert_shapes.SPLITS_TO_SIZES = SPLIT_SIZES  # Tiny: the default is 3,000.
  dataset = dict(dataset_name='shapes', dataset_dir=DATASET_DIR)
  _run_main('download_and_convert_data', dict(
      dataset, num_shards=1, num_workers=0))
  _run_main('tools.dump_images', dict(
      dataset, dataset_split_name='validation', num_images=NUM_IMAGES,
      output_dir=IMAGES_DIR))
  _run_main('train_image_classifier', dict(
      cli_harness.FAST_TRAIN, dataset_dir=DATASET_DIR, train_dir=TRAIN_DIR,
      max_number_of_steps=MAX_STEPS, validation_split_name='validation',
      validation_every_n_steps=2, keep_best_checkpoints=1))
  _run_main('eval_image_classifier', dict(
      cli_harness.FAST_EVAL, dataset_dir=DATASET_DIR, eval_dir=EVAL_DIR,
      checkpoint_path=TRAIN_DIR))
  model = dict(dataset, model_name='cifarnet')
  _run_main('export_inference_graph', dict(
      model, output_file=f'{BASE}/graph.pb'))
  _run_main('tools.freeze_graph', dict(
      input_graph=f'{BASE}/graph.pb', input_binary=True,
      input_checkpoint=TRAIN_DIR, output_graph=f'{BASE}/frozen.pb',
      output_node_names='CifarNet/Predictions/Reshape_1'))
  _run_main('tools.export_saved_model', dict(
      model, checkpoint_path=TRAIN_DIR, preprocessing_name='lenet',
      output_dir=f'{BASE}/saved_model', tflite_file=f'{BASE}/model.tflite'))
  for model_path, output in ((f'{BASE}/model.tflite', f'{BASE}/tflite.csv'),
                             (f'{BASE}/saved_model', f'{BASE}/saved.json')):
    _run_main('classify_images', dict(
        model=model_path, images=IMAGES_DIR, output=output, top_k=2,
        progress_bar=False))

  def listing(folder):
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, _, names in gfile.walk(folder) for name in names)

  def read(path):
    with gfile.GFile(path, 'rb') as f:
      return f.read().decode('utf-8')

  return {
      'dataset': listing(DATASET_DIR),
      'images': listing(IMAGES_DIR),
      'train': listing(TRAIN_DIR),
      'eval': listing(EVAL_DIR),
      'saved_model': listing(f'{BASE}/saved_model'),
      'files': {name: gfile.exists(f'{BASE}/{name}') for name in (
          'graph.pb', 'frozen.pb', 'model.tflite', 'model.tflite.json')},
      'metrics': json.loads(read(f'{EVAL_DIR}/metrics.json')),
      'tflite_csv': read(f'{BASE}/tflite.csv'),
      'saved_json': json.loads(read(f'{BASE}/saved.json')),
  }


def _child(result_path):
  writes = []
  _record_local_writes(writes)
  outcome = _flow()
  outcome['local_writes'] = list(writes)  # Not the result file below.
  # The result goes to the parent through a pipe-like file it named: the
  # child's one deliberate local write, after the flow.
  with open(result_path, 'w', encoding='utf-8') as f:
    json.dump(outcome, f)


# ----------------------------------------------------------- in the parent
def _documented(frame):
  return any(marker in frame for marker, _ in DOCUMENTED_LOCAL_WRITES)


def test_whole_flow_on_ram_filesystem_touches_no_local_file(tmp_path):
  home, tmp, cwd = (tmp_path / name for name in ('home', 'tmp', 'cwd'))
  for folder in (home, tmp, cwd):
    folder.mkdir()
  result_path = tmp_path / 'result.json'
  env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp),
             PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE='1',
             TF_CPP_MIN_LOG_LEVEL='3')
  done = subprocess.run(
      [sys.executable, os.path.abspath(__file__), str(result_path)],
      cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
  outcome = json.loads(result_path.read_text())

  # Every step wrote its outputs on ram://.
  assert 'labels.txt' in outcome['dataset']
  assert 'dataset_meta.json' in outcome['dataset']
  # The images, and their labels.csv (tools/dump_images.py).
  assert sorted(outcome['images'])[-1] == 'labels.csv'
  assert len([n for n in outcome['images'] if n.endswith('.png')]) == NUM_IMAGES
  assert 'checkpoint' in outcome['train']
  assert any(name.startswith('best/') for name in outcome['train'])
  assert 'validation.jsonl' in outcome['train']
  assert 'metrics.json' in outcome['eval'] and 'index.html' in outcome['eval']
  assert outcome['metrics']['global_step'] == MAX_STEPS
  assert 'saved_model.pb' in outcome['saved_model']
  assert 'assets.extra/model_info.json' in outcome['saved_model']
  assert all(outcome['files'].values()), outcome['files']
  rows = outcome['tflite_csv'].splitlines()
  assert rows[0] == 'image,rank,label,score'
  assert len(rows) == 1 + 2 * NUM_IMAGES
  assert len(outcome['saved_json']['predictions']) == NUM_IMAGES

  # And nothing local but the documented writes: under TMPDIR and gone
  # now, or Keras's settings file.
  writes = outcome['local_writes']
  undocumented = [w for w in writes if not _documented(w[2])]
  assert not undocumented, '\n'.join(map(str, undocumented))
  assert {path for _, path, _ in writes if not path.startswith(str(tmp))
          and os.path.isabs(path)} <= {str(home), str(home / '.keras'),
                                       str(home / KERAS_SETTINGS)}, writes
  assert not list(tmp.iterdir()) and not list(cwd.iterdir())
  assert [str(p.relative_to(home)) for p in home.rglob('*')
          if p.is_file()] in ([], [KERAS_SETTINGS])


if __name__ == '__main__':
  sys.path.insert(0, ROOT)
  _child(sys.argv[1])
