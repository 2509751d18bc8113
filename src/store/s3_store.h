// S3 (or any S3-compatible server) as a Store. See s3_client.h for the
// signed-HTTP layer underneath.
#pragma once

#include "store/store.h"

namespace modelbay {

// Credentials are resolved lazily via the AWS chain (credentials.h).
Result<std::shared_ptr<Store>> OpenS3Store(const StoreLocation& location, const AwsConfig& aws);

}  // namespace modelbay
