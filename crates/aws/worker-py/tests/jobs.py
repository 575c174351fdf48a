"""Job functions for the tests, at module top level so that the "spawn" start method can pickle
them."""

import os
import signal
import time


def square(x):
    return x * x


def pid(_):
    return os.getpid()


def fail_on_three(x):
    if x == 3:
        raise KeyError("three is unlucky")
    return x


def exit_on_three(x):
    if x == 3:
        os._exit(7)
    return x


def sigkill_on_three(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def sleepy(seconds):
    time.sleep(seconds)
    return seconds


def unpicklable_result(x):
    return lambda: x


def big_result(x):
    return bytes([x % 256]) * 300_000  # larger than a pipe's buffer


def spin(n):
    """CPU-bound: about n iterations of integer arithmetic."""
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1_000_003
    return acc
