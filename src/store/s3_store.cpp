// Placeholder until the S3 backend lands (issue 2, item 3).
#include "store/s3_store.h"

namespace modelbay {

Result<std::shared_ptr<Store>> OpenS3Store(const StoreLocation& location, const AwsConfig&) {
  return FailedPrecondition("S3 stores are not built yet: " + location.ToString());
}

}  // namespace modelbay
