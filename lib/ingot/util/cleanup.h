// Temporary files that must not survive the process: output written under a temporary
// name is registered here, and SIGINT/SIGTERM/SIGHUP unlink every registered path from
// the signal handler itself (unlink is async-signal-safe) before exiting 128+signal.
// This works even when the main thread is blocked in a write to a full pipe.
#pragma once

#include <string>

namespace ingot::cleanup {

// Installs the handlers once; idempotent. Also ignores SIGPIPE so a closed stdout
// surfaces as EPIPE (and the CLI can exit 0 quietly).
void install_signal_handlers();

// Fatal signals handled by a thread instead of the handler, so that `hook` may do what
// a signal handler cannot (network requests: aborting the multipart uploads of s3://
// outputs). The thread unlinks the registered paths, runs the hook, then exits
// 128+signal; a normal exit() of the process waits for it once a signal has arrived.
// Call from main before any other thread exists: the signals are blocked in the
// calling thread, and so in every thread started later.
void handle_signals_in_thread(void (*hook)());

// Registers a path to unlink on a fatal signal; returns a slot id for unregister().
// Throws when too many temporaries are live at once.
int register_path(const std::string& path);
void unregister_path(int slot);

// True once a handled signal arrived (for code that polls, e.g. servers).
bool interrupted();

}  // namespace ingot::cleanup
