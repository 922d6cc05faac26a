"""Every code example of the TF-Slim README runs as written against `slim`.

The README is read (tests/slim/tf_slim_library_README.md, a copy of
../shared/seeds/tf_slim_library_README.md) and each of its 29 ```python
blocks is run, numbered from 1 in README order, with only:

1. MECHANICAL substitutions: `import tensorflow.contrib.slim as slim` ->
   `import slim`, `tf.contrib.slim` -> `slim` (so `tf.contrib.slim.nets.vgg`
   is `slim.nets.vgg`, this project's nets), and the Python 2 idioms
   `.iteritems()`, print statements and `sess.run(d.values())` (a list in
   Python 2; `Session.run` refuses a dict view).
2. ERRATA: the README's own mistakes, in one table with the exact text
   replaced and why.
3. FILLS: what the README leaves to the reader (its `...` placeholders and
   its '/tmp/model.ckpt', '/path/to/...' paths), replaced in the text;
   the names it uses without defining (`inputs`, `MyModel`, `load_data`,
   `checkpoint_dir`, ...) come from READER_NAMES.
4. BUILD_ONLY: the statements that would run VGG-16 at 224 x 224 for real
   (the README's VGG needs at least 224 x 224, and the blocks train it
   without end or evaluate it 1000 times) are compiled but not run; their
   arguments are evaluated and checked instead.

Each block runs with `tf` bound to `tf.compat.v1` (also what its own
`import tensorflow as tf` gives), in a fresh `tf.Graph().as_default()`,
and CHECKS holds, for every block, assertions on what it produced.
"""
import ast
import builtins
import collections
import contextlib
import glob
import io
import math
import os
import re
import signal
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

import slim
from tests import cli_harness as h

tf1 = tf.compat.v1

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, 'tf_slim_library_README.md')
SEED_README = os.path.join(os.path.dirname(os.path.dirname(HERE)), os.pardir,
                           'shared', 'seeds', 'tf_slim_library_README.md')
NUM_BLOCKS = 29

GLOBAL = tf1.GraphKeys.GLOBAL_VARIABLES
MODEL = tf1.GraphKeys.MODEL_VARIABLES
LOSSES = tf1.GraphKeys.LOSSES
REG_LOSSES = tf1.GraphKeys.REGULARIZATION_LOSSES


def readme_blocks():
  """The README's ```python blocks, in order."""
  with open(README, encoding='utf-8') as f:
    return re.findall(r'^```python\n(.*?)^```', f.read(), re.S | re.M)


# ------------------------------------------------- mechanical substitutions
# (name, pattern, replacement), applied in this order to every block.
SUBSTITUTIONS = (
    ('import slim', r'^import tensorflow\.contrib\.slim as slim$',
     'import slim'),
    ('tf.contrib.slim', r'\btf\.contrib\.slim\b', 'slim'),
    ('iteritems', r'\.iteritems\(\)', '.items()'),
    ('print statement', r'^(\s*)print (?!\()(.*)$', r'\1print(\2)'),
    ('dict views in sess.run', r'\bsess\.run\((\w+)\.(values|keys)\(\)\)',
     r'sess.run(list(\1.\2()))'),
)
# The blocks each substitution changes (a check that the README and this
# table still agree).
SUBSTITUTED_BLOCKS = {
    'import slim': {1},
    'tf.contrib.slim': {17, 21, 28, 29},
    'iteritems': {29},
    'print statement': set(),
    'dict views in sess.run': {28},
}

# ----------------------------------------------------------------- errata
# Splits a block into parts that run one after the other, each in a new
# graph with fresh READER_NAMES.
NEW_GRAPH = '# <the test runs what follows in a new graph>\n'

# `error`: what the block raises without the erratum (None: a line that
# BUILD_ONLY does not run, where `old` names nothing the block defines).
Erratum = collections.namedtuple('Erratum', 'block old new why error')
ERRATA = (
    Erratum(8, "scope='conv3_' % (i+1)", "scope='conv3_%d' % (i+1)",
            "TypeError: not all arguments converted during string "
            "formatting; the text says the scopes are conv3_1 .. conv3_3.",
            TypeError),
    Erratum(10, '# Equivalent, TF-Slim way using slim.stack:\n',
            NEW_GRAPH + '# Equivalent, TF-Slim way using slim.stack:\n',
            "The two alternatives build the same variables: run in one "
            "graph, the second raises 'Variable fc/fc_1/weights already "
            "exists' (in TF1 too), and would read the first's output.",
            ValueError),
    Erratum(11, '# Using stack:\n', NEW_GRAPH + '# Using stack:\n',
            "As block 10: 'Variable core/core_1/weights already exists'.",
            ValueError),
    Erratum(14, "  with slim.arg_scope([slim.conv2d], padding='SAME',",
            "with slim.arg_scope([slim.conv2d], padding='SAME',",
            'The block is indented by two spaces: IndentationError.',
            IndentationError),
    Erratum(14, '(stddev=0.01)\n', '(stddev=0.01),\n',
            'A missing comma between two keyword arguments: SyntaxError.',
            SyntaxError),
    Erratum(17, 'predictions = vgg.vgg16(images)',
            'predictions, _ = vgg.vgg16(images)',
            "TF-Slim's vgg16 returns (logits, end_points); the loss of the "
            "tuple raises (in TF1 too).", TypeError),
    Erratum(20, 'save_interval_secs=600):', 'save_interval_secs=600)',
            "A ':' after a call: SyntaxError.", SyntaxError),
    Erratum(21, 'predictions = vgg.vgg16(images, is_training=True)',
            'predictions, _ = vgg.vgg16(images, is_training=True)',
            'As block 17: vgg16 returns (logits, end_points).', TypeError),
    Erratum(25, "exclude=['fc6', 'fc7', 'fc8']",
            "exclude=['vgg_16/fc6', 'vgg_16/fc7', 'vgg_16/fc8']",
            "Scopes match from the start of variable names, and TF-Slim's "
            "VGG variables are vgg_16/fc6/...: ['fc6', ...] excludes nothing "
            "(in TF1 too), against 'Restore only the convolutional layers'.",
            ValueError),
    Erratum(25, 'init_fn = assign_from_checkpoint_fn(',
            'init_fn = slim.assign_from_checkpoint_fn(',
            "NameError: the function is TF-Slim's, "
            "slim.assign_from_checkpoint_fn.", NameError),
    Erratum(28, 'predictions = vgg.vgg_16(images)',
            'predictions, _ = vgg.vgg_16(images)',
            'As block 17: vgg_16 returns (logits, end_points).', TypeError),
    Erratum(28, 'name_to_values', 'names_to_values',
            'NameError: name_to_values is names_to_values.', None),
    Erratum(29, 'import tensorflow as tf\n',
            'import math\nimport tensorflow as tf\n',
            'NameError: the block calls math.ceil without importing math.',
            NameError),
)

# ------------------------------------------------------ the reader's parts
# What the README leaves to the reader, as it writes it.
PLACEHOLDERS = ('...', '"/tmp/model.ckpt"',
                "'/path/to/pre_trained_on_imagenet.checkpoint'",
                "'/path/to/my_pascal_model_dir/'")

# block -> ((old, new), ...): `new` is `old` with ONE placeholder replaced.
FILLS = {
    5: (('input = ...', 'input = reader_input'),),
    6: (('input = ...', 'input = reader_input'),),
    7: (('net = ...', 'net = reader_net'),),
    8: (('net = ...', 'net = reader_net'),),
    17: (('images, labels = ...', 'images, labels = reader_data()'),),
    18: (('images, scene_labels, depth_labels = ...',
          'images, scene_labels, depth_labels = reader_data()'),),
    19: (('images, scene_labels, depth_labels, pose_labels = ...',
          'images, scene_labels, depth_labels, pose_labels = reader_data()'),),
    20: (('\n...\ntotal_loss', '\nbuild_a_cheap_model_and_its_loss()\n'
                               'total_loss'),
         ('logdir = ...', 'logdir = reader_logdir')),
    21: (('train_log_dir = ...', 'train_log_dir = reader_train_log_dir'),
         ('images, labels = ...', 'images, labels = reader_data()')),
    22: (('tf.Variable(..., name="v1")',
          'tf.Variable(reader_v1_value, name="v1")'),
         ('tf.Variable(..., name="v2")',
          'tf.Variable(reader_v2_value, name="v2")'),
         ('restorer.restore(sess, "/tmp/model.ckpt")',
          'restorer.restore(sess, reader_checkpoint)'),
         ('# Do some work with the model\n  ...',
          '# Do some work with the model\n  restored = sess.run([v1, v2])')),
    23: (('slim.variable(name="v1", ...)',
          'slim.variable(name="v1", shape=[2], '
          'initializer=tf.zeros_initializer())'),
         ('slim.variable(name="nested/v2", ...)',
          'slim.variable(name="nested/v2", shape=[3], '
          'initializer=tf.zeros_initializer())'),
         ('restorer.restore(sess, "/tmp/model.ckpt")',
          'restorer.restore(sess, reader_checkpoint)'),
         ('# Do some work with the model\n  ...',
          '# Do some work with the model\n  restored_v2 = sess.run(v2)')),
    24: (('restorer.restore(sess, "/tmp/model.ckpt")',
          'restorer.restore(sess, reader_checkpoint)'),),
    25: (('create_train_op(...)',
          'create_train_op(slim.losses.softmax_cross_entropy('
          'predictions[0], labels), tf.train.GradientDescentOptimizer(0.01))'),
         ("model_path = '/path/to/pre_trained_on_imagenet.checkpoint'",
          'model_path = reader_checkpoint'),
         ("log_dir = '/path/to/my_pascal_model_dir/'",
          'log_dir = reader_log_dir')),
    29: (('output_dir = ...', 'output_dir = reader_output_dir'),
         ('eval_interval_secs = ...', 'eval_interval_secs = 1')),
}

# block -> ((statement as written, why it is built but not run), ...).
BUILD_ONLY = {
    21: (('slim.learning.train(train_tensor, train_log_dir)',
          'Trains VGG-16 (138M parameters, 224 x 224 inputs) with no end, '
          'checkpointing 550 MB.'),),
    25: (('slim.learning.train(train_op, log_dir, init_fn=init_fn)',
          'Trains VGG-16 on batches of 32 224 x 224 images with no end; '
          'the check runs init_fn itself.'),),
    28: (('with tf.Session() as sess:',
          'Runs VGG-16 on 1000 batches of 224 x 224 images (minutes on a '
          'CPU); the check runs the metric updates on given logits.'),),
}

# Blocks that run until stopped: the README's evaluation_loop watches its
# checkpoint directory for ever. The test presses Ctrl-C (SIGINT) once the
# first evaluation's summaries are written, as a user would.
STOPPED_BY_CTRL_C = {29}


def _rng(block):
  return np.random.RandomState(block)


def _write_checkpoint(prefix, names_to_values, global_step=None):
  """Saves {name: value} as a checkpoint; returns its path."""
  with tf.Graph().as_default():
    saved = {name: tf1.Variable(value, name=name.replace('/', '_'))
             for name, value in names_to_values.items()}
    saver = tf1.train.Saver(saved)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return saver.save(sess, prefix, global_step=global_step,
                        write_meta_graph=False)


def _multi_task_model(with_pose, regularize):
  """A CreateMultiTaskModel: scene logits (5), depth map, pose (6)."""
  regularizer = slim.l2_regularizer(0.01) if regularize else None

  def create(images):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_regularizer=regularizer):
      features = slim.conv2d(images, 4, [3, 3], scope='features')
      depth = slim.conv2d(features, 1, [3, 3], activation_fn=None,
                          scope='depth')
      flat = slim.flatten(features)
      scene = slim.fully_connected(flat, 5, activation_fn=None,
                                   scope='scene')
      if not with_pose:
        return scene, depth
      pose = slim.fully_connected(flat, 6, activation_fn=None, scope='pose')
      return scene, depth, pose

  return create


def _multi_task_data(block, with_pose):
  rng = _rng(block)
  data = [tf.constant(rng.rand(2, 6, 6, 3), tf.float32),
          tf.constant(np.eye(5)[[1, 3]], tf.float32),
          tf.constant(rng.rand(2, 6, 6, 1), tf.float32)]
  if with_pose:
    data.append(tf.constant(rng.rand(2, 6), tf.float32))
  return tuple(data)


def _cheap_model_and_loss():
  """block 20's model: one weight, loss (w - 3)^2 (a mean squared error)."""
  w = slim.model_variable('w', shape=[1], initializer=tf1.zeros_initializer())
  slim.losses.mean_squared_error(w, tf.constant([3.0]))


def _vgg_data(batch_size=2):
  images = tf1.placeholder(tf.float32, [batch_size, 224, 224, 3], 'images')
  labels = tf1.placeholder(tf.float32, [batch_size, 1000], 'labels')
  return images, labels


def _pascal_loader(*unused_args):
  """MyPascalVocDataLoader(...): one image and its one-hot label."""
  return (tf.zeros([224, 224, 3]), tf.one_hot(3, 1000))


def _pascal_pretrained_checkpoint(tmp_path):
  """A VGG-16 checkpoint holding what block 25 restores: the convolutional
  layers and the global step of the run that trained them."""
  with tf.Graph().as_default():
    slim.nets.vgg.vgg_16(tf1.placeholder(tf.float32, [1, 224, 224, 3]))
    step = slim.get_or_create_global_step()
    kept = [v for v in slim.get_variables() if '/fc' not in v.op.name]
    with tf1.Session() as sess:
      sess.run(tf1.variables_initializer(kept))
      sess.run(tf1.assign(step, 123))
      return tf1.train.Saver(kept).save(
          sess, str(tmp_path / 'imagenet' / 'model.ckpt'),
          write_meta_graph=False)


def _regression_data(*unused_args):
  """LoadTestData(...) for block 26: features and regression targets."""
  images = tf1.placeholder(tf.float32, [None, 3], 'images')
  labels = tf1.placeholder(tf.float32, [None, 1], 'labels')
  return images, labels


def _regression_model(images):
  """MyModel for block 26: a linear layer."""
  return slim.fully_connected(images, 1, activation_fn=None,
                              weights_initializer=tf1.constant_initializer(0.5),
                              biases_initializer=tf1.constant_initializer(0.1),
                              scope='my_model')


# Block 29: a binary classifier evaluated on 10000 examples.
EVAL_RNG = np.random.RandomState(29)
EVAL_X = EVAL_RNG.randn(10000, 4).astype(np.float32)
EVAL_Y = (EVAL_X[:, 0] + 0.5 * EVAL_RNG.randn(10000) > 0).astype(np.int64)
EVAL_W = EVAL_RNG.randn(4, 2).astype(np.float32)
EVAL_B = np.array([0.1, -0.1], np.float32)
EVAL_MRE = EVAL_RNG.uniform(0.0, 0.6, (32, 2)).astype(np.float32)
EVAL_STEP = 7


def _classifier(images):
  """MyModel for block 29: class ids from a linear layer."""
  logits = slim.fully_connected(images, 2, activation_fn=None,
                                scope='my_model')
  return tf.argmax(logits, 1)


def _eval_data(*unused_args):
  """load_data(...) for block 29: batches of 32 of the 10000 examples."""
  dataset = tf.data.Dataset.from_tensor_slices((EVAL_X, EVAL_Y)).batch(32)
  return tf1.data.make_one_shot_iterator(dataset).get_next()


def _classifier_checkpoint_dir(tmp_path):
  directory = str(tmp_path / 'train')
  _write_checkpoint(os.path.join(directory, 'model.ckpt'), {
      'my_model/weights': EVAL_W, 'my_model/biases': EVAL_B,
      'global_step': np.int64(EVAL_STEP)}, global_step=EVAL_STEP)
  return directory


# block -> fn(tmp_path) -> {name: value}, called in the block's graph.
READER_NAMES = {
    4: lambda tmp: {'CreateViaCustomCode': lambda: tf1.Variable(
        tf.ones([3]), name='custom')},
    5: lambda tmp: {'reader_input': tf.constant(
        _rng(5).rand(1, 5, 5, 64), tf.float32)},
    6: lambda tmp: {'reader_input': tf.constant(
        _rng(5).rand(1, 5, 5, 64), tf.float32)},
    7: lambda tmp: {'reader_net': tf.zeros([1, 8, 8, 4])},
    8: lambda tmp: {'reader_net': tf.zeros([1, 8, 8, 4])},
    9: lambda tmp: {'net': tf.zeros([1, 8, 8, 4])},
    10: lambda tmp: {'x': tf.zeros([2, 16])},
    11: lambda tmp: {'x': tf.zeros([1, 6, 6, 3])},
    12: lambda tmp: {'inputs': tf.zeros([1, 44, 44, 3])},
    13: lambda tmp: {'inputs': tf.zeros([1, 44, 44, 3])},
    14: lambda tmp: {'inputs': tf.zeros([1, 12, 12, 3])},
    15: lambda tmp: {'inputs': tf.zeros([1, 11, 11, 3])},
    17: lambda tmp: {'reader_data': _vgg_data},
    18: lambda tmp: {'reader_data': lambda: _multi_task_data(18, False),
                     'CreateMultiTaskModel': _multi_task_model(False, False)},
    19: lambda tmp: {
        'reader_data': lambda: _multi_task_data(19, True),
        'CreateMultiTaskModel': _multi_task_model(True, True),
        'MyCustomLossFunction': lambda p, l: tf.reduce_mean(tf.abs(p - l))},
    20: lambda tmp: {'build_a_cheap_model_and_its_loss': _cheap_model_and_loss,
                     'learning_rate': 0.001,
                     'reader_logdir': str(tmp / 'train')},
    21: lambda tmp: {'reader_train_log_dir': str(tmp / 'vgg_train'),
                     'reader_data': lambda: _vgg_data(1)},
    22: lambda tmp: {
        'reader_v1_value': tf.zeros([2]), 'reader_v2_value': tf.zeros([2, 1]),
        'reader_checkpoint': _write_checkpoint(str(tmp / 'model.ckpt'), {
            'v1': np.array([1.0, 2.0], np.float32),
            'v2': np.array([[3.0], [4.0]], np.float32)})},
    23: lambda tmp: {'reader_checkpoint': _write_checkpoint(
        str(tmp / 'model.ckpt'), {
            'v1': np.array([1.0, 2.0], np.float32),
            'nested/v2': np.array([5.0, 6.0, 7.0], np.float32)})},
    24: lambda tmp: {
        # The model the README's comment assumes: conv1/weights, conv1/bias.
        'reader_model': [slim.model_variable('conv1/weights', shape=[2, 2]),
                         slim.model_variable('conv1/bias', shape=[2])],
        'reader_checkpoint': _write_checkpoint(str(tmp / 'model.ckpt'), {
            'conv1/params1': np.full([2, 2], 0.5, np.float32),
            'conv1/params2': np.full([2], -1.0, np.float32)})},
    25: lambda tmp: {'MyPascalVocDataLoader': _pascal_loader,
                     'vgg': slim.nets.vgg,  # from block 21's context
                     'reader_checkpoint': _pascal_pretrained_checkpoint(tmp),
                     'reader_log_dir': str(tmp / 'pascal')},
    26: lambda tmp: {
        'LoadTestData': _regression_data,
        'MyModel': _regression_model,
        'mean_relative_errors': tf1.placeholder(tf.float32, [None],
                                                'mean_relative_errors')},
    27: lambda tmp: {
        'predictions': tf1.placeholder(tf.float32, [None, 2], 'predictions'),
        'labels': tf1.placeholder(tf.float32, [None, 2], 'labels')},
    28: lambda tmp: {'load_data': lambda *unused: _vgg_data()},
    29: lambda tmp: {
        'load_data': _eval_data, 'MyModel': _classifier,
        'mean_relative_errors': tf.constant(EVAL_MRE),
        'checkpoint_dir': _classifier_checkpoint_dir(tmp),
        'log_dir': str(tmp / 'eval'),
        'reader_output_dir': str(tmp / 'eval')},
}


# ------------------------------------------------------------------ runner
def _replace_once(text, old, new, what):
  count = text.count(old)
  assert count == 1, f'{what}: {old!r} occurs {count} times'
  return text.replace(old, new)


def _is_one_placeholder_filled(old, new):
  for placeholder in PLACEHOLDERS:
    start = old.find(placeholder)
    while start >= 0:
      end = start + len(placeholder)
      if (new.startswith(old[:start]) and new.endswith(old[end:]) and
          len(new) >= len(old) - len(placeholder)):
        return True
      start = old.find(placeholder, start + 1)
  return False


def substituted(block_text):
  """(text after the mechanical substitutions, names of those applied)."""
  applied = set()
  for name, pattern, replacement in SUBSTITUTIONS:
    block_text, count = re.subn(pattern, replacement, block_text, flags=re.M)
    if count:
      applied.add(name)
  return block_text, applied


def block_source(number):
  """Block `number` (from 1) with substitutions, errata and fills."""
  text, _ = substituted(readme_blocks()[number - 1])
  for erratum in ERRATA:
    if erratum.block == number:
      text = _replace_once(text, erratum.old, erratum.new,
                           f'block {number} erratum')
  for old, new in FILLS.get(number, ()):
    assert _is_one_placeholder_filled(old, new), (old, new)
    text = _replace_once(text, old, new, f'block {number} fill')
  return text


NotRun = collections.namedtuple('NotRun', 'statement function args kwargs')


class _BuildOnly(ast.NodeTransformer):
  """Replaces statements by a record of them: a call statement `f(a, k=b)`
  by `__not_run__(source, f, a, k=b)` (its function and arguments are
  evaluated, not called), another statement by `__not_run__(source)`."""

  def __init__(self, source, statements):
    self._source = source
    self._statements = set(statements)
    self.found = set()

  def visit(self, node):
    if isinstance(node, ast.stmt):
      segment = ast.get_source_segment(self._source, node)
      first_line = segment.splitlines()[0] if segment else ''
      for statement in self._statements:
        if statement in (segment, first_line):
          self.found.add(statement)
          return ast.copy_location(self._record(node, statement), node)
    return self.generic_visit(node)

  @staticmethod
  def _record(node, statement):
    args = [ast.Constant(statement)]
    keywords = []
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
      args += [node.value.func] + node.value.args
      keywords = node.value.keywords
    return ast.Expr(ast.Call(ast.Name('__not_run__', ast.Load()), args,
                             keywords))


def _compiled(number, part):
  """`part` compiled whole (a syntax check), then without BUILD_ONLY."""
  filename = f'<README python block {number}>'
  code = compile(part, filename, 'exec')
  statements = [s for s, _ in BUILD_ONLY.get(number, ())]
  tree = ast.parse(part, filename)
  transformer = _BuildOnly(part, statements)
  tree = ast.fix_missing_locations(transformer.visit(tree))
  if statements:
    code = compile(tree, filename, 'exec')
  return code, transformer.found


def _recorder(records):
  """The `__not_run__` of _BuildOnly: appends a NotRun to `records`."""

  def record(statement, function=None, *args, **kwargs):
    records.append(NotRun(statement, function, args, kwargs))

  return record


def _tf1_import(name, globals_=None, locals_=None, fromlist=(), level=0):
  """`import tensorflow as tf` in a block gives the TF1 API it was written
  for."""
  if name == 'tensorflow' and not fromlist and level == 0:
    return tf1
  return builtins.__import__(name, globals_, locals_, fromlist, level)


class Run:
  """What running one part of a block left: its graph and names."""

  def __init__(self, graph, namespace, stdout, not_run, tmp_path):
    self.graph = graph
    self.ns = namespace
    self.stdout = stdout
    self.not_run = not_run
    self.tmp_path = tmp_path

  def session(self):
    return tf1.Session(graph=self.graph)

  def model_variables(self):
    return [(v.op.name, v.shape.as_list())
            for v in self.graph.get_collection(MODEL)]


def _tags_written(log_dir, names):
  """Whether every name has a scalar summary (tag `name` or `name_N`)."""
  tags = set()
  for path in glob.glob(os.path.join(log_dir, 'events.out.tfevents.*')):
    try:
      for event in tf1.train.summary_iterator(path):
        tags.update(value.tag for value in event.summary.value)
    except tf.errors.OpError:  # Being written.
      return False
  return all(any(re.fullmatch(re.escape(name) + r'(_\d+)?', tag)
                 for tag in tags) for name in names)


@contextlib.contextmanager
def _ctrl_c_when(condition, timeout=120):
  """Sends SIGINT to the main thread once condition() holds (or after
  `timeout` seconds, recording that it timed out)."""
  state = {'timed_out': False}
  done = threading.Event()
  main = threading.main_thread().ident

  def watch():
    deadline = time.time() + timeout
    while not done.is_set():
      if condition():
        break
      if time.time() > deadline:
        state['timed_out'] = True
        break
      time.sleep(0.05)
    if not done.is_set():
      signal.pthread_kill(main, signal.SIGINT)

  watcher = threading.Thread(target=watch, daemon=True)
  previous = signal.signal(signal.SIGINT, signal.default_int_handler)
  watcher.start()
  try:
    yield state
  finally:
    done.set()
    watcher.join()
    signal.signal(signal.SIGINT, previous)


def _exec(code, namespace, number):
  if number not in STOPPED_BY_CTRL_C:
    exec(code, namespace)  # pylint: disable=exec-used
    return
  with _ctrl_c_when(lambda: _tags_written(
      namespace.get('log_dir', ''), ('accuracy', 'precision', 'recall'))
                    ) as state:
    with pytest.raises(KeyboardInterrupt):
      exec(code, namespace)  # pylint: disable=exec-used
  assert not state['timed_out'], 'the evaluation wrote no summaries'


def run_block(number, tmp_path):
  """Runs block `number`; returns a Run per part (see NEW_GRAPH)."""
  runs = []
  not_run_found = set()
  for part in block_source(number).split(NEW_GRAPH):
    code, found = _compiled(number, part)
    not_run_found |= found
    not_run = []
    with tf.Graph().as_default() as graph:
      namespace = {
          '__builtins__': dict(vars(builtins), __import__=_tf1_import),
          '__name__': f'readme_block_{number}',
          'tf': tf1, 'slim': slim, '__not_run__': _recorder(not_run),
      }
      namespace.update(READER_NAMES.get(number, lambda tmp: {})(tmp_path))
      stdout = io.StringIO()
      with contextlib.redirect_stdout(stdout):
        _exec(code, namespace, number)
    runs.append(Run(graph, namespace, stdout.getvalue(), not_run, tmp_path))
  assert not_run_found == {s for s, _ in BUILD_ONLY.get(number, ())}
  return runs


# ------------------------------------------------------------------ checks
CHECKS = {}


def check(number):
  def register(fn):
    assert number not in CHECKS
    CHECKS[number] = fn
    return fn
  return register


def _values(run, tensors, feed_dict=None):
  """`tensors` evaluated in a session of the run's graph, its variables
  initialized."""
  with run.session() as sess:
    sess.run(tf1.global_variables_initializer())
    return sess.run(tensors, feed_dict)


def _np_conv2d_same(x, w):
  """Stride-1 SAME convolution in numpy (NHWC, HWIO)."""
  kh, kw = w.shape[:2]
  top, left = (kh - 1) // 2, (kw - 1) // 2
  padded = np.pad(x, [(0, 0), (top, kh - 1 - top), (left, kw - 1 - left),
                      (0, 0)])
  height, width = x.shape[1:3]
  out = np.zeros(x.shape[:3] + (w.shape[3],), np.float64)
  for i in range(kh):
    for j in range(kw):
      out += np.einsum('nhwc,co->nhwo',
                       padded[:, i:i + height, j:j + width, :], w[i, j])
  return out


def _np_softmax_cross_entropy(logits, onehot):
  logits = logits.astype(np.float64)
  shifted = logits - logits.max(axis=1, keepdims=True)
  log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  return np.mean(-(onehot * log_softmax).sum(axis=1))


@check(1)
def _import_slim(runs):
  (run,) = runs
  assert run.ns['slim'] is slim
  assert callable(run.ns['slim'].conv2d)


@check(2)
def _variable_on_cpu(runs):
  (run,) = runs
  weights = run.ns['weights']
  assert weights.op.name == 'weights'
  assert weights.shape.as_list() == [10, 10, 3, 3]
  assert weights.device.endswith('CPU:0')
  assert run.graph.get_collection(MODEL) == []
  (reg,) = run.graph.get_collection(REG_LOSSES)
  w, reg_value = _values(run, [weights, reg])
  assert np.abs(w).max() <= 0.2  # truncated at two standard deviations
  np.testing.assert_allclose(reg_value, 0.05 * np.sum(w.astype(np.float64)
                                                      ** 2) / 2, rtol=1e-5)


@check(3)
def _model_and_regular_variables(runs):
  (run,) = runs
  ns = run.ns
  assert ns['model_variables'] == [ns['weights']]
  assert ns['regular_variables_and_model_variables'] == [ns['weights'],
                                                         ns['my_var']]
  assert ns['my_var'].shape.as_list() == [20, 1]
  np.testing.assert_array_equal(_values(run, ns['my_var']), np.zeros([20, 1]))


@check(4)
def _add_model_variable(runs):
  (run,) = runs
  custom = run.ns['my_model_variable']
  assert custom.op.name == 'custom'
  with run.graph.as_default():
    assert slim.get_model_variables() == [custom]


@check(5)
def _plain_tensorflow_conv(runs):
  (run,) = runs
  ns = run.ns
  assert [v.op.name for v in run.graph.get_collection(GLOBAL)] == [
      'conv1_1/weights', 'conv1_1/biases']
  assert ns['conv1'].op.name == 'conv1_1'
  x, kernel, biases, out = _values(
      run, [ns['input'], ns['kernel'], ns['biases'], ns['conv1']])
  assert kernel.shape == (3, 3, 64, 128)
  np.testing.assert_allclose(
      out, np.maximum(_np_conv2d_same(x, kernel) + biases, 0), rtol=1e-4,
      atol=1e-4)


@check(6)
def _slim_conv(runs):
  (run,) = runs
  assert run.model_variables() == [('conv1_1/weights', [3, 3, 64, 128]),
                                   ('conv1_1/biases', [128])]
  weights, biases = run.graph.get_collection(MODEL)
  x, w, b, out = _values(run, [run.ns['input'], weights, biases,
                               run.ns['net']])
  np.testing.assert_allclose(
      out, np.maximum(_np_conv2d_same(x, w) + b, 0), rtol=1e-4, atol=1e-4)


def _conv3_variables(prefix):
  shapes = [[3, 3, 4, 256], [3, 3, 256, 256], [3, 3, 256, 256]]
  return [(f'{prefix}conv3_{i + 1}/{name}', shape if name == 'weights'
           else [256])
          for i, shape in enumerate(shapes) for name in ('weights', 'biases')]


@check(7)
def _three_convs_and_a_pool(runs):
  (run,) = runs
  assert run.model_variables() == _conv3_variables('')
  assert run.ns['net'].shape.as_list() == [1, 4, 4, 256]
  assert run.ns['net'].op.name == 'pool3/MaxPool'


@check(8)
def _three_convs_in_a_loop(runs):
  (run,) = runs
  assert run.model_variables() == _conv3_variables('')
  assert run.ns['net'].shape.as_list() == [1, 4, 4, 256]


@check(9)
def _repeat(runs):
  (run,) = runs
  assert run.model_variables() == _conv3_variables('conv3/')
  assert run.ns['net'].shape.as_list() == [1, 4, 4, 256]
  assert run.ns['net'].op.name.startswith('pool2/')


@check(10)
def _stack_of_fully_connected(runs):
  verbose, stacked = runs
  expected = [('fc/fc_1/weights', [16, 32]), ('fc/fc_1/biases', [32]),
              ('fc/fc_2/weights', [32, 64]), ('fc/fc_2/biases', [64]),
              ('fc/fc_3/weights', [64, 128]), ('fc/fc_3/biases', [128])]
  assert verbose.model_variables() == expected
  assert stacked.model_variables() == expected
  assert verbose.ns['x'].shape.as_list() == [2, 128]
  # slim.stack's result is not kept by the README; its last layer is there.
  assert stacked.graph.get_tensor_by_name('fc/fc_3/Relu:0').shape.as_list(
  ) == [2, 128]


@check(11)
def _stack_of_convolutions(runs):
  verbose, stacked = runs
  expected = [('core/core_1/weights', [3, 3, 3, 32]),
              ('core/core_1/biases', [32]),
              ('core/core_2/weights', [1, 1, 32, 32]),
              ('core/core_2/biases', [32]),
              ('core/core_3/weights', [3, 3, 32, 64]),
              ('core/core_3/biases', [64]),
              ('core/core_4/weights', [1, 1, 64, 64]),
              ('core/core_4/biases', [64])]
  assert verbose.model_variables() == expected
  assert stacked.model_variables() == expected


def _three_alexnet_convs(run, output_sizes):
  """Checks block 12-14's layers: names, shapes, output sizes (which show
  strides and paddings) and l2 regularization losses."""
  weights = [v for v in run.graph.get_collection(MODEL)
             if v.op.name.endswith('weights')]
  assert [(v.op.name, v.shape.as_list()) for v in weights] == [
      ('conv1/weights', [11, 11, 3, 64]), ('conv2/weights', [11, 11, 64, 128]),
      ('conv3/weights', [11, 11, 128, 256])]
  outputs = [run.graph.get_tensor_by_name(f'conv{i}/Relu:0') for i in (1, 2, 3)]
  assert [t.shape.as_list()[1] for t in outputs] == output_sizes
  assert [t.shape.as_list()[3] for t in outputs] == [64, 128, 256]
  assert outputs[2] is run.ns['net']
  # One l2 regularization loss per layer: 0.0005 * sum(w ** 2) / 2.
  regs = run.graph.get_collection(REG_LOSSES)
  assert len(regs) == 3
  w_values, reg_values = _values(run, [weights, regs])
  for w, reg in zip(w_values, reg_values):
    np.testing.assert_allclose(reg, 0.0005 * np.sum(w.astype(np.float64)
                                                    ** 2) / 2, rtol=1e-4)
    assert 0.006 < w.std() < 0.0105  # truncated normal, stddev 0.01


@check(12)
def _repeated_hyperparameters(runs):
  (run,) = runs
  # 44 x 44 inputs: conv1 SAME with stride 4, conv2 VALID, conv3 SAME.
  _three_alexnet_convs(run, [11, 1, 1])


@check(13)
def _hyperparameters_in_variables(runs):
  (run,) = runs
  # 44 x 44 inputs: conv1 SAME with stride 4, conv2 VALID, conv3 SAME.
  _three_alexnet_convs(run, [11, 1, 1])


@check(14)
def _arg_scope(runs):
  (run,) = runs
  # 12 x 12 inputs. As written, the arg_scope version drops conv1's stride
  # of 4: conv1 SAME with stride 1, conv2 VALID, conv3 SAME.
  _three_alexnet_convs(run, [12, 2, 2])


@check(15)
def _nested_arg_scopes(runs):
  (run,) = runs
  assert run.model_variables() == [
      ('conv1/weights', [11, 11, 3, 64]), ('conv1/biases', [64]),
      ('conv2/weights', [5, 5, 64, 256]), ('conv2/biases', [256]),
      ('fc/weights', [256, 1000]), ('fc/biases', [1000])]
  graph = run.graph
  # 11 x 11 inputs: conv1 VALID (SAME with stride 4 would give 3 x 3); conv2
  # SAME (a VALID 5 x 5 convolution of 1 x 1 would fail).
  assert graph.get_tensor_by_name('conv1/Relu:0').shape.as_list() == [
      1, 1, 1, 64]
  assert graph.get_tensor_by_name('conv2/Relu:0').shape.as_list() == [
      1, 1, 1, 256]
  ops = {op.name for op in graph.get_operations()}
  assert {'conv1/Relu', 'conv2/Relu'} <= ops and 'fc/Relu' not in ops
  assert len(graph.get_collection(REG_LOSSES)) == 3
  assert run.ns['net'].shape.as_list() == [1, 1, 1, 1000]
  conv1, conv2 = _values(run, [graph.get_collection(MODEL, 'conv1/weights')[0],
                               graph.get_collection(MODEL, 'conv2/weights')[0]])
  # conv2 overrides the initializer's stddev: 0.03 against 0.01.
  np.testing.assert_allclose(conv2.std() / conv1.std(), 3.0, rtol=0.1)


@check(16)
def _vgg16_definition(runs):
  (run,) = runs
  with run.graph.as_default():
    net = run.ns['vgg16'](tf.constant(_rng(16).rand(1, 32, 32, 3),
                                      tf.float32))
  variables = run.model_variables()
  assert len(variables) == 32  # 16 layers, weights and biases
  assert variables[:4] == [
      ('conv1/conv1_1/weights', [3, 3, 3, 64]), ('conv1/conv1_1/biases', [64]),
      ('conv1/conv1_2/weights', [3, 3, 64, 64]), ('conv1/conv1_2/biases', [64])]
  assert ('conv5/conv5_3/weights', [3, 3, 512, 512]) in variables
  assert variables[-6:] == [
      ('fc6/weights', [512, 4096]), ('fc6/biases', [4096]),
      ('fc7/weights', [4096, 4096]), ('fc7/biases', [4096]),
      ('fc8/weights', [4096, 1000]), ('fc8/biases', [1000])]
  assert len(run.graph.get_collection(REG_LOSSES)) == 16
  out = _values(run, net)
  assert out.shape == (1, 1, 1, 1000) and np.all(np.isfinite(out))


def _feed_vgg_logits(run, rng):
  """A feed of VGG's logits (`predictions`) and of `labels`: fetching what
  depends on them does not run the network. Returns (feed, logits,
  labels)."""
  logits = rng.randn(2, 1000).astype(np.float32)
  labels = np.eye(1000, dtype=np.float32)[rng.randint(0, 1000, 2)]
  feed = {run.ns['predictions']: logits, run.ns['labels']: labels}
  return feed, logits, labels


@check(17)
def _classification_loss(runs):
  (run,) = runs
  predictions = run.ns['predictions']
  assert predictions.shape.as_list() == [2, 1000]
  assert run.graph.get_collection(LOSSES) == [run.ns['loss']]
  assert ('vgg_16/fc8/weights', [1, 1, 4096, 1000]) in run.model_variables()
  feed, logits, labels = _feed_vgg_logits(run, _rng(17))
  with run.session() as sess:  # The logits are fed: VGG does not run.
    loss = sess.run(run.ns['loss'], feed)
  np.testing.assert_allclose(loss, _np_softmax_cross_entropy(logits, labels),
                             rtol=1e-5)


def _multi_task_losses(run, names):
  """{name: value} of the block's tensors, in one session."""
  names = ['classification_loss', 'sum_of_squares_loss', 'scene_predictions',
           'scene_labels', 'depth_predictions', 'depth_labels'] + names
  return dict(zip(names, _values(run, [run.ns[name] for name in names])))


@check(18)
def _two_losses(runs):
  (run,) = runs
  v = _multi_task_losses(run, ['total_loss'])
  total = v['total_loss']
  np.testing.assert_allclose(
      v['classification_loss'],
      _np_softmax_cross_entropy(v['scene_predictions'], v['scene_labels']),
      rtol=1e-5)
  # sum_of_squares is TF-Slim's mean squared error.
  np.testing.assert_allclose(
      v['sum_of_squares_loss'],
      np.mean((v['depth_predictions'] - v['depth_labels']) ** 2), rtol=1e-5)
  np.testing.assert_allclose(
      total, v['classification_loss'] + v['sum_of_squares_loss'], rtol=1e-5)


@check(19)
def _custom_loss(runs):
  (run,) = runs
  ns = run.ns
  assert ns['pose_loss'] in run.graph.get_collection(LOSSES)
  assert len(run.graph.get_collection(REG_LOSSES)) == 4
  v = _multi_task_losses(run, [
      'pose_loss', 'pose_predictions', 'pose_labels', 'total_loss1',
      'total_loss2', 'regularization_loss'])
  total1, total2, regularization = (
      v['total_loss1'], v['total_loss2'], v['regularization_loss'])
  np.testing.assert_allclose(
      v['pose_loss'], np.mean(np.abs(v['pose_predictions'] -
                                     v['pose_labels'])), rtol=1e-5)
  assert regularization > 0
  np.testing.assert_allclose(total1, total2, rtol=1e-5)
  np.testing.assert_allclose(
      total1, v['classification_loss'] + v['sum_of_squares_loss'] +
      v['pose_loss'] + regularization, rtol=1e-5)


@check(20)
def _training_loop(runs):
  (run,) = runs
  logdir = run.ns['logdir']
  # The README's 1000 steps, on a one-weight model: gradient descent on
  # (w - 3)^2 from w = 0, recomputed in numpy (w = 2.59: still moving, so
  # the number of steps shows).
  w = 0.0
  for _ in range(1000):
    w -= run.ns['learning_rate'] * 2 * (w - 3.0)
  checkpoint = tf1.train.latest_checkpoint(logdir)
  assert checkpoint == os.path.join(logdir, 'model.ckpt-1000')
  reader = tf.train.load_checkpoint(checkpoint)
  assert reader.get_tensor('global_step') == 1000
  np.testing.assert_allclose(reader.get_tensor('w'), [w], rtol=1e-4)


@check(21)
def _vgg_training_example(runs):
  (run,) = runs
  ns = run.ns
  assert os.path.isdir(ns['train_log_dir'])  # made by tf.gfile.MakeDirs
  (train,) = run.not_run
  assert train.function is slim.learning.train
  assert train.args == (ns['train_tensor'], ns['train_log_dir'])
  assert ns['predictions'].shape.as_list() == [1, 1000]
  # The block builds in its own `with tf.Graph().as_default():`.
  graph = ns['train_tensor'].graph
  assert graph is not run.graph
  summaries = graph.get_collection(tf1.GraphKeys.SUMMARIES)
  assert any(s.op.name == 'losses/total_loss' for s in summaries)
  assert slim.get_global_step(graph) is not None
  assert ('vgg_16/fc8/weights', [1, 1, 4096, 1000]) in [
      (v.op.name, v.shape.as_list()) for v in graph.get_collection(MODEL)]
  # Dropout is on: is_training=True.
  assert any('dropout' in op.name for op in graph.get_operations())


@check(22)
def _restore_with_saver(runs):
  (run,) = runs
  restored = run.ns['restored']
  np.testing.assert_array_equal(restored[0], [1.0, 2.0])
  np.testing.assert_array_equal(restored[1], [[3.0], [4.0]])
  assert run.stdout == 'Model restored.\n'


@check(23)
def _partial_restore(runs):
  (run,) = runs
  ns = run.ns
  np.testing.assert_array_equal(ns['restored_v2'], [5.0, 6.0, 7.0])
  assert ns['v2'].op.name == 'nested/v2'
  # Every alternative the README calls equivalent selects v2 alone.
  alternatives = re.findall(r'^variables_to_restore = (.*)$',
                            block_source(23), re.M)
  assert len(alternatives) == 5
  with run.graph.as_default():
    for expression in alternatives:
      selected = eval(expression, dict(ns))  # pylint: disable=eval-used
      assert selected == [ns['v2']], expression
  assert run.stdout == 'Model restored.\n'


@check(24)
def _restore_under_other_names(runs):
  (run,) = runs
  # The restore succeeded (a missing name raises NotFoundError) with the
  # names of the second name_in_checkpoint, which replaced the first.
  mapping = run.ns['variables_to_restore']
  assert {name: v.op.name for name, v in mapping.items()} == {
      'conv1/params1': 'conv1/weights', 'conv1/params2': 'conv1/bias'}
  assert run.ns['name_in_checkpoint'](mapping['conv1/params1']) == (
      'conv1/params1')


@check(25)
def _fine_tune_on_pascal(runs):
  (run,) = runs
  ns = run.ns
  (train,) = run.not_run
  assert train.function is slim.learning.train
  assert train.args == (ns['train_op'], ns['log_dir'])
  assert train.kwargs == {'init_fn': ns['init_fn']}
  assert ns['images'].shape.as_list() == [32, 224, 224, 3]
  restored = {v.op.name for v in ns['variables_to_restore']}
  assert 'vgg_16/conv1/conv1_1/weights' in restored
  assert 'global_step' in restored
  assert not any('/fc' in name for name in restored)
  assert len(restored) == 26 + 1  # 13 convolutions, and the step
  # The init_fn restores the pre-trained convolutions.
  checkpoint = tf.train.load_checkpoint(ns['model_path'])
  (weights,) = run.graph.get_collection(GLOBAL,
                                        'vgg_16/conv5/conv5_3/weights')
  with run.session() as sess:
    ns['init_fn'](sess)
    np.testing.assert_array_equal(
        sess.run(weights),
        checkpoint.get_tensor('vgg_16/conv5/conv5_3/weights'))


@check(26)
def _streaming_metrics(runs):
  (run,) = runs
  ns = run.ns
  rng = _rng(26)
  batches = [(rng.rand(4, 3).astype(np.float32),
              rng.uniform(0.5, 2.0, (4, 1)).astype(np.float32),
              rng.uniform(0, 0.6, 4).astype(np.float32)) for _ in range(3)]
  updates = [ns['mae_update_op'], ns['mre_update_op'], ns['pl_update_op']]
  seen = []
  with run.session() as sess:
    sess.run([tf1.global_variables_initializer(),
              tf1.local_variables_initializer()])
    for x, y, errors in batches:
      feed = {ns['images']: x, ns['labels']: y,
              ns['mean_relative_errors']: errors}
      seen.append(sess.run([ns['predictions'], updates], feed)[0])
    mae, mre, pl = sess.run([ns['mae_value_op'], ns['mre_value_op'],
                             ns['pl_value_op']])
  predictions = np.concatenate(seen)
  labels = np.concatenate([y for _, y, _ in batches])
  errors = np.concatenate([e for _, _, e in batches])
  np.testing.assert_allclose(mae, np.mean(np.abs(predictions - labels)),
                             rtol=1e-5)
  np.testing.assert_allclose(
      mre, np.mean(np.abs(predictions - labels) / labels), rtol=1e-5)
  np.testing.assert_allclose(pl, np.mean(errors < 0.3), rtol=1e-6)


@check(27)
def _aggregated_metrics(runs):
  (run,) = runs
  ns = run.ns
  rng = _rng(27)
  p = rng.randn(5, 2).astype(np.float32)
  l = rng.randn(5, 2).astype(np.float32)
  with run.session() as sess:
    sess.run(tf1.local_variables_initializer())
    sess.run([ns['update_ops'], list(ns['names_to_updates'].values())],
             {ns['predictions']: p, ns['labels']: l})
    listed, mapped = sess.run([ns['value_ops'], ns['names_to_values']])
  mae, mse = np.mean(np.abs(p - l)), np.mean((p - l) ** 2)
  np.testing.assert_allclose(listed, [mae, mse], rtol=1e-5)
  np.testing.assert_allclose(
      [mapped['eval/mean_absolute_error'], mapped['eval/mean_squared_error']],
      [mae, mse], rtol=1e-5)


@check(28)
def _tracking_multiple_metrics(runs):
  (run,) = runs
  ns = run.ns
  (session_part,) = run.not_run
  assert session_part.statement == 'with tf.Session() as sess:'
  assert ns['num_batches'] == 1000
  assert sorted(ns['names_to_values']) == ['eval/mean_absolute_error',
                                           'eval/mean_squared_error']
  assert ns['predictions'].shape.as_list() == [2, 1000]
  # What the session part computes, with the logits fed past VGG.
  rng = _rng(28)
  seen = []
  with run.session() as sess:
    sess.run(tf1.local_variables_initializer())
    for _ in range(3):
      feed, logits, labels = _feed_vgg_logits(run, rng)
      sess.run(list(ns['names_to_updates'].values()), feed)
      seen.append((logits, labels))
    values = sess.run(ns['names_to_values'])
  logits = np.concatenate([p for p, _ in seen])
  labels = np.concatenate([l for _, l in seen])
  np.testing.assert_allclose(values['eval/mean_absolute_error'],
                             np.mean(np.abs(logits - labels)), rtol=1e-5)
  np.testing.assert_allclose(values['eval/mean_squared_error'],
                             np.mean((logits - labels) ** 2), rtol=1e-5)


@check(29)
def _evaluation_loop(runs, capfd):
  (run,) = runs
  ns = run.ns
  assert ns['num_batches'] == math.ceil(len(EVAL_X) / 32)  # each one once
  logits = EVAL_X @ EVAL_W + EVAL_B
  predicted = np.argmax(logits, axis=1)
  # The README's calls have TF1's (labels, predictions) order, so they pass
  # the predictions as labels: 'precision' is true positives over the
  # examples labelled 1, and recall(mean_relative_errors, 0.3) counts the
  # non-zero errors found by the constant prediction 0.3.
  true_positives = np.sum((predicted == 1) & (EVAL_Y == 1))
  error_labels = EVAL_MRE != 0
  constant_prediction = np.full(EVAL_MRE.shape, 0.3) != 0
  expected = {
      'accuracy': np.mean(predicted == EVAL_Y),
      'precision': true_positives / np.sum(EVAL_Y == 1),
      'recall': (np.sum(error_labels & constant_prediction) /
                 np.sum(error_labels)),
  }
  scalars = h.read_scalars(ns['log_dir'])
  for name, value in expected.items():
    (tag,) = [t for t in scalars if re.fullmatch(name + r'(_\d+)?', t)]
    assert list(scalars[tag]) == [EVAL_STEP]  # at the checkpoint's step
    np.testing.assert_allclose(scalars[tag][EVAL_STEP], value, rtol=1e-6)
  err = capfd.readouterr().err  # tf.Print's lines
  for name in expected:
    assert f'{name}[' in err


# ------------------------------------------------------------------- tests
def test_the_readme_copy_is_the_seed():
  if not os.path.exists(SEED_README):
    pytest.skip('no ../shared/seeds next to this checkout')
  with open(SEED_README, 'rb') as seed, open(README, 'rb') as copy:
    assert copy.read() == seed.read()


def test_every_one_of_the_29_blocks_has_a_check():
  assert len(readme_blocks()) == NUM_BLOCKS
  assert sorted(CHECKS) == list(range(1, NUM_BLOCKS + 1))
  tables = [e.block for e in ERRATA] + list(FILLS) + list(READER_NAMES) + (
      list(BUILD_ONLY))
  assert set(tables) <= set(CHECKS)


def test_the_substitutions_are_the_mechanical_ones():
  touched = collections.defaultdict(set)
  for number, text in enumerate(readme_blocks(), start=1):
    for name in substituted(text)[1]:
      touched[name].add(number)
  assert {name: touched[name] for name in SUBSTITUTED_BLOCKS} == (
      SUBSTITUTED_BLOCKS)
  # Nothing of tf.contrib is left.
  for number in range(1, NUM_BLOCKS + 1):
    assert 'contrib' not in block_source(number), number


@pytest.mark.parametrize('erratum', ERRATA,
                         ids=[f'{e.block}-{i}' for i, e in enumerate(ERRATA)])
def test_each_erratum_is_needed(erratum, tmp_path, monkeypatch):
  monkeypatch.setattr(sys.modules[__name__], 'ERRATA',
                      tuple(e for e in ERRATA if e is not erratum))
  if erratum.error is None:
    (run,) = run_block(erratum.block, tmp_path)
    with pytest.raises(NameError):
      eval(erratum.old, dict(run.ns))  # pylint: disable=eval-used
  else:
    with pytest.raises(erratum.error):
      run_block(erratum.block, tmp_path)


@pytest.mark.parametrize('number', range(1, NUM_BLOCKS + 1))
def test_readme_block_runs_as_written(number, tmp_path, capfd):
  runs = run_block(number, tmp_path)
  if number == 29:
    CHECKS[number](runs, capfd)
  else:
    CHECKS[number](runs)
