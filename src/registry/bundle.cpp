#include "registry/bundle.h"

#include <zip.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include <fmt/format.h>

namespace modelbay {
namespace {

struct ZipDiscard {
  void operator()(zip_t* za) const { zip_discard(za); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

struct SourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
using SourcePtr = std::unique_ptr<zip_source_t, SourceFree>;

struct FileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using FilePtr = std::unique_ptr<zip_file_t, FileClose>;

std::string ErrorText(zip_error_t* err) {
  std::string text = zip_error_strerror(err);
  zip_error_fini(err);
  return text;
}

// A name that could land outside the extraction folder on someone's disk.
bool EscapesBundle(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) return true;
  if (name.size() >= 2 && name[1] == ':') return true;  // "C:..."
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    std::string_view seg = name.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (seg == "..") return true;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return false;
}

std::string* SlotFor(BundleFiles& files, std::string_view name) {
  if (name == kModelFile) return &files.model;
  if (name == kPreprocessorFile) return &files.preprocessor;
  if (name == kMetadataFile) return &files.metadata;
  if (name == kBaselineFile) return &files.baseline;
  return nullptr;
}

// Reads an entry in 64 KiB chunks, trusting neither the declared size nor
// the compressed data: memory never exceeds min(declared, limit) plus one
// chunk. `declared` is the size the zip's directory states (nullopt when it
// states none); an entry that inflates past it is refused at that point,
// not after inflating to the limit.
Result<std::string> ReadEntry(zip_t* za, zip_uint64_t index, std::string_view label, std::optional<uint64_t> declared,
                              uint64_t limit) {
  FilePtr file(zip_fopen_index(za, index, 0));
  if (!file) {
    return InvalidArgument(fmt::format("{}: cannot open: {}", label, zip_strerror(za)));
  }
  const uint64_t allowed = declared ? std::min(*declared, limit) : limit;
  std::string out;
  out.reserve(static_cast<size_t>(std::min<uint64_t>(allowed, 1ULL << 20)));
  std::array<char, 64 * 1024> buf{};
  while (true) {
    zip_int64_t n = zip_fread(file.get(), buf.data(), buf.size());
    if (n < 0) {
      return InvalidArgument(fmt::format("{}: damaged ({}); rebuild the bundle", label,
                                         zip_file_strerror(file.get())));
    }
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > allowed) {
      if (declared && *declared < limit) {
        return InvalidArgument(fmt::format("{}: expands past the {} bytes its header declares; the zip is damaged "
                                           "or forged; refusing it", label, *declared));
      }
      return InvalidArgument(fmt::format("{}: expands to more than {} bytes; not a modelbay bundle", label, limit));
    }
    out.append(buf.data(), static_cast<size_t>(n));
  }
  if (declared && out.size() != *declared) {
    return InvalidArgument(fmt::format("{}: holds {} bytes, its header declares {}; the zip is damaged", label,
                                       out.size(), *declared));
  }
  return out;
}

}  // namespace

std::string BundleName(int version) { return fmt::format("model_af_{}.zip", version); }

Result<std::string> WriteBundle(const BundleFiles& files) {
  zip_error_t err;
  zip_error_init(&err);
  SourcePtr sink(zip_source_buffer_create(nullptr, 0, 0, &err));
  if (!sink) return Internal("cannot create an in-memory zip: " + ErrorText(&err));
  zip_source_keep(sink.get());  // the archive releases its reference on close
  zip_t* za = zip_open_from_source(sink.get(), ZIP_TRUNCATE, &err);
  if (za == nullptr) {
    zip_source_free(sink.get());  // the reference the archive did not take
    return Internal("cannot create an in-memory zip: " + ErrorText(&err));
  }
  ZipPtr archive(za);
  const std::array<std::pair<std::string_view, const std::string*>, 4> entries{{
      {kModelFile, &files.model}, {kPreprocessorFile, &files.preprocessor}, {kMetadataFile, &files.metadata},
      {kBaselineFile, &files.baseline}}};
  for (const auto& [name, data] : entries) {
    if (data == &files.baseline && data->empty()) continue;  // a version without a baseline
    zip_source_t* src = zip_source_buffer(za, data->data(), data->size(), 0);
    if (src == nullptr) return Internal(fmt::format("zip {}: {}", name, zip_strerror(za)));
    if (zip_file_add(za, std::string(name).c_str(), src, ZIP_FL_ENC_UTF_8) < 0) {
      zip_source_free(src);
      return Internal(fmt::format("zip {}: {}", name, zip_strerror(za)));
    }
  }
  if (zip_close(za) != 0) return Internal(fmt::format("cannot write the zip: {}", zip_strerror(za)));
  archive.release();  // closed

  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(sink.get(), &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
    return Internal("cannot size the in-memory zip");
  }
  if (zip_source_open(sink.get()) != 0) return Internal("cannot read the in-memory zip");
  std::string out(static_cast<size_t>(st.size), '\0');
  zip_int64_t n = zip_source_read(sink.get(), out.data(), out.size());
  zip_source_close(sink.get());
  if (n < 0 || static_cast<uint64_t>(n) != st.size) return Internal("short read of the in-memory zip");
  return out;
}

Result<BundleFiles> ReadBundle(std::string_view zip_bytes, std::string_view source, const BundleLimits& limits) {
  constexpr std::string_view kExpect =
      "a bundle holds exactly model.json, preprocessor.json and metadata.json, and optionally baseline.json";
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(zip_bytes.data(), zip_bytes.size(), 0, &err);
  if (src == nullptr) return Internal("cannot read a zip in memory: " + ErrorText(&err));
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (za == nullptr) {
    zip_source_free(src);
    return InvalidArgument(fmt::format("{} is not a valid zip file ({})", source, ErrorText(&err)));
  }
  ZipPtr archive(za);

  zip_int64_t count = zip_get_num_entries(za, 0);
  if (count < 0 || static_cast<uint64_t>(count) > limits.max_entries) {
    return InvalidArgument(fmt::format("{} has {} entries; {}", source, count, kExpect));
  }
  BundleFiles files;
  std::array<bool, 4> seen{};  // model, preprocessor, metadata, baseline
  uint64_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    if (zip_stat_index(za, i, 0, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0) {
      return InvalidArgument(fmt::format("{}: entry {} is unreadable: {}", source, i, zip_strerror(za)));
    }
    std::string name = st.name;
    std::string label = fmt::format("{}: entry '{}'", source, name);
    if (EscapesBundle(name)) {
      return InvalidArgument(fmt::format("{} points outside the bundle (absolute path or '..'); refusing it", label));
    }
    std::string* slot = SlotFor(files, name);
    if (slot == nullptr) return InvalidArgument(fmt::format("{} is unexpected; {}", label, kExpect));
    const size_t which = slot == &files.model ? 0 : slot == &files.preprocessor ? 1 : slot == &files.metadata ? 2 : 3;
    if (seen[which]) return InvalidArgument(fmt::format("{} appears twice; {}", label, kExpect));
    seen[which] = true;
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE) {
      return InvalidArgument(fmt::format("{} is encrypted; bundles are plain zip files", label));
    }
    if ((st.valid & ZIP_STAT_SIZE) != 0 && st.size > limits.max_entry_bytes) {
      return InvalidArgument(fmt::format("{} declares {} bytes, over the limit of {} bytes", label, st.size,
                                         limits.max_entry_bytes));
    }
    uint64_t room = std::min(limits.max_entry_bytes, limits.max_total_bytes - total);
    std::optional<uint64_t> declared;
    if ((st.valid & ZIP_STAT_SIZE) != 0) declared = st.size;
    MB_ASSIGN_OR_RETURN(*slot, ReadEntry(za, i, label, declared, room));
    total += slot->size();
  }
  for (size_t k = 0; k < 3; ++k) {  // baseline.json is optional
    if (!seen[k]) {
      std::string_view missing = k == 0 ? kModelFile : k == 1 ? kPreprocessorFile : kMetadataFile;
      return InvalidArgument(fmt::format("{} has no {}; {}", source, missing, kExpect));
    }
  }
  return files;
}

}  // namespace modelbay
