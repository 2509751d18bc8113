#include "store/store.h"

#include <fmt/format.h>

namespace modelbay {

Status Store::Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) {
  MB_ASSIGN_OR_RETURN(auto current, Head(key));
  if (!current) return NotFound(fmt::format("{} not found in {}", key, Describe()));
  if (current->etag != expected.etag) {
    return FailedPrecondition(fmt::format("{} in {} was replaced by another writer", key, Describe()));
  }
  MB_ASSIGN_OR_RETURN(std::string data, Get(key));
  data.append(tail);
  return Put(key, data);
}

}  // namespace modelbay
