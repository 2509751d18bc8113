#include "results/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <xxhash.h>

#include "core/posix_file.h"
#include "core/hash.h"

namespace modelbay::results {
namespace {

constexpr size_t kFrame = 16;
constexpr std::string_view kMagic2 = "mbseg2 ";
constexpr std::string_view kMagic3 = "mbseg3 ";

std::string_view MagicOf(SegmentFormat format) {
  return format == SegmentFormat::kMbseg3 ? kMagic3 : kMagic2;
}

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

// mbseg3: XXH3-64 of the payload seeded with `seed`, then XXH3-64 of the
// frame head (length, rows) seeded with that, so every bit of both counts.
// mbseg2 (and the unsalted format before it): FNV-1a; seed 0 is the original
// checksum (FNV-1a over length, rows, payload), any other seed is mixed in
// first.
uint64_t Checksum(SegmentFormat format, uint64_t seed, std::string_view frame_head, std::string_view payload) {
  if (format == SegmentFormat::kMbseg3) {
    const uint64_t body = XXH3_64bits_withSeed(payload.data(), payload.size(), seed);
    return XXH3_64bits_withSeed(frame_head.data(), frame_head.size(), body);
  }
  uint64_t h = 14695981039346656037ULL;
  if (seed != 0) {
    std::string s;
    PutLe(s, seed, 8);
    h = Fnv1a(h, s);
  }
  return Fnv1a(Fnv1a(h, frame_head), payload);
}

// The record at `off`, if it is whole and its checksum matches.
struct Frame {
  std::string_view payload;
  uint32_t rows = 0;
  size_t end = 0;
};
std::optional<Frame> FrameAt(std::string_view data, size_t off, SegmentFormat format, uint64_t seed) {
  if (off + kFrame > data.size()) return std::nullopt;
  const uint64_t len = GetLe(data, off, 4);
  if (len > data.size() - off - kFrame) return std::nullopt;
  Frame f;
  f.rows = static_cast<uint32_t>(GetLe(data, off + 4, 4));
  f.payload = data.substr(off + kFrame, len);
  f.end = off + kFrame + len;
  if (Checksum(format, seed, data.substr(off, 8), f.payload) != GetLe(data, off + 8, 8)) return std::nullopt;
  return f;
}

// A row record as the writer makes them: at least one row, whole CSV lines.
bool PlausibleRows(const Frame& f) {
  return f.rows > 0 && f.rows <= f.payload.size() && f.payload.ends_with('\n');
}

struct Header {
  SegmentFormat format = SegmentFormat::kMbseg2;
  uint64_t salt = 0;  // 0: a segment from before the salt
  std::string writer_id;
  std::string header_line;
};
// The header record checked with `format`'s checksum: valid only when its
// magic names that format (no magic: the unsalted format, FNV-1a).
std::optional<Header> ParseHeader(const Frame& f, SegmentFormat format) {
  if (f.rows != 0 || !f.payload.ends_with('\n')) return std::nullopt;
  std::string_view p = f.payload;
  Header h;
  h.format = format;
  const bool v3 = p.starts_with(kMagic3);
  if (v3 != (format == SegmentFormat::kMbseg3)) return std::nullopt;
  if (v3 || p.starts_with(kMagic2)) {
    const std::string_view magic = MagicOf(format);
    const size_t nl = p.find('\n');
    const std::string_view hex = p.substr(magic.size(), nl - magic.size());
    if (nl == std::string_view::npos || hex.size() != 16) return std::nullopt;
    for (char c : hex) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      h.salt = h.salt * 16 + static_cast<uint64_t>(d);
    }
    if (h.salt == 0) return std::nullopt;
    p.remove_prefix(nl + 1);
  }
  const size_t nl = p.find('\n');
  if (nl == std::string_view::npos || nl == 0) return std::nullopt;
  h.writer_id = std::string(p.substr(0, nl));
  h.header_line = std::string(p.substr(nl + 1));
  if (h.header_line.empty()) return std::nullopt;
  return h;
}

// The whole file; InvalidArgument for something that is not a regular file
// (a directory under a segment's name), Unavailable for a read error.
Result<std::string> ReadFileBytes(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable(fmt::format("cannot open spool segment {}: {}", path.string(), ErrnoText(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(fmt::format("spool segment {} is not a regular file", path.string()));
  }
  // One byte more than its size, so the read that finds the end needs no
  // reallocation (a sealed segment does not grow).
  std::string data(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t got = 0;
  for (;;) {
    if (got == data.size()) data.resize(got + 4096);  // it grew meanwhile
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Unavailable(fmt::format("cannot read spool segment {}: {}", path.string(), ErrnoText(err)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(got);
  return data;
}

}  // namespace

void AppendRecord(std::string& out, std::string_view payload, uint32_t rows, uint64_t seed, SegmentFormat format) {
  char head[8];
  const uint32_t len = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) {
    head[i] = static_cast<char>((len >> (8 * i)) & 0xff);
    head[4 + i] = static_cast<char>((rows >> (8 * i)) & 0xff);
  }
  const uint64_t sum = Checksum(format, seed, std::string_view(head, 8), payload);
  const size_t at = out.size();
  out.resize(at + kFrame + payload.size());
  char* p = out.data() + at;
  std::memcpy(p, head, 8);
  for (int i = 0; i < 8; ++i) p[8 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  std::memcpy(p + kFrame, payload.data(), payload.size());
}

uint64_t NewSegmentSalt() { return RandomU64(); }

std::string HeaderPayload(uint64_t salt, std::string_view writer_id, std::string_view header_line,
                          SegmentFormat format) {
  return fmt::format("{}{:016x}\n{}\n{}", MagicOf(format), salt, writer_id, header_line);
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
  MB_ASSIGN_OR_RETURN(const std::string data, ReadFileBytes(path));
  // Created (or made from a spare file of zeros, --fsync always) but its
  // header never reached the disk: a crash at the segment's start. No rows.
  if (data.find_first_not_of('\0') == std::string::npos) {
    SegmentContents empty;
    empty.zero_tail = !data.empty();
    return empty;
  }

  // The header record says the format; its checksum must be that format's.
  std::optional<Frame> first;
  std::optional<Header> header;
  for (SegmentFormat format : {SegmentFormat::kMbseg3, SegmentFormat::kMbseg2}) {
    first = FrameAt(data, 0, format, 0);
    header = first ? ParseHeader(*first, format) : std::nullopt;
    if (header) break;
  }
  if (!header) {
    return InvalidArgument(fmt::format("spool segment {} has no valid header record", path.string()));
  }
  SegmentContents out;
  out.writer_id = std::move(header->writer_id);
  out.header_line = std::move(header->header_line);
  const SegmentFormat format = header->format;
  const uint64_t seed = header->salt;
  size_t off = first->end;
  out.valid_bytes = off;
  // The body is at most the rest, and a shipper puts the header line in
  // front of it in place (ShipSegment): room for both, allocated once.
  out.body.reserve(data.size() - off + out.header_line.size());
  while (off < data.size()) {
    auto frame = FrameAt(data, off, format, seed);
    if (frame && PlausibleRows(*frame)) {
      out.body.append(frame->payload);
      out.rows += frame->rows;
      off = out.valid_bytes = frame->end;
      continue;
    }
    // Space preallocated for appends (--fsync always) and not written yet.
    if (data.find_first_not_of('\0', off) == std::string::npos) {
      out.zero_tail = true;
      break;
    }
    // A damaged record: find the next one that checks out. Unsalted (old)
    // segments are not scanned byte by byte: client text could forge a frame.
    std::optional<size_t> next;
    for (size_t at = off + 1; seed != 0 && at + kFrame <= data.size(); ++at) {
      if (auto f = FrameAt(data, at, format, seed); f && PlausibleRows(*f)) {
        next = at;
        break;
      }
    }
    if (!next) break;  // the rest is a torn tail
    if (out.skipped_bytes == 0) out.first_skipped_at = off;
    out.skipped_bytes += *next - off;
    off = *next;
  }
  out.torn = !out.zero_tail && out.valid_bytes != data.size();
  return out;
}

}  // namespace modelbay::results
