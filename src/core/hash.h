// SHA-256 and hex helpers (OpenSSL EVP), used for content hashes, artifact
// checksums and SigV4.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay {

std::string HexEncode(std::string_view bytes);
// `bytes` random bytes from the OS's CSPRNG (OpenSSL RAND_bytes), hex-encoded:
// tokens that tell one writer from another (reservations, leases).
// The one random-id source: request ids, writer ids, temp names, job ids.
std::string RandomHex(size_t bytes);
// A random 64-bit value from the same generator (never 0).
uint64_t RandomU64();
std::string Sha256Hex(std::string_view data);
// Streams the file; NotFound / InvalidArgument on read errors.
Result<std::string> Sha256FileHex(const std::filesystem::path& path);

// Incremental hashing, for data seen in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace modelbay
