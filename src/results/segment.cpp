#include "results/segment.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace modelbay::results {
namespace {

constexpr size_t kFrame = 16;

uint64_t Fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[off + i])) << (8 * i);
  return v;
}

uint64_t Checksum(std::string_view frame_head, std::string_view payload) {
  return Fnv1a(Fnv1a(14695981039346656037ULL, frame_head), payload);
}

}  // namespace

void AppendRecord(std::string& out, std::string_view payload, uint32_t rows) {
  std::string head;
  PutLe(head, payload.size(), 4);
  PutLe(head, rows, 4);
  uint64_t sum = Checksum(head, payload);
  out += head;
  PutLe(out, sum, 8);
  out.append(payload);
}

std::string HeaderPayload(std::string_view writer_id, std::string_view header_line) {
  return fmt::format("{}\n{}", writer_id, header_line);
}

std::string FormatSegmentName(const SegmentName& name) {
  return fmt::format("{}-{:010}.seg", name.run_id, name.first_seq);
}

Result<SegmentName> ParseSegmentName(std::string_view file_name) {
  constexpr std::string_view kExt = ".seg";
  auto bad = [&] { return InvalidArgument(fmt::format("'{}' is not a spool segment name", file_name)); };
  if (file_name.size() <= kExt.size() || !file_name.ends_with(kExt)) return bad();
  std::string_view stem = file_name.substr(0, file_name.size() - kExt.size());
  size_t dash = stem.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == stem.size()) return bad();
  SegmentName name;
  name.run_id = std::string(stem.substr(0, dash));
  for (char c : stem.substr(dash + 1)) {
    if (c < '0' || c > '9') return bad();
    name.first_seq = name.first_seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return name;
}

Result<SegmentContents> ReadSegment(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot open spool segment {}", path.string()));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Unavailable(fmt::format("cannot read spool segment {}", path.string()));

  SegmentContents out;
  size_t off = 0;
  bool have_header = false;
  while (off + kFrame <= data.size()) {
    uint64_t len = GetLe(data, off, 4);
    uint32_t rows = static_cast<uint32_t>(GetLe(data, off + 4, 4));
    uint64_t sum = GetLe(data, off + 8, 8);
    if (off + kFrame + len > data.size()) break;
    std::string_view payload(data.data() + off + kFrame, len);
    if (Checksum(std::string_view(data.data() + off, 8), payload) != sum) break;
    if (!have_header) {
      size_t nl = payload.find('\n');
      if (rows != 0 || nl == std::string_view::npos || !payload.ends_with('\n')) break;
      out.writer_id = std::string(payload.substr(0, nl));
      out.header_line = std::string(payload.substr(nl + 1));
      have_header = true;
    } else {
      out.body.append(payload);
      out.rows += rows;
    }
    off += kFrame + len;
  }
  if (!have_header) {
    return InvalidArgument(fmt::format("spool segment {} has no valid header record", path.string()));
  }
  out.valid_bytes = off;
  out.torn = off != data.size();
  return out;
}

}  // namespace modelbay::results
