#include "store/local_store.h"
#include "store/s3_store.h"

namespace modelbay {

Result<std::shared_ptr<Store>> OpenStore(const StoreLocation& location, const Config& config) {
  if (location.kind == StoreLocation::Kind::kLocal) {
    return std::shared_ptr<Store>(std::make_shared<LocalStore>(location.path));
  }
  return OpenS3Store(location, config.aws);
}

}  // namespace modelbay
