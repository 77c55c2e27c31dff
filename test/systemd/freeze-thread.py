#!/usr/bin/env python3
"""Stops one thread of a process, and only that one, until this script ends (a hung control loop).

Usage: freeze-thread.py TID   (as root, or as the thread's owner where ptrace is allowed)

A stop signal (SIGSTOP) stops every thread of a process; a ptrace seize and interrupt stops just the
thread it names, so the rest of the process (here the daemon's event loop) runs on. Prints "frozen" once
the thread has stopped, then holds it until the process ends (the watchdog's SIGABRT, a SIGKILL) or
this script is killed, when the kernel lets the thread go. It waits on the thread meanwhile: a traced
thread that exits stays a zombie until its tracer reaps it, and with it the whole process, so a tracer
that did not wait would keep the killed daemon from ever being reaped.
"""
import ctypes
import os
import sys

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000  # __WALL: wait for a thread that is not our child

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ptrace(request: int, tid: int, what: str) -> None:
    if libc.ptrace(request, tid, None, None) != 0:
        err = ctypes.get_errno()
        sys.exit(f"freeze-thread: {what} thread {tid} failed: {os.strerror(err)}")


tid = int(sys.argv[1])
ptrace(PTRACE_SEIZE, tid, "ptrace seize of")
ptrace(PTRACE_INTERRUPT, tid, "ptrace interrupt of")
os.waitpid(tid, WALL)
print("frozen", flush=True)
while True:
    _, status = os.waitpid(tid, WALL)
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        break
