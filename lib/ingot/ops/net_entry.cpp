// The one symbol ingot-net.so exports: the table of its entry points (net_module.h).
#include "ingot/ops/net_module.h"

extern "C" __attribute__((visibility("default"))) const ingot::net::EntryPoints* ingot_net_entry_points() {
  static const ingot::net::EntryPoints eps{
      .upload = &ingot::upload,
      .list_datasets = &ingot::list_datasets,
      .serve = &ingot::serve,
      .secret_spans = &ingot::secret_spans,
  };
  return &eps;
}
