#include "batch/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/posix_file.h"

namespace modelbay::batch {
namespace fs = std::filesystem;
namespace {

// Writes to an fd; with a temp path, the file is renamed to `final` on
// Commit and removed when abandoned.
class FileSink final : public OutputSink {
 public:
  FileSink(int fd, fs::path final_path, fs::path temp, bool owns_fd)
      : fd_(fd), final_(std::move(final_path)), temp_(std::move(temp)), owns_fd_(owns_fd) {}
  ~FileSink() override {
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_.empty()) {
      std::error_code ec;
      fs::remove(temp_, ec);
    }
  }
  Status Write(std::string_view data) override {
    return WriteAll(fd_, data, temp_.empty() ? final_ : temp_);
  }
  Status Commit() override {
    if (temp_.empty()) {
      committed_ = true;
      return Status::Ok();
    }
    MB_RETURN_IF_ERROR(SyncFd(fd_, temp_));
    ::close(fd_);
    fd_ = -1;
    if (::rename(temp_.c_str(), final_.c_str()) != 0) {
      return Unavailable(fmt::format("cannot write {}: {}", final_.string(), ErrnoText(errno)));
    }
    committed_ = true;
    FsyncDir(final_.has_parent_path() ? final_.parent_path() : fs::path("."));
    return Status::Ok();
  }
  std::string Describe() const override { return final_.string(); }

 private:
  int fd_;
  fs::path final_;
  fs::path temp_;
  bool owns_fd_;
  bool committed_ = false;
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
  if (path == "-") return std::unique_ptr<OutputSink>(std::make_unique<FileSink>(1, "-", fs::path(), false));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      return InvalidArgument(fmt::format("--out {} is a folder; give a file name (one input writes one file)",
                                         path.string()));
    }
    // A FIFO, /dev/stdout, a terminal: renaming over it would replace it.
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return InvalidArgument(fmt::format("cannot write {}: {}", path.string(), ErrnoText(errno)));
    return std::unique_ptr<OutputSink>(std::make_unique<FileSink>(fd, path, fs::path(), true));
  }
  fs::path temp = path;
  temp += ".partial";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return InvalidArgument(fmt::format("cannot write {}: {}; check the folder exists and is writable",
                                       temp.string(), ErrnoText(errno)));
  }
  return std::unique_ptr<OutputSink>(std::make_unique<FileSink>(fd, path, temp, true));
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
