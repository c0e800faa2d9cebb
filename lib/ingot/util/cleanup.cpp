#include "ingot/util/cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "ingot/util/error.h"

namespace ingot::cleanup {
namespace {

constexpr int kSlots = 1024;
// Each slot owns a malloc'd C string or is null. The handler only reads the pointers.
std::array<std::atomic<char*>, kSlots> g_paths{};
std::atomic<bool> g_interrupted{false};
std::mutex g_mutex;  // serialises register/unregister (not used by the handler)

void unlink_registered() {
  for (auto& slot : g_paths) {
    if (char* p = slot.load()) ::unlink(p);
  }
}

void say_interrupted() {
  static const char msg[] = "ingot: interrupted\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
}

void on_signal(int sig) {
  g_interrupted.store(true);
  unlink_registered();
  say_interrupted();
  _exit(128 + sig);
}

}  // namespace

void install_signal_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
  });
}

void handle_signals_in_thread(void (*hook)()) {
  install_signal_handlers();  // SIGPIPE ignored, and the handlers for a signal sent to this thread early
  static sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([hook] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    g_interrupted.store(true);
    unlink_registered();
    if (hook) hook();
    say_interrupted();
    _exit(128 + sig);
  }).detach();
  // The main thread returning meanwhile (an upload failing because the hook aborted it)
  // must not end the process before the hook is done: the thread's _exit ends it.
  std::atexit([] {
    if (g_interrupted.load()) {
      for (;;) ::pause();
    }
  });
}

int register_path(const std::string& path) {
  std::lock_guard lock(g_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (g_paths[i].load() == nullptr) {
      g_paths[i].store(::strdup(path.c_str()));
      return i;
    }
  }
  throw io_error("too many temporary files open at once");
}

void unregister_path(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  std::lock_guard lock(g_mutex);
  char* p = g_paths[slot].exchange(nullptr);
  std::free(p);
}

bool interrupted() { return g_interrupted.load(); }

}  // namespace ingot::cleanup
