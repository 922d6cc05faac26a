"""Validation while training: metrics of the current weights on a split.

`classification_metrics` is the metric set of eval_image_classifier.py
(streaming top-1 Accuracy and top-5 Recall_5, in local variables). On a
multi-label dataset the figures are those of a
multi_label_metrics.MultiLabelTally instead (mAP, F1, precision and recall
at a threshold), fed each batch's `multi_label_fetches`: exact mAP needs
every score of the split, so it is computed in numpy at the end, not
streamed.
`build_validation` builds, in the training graph, the validation input and
the network in inference mode on the training variables (their moving
averages with --moving_average_decay), with those metrics under the
`validation` scope; `Validator` runs it between steps on the chief (see
`slim.learning.train`'s `chief_step_fn`), logs the metrics, writes them as
TensorBoard scalars to <train_dir>/validation and appends them to
<train_dir>/validation.jsonl, and hands each validated checkpoint to a
`best_checkpoints.BestCheckpoints`. The train_dir may be remote: the
appends go through `fileio.append_text` (a remote object is rewritten
whole, so only a local file can be left with a line cut short).
"""
import collections
import json
import math
import os
import time

from absl import logging
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import fileio
from image_classifier import model_on_split
from image_classifier import multi_label_metrics

tf1 = tf.compat.v1

JSONL_FILENAME = 'validation.jsonl'
EVENTS_DIRNAME = 'validation'
METRIC_NAMES = ('Accuracy', 'Recall_5')
# The figures of a multi-label evaluation (eval's metrics.json, validation).
MULTI_LABEL_METRIC_NAMES = multi_label_metrics.FIGURE_NAMES


def classification_metrics(logits, labels):
  """Streaming top-1 Accuracy and top-5 Recall_5 (as eval reports them).

  Returns:
    (names_to_values, names_to_updates), as
    `slim.metrics.aggregate_metric_map` returns them.
  """
  predictions = tf.argmax(logits, 1)
  return slim.metrics.aggregate_metric_map({
      'Accuracy': slim.metrics.streaming_accuracy(predictions, labels),
      'Recall_5': slim.metrics.streaming_recall_at_k(logits, labels, 5),
  })


def multi_label_fetches(logits, targets):
  """The batch tensors a MultiLabelTally takes: the sigmoid probability
  of every class (float32, whatever the network's precision) and the
  multi-hot targets."""
  return {'scores': tf.sigmoid(tf.cast(logits, tf.float32)),
          'targets': targets}


def multi_label_figures(tally, threshold=None):
  """{name: value} of MULTI_LABEL_METRIC_NAMES from a filled
  MultiLabelTally (None where a figure is undefined), at `threshold` (None:
  the tally's own)."""
  result = tally.result(threshold)
  return {name: result[name] for name in MULTI_LABEL_METRIC_NAMES}


def ranking_metric(multi_label):
  """The figure that ranks checkpoints: mAP on multi-label data,
  Accuracy otherwise."""
  return 'mAP' if multi_label else 'Accuracy'


ValidationGraph = collections.namedtuple(
    'ValidationGraph',
    ['reset_op', 'update_op', 'names_to_values', 'count', 'split_name',
     'num_batches', 'quantized', 'quantize_from', 'tally_fetches',
     'num_classes'], defaults=(None, None, None, None))
ValidationGraph.__doc__ = """What a validation runs: the op that rewinds the
input and zeroes the metrics, the update op (one batch), the metric values,
the number of examples counted, the split name and its batch count; with
quantization-aware training that starts later than step 0, `quantized` is
the ValidationGraph of the quantized network, run from global step
`quantize_from` on. On a multi-label split, `tally_fetches` are the batch
tensors (`multi_label_fetches`) fetched with each update into a
MultiLabelTally of `num_classes` (no streaming metrics then); None on a
single-label split."""

# The name scopes of the validation networks (float and quantized).
SCOPE = 'validation'
QUANTIZED_SCOPE = 'validation_quantized'


def _averages_getter(moving_average):
  """A custom getter reading each variable's moving average where it has one."""
  def getter(getter, *args, **kwargs):  # pylint: disable=redefined-outer-name
    variable = getter(*args, **kwargs)
    average = moving_average.average(variable)
    return variable if average is None else average
  return getter


def _averages_names(moving_average):
  """{moving average's variable name: its model variable's name}."""
  names = {}
  for variable in slim.get_model_variables():
    average = moving_average.average(variable)
    if average is not None:
      names[average.op.name] = variable.op.name
  return names


def _quantize(scope, model_name, moving_average):
  """Rewrites the validation network in `scope` as eval --quantize does,
  on the ranges that quantization-aware training keeps."""
  try:
    slim.quantize.create_eval_graph(
        scope=scope, weights_names=(_averages_names(moving_average)
                                    if moving_average is not None else None))
  except slim.quantize.UnsupportedLayerError as e:
    cli.fail(f'--quantize_delay: --model_name={model_name} cannot be '
             f'quantized: {e}')


def _build_one(parts, data, model, input_spec, moving_average, scope,
               quantize):
  """The ValidationGraph of one validation network (float or quantized)."""
  with tf1.name_scope(scope) as name_scope:
    on_split = model_on_split.on_split(
        parts, data, input_spec,
        model_on_split.Reading(iterator=model_on_split.INITIALIZABLE),
        reuse=True, custom_getter=(_averages_getter(moving_average)
                                   if moving_average is not None else None))
  if quantize:
    _quantize(scope, model.model_name, moving_average)
  with tf1.name_scope(name_scope):  # The same scope again, not scope_1.
    local_before = set(tf1.local_variables())
    with tf1.variable_scope(scope + '_metrics'):
      multi_label = model_on_split.is_multi_label(on_split.dataset)
      names_to_values, names_to_updates, tally_fetches = {}, {}, None
      if multi_label:
        tally_fetches = multi_label_fetches(on_split.logits, on_split.labels)
      else:
        names_to_values, names_to_updates = classification_metrics(
            on_split.logits, on_split.labels)
      count = slim.local_variable(tf.constant(0, tf.int64), name='count')
      # A multi-hot batch has num_classes labels per example.
      examples = (tf.shape(on_split.labels, out_type=tf.int64)[0]
                  if multi_label
                  else tf.cast(tf.size(on_split.labels), tf.int64))
      update_op = tf.group(*names_to_updates.values(),
                           tf1.assign_add(count, examples))
    metric_variables = [v for v in tf1.local_variables()
                        if v not in local_before]
    reset_op = tf.group(on_split.iterator.initializer,
                        tf1.variables_initializer(metric_variables))
  num_batches = math.ceil(on_split.dataset.num_samples
                          / input_spec.batch_size)
  return ValidationGraph(reset_op, update_op, names_to_values, count,
                         data.split_name, num_batches,
                         tally_fetches=tally_fetches,
                         num_classes=on_split.num_classes)


def build_validation(data, model, input_spec, num_classes,
                     moving_average=None, quantize_delay=None):
  """Builds the validation of the current weights in the training graph.

  It measures what eval_image_classifier.py would report for a checkpoint
  of them with the same flags: the network at `model`'s precision and
  image size, on the moving averages of the weights with
  moving_average_decay, and once quantization-aware training quantizes
  (global step >= `quantize_delay`) the quantized network of eval
  --quantize. Call it after the training network (its variables exist,
  rewritten for quantization) and, with moving averages, after their
  update op is built.

  Args:
    data: a specs.DataSpec naming the validation split.
    model: the specs.ModelSpec of the training network.
    input_spec: a specs.InputSpec (batch size, preprocessing threads).
    num_classes: the class count the training network was built with.
    moving_average: the tf.train.ExponentialMovingAverage of the model
      variables, or None to validate the variables themselves.
    quantize_delay: the step from which training quantizes; None or < 0:
      never.

  Returns:
    A ValidationGraph.
  """
  parts = model_on_split.model_parts(data, model, is_training=False)
  if parts.num_classes != num_classes:
    cli.fail(f'--validation_split_name={data.split_name} has '
             f'{parts.num_classes} classes; training has {num_classes}.')
  quantized = quantize_delay is not None and quantize_delay >= 0
  if quantized and quantize_delay == 0:
    return _build_one(parts, data, model, input_spec, moving_average,
                      QUANTIZED_SCOPE, quantize=True)
  graph = _build_one(parts, data, model, input_spec, moving_average, SCOPE,
                     quantize=False)
  if not quantized:
    return graph
  return graph._replace(
      quantized=_build_one(parts, data, model, input_spec, moving_average,
                           QUANTIZED_SCOPE, quantize=True),
      quantize_from=quantize_delay)


def metric_names(graph):
  """The names of the figures a ValidationGraph's validation reports."""
  if graph.tally_fetches is not None:
    return MULTI_LABEL_METRIC_NAMES
  return METRIC_NAMES


def format_figure(value):
  """A figure as the logs and the console show it: 4 decimals, or
  'undefined' (None: e.g. the mAP of a split where no class occurs)."""
  return 'undefined' if value is None else f'{value:.4f}'


def repair_jsonl(path):
  """Drops a last line cut short by a kill, so appends start a fresh line
  (only a local file can be cut: objects are written whole)."""
  try:
    data = fileio.read_bytes(path)
  except FileNotFoundError:
    return
  if data and not data.endswith(b'\n'):
    fileio.write_atomic(path, data[:data.rfind(b'\n') + 1])


def read_jsonl(path):
  """The records of a validation.jsonl (complete lines only)."""
  try:
    text = fileio.read_text(path)
  except FileNotFoundError:
    return []
  return [json.loads(line) for line in text.split('\n')[:-1]]


class Validator:
  """Validates every N steps or seconds, and at the end; chief only.

  Its `__call__` is a `slim.learning.train` `chief_step_fn`. A validation
  due at a step first makes sure a checkpoint of that step exists (saving
  one if needed), so that each validation.jsonl record names the
  checkpoint whose weights it measured, and `best` can keep a copy.
  """

  def __init__(self, graph, train_dir, every_n_steps=0, every_n_secs=0,
               best=None):
    """
    Args:
      graph: a ValidationGraph.
      train_dir: where validation.jsonl and the validation events go.
      every_n_steps: validate when the global step is a multiple of this
        (0: by time instead).
      every_n_secs: with every_n_steps=0, validate when this many seconds
        passed since the last validation (0: only at the end).
      best: a best_checkpoints.BestCheckpoints, or None.
    """
    self._graph = graph
    self._train_dir = train_dir
    self._every_n_steps = every_n_steps
    self._every_n_secs = every_n_secs
    self._best = best
    self._last_time = time.time()
    self._last_step = None
    self._writer = None
    self.jsonl_path = os.path.join(train_dir, JSONL_FILENAME)
    repair_jsonl(self.jsonl_path)

  def _due(self, step):
    if self._every_n_steps:
      return step % self._every_n_steps == 0
    return bool(self._every_n_secs
                and time.time() - self._last_time >= self._every_n_secs)

  def _graph_at(self, global_step):
    """The ValidationGraph of the network eval would measure at this step:
    the quantized one once quantization is on."""
    quantized = self._graph.quantized
    if quantized is not None and global_step >= self._graph.quantize_from:
      return quantized
    return self._graph

  def __call__(self, sess, global_step, save_checkpoint, last):
    if global_step == self._last_step:
      return
    if not (last or self._due(global_step)):
      return
    checkpoint = save_checkpoint()
    self.validate(sess, global_step, checkpoint)

  def validate(self, sess, global_step, checkpoint):
    """Runs one validation; returns its record (also appended, logged)."""
    start = time.time()
    graph = self._graph_at(global_step)
    metrics, count = self._run(sess, graph)
    names = metric_names(graph)
    record = dict(metrics)
    record.update(global_step=int(global_step), examples=int(count),
                  split=self._graph.split_name,
                  checkpoint=(os.path.basename(checkpoint) if checkpoint
                              else None),
                  seconds=round(time.time() - start, 3),
                  time=round(time.time(), 3))
    logging.info('Validation at global step %d on %s (%d examples): %s',
                 global_step, self._graph.split_name, count,
                 ', '.join(f'{name} = {format_figure(record[name])}'
                           for name in names))
    self._write_summaries(record, names)
    # One write of one line: a kill leaves at most a cut last line, which
    # the next start drops (repair_jsonl).
    fileio.append_text(self.jsonl_path,
                       json.dumps(record, sort_keys=True) + '\n')
    if self._best is not None and checkpoint:
      self._best.consider(checkpoint, record)
    self._last_step = global_step
    self._last_time = time.time()
    return record

  @staticmethod
  def _run(sess, graph):
    """({metric: value}, examples counted) of one pass over the split."""
    tally = None
    if graph.tally_fetches is not None:
      tally = multi_label_metrics.MultiLabelTally(graph.num_classes)
    sess.run(graph.reset_op)
    while True:
      try:
        if tally is None:
          sess.run(graph.update_op)
        else:
          tally.add(**sess.run([graph.update_op, graph.tally_fetches])[1])
      except tf.errors.OutOfRangeError:
        break
    values, count = sess.run([graph.names_to_values, graph.count])
    if tally is not None:
      return multi_label_figures(tally), count
    return {name: float(values[name]) for name in METRIC_NAMES}, count

  def _write_summaries(self, record, names):
    if self._writer is None:
      self._writer = tf1.summary.FileWriter(
          os.path.join(self._train_dir, EVENTS_DIRNAME))
    self._writer.add_summary(tf1.Summary(value=[
        tf1.Summary.Value(tag='validation/' + name, simple_value=record[name])
        for name in names if record[name] is not None]),
                             record['global_step'])
    self._writer.flush()

  def close(self):
    if self._writer is not None:
      self._writer.close()
