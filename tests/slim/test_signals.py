"""slim.signals.handling: installs for a block, restores, chains."""
import os
import signal
import threading

import pytest

from slim import signals

SIG = signal.SIGUSR1


def _send():
  os.kill(os.getpid(), SIG)  # Handled by the main thread before it returns.


@pytest.fixture(autouse=True)
def _restore_sigusr1():
  previous = signal.getsignal(SIG)
  yield
  signal.signal(SIG, previous)


def test_installs_inside_and_restores_after():
  heard = []
  with signals.handling({SIG: lambda s, f: heard.append(s)}) as installed:
    assert installed
    _send()
  assert heard == [SIG]
  assert signal.getsignal(SIG) is signal.SIG_DFL


def test_nested_handlers_chain_to_the_outer_one():
  heard = []
  with signals.handling({SIG: lambda s, f: heard.append('outer')}):
    with signals.handling({SIG: lambda s, f: heard.append('inner')},
                          chain=True):
      _send()
    _send()
  assert heard == ['inner', 'outer', 'outer']


def test_without_chain_the_outer_one_is_not_called():
  heard = []
  with signals.handling({SIG: lambda s, f: heard.append('outer')}):
    with signals.handling({SIG: lambda s, f: heard.append('inner')}):
      _send()
  assert heard == ['inner']


def test_chain_skips_an_ignored_previous_and_restores_it():
  heard = []
  signal.signal(SIG, signal.SIG_IGN)
  with signals.handling({SIG: lambda s, f: heard.append(s)}, chain=True):
    _send()
  assert heard == [SIG]
  assert signal.getsignal(SIG) is signal.SIG_IGN


def test_a_raising_handler_restores_on_the_way_out():
  def interrupt(signum, frame):
    raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    with signals.handling({SIG: interrupt}):
      _send()
  assert signal.getsignal(SIG) is signal.SIG_DFL


def test_outside_the_main_thread_nothing_is_installed():
  results = []

  def worker():
    with signals.handling({SIG: lambda s, f: None}) as installed:
      results.append((installed, signal.getsignal(SIG)))

  thread = threading.Thread(target=worker)
  thread.start()
  thread.join()
  assert results == [(False, signal.SIG_DFL)]


def test_ignore():
  signals.ignore(SIG)
  assert signal.getsignal(SIG) is signal.SIG_IGN
