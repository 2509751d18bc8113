#include "batch/output.h"

#include <fmt/format.h>

#include "core/posix_file.h"

namespace modelbay::batch {
namespace fs = std::filesystem;
namespace {

// A local file, stdout or a stream: core's OutputFile decides which.
class FileSink final : public OutputSink {
 public:
  explicit FileSink(std::unique_ptr<OutputFile> file) : file_(std::move(file)) {}
  Status Write(std::string_view data) override { return file_->Write(data); }
  Status Commit() override { return file_->Commit(); }
  std::string Describe() const override { return file_->path().string(); }

 private:
  std::unique_ptr<OutputFile> file_;
};

class StoreSink final : public OutputSink {
 public:
  StoreSink(std::unique_ptr<OutputSink> temp, fs::path temp_path, std::shared_ptr<Store> store, std::string key)
      : temp_(std::move(temp)), temp_path_(std::move(temp_path)), store_(std::move(store)), key_(std::move(key)) {}
  ~StoreSink() override {
    temp_.reset();
    std::error_code ec;
    fs::remove(temp_path_, ec);
  }
  Status Write(std::string_view data) override { return temp_->Write(data); }
  Status Commit() override {
    MB_RETURN_IF_ERROR(temp_->Commit());
    return store_->PutFile(key_, temp_path_);
  }
  std::string Describe() const override {
    std::string where = store_->Describe();
    if (!where.ends_with('/')) where += '/';
    return where + key_;
  }

 private:
  std::unique_ptr<OutputSink> temp_;
  fs::path temp_path_;
  std::shared_ptr<Store> store_;
  std::string key_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> OpenFileSink(const fs::path& path) {
  auto file = OutputFile::Open(path);
  if (!file.ok()) {
    if (fs::is_directory(path)) {
      return InvalidArgument(fmt::format("--out {} is a folder; give a file name (one input writes one file)",
                                         path.string()));
    }
    return file.status();
  }
  return std::unique_ptr<OutputSink>(std::make_unique<FileSink>(std::move(*file)));
}

Result<std::unique_ptr<OutputSink>> OpenStoreSink(std::shared_ptr<Store> store, std::string key,
                                                  const fs::path& temp_dir) {
  fs::path temp_path = temp_dir / (key + ".upload");
  std::error_code ec;
  fs::create_directories(temp_path.parent_path(), ec);
  MB_ASSIGN_OR_RETURN(auto temp, OpenFileSink(temp_path));
  // The temp sink renames <temp_path>.partial to temp_path on Commit.
  return std::unique_ptr<OutputSink>(
      std::make_unique<StoreSink>(std::move(temp), std::move(temp_path), std::move(store), std::move(key)));
}

}  // namespace modelbay::batch
