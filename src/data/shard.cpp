#include "data/shard.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/hash.h"

namespace modelbay {
namespace {

constexpr uint64_t kMinPartBytes = 16 * 1024;
constexpr uint64_t kReadAhead = 64 * 1024;  // bytes fetched at a time past a range to finish its last line

// Position just past the first '\n' at or after `from` in the object,
// fetching more of it as needed into `buf` (which holds the object from
// `base`). The object's size when there is none.
Result<uint64_t> LineEndAfter(Store& store, const DataPart& part, uint64_t base, std::string& buf, uint64_t from) {
  for (;;) {
    if (from < base + buf.size()) {
      size_t nl = buf.find('\n', from - base);
      if (nl != std::string::npos) return base + nl + 1;
    }
    uint64_t have = base + buf.size();
    if (have >= part.object_size) return part.object_size;
    MB_ASSIGN_OR_RETURN(std::string more, store.GetRange(part.key, have, kReadAhead));
    if (more.empty()) return have;
    buf += more;
  }
}

std::string Source(const DataPart& part) {
  return part.whole() ? part.key : fmt::format("{} (bytes {}-{})", part.key, part.offset, part.offset + part.length);
}

}  // namespace

uint64_t DefaultPartBytes(std::span<const DataFile> files, int count) {
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  uint64_t n = static_cast<uint64_t>(std::max(count, 1));
  return std::max(kMinPartBytes, (total + n - 1) / n);
}

std::vector<std::vector<DataPart>> PlanShares(std::span<const DataFile> files, int count, uint64_t part_bytes) {
  std::vector<const DataFile*> sorted;
  for (const auto& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const DataFile* a, const DataFile* b) { return a->key < b->key; });
  std::vector<std::vector<DataPart>> plan(std::max(count, 1));
  std::vector<uint64_t> load(plan.size(), 0);
  part_bytes = std::max<uint64_t>(part_bytes, 1);
  for (const DataFile* f : sorted) {
    uint64_t pieces = std::max<uint64_t>(1, (f->size + part_bytes - 1) / part_bytes);
    for (uint64_t i = 0; i < pieces; ++i) {
      uint64_t begin = f->size * i / pieces;
      uint64_t end = f->size * (i + 1) / pieces;
      size_t w = std::min_element(load.begin(), load.end()) - load.begin();
      plan[w].push_back({f->key, begin, end - begin, f->size});
      load[w] += end - begin;
    }
  }
  return plan;
}

Result<std::string> ReadPart(Store& store, const DataPart& part) {
  if (part.whole()) return store.Get(part.key);
  // The header line.
  std::string head;
  MB_ASSIGN_OR_RETURN(uint64_t header_end, LineEndAfter(store, part, 0, head, 0));
  head.resize(std::min<uint64_t>(header_end, head.size()));
  // The range, from the byte before it (to see whether a line starts at its
  // first byte) to its end; more is fetched to finish the last line.
  const uint64_t base = part.offset > 0 ? part.offset - 1 : 0;
  const uint64_t range_end = part.offset + part.length;
  MB_ASSIGN_OR_RETURN(std::string buf, store.GetRange(part.key, base, range_end - base));
  uint64_t start = part.offset == 0 ? 0 : base;
  MB_ASSIGN_OR_RETURN(start, LineEndAfter(store, part, base, buf, start));  // first line starting in the range
  start = std::max(start, header_end);
  if (start >= range_end) return head;  // no line starts in this range
  MB_ASSIGN_OR_RETURN(uint64_t end, LineEndAfter(store, part, base, buf, range_end - 1));
  if (head.empty() || head.back() != '\n') head += '\n';
  head.append(buf, start - base, end - start);
  return head;
}

Result<CsvTable> LoadShare(Store& store, std::span<const DataPart> parts, std::span<const DataFile> files,
                           std::vector<PartRead>& read) {
  std::map<std::string, std::string> etags;
  for (const auto& f : files) etags[f.key] = f.etag;
  std::optional<CsvTable> all;
  std::vector<DataPart> header_only;
  if (parts.empty() && !files.empty()) {
    // Nothing to read (more workers than parts): the header alone, so the
    // worker still knows the columns.
    const DataFile& first = *std::min_element(files.begin(), files.end(),
                                              [](const DataFile& a, const DataFile& b) { return a.key < b.key; });
    header_only.push_back({first.key, 0, 0, first.size});
    parts = header_only;
  }
  for (const DataPart& part : parts) {
    MB_ASSIGN_OR_RETURN(std::string text, ReadPart(store, part));
    PartRead r{part, etags[part.key], Sha256Hex(text), 0};
    MB_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(std::move(text), Source(part)));
    r.rows = table.rows();
    read.push_back(std::move(r));
    if (!all) {
      all = std::move(table);
    } else {
      MB_RETURN_IF_ERROR(all->Append(std::move(table)));
    }
  }
  if (!all) return InvalidArgument("no data files selected");
  return std::move(*all);
}

}  // namespace modelbay
