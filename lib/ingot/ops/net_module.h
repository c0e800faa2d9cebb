// ingot upload, ls and serve live in a separate module, ingot-net.so, that the binary
// loads with dlopen only when one of them runs. The module carries libcurl and libpq
// (with OpenSSL, GnuTLS, Kerberos, LDAP, ... behind them: 30 shared libraries whose
// relocation took 9 of the 10 ms that `ingot get` used to spend starting up) and
// serve's header-only Boost.Beast server. The module does not link the engine: it
// uses the binary's copy, which the binary exports, so there is one copy of every
// global (e.g. the temp-file registry of util/cleanup).
#pragma once

#include <vector>

#include "ingot/ops/serve.h"
#include "ingot/ops/upload.h"
#include "ingot/ops/upload_redact.h"
#include "ingot/util/error.h"

namespace ingot::net {

// Changes whenever the layout of what crosses the boundary does, so that a module
// from another build is refused instead of misread. The high byte counts changes to
// EntryPoints itself (2: secret_spans).
inline constexpr unsigned kAbi = 2u << 24 | (sizeof(UploadOptions) + sizeof(UploadReport) + sizeof(ListOptions) +
                                             sizeof(ListEntry) + sizeof(ServeOptions) + sizeof(ServeReport)) %
                                                (1u << 24);

struct EntryPoints {
  unsigned abi = kAbi;
  const char* version = INGOT_VERSION;
  Result<UploadReport> (*upload)(const UploadOptions&) = nullptr;
  Result<std::vector<ListEntry>> (*list_datasets)(const ListOptions&) = nullptr;
  Result<ServeReport> (*serve)(const ServeOptions&) = nullptr;
  // The secrets in a destination or endpoint (upload_redact.h), for the CLI to
  // overwrite in its argv.
  std::vector<SecretSpan> (*secret_spans)(std::string_view) = nullptr;
};

// The module's one exported symbol.
inline constexpr const char* kEntrySymbol = "ingot_net_entry_points";
using EntryFn = const EntryPoints* (*)();

// Loads the module once (later calls return the same table). Where it looks, in order:
// $INGOT_NET_MODULE; ingot-net.so beside the binary (the build tree); the install
// location relative to the binary (bin/../lib/.../ingot/ingot-net.so).
Result<const EntryPoints*> load();

}  // namespace ingot::net
