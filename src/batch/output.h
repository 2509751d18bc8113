// Where batch predictions go: a local file (written to a temp name beside it
// and renamed on Commit), a stream that cannot be renamed over (stdout, a
// FIFO, a character device: written through), or a store key (a local temp
// file uploaded on Commit). Destroying an uncommitted sink removes its temp
// file, so a failed run leaves nothing at the output.
//
// Not thread-safe: one writer.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace modelbay::batch {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual Status Write(std::string_view data) = 0;
  // Makes the output visible (rename / upload); a no-op for streams.
  virtual Status Commit() = 0;
  virtual std::string Describe() const = 0;
};

// `path` "-" is stdout.
Result<std::unique_ptr<OutputSink>> OpenFileSink(const std::filesystem::path& path);
// The temp file lives in `temp_dir` until Commit uploads it to `key`.
Result<std::unique_ptr<OutputSink>> OpenStoreSink(std::shared_ptr<Store> store, std::string key,
                                                  const std::filesystem::path& temp_dir);

}  // namespace modelbay::batch
