// The data store: uploading CSV files and choosing which ones a training
// reads. Objects under `.modelbay/` in the data store are modelbay's own
// bookkeeping (upload records); every other object ending in .csv is data,
// whoever put it there (modelbay upload, Ansible, boto3, the console).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"
#include "core/status.h"
#include "store/store.h"

namespace modelbay {

struct DataFile {
  std::string key;
  std::string etag;
  int64_t last_modified_ms = 0;
  uint64_t size = 0;
  std::string sha256;  // filled once the content has been read
  size_t rows = 0;     // filled once parsed
};

struct UploadOptions {
  std::string name;                 // key in the data store; default: file name
  std::optional<std::string> target;  // when set, the file must have it
  // The file's delimiter (`upload --sep`); another than ',' makes the file
  // read with it and stored comma-separated (ToCommaSeparated). Without it a
  // file written with `;`, tab or `|` is refused with a hint.
  char delimiter = ',';
};

struct UploadOutcome {
  std::string key;
  std::string sha256;
  size_t rows = 0;
  bool unchanged = false;  // identical content was already there: no-op
};

// Validates `file` (ReadCsvFile + target check) and stores it (converted to
// commas when options.delimiter is another). Nothing is written when
// validation fails. `sha256` and `rows` describe what is stored.
Result<UploadOutcome> UploadData(Store& data, const std::filesystem::path& file,
                                 const UploadOptions& options);

// "latest" (newest by upload time; the seed's rule), "all" (every data file,
// identical content once), or a key. NotFound when the store has no data.
Result<std::vector<DataFile>> SelectData(Store& data, std::string_view spec);

// Downloads and parses the selected files (one table; "all" concatenates),
// filling sha256 and rows of each DataFile. A file whose content is identical
// to an earlier one is read once: it is dropped from `files`, so `files` ends
// as exactly the data the table holds. Different headers, or no data rows at
// all, are InvalidArgument.
Result<CsvTable> LoadData(Store& data, std::vector<DataFile>& files);

}  // namespace modelbay
