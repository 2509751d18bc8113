// S3 (or any S3-compatible server) as a Store. The signed-HTTP layer
// underneath is http_client.h (AWS policy: signing, retries, error wording)
// over curl_transport.h (the only file that talks to libcurl).
#pragma once

#include "store/store.h"

namespace modelbay {

// Credentials are resolved lazily via the AWS chain (credentials.h).
Result<std::shared_ptr<Store>> OpenS3Store(const StoreLocation& location, const AwsConfig& aws);

}  // namespace modelbay
