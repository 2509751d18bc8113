// Names the calling thread for ps, top -H, perf, gdb and /proc/<pid>/task/*/comm,
// so that a profile or a stuck process says which of modelbay's threads is
// which: mb-io-<n> (the server's io threads but the first, which is the
// main thread and keeps the process name, so that ps and pgrep still find
// modelbay), mb-commit (the prediction
// log's group committer), mb-ship (its shipper), mb-models (the model
// cache's refresher), mb-results (the results_<N>.csv refresher),
// mb-batch (a batch scoring worker).
//
// Thread-safety: affects only the calling thread.
#pragma once

#include <string_view>

namespace modelbay {

// At most 15 characters are kept (the kernel's limit); best effort.
void SetThreadName(std::string_view name);

}  // namespace modelbay
