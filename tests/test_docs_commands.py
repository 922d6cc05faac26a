"""The shell commands of README.md and docs/*.md stay true.

Every ```sh / ```bash block is read, its `\\` continuations joined and its
comments dropped. Each command in it that runs one of this project's
Python entry points (the scripts at the top, tools/*.py, benchmarks/*.py)
has every --flag it passes checked against that script's flags: absl's
for the scripts and tools (cli_harness.flag_values, as
test_export_and_tools checks scripts/*.sh), argparse's `--help` for the
benchmarks. A renamed flag fails here until the docs follow.

The blocks marked with `<!-- test: runs -->` on the line before them are
run by bash, in order (README.md, then docs/ by file name), from the
repository root, after the mechanical substitutions of SUBSTITUTIONS and
nothing else: the five-minute tour's chain on the shapes data and the
tools shown on its files in docs/toolkit.md. Each must exit 0, and one
output of each chain is checked.
"""
import collections
import functools
import glob
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests import cli_harness as h

DOCS = ['README.md'] + sorted(
    os.path.relpath(p, h.ROOT)
    for p in glob.glob(os.path.join(h.ROOT, 'docs', '*.md')))
RUNS_MARKER = '<!-- test: runs -->'
# The marked blocks: the tour's five in README.md, one in docs/toolkit.md.
# Dropping a marker (or adding one) must be a decision: change this too.
NUM_MARKED_BLOCKS = 6

# The only changes made to a marked block before it runs: (pattern,
# replacement, why), in this order. '{tmp}' is the test's temporary folder,
# '{python}' the interpreter running the tests (which lives under /tmp in a
# CI clone: the /tmp/ rule comes first, so it never rewrites it).
SUBSTITUTIONS = (
    (r'/tmp/', '{tmp}/', 'every file goes to the test folder'),
    (r'\.venv/bin/python\b', '{python}', 'the virtual environment in use'),
    (r'--max_number_of_steps=\d+', '--max_number_of_steps=3',
     'a few training steps, not a trained model'),
)

TOP_LEVEL_SCRIPTS = ('train_image_classifier', 'eval_image_classifier',
                     'export_inference_graph', 'download_and_convert_data',
                     'classify_images')
PYTHONS = ('python', 'python3', '.venv/bin/python')
SEPARATORS = set(';&|()\n')

Block = collections.namedtuple('Block', 'path line text runs')
Command = collections.namedtuple('Command', 'where script flags')


# ------------------------------------------------------------ reading docs
def _read(path):
  with open(os.path.join(h.ROOT, path), encoding='utf-8') as f:
    return f.read()


def shell_blocks():
  """Every ```sh / ```bash block of the docs, in order."""
  fence = re.compile(r'^```(?:sh|bash)\n(.*?)^```', re.MULTILINE | re.DOTALL)
  blocks = []
  for path in DOCS:
    text = _read(path)
    for match in fence.finditer(text):
      before = text[:match.start()].rstrip('\n').rsplit('\n', 1)[-1]
      blocks.append(Block(path, text.count('\n', 0, match.start()) + 2,
                          match.group(1), before.strip() == RUNS_MARKER))
  return blocks


def _without_comments(text):
  """`text` with `\\` continuations joined and # comments removed."""
  text = text.replace('\\\n', ' ')
  return '\n'.join(re.sub(r'(^|\s)#.*$', '', line)
                   for line in text.split('\n'))


def _simple_commands(text):
  """The token lists of a block's simple commands (split at ; && | ( )
  and line ends outside quotes)."""
  lexer = shlex.shlex(_without_comments(text), posix=True,
                      punctuation_chars=''.join(sorted(SEPARATORS)))
  lexer.whitespace = ' \t\r'
  lexer.whitespace_split = True
  lexer.commenters = ''
  command = []
  for token in lexer:
    if set(token) <= SEPARATORS:
      if command:
        yield command
      command = []
    else:
      command.append(token)
  if command:
    yield command


def _expand(tokens, variables):
  """`tokens` with the block's variables expanded (an unquoted `$VAR` is
  split into words, as bash does)."""
  expanded = []
  for token in tokens:
    whole = re.fullmatch(r'\$\{?(\w+)\}?', token)
    if whole and whole.group(1) in variables:
      expanded.extend(shlex.split(variables[whole.group(1)]))
    else:
      expanded.append(re.sub(
          r'\$\{?(\w+)\}?',
          lambda m: variables.get(m.group(1), m.group(0)), token))
  return expanded


def _script_of(tokens):
  """The .py file a command runs (`python x.py`, `x.py`), or None."""
  if tokens and tokens[0] in PYTHONS and len(tokens) > 1:
    tokens = tokens[1:]
  if tokens and tokens[0].endswith('.py'):
    return tokens[0][2:] if tokens[0].startswith('./') else tokens[0]
  return None


def project_commands(block):
  """The commands of `block` that run a Python file, with their flags."""
  variables = {}
  for tokens in _simple_commands(block.text):
    tokens = _expand(tokens, variables)
    assignments = 0
    while (assignments < len(tokens)
           and re.match(r'^\w+=', tokens[assignments])):
      assignments += 1
    if assignments == len(tokens):  # VAR=value ...: shell variables.
      variables.update(t.split('=', 1) for t in tokens)
      continue
    tokens = tokens[assignments:]  # VAR=value command: its environment.
    script = _script_of(tokens)
    if script is not None:
      flags_used = [t[2:].split('=', 1)[0] for t in tokens
                    if t.startswith('--') and len(t) > 2]
      yield Command(f'{block.path}:{block.line}', script, flags_used)


def all_commands():
  return [c for b in shell_blocks() for c in project_commands(b)]


# ------------------------------------------------------ the scripts' flags
def _absl_flags(script):
  """Flag names of an absl script: its own, adopted ones and absl's."""
  from absl import flags  # pylint: disable=import-outside-toplevel
  module = script[:-len('.py')].replace('/', '.')
  assert module in h.SCRIPTS, (
      f'{script} is not an entry point that tests/cli_harness.py knows')
  names = set(vars(h.flag_values(module)))
  for name, module_flags in flags.FLAGS.flags_by_module_dict().items():
    if name.startswith('absl.'):  # --verbosity, --helpshort ...
      names.update(f.name for f in module_flags)
  return names


# Prints {script: its --help} for each benchmark named on the command line,
# all in one process so that TensorFlow is imported once.
_HELP_PRINTER = """
import contextlib, io, json, runpy, sys
helps = {}
for script in sys.argv[1:]:
  out = io.StringIO()
  sys.argv = [script, '--help']
  try:
    with contextlib.redirect_stdout(out):
      runpy.run_path(script, run_name='__main__')
  except SystemExit as e:
    if e.code not in (0, None):
      raise
  helps[script] = out.getvalue()
print(json.dumps(helps))
"""


@functools.lru_cache(maxsize=None)
def _benchmark_helps():
  """{benchmark: its argparse --help}, of every benchmark the docs run."""
  scripts = sorted({c.script for c in all_commands()
                    if c.script.startswith('benchmarks/')})
  process = subprocess.run([sys.executable, '-c', _HELP_PRINTER] + scripts,
                           cwd=h.ROOT, env=h._env(), capture_output=True,  # pylint: disable=protected-access
                           text=True, timeout=300, check=True)
  return json.loads(process.stdout.strip().rsplit('\n', 1)[-1])


def _argparse_flags(script):
  """Flag names a benchmark's `--help` lists."""
  return set(re.findall(r'--([\w-]+)', _benchmark_helps()[script]))


def defined_flags(script):
  if script.startswith('benchmarks/'):
    return _argparse_flags(script)
  return _absl_flags(script)


def _is_known(name, defined):
  """absl takes --noNAME for a boolean NAME."""
  return name in defined or (name.startswith('no') and name[2:] in defined)


# ------------------------------------------------------------ flag checks
def test_the_docs_have_commands_of_every_entry_point():
  scripts = {c.script for c in all_commands()}
  assert {s + '.py' for s in TOP_LEVEL_SCRIPTS} <= scripts
  assert {'tools/freeze_graph.py', 'tools/label_image.py',
          'tools/summarize_graph.py', 'tools/dump_images.py',
          'tools/export_saved_model.py', 'tools/download_checkpoint.py',
          'benchmarks/bench_nets.py'} <= scripts


@pytest.mark.parametrize('script', sorted({c.script for c in all_commands()}))
def test_commands_pass_only_flags_their_script_defines(script):
  path = os.path.join(h.ROOT, script)
  assert os.path.isfile(path), f'the docs run {script}, which does not exist'
  defined = defined_flags(script)
  assert defined, script
  unknown = [(c.where, name) for c in all_commands() if c.script == script
             for name in c.flags if not _is_known(name, defined)]
  assert not unknown, f'{script} has no such flags: {unknown}'


def test_flag_check_reads_variables_continuations_and_comments():
  block = Block('example', 1, (
      'PY=.venv/bin/python; WORK=/tmp/w\n'
      'CLUSTER="--ps_hosts=a:1 --worker_hosts=b:1"\n'
      '# python eval_image_classifier.py --commented_out=1\n'
      '$PY train_image_classifier.py $CLUSTER --train_dir=$WORK/t \\\n'
      '  --max_number_of_steps=5  # a comment --not_a_flag\n'
      "TF_CONFIG='{\"task\": {\"type\": \"worker\",\n"
      "  \"index\": 1}}' python tools/dump_images.py --num_images=2 | tail\n"
      'bash scripts/demo_shapes.sh --ignored\n'), False)
  assert list(project_commands(block)) == [
      Command('example:1', 'train_image_classifier.py',
              ['ps_hosts', 'worker_hosts', 'train_dir',
               'max_number_of_steps']),
      Command('example:1', 'tools/dump_images.py', ['num_images'])]


# ------------------------------------------------------ the marked blocks
def marked_blocks():
  return [b for b in shell_blocks() if b.runs]


def test_every_marker_marks_a_block():
  markers = sum(_read(p).count(RUNS_MARKER) for p in DOCS)
  assert markers == len(marked_blocks()) == NUM_MARKED_BLOCKS


def runnable(text, tmp):
  """A marked block as it runs here: SUBSTITUTIONS applied, nothing else."""
  for pattern, replacement, _ in SUBSTITUTIONS:
    text = re.sub(pattern, replacement.format(python=sys.executable,
                                              tmp=tmp), text)
  return text


def test_substitutions_leave_an_interpreter_under_tmp_alone(monkeypatch):
  monkeypatch.setattr(sys, 'executable', '/tmp/clone/.venv/bin/python')
  assert runnable('.venv/bin/python a.py --dir=/tmp/x', '/tmp/t') == (
      '/tmp/clone/.venv/bin/python a.py --dir=/tmp/t/x')


def test_every_substitution_is_used():
  texts = '\n'.join(b.text for b in marked_blocks())
  for pattern, _, why in SUBSTITUTIONS:
    assert re.search(pattern, texts), f'unused substitution: {why}'


def _run_block(block, tmp):
  process = subprocess.run(
      ['bash', '-c', 'set -euo pipefail\n' + runnable(block.text, tmp)],
      cwd=h.ROOT, env=h._env(), capture_output=True, text=True,  # pylint: disable=protected-access
      timeout=300)
  output = process.stdout + process.stderr
  assert process.returncode == 0, (
      f'{block.path}:{block.line} exited {process.returncode}:\n'
      + output[-3000:])
  return output


def _outputs_of(script, blocks, outputs):
  """The outputs of the blocks that run `script`."""
  return [out for block, out in zip(blocks, outputs)
          if re.search(rf'(^|\s){re.escape(script)}\s', block.text)]


def test_marked_blocks_run_in_order(tmp_path):
  blocks = marked_blocks()
  outputs = [_run_block(block, str(tmp_path)) for block in blocks]
  with open(tmp_path / 'slim-demo' / 'shapes' / 'labels.txt') as f:
    labels = [line.strip().split(':', 1)[1] for line in f if line.strip()]
  assert len(labels) == 5, labels

  # The tour: evaluation prints its accuracy, the frozen graph is written,
  # label_image and classify_images name shapes.
  [eval_out] = _outputs_of('eval_image_classifier.py', blocks, outputs)
  assert re.search(r'Accuracy: [01]\.\d+', eval_out), eval_out[-2000:]
  frozen = re.findall(r'--output_graph=(\S+)',
                      runnable('\n'.join(b.text for b in blocks),
                               str(tmp_path)))
  assert frozen and all(os.path.getsize(p) > 0 for p in frozen), frozen
  [classify_out] = _outputs_of('classify_images.py', blocks, outputs)
  # classify_images prints `<image>: <label> <score>` per image and rank.
  named = re.findall(r'^\S+\.png: (' + '|'.join(labels) + r') [01]\.\d+$',
                     classify_out, re.MULTILINE)
  [images] = re.findall(r'classify_images\.py .*?--images=(\S+)', runnable(
      _without_comments('\n'.join(b.text for b in blocks)), str(tmp_path)))
  assert len(named) == len(glob.glob(os.path.join(images, '*.png'))) > 0, (
      classify_out[-2000:])

  # The tools on the tour's files.
  [tools_out] = _outputs_of('tools/summarize_graph.py', blocks, outputs)
  assert 'CifarNet/Predictions/Reshape_1' in tools_out, tools_out[-2000:]
  augmented = glob.glob(str(tmp_path / 'slim-demo' / 'augmented' / '*.png'))
  assert len(augmented) == 8, augmented
  assert re.search(r'^resnet_v1_50 .*--labels_offset=1', tools_out,
                   re.MULTILINE), tools_out[-2000:]
