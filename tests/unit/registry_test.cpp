#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model_fixtures.h"
#include "registry/bundle.h"
#include "registry/layout.h"
#include "registry/model_name.h"
#include "registry/registry.h"
#include "store/local_store.h"
#include "store/prefixed_store.h"
#include "test_util.h"

namespace modelbay {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::_;
using ::testing::HasSubstr;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

class RegistryTest : public TempDirTest {
 protected:
  void SetUp() override {
    root_ = tmp() / "store";
    store_ = std::make_shared<LocalStore>(root_);
    registry_ = std::make_unique<Registry>(store_);
  }

  int PublishOne(std::string model = fixtures::TinyModelJson()) {
    auto v = registry_->Publish(model, fixtures::TinyPreprocessorJson(), {{"target", "churn"}});
    EXPECT_THAT(v, IsOk());
    return v.ok() ? *v : -1;
  }
  std::vector<std::string> Keys() {
    auto objects = store_->List("");
    EXPECT_TRUE(objects.ok());
    std::vector<std::string> keys;
    for (const auto& o : *objects) keys.push_back(o.key);
    return keys;
  }

  fs::path root_;
  std::shared_ptr<LocalStore> store_;
  std::unique_ptr<Registry> registry_;
};

// Builds a zip with arbitrary entries, as an attacker would.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* sink = zip_source_buffer_create(nullptr, 0, 0, &err);
  zip_source_keep(sink);
  zip_t* za = zip_open_from_source(sink, ZIP_TRUNCATE, &err);
  for (const auto& [name, data] : entries) {
    zip_source_t* src = zip_source_buffer(za, data.data(), data.size(), 0);
    EXPECT_GE(zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8), 0) << zip_strerror(za);
  }
  EXPECT_EQ(zip_close(za), 0);
  zip_stat_t st;
  zip_source_stat(sink, &st);
  std::string out(st.size, '\0');
  zip_source_open(sink);
  zip_source_read(sink, out.data(), out.size());
  zip_source_close(sink);
  zip_source_free(sink);
  return out;
}

TEST_F(RegistryTest, PublishWritesTheLayoutAndFetchReturnsTheBytes) {
  ASSERT_EQ(PublishOne(), 1);
  std::vector<std::string> expected = {"1/.committed",    "1/.reserved",      "1/metadata.json",
                                       "1/model.json",    "1/model_af_1.zip", "1/preprocessor.json"};
  EXPECT_EQ(Keys(), expected);
  auto art = registry_->Fetch(1);
  ASSERT_THAT(art, IsOk());
  EXPECT_EQ(art->model, fixtures::TinyModelJson());
  EXPECT_EQ(art->metadata["version"], 1);
  EXPECT_EQ(art->metadata["target"], "churn");
  EXPECT_EQ(art->metadata["artifacts"]["model.json"]["size"], art->model.size());
  EXPECT_FALSE(art->metadata["created"].get<std::string>().empty());
  EXPECT_EQ(*registry_->ListVersions(), std::vector<int>{1});
}

TEST_F(RegistryTest, ConcurrentPublishersGetDistinctConsecutiveVersions) {
  constexpr int kThreads = 8;
  std::vector<int> got(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Registry own(std::make_shared<LocalStore>(root_));  // as separate processes would
      auto v = own.Publish(fixtures::TinyModelJson(0.1f * static_cast<float>(i + 1)),
                           fixtures::TinyPreprocessorJson(), json::object());
      got[i] = v.ok() ? *v : -1;
    });
  }
  for (auto& t : threads) t.join();
  std::sort(got.begin(), got.end());
  std::vector<int> want(kThreads);
  std::iota(want.begin(), want.end(), 1);
  EXPECT_EQ(got, want);
  EXPECT_EQ(*registry_->ListVersions(), want);
  for (int v : want) EXPECT_TRUE(registry_->Fetch(v).ok()) << v;
}

TEST_F(RegistryTest, HalfWrittenVersionIsInvisibleAndItsNumberIsNeverReused) {
  ASSERT_TRUE(store_->Put("1/.reserved", "{}").ok());  // a training that crashed
  ASSERT_TRUE(store_->Put("1/model.json", "{}").ok());
  EXPECT_TRUE(registry_->ListVersions()->empty());
  EXPECT_THAT(registry_->Resolve("1"), StatusIs(Code::kNotFound, HasSubstr("not complete")));
  EXPECT_THAT(registry_->Resolve("latest"), StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(registry_->SetAlias("production", 1, ""), StatusIs(Code::kNotFound, _));
  EXPECT_EQ(PublishOne(), 2);
  EXPECT_EQ(*registry_->ListVersions(), std::vector<int>{2});
}

TEST_F(RegistryTest, FoldersThatAreNotStrictVersionNumbersAreIgnored) {
  for (std::string folder : {"01", "1a", "-1", "0", "+2", "v3"}) {
    ASSERT_TRUE(store_->Put(folder + "/.committed", "{}").ok());
    ASSERT_TRUE(store_->Put(folder + "/.reserved", "{}").ok());
  }
  EXPECT_TRUE(registry_->ListVersions()->empty());
  EXPECT_EQ(PublishOne(), 1);
  EXPECT_EQ(*registry_->ListVersions(), std::vector<int>{1});
  EXPECT_EQ(ParseVersionNumber("12"), 12);
  for (auto bad : {"", "0", "01", "1a", "-1", " 1", "1 ", "9999999999"}) EXPECT_FALSE(ParseVersionNumber(bad)) << bad;
  EXPECT_THAT(registry_->Resolve("01"), StatusIs(Code::kInvalidArgument, _));
}

TEST_F(RegistryTest, TamperedOrTruncatedArtifactIsRefusedNamingTheFile) {
  ASSERT_EQ(PublishOne(), 1);
  ASSERT_EQ(PublishOne(), 2);
  ASSERT_EQ(PublishOne(), 3);
  ASSERT_TRUE(store_->Put("1/model.json", R"({"learner": "evil"})").ok());
  auto prep = store_->Get("2/preprocessor.json");
  ASSERT_TRUE(store_->Put("2/preprocessor.json", prep->substr(0, prep->size() / 2)).ok());
  ASSERT_TRUE(store_->Put("3/metadata.json", "{}").ok());

  struct Case { int version; std::string file; };
  for (const auto& c : {Case{1, "1/model.json"}, Case{2, "2/preprocessor.json"}, Case{3, "3/metadata.json"}}) {
    auto art = registry_->Fetch(c.version);
    ASSERT_THAT(art, StatusIs(Code::kDataLoss, _)) << c.file;
    EXPECT_THAT(art, StatusIs(_, HasSubstr(c.file + ": sha256 mismatch")));
    EXPECT_THAT(art, StatusIs(_, HasSubstr("re-import or retrain")));
  }
  ASSERT_TRUE(store_->Delete("1/model.json").ok());
  EXPECT_THAT(registry_->Fetch(1), StatusIs(Code::kDataLoss, HasSubstr("1/model.json: missing")));
}

TEST_F(RegistryTest, AliasesSetGetResolve) {
  EXPECT_THAT(registry_->Resolve("production"),
              StatusIs(Code::kNotFound, HasSubstr("no version is promoted to production yet")));
  ASSERT_EQ(PublishOne(), 1);
  ASSERT_EQ(PublishOne(), 2);
  ASSERT_TRUE(registry_->SetAlias("production", 1, "first").ok());
  ASSERT_TRUE(registry_->SetAlias("production", 2, "better").ok());
  ASSERT_TRUE(registry_->SetAlias("staging", 1, "").ok());
  EXPECT_EQ(*registry_->GetAlias("production"), 2);
  EXPECT_EQ(*registry_->Resolve("production"), 2);
  EXPECT_EQ(*registry_->Resolve("staging"), 1);
  EXPECT_EQ(*registry_->Resolve("latest"), 2);
  EXPECT_EQ(*registry_->Resolve("1"), 1);
  EXPECT_EQ(registry_->Aliases()->aliases, (std::map<std::string, int>{{"production", 2}, {"staging", 1}}));
  auto doc = json::parse(*store_->Get("aliases/production.json"));
  EXPECT_EQ(doc["version"], 2);
  EXPECT_EQ(doc["previous"], 1);
  EXPECT_EQ(doc["reason"], "better");

  EXPECT_THAT(registry_->Resolve("canary"), StatusIs(Code::kNotFound, HasSubstr("production -> 2")));
  EXPECT_THAT(registry_->Resolve("7"), StatusIs(Code::kNotFound, HasSubstr("versions: 1, 2")));
  EXPECT_THAT(registry_->SetAlias("production", 9, ""), StatusIs(Code::kNotFound, _));
  for (auto bad : {"latest", "Prod", "12", "-x", "a b", "../x", ""}) {
    EXPECT_THAT(registry_->SetAlias(bad, 1, ""), StatusIs(Code::kInvalidArgument, _)) << bad;
  }
}

TEST_F(RegistryTest, BundleRoundTripAndImportAsANewVersion) {
  BundleFiles files{"m", "p", R"({"a": 1})"};
  auto zip = WriteBundle(files);
  ASSERT_TRUE(zip.ok());
  auto back = ReadBundle(*zip, "test.zip");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->model, "m");
  EXPECT_EQ(back->metadata, R"({"a": 1})");

  ASSERT_EQ(PublishOne(fixtures::TinyModelJson(0.25f)), 1);
  auto bundle = registry_->Bundle(1);
  ASSERT_THAT(bundle, IsOk());
  EXPECT_EQ(ReadBundle(*bundle, "b")->metadata, *store_->Get("1/metadata.json"));
  auto v = registry_->Import(*bundle, "import");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->version, 2);
  auto art = registry_->Fetch(2);
  ASSERT_THAT(art, IsOk());
  EXPECT_EQ(art->model, fixtures::TinyModelJson(0.25f));
  EXPECT_EQ(art->metadata["version"], 2);
  EXPECT_EQ(art->metadata["trigger"], "import");
  EXPECT_EQ(art->metadata["target"], "churn");
  EXPECT_EQ(art->metadata["imported_from"]["version"], 1);
  EXPECT_EQ(art->metadata["imported_from"]["bundle_sha256"].get<std::string>().size(), 64u);
}

TEST_F(RegistryTest, MaliciousBundlesAreRejectedAndNothingIsWritten) {
  registry_->SetBundleLimits({.max_entries = 16, .max_entry_bytes = 4096, .max_total_bytes = 16384});
  const std::string model = fixtures::TinyModelJson(), prep = fixtures::TinyPreprocessorJson();
  std::string meta = json{{"artifacts", {{"model.json", registry_internal::Checksum(model)},
                                         {"preprocessor.json", registry_internal::Checksum(prep)}}}}.dump();
  std::vector<std::pair<std::string, std::string>> good = {
      {"model.json", model}, {"preprocessor.json", prep}, {"metadata.json", meta}};
  auto with = [&](auto edit) { auto e = good; edit(e); return MakeZip(e); };

  struct Case { std::string name, zip, expect; Code code; };
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 40; ++i) many.emplace_back("f" + std::to_string(i), "x");
  std::vector<Case> cases = {
      {"traversal", with([](auto& e) { e[0].first = "../model.json"; }), "outside the bundle", Code::kInvalidArgument},
      {"absolute", with([](auto& e) { e[1].first = "/etc/preprocessor.json"; }), "outside the bundle",
       Code::kInvalidArgument},
      {"too many entries", MakeZip(many), "has 40 entries", Code::kInvalidArgument},
      {"oversized entry", with([](auto& e) { e[0].second = std::string(20000, 'z'); }), "over the limit",
       Code::kInvalidArgument},
      {"missing file", with([](auto& e) { e.pop_back(); }), "has no metadata.json", Code::kInvalidArgument},
      {"extra file", with([](auto& e) { e.emplace_back("run.sh", "rm -rf /"); }), "unexpected",
       Code::kInvalidArgument},
      {"not a zip", "PK but not really", "not a valid zip", Code::kInvalidArgument},
      {"bad metadata", with([](auto& e) { e[2].second = "{"; }), "not valid JSON", Code::kInvalidArgument},
      {"checksum", with([](auto& e) { e[0].second = "M"; }), "model.json: sha256 mismatch", Code::kDataLoss},
  };
  for (const auto& c : cases) {
    auto v = registry_->Import(c.zip, "import", "evil.zip");
    ASSERT_FALSE(v.ok()) << c.name;
    EXPECT_THAT(v, StatusIs(c.code, HasSubstr(c.expect))) << c.name;
    EXPECT_THAT(v, StatusIs(_, HasSubstr("evil.zip"))) << c.name;
  }
  EXPECT_TRUE(Keys().empty());
  EXPECT_EQ(registry_->Import(MakeZip(good), "import")->version, 1);
}

// An attacker can recompute every checksum; the model itself must still be
// refused before it becomes a version (issue 12).
TEST_F(RegistryTest, ImportRefusesAnInvalidModelWhoseChecksumsWereRecomputed) {
  json doc = json::parse(fixtures::TinyModelJson());
  doc["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"][0] = 1000000;
  const std::string model = doc.dump(), prep = fixtures::TinyPreprocessorJson();
  std::string meta = json{{"artifacts", {{"model.json", registry_internal::Checksum(model)},
                                         {"preprocessor.json", registry_internal::Checksum(prep)}}}}.dump();
  auto v = registry_->Import(MakeZip({{"model.json", model}, {"preprocessor.json", prep}, {"metadata.json", meta}}),
                             "import", "evil.zip");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v, StatusIs(Code::kInvalidArgument,
                          HasSubstr("evil.zip model.json: tree 0, node 0: "
                                    "split index 1000000 is not a feature")));
  EXPECT_TRUE(Keys().empty()) << "no version number may be claimed";
  auto direct = registry_->Publish(model, prep, json::object());
  EXPECT_THAT(direct, StatusIs(Code::kInvalidArgument, _));
  EXPECT_TRUE(Keys().empty());
}

// Patches the uncompressed size recorded for every entry (local headers and
// central directory) to `size`, as a forged zip would under-declare it.
std::string UnderDeclare(std::string zip, uint32_t size) {
  auto put32 = [&](size_t at) {
    for (int i = 0; i < 4; ++i) zip[at + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  };
  for (size_t i = 0; i + 46 <= zip.size(); ++i) {
    if (zip.compare(i, 4, "PK\x03\x04") == 0) put32(i + 22);
    if (zip.compare(i, 4, "PK\x01\x02") == 0) put32(i + 24);
  }
  return zip;
}

TEST(Bundle, AnEntryThatInflatesPastItsDeclaredSizeStopsThere) {
  // 8 MiB of zeros deflate to a few KiB; the header claims 1000 bytes.
  BundleFiles files{std::string(8u << 20, '\0'), "p", "{}"};
  auto zip = WriteBundle(files);
  ASSERT_TRUE(zip.ok());
  auto forged = UnderDeclare(*zip, 1000);
  auto r = ReadBundle(forged, "forged.zip");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r, StatusIs(Code::kInvalidArgument, _));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("expands past the 1000 bytes its header declares"));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("forged.zip: entry 'model.json'"));
}

TEST(VersionSpecs, OneParserForNumbersLatestAndAliases) {
  EXPECT_EQ(ParseVersionNumber("12"), 12);
  EXPECT_EQ(ParseVersionNumber("999999999"), 999999999);
  for (auto bad : {"", "0", "01", "1a", "-1", "+1", " 1", "1 ", "1.0", "1e3", "9999999999", "1000000000"}) {
    EXPECT_FALSE(ParseVersionNumber(bad)) << bad;
  }
  auto three = ParseVersionSpec("3");
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->kind, VersionSpec::Kind::kNumber);
  EXPECT_EQ(three->number, 3);
  EXPECT_EQ(ParseVersionSpec("latest")->kind, VersionSpec::Kind::kLatest);
  EXPECT_EQ(ParseVersionSpec("staging")->alias, "staging");
  for (auto bad : {"01", "1.0", "-1", "../1", " 1", "latest ", "", "Prod", "12345678901234567890"}) {
    auto r = ParseVersionSpec(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r, StatusIs(Code::kInvalidArgument, _)) << bad;
    EXPECT_THAT(r.status().message(), ::testing::HasSubstr("is not a valid version")) << bad;
  }
  EXPECT_THAT(ParseVersionSpec("01").status().message(), ::testing::HasSubstr("leading zeros"));
  EXPECT_THAT(ParseVersionSpec("12345678901").status().message(), ::testing::HasSubstr("too large"));
}

TEST_F(RegistryTest, MalformedSpecsAreInvalidNotMissing) {
  ASSERT_EQ(PublishOne(), 1);
  for (auto bad : {"01", "1.0", "-1", "../1", " 1", "latest ", "99999999999"}) {
    EXPECT_THAT(registry_->Resolve(bad), StatusIs(Code::kInvalidArgument, _)) << bad;
  }
}

TEST_F(RegistryTest, ADamagedAliasIsListedAsDamagedAndTheRestStillWorks) {
  ASSERT_EQ(PublishOne(), 1);
  ASSERT_EQ(PublishOne(), 2);
  ASSERT_TRUE(registry_->SetAlias("production", 2, "").ok());
  ASSERT_TRUE(store_->Put("aliases/broken.json", "{not json").ok());
  ASSERT_TRUE(store_->Put("aliases/dots.json", R"({"version": "../1"})").ok());
  auto table = registry_->Aliases();
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->aliases, (std::map<std::string, int>{{"production", 2}}));
  ASSERT_EQ(table->damaged.size(), 2u);
  EXPECT_THAT(table->damaged.at("broken"), ::testing::HasSubstr("aliases/broken.json is not valid JSON"));
  EXPECT_THAT(table->damaged.at("dots"), ::testing::HasSubstr("no valid \"version\""));
  EXPECT_EQ(*registry_->Resolve("1"), 1);
  EXPECT_EQ(*registry_->Resolve("production"), 2);
  EXPECT_THAT(registry_->Resolve("broken"), StatusIs(Code::kDataLoss, _));
  // An unknown alias still lists the healthy ones.
  EXPECT_THAT(registry_->Resolve("canary").status().message(), ::testing::HasSubstr("production -> 2"));
}

TEST_F(RegistryTest, ACopiedOrLinkedVersionFolderIsNotThatVersion) {
  ASSERT_EQ(PublishOne(), 1);
  fs::copy(root_ / "1", root_ / "2", fs::copy_options::recursive);
  auto copied = registry_->Resolve("2");
  EXPECT_THAT(copied, StatusIs(Code::kDataLoss, _));
  EXPECT_THAT(copied.status().message(), ::testing::HasSubstr("2/.committed says it is version 1, not 2"));
  EXPECT_THAT(registry_->Fetch(2), StatusIs(Code::kDataLoss, _));
  // A symlinked folder: hidden from the listing, and refused by promote.
  fs::create_directory_symlink(root_ / "1", root_ / "3");
  EXPECT_THAT(registry_->SetAlias("production", 3, ""), StatusIs(Code::kDataLoss, _));
  EXPECT_THAT(registry_->Resolve("3"), StatusIs(Code::kDataLoss, _));
  EXPECT_TRUE(registry_->SetAlias("production", 1, "").ok());
}

TEST_F(RegistryTest, AnAliasOnAnUncommittedVersionSaysSo) {
  ASSERT_EQ(PublishOne(), 1);
  ASSERT_TRUE(store_->PutIfAbsent("2/.reserved", "{}").ok());
  ASSERT_TRUE(store_->Put("aliases/staging.json", R"({"version": 2})").ok());
  auto r = registry_->Resolve("staging");
  EXPECT_THAT(r, StatusIs(Code::kNotFound, _));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("alias 'staging' points to version 2"));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("version 2 is not complete"));
}

TEST_F(RegistryTest, EachReservationIsUniqueSoARetryCanRecogniseItsOwn) {
  ASSERT_EQ(PublishOne(), 1);
  ASSERT_EQ(PublishOne(), 2);
  auto a = json::parse(*store_->Get("1/.reserved"));
  auto b = json::parse(*store_->Get("2/.reserved"));
  ASSERT_TRUE(a["token"].is_string());
  EXPECT_EQ(a["token"].get<std::string>().size(), 32u);
  EXPECT_NE(a["token"], b["token"]);
}

TEST(RegistryLayout, FormatVersionsCollapsesRanges) {
  using registry_internal::FormatVersions;
  EXPECT_EQ(FormatVersions({}), "none");
  EXPECT_EQ(FormatVersions({1, 2, 3, 5, 7, 8}), "1-3, 5, 7, 8");
}

// Named models: the one name parser, and the layout that keeps each model in
// its own folder while the unnamed model keeps the root.
TEST(ModelNameTest, ParsesNamesStrictly) {
  EXPECT_EQ(*ParseModelName(""), "");
  EXPECT_EQ(*ParseModelName("default"), "");  // the unnamed model
  EXPECT_EQ(*ParseModelName("churn"), "churn");
  EXPECT_EQ(*ParseModelName("fraud-v2_b"), "fraud-v2_b");
  EXPECT_EQ(*ParseModelName("9lives"), "9lives");
  EXPECT_EQ(*ParseModelName(std::string(63, 'a')), std::string(63, 'a'));
  for (const std::string& bad : std::vector<std::string>{"Churn", "-x", "_x", "123", "a/b", "../a", "a b", "a.b", "caf\xc3\xa9", "a\n",
                          std::string(64, 'a'), std::string("a\0b", 3)}) {
    auto r = ParseModelName(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r, StatusIs(Code::kInvalidArgument, _)) << bad;
    EXPECT_THAT(r.status().message(), ::testing::HasSubstr("model name")) << bad;
  }
  // A message never carries a byte that is not printable ASCII.
  EXPECT_THAT(ParseModelName("caf\xc3\xa9").status().message(), ::testing::HasSubstr("'caf\\xc3\\xa9'"));
  EXPECT_THAT(ParseModelName("a\nb").status().message(), ::testing::HasSubstr("'\\x0a' is not allowed"));
  EXPECT_EQ(DisplayModelName(""), "default");
  EXPECT_EQ(DisplayModelName("churn"), "churn");
  EXPECT_EQ(ModelKeyPrefix(""), "");
  EXPECT_EQ(ModelKeyPrefix("churn"), "models/churn/");
}

TEST_F(RegistryTest, NamedModelsNumberVersionsApartFromTheUnnamedModel) {
  PublishOne();  // the unnamed model's version 1
  Registry churn(ModelScope(store_, "churn"));
  Registry fraud(ModelScope(store_, "fraud"));
  for (int i = 0; i < 2; ++i) {
    auto v = churn.Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {{"target", "churn"}});
    ASSERT_THAT(v, IsOk());
    EXPECT_EQ(*v, i + 1);
  }
  ASSERT_EQ(*fraud.Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {{"target", "x"}}), 1);
  ASSERT_TRUE(churn.SetAlias("production", 2, "test").ok());

  EXPECT_EQ(*registry_->ListVersions(), std::vector<int>{1});  // the others' folders are not versions
  EXPECT_EQ(*churn.ListVersions(), (std::vector<int>{1, 2}));
  EXPECT_EQ(*fraud.ListVersions(), std::vector<int>{1});
  EXPECT_FALSE(registry_->GetAlias("production")->has_value());
  EXPECT_EQ(**churn.GetAlias("production"), 2);
  EXPECT_TRUE(registry_->Fetch(1).ok());
  EXPECT_TRUE(churn.Fetch(2).ok());
  // The next unnamed version is 2, whatever the named models hold.
  EXPECT_EQ(PublishOne(), 2);

  const auto keys = Keys();
  for (const char* key : {"1/.committed", "2/.committed", "models/churn/1/.committed", "models/churn/2/model.json",
                          "models/churn/aliases/production.json", "models/fraud/1/.committed"}) {
    EXPECT_THAT(keys, ::testing::Contains(std::string(key)));
  }
  EXPECT_THAT(keys, ::testing::Not(::testing::Contains(std::string("aliases/production.json"))));
  EXPECT_EQ(*ListNamedModels(*store_), (std::vector<std::string>{"churn", "fraud"}));
  // Only committed versions make a model: a reserved, never committed folder does not.
  ASSERT_TRUE(store_->Put("models/ghost/1/.reserved", "{}").ok());
  ASSERT_TRUE(store_->Put("models/Bad/1/.committed", "{}").ok());
  EXPECT_EQ(*ListNamedModels(*store_), (std::vector<std::string>{"churn", "fraud"}));
}

TEST_F(RegistryTest, PrefixedStoreKeepsKeysRelative) {
  auto scoped = std::make_shared<PrefixedStore>(store_, "models/m/");
  ASSERT_TRUE(scoped->Put("a/b.txt", "hello").ok());
  EXPECT_EQ(*store_->Get("models/m/a/b.txt"), "hello");
  EXPECT_EQ(*scoped->Get("a/b.txt"), "hello");
  EXPECT_EQ(*scoped->GetRange("a/b.txt", 1, 3), "ell");
  auto head = scoped->Head("a/b.txt");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->key, "a/b.txt");
  EXPECT_THAT(scoped->PutIfAbsent("a/b.txt", "other"), StatusIs(Code::kAlreadyExists, _));
  ASSERT_TRUE(scoped->Concat("a/b.txt", **head, " world").ok());
  EXPECT_EQ(*scoped->Get("a/b.txt"), "hello world");
  auto listed = scoped->List("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "a/b.txt");
  EXPECT_THAT(scoped->Cleanup(true), StatusIs(Code::kFailedPrecondition, _));
  EXPECT_THAT(scoped->Describe(), ::testing::EndsWith("/models/m"));
  ASSERT_TRUE(scoped->Delete("a/b.txt").ok());
  EXPECT_THAT(store_->Get("models/m/a/b.txt"), StatusIs(Code::kNotFound, _));
}

// ---- Housekeeping (issue 15): archive, delete, alias rm, tags, description,
// the import of a bundle imported before. Kept together at the end.

using ::testing::ElementsAre;

// A store that forwards to another, counts Gets and can fail the Nth Delete
// (a crash of the deleting process at that point: nothing after it runs).
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::shared_ptr<Store> base) : base_(std::move(base)) {}
  std::string Describe() const override { return base_->Describe(); }
  Result<std::string> Get(const std::string& key) override {
    ++gets;
    return base_->Get(key);
  }
  Status Put(const std::string& key, std::string_view data) override { return base_->Put(key, data); }
  Status PutIfAbsent(const std::string& key, std::string_view data) override { return base_->PutIfAbsent(key, data); }
  Status PutFile(const std::string& key, const fs::path& file) override { return base_->PutFile(key, file); }
  Status GetToFile(const std::string& key, const fs::path& file) override { return base_->GetToFile(key, file); }
  Result<std::optional<ObjectInfo>> Head(const std::string& key) override { return base_->Head(key); }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override { return base_->List(prefix); }
  Status Delete(const std::string& key) override {
    if (fail_delete_at >= 0 && deletes++ == fail_delete_at) return Unavailable("injected: the process died here");
    return base_->Delete(key);
  }
  Result<CleanupReport> Cleanup(bool dry_run) override { return base_->Cleanup(dry_run); }

  int gets = 0;
  int deletes = 0;
  int fail_delete_at = -1;

 private:
  std::shared_ptr<Store> base_;
};

TEST_F(RegistryTest, AnArchivedVersionIsKeptAndServedByNumberButNeverLatest) {
  for (int i = 0; i < 3; ++i) PublishOne();
  ASSERT_THAT(registry_->Archive(3, false), IsOk());
  EXPECT_THAT(registry_->Resolve("latest"), IsOkAndHolds(2));
  EXPECT_THAT(registry_->Resolve("3"), IsOkAndHolds(3));
  EXPECT_THAT(registry_->Fetch(3), IsOk());
  EXPECT_THAT(registry_->ListVersions(), IsOkAndHolds(ElementsAre(1, 2, 3)));
  auto listing = registry_->Listing(false);
  ASSERT_THAT(listing, IsOk());
  EXPECT_THAT(listing->archived, ElementsAre(3));
  EXPECT_EQ(listing->latest, 2);
  ASSERT_THAT(registry_->Archive(3, false), IsOk()) << "archiving twice is harmless";
  ASSERT_THAT(registry_->Archive(2, false), IsOk());
  ASSERT_THAT(registry_->Archive(1, false), IsOk());
  EXPECT_THAT(registry_->Resolve("latest"),
              StatusIs(Code::kFailedPrecondition, HasSubstr("every version is archived (1-3)")));
  ASSERT_THAT(registry_->Unarchive(3), IsOk());
  EXPECT_THAT(registry_->Resolve("latest"), IsOkAndHolds(3));
  EXPECT_THAT(registry_->Archive(9, false), StatusIs(Code::kNotFound, HasSubstr("version 9 does not exist")));
}

TEST_F(RegistryTest, ArchiveAndDeleteRefuseAVersionAnAliasPointsToUnlessForced) {
  PublishOne();
  PublishOne();
  ASSERT_THAT(registry_->SetAlias("production", 2, "test"), IsOk());
  ASSERT_THAT(registry_->SetAlias("staging", 2, "test"), IsOk());
  for (auto st : {registry_->Archive(2, false), registry_->Delete(2, false).status()}) {
    EXPECT_THAT(st, StatusIs(Code::kFailedPrecondition, HasSubstr("alias 'production', 'staging' points to")));
    EXPECT_THAT(st, StatusIs(_, HasSubstr("modelbay models alias rm production")));
    EXPECT_THAT(st, StatusIs(_, HasSubstr("--force")));
  }
  EXPECT_THAT(registry_->ListVersions(), IsOkAndHolds(ElementsAre(1, 2)));
  EXPECT_THAT(registry_->Listing(false)->archived, ::testing::IsEmpty());
  // --force on archive keeps the aliases: they still serve the version.
  ASSERT_THAT(registry_->Archive(2, true), IsOk());
  EXPECT_THAT(registry_->Resolve("production"), IsOkAndHolds(2));
  EXPECT_THAT(registry_->Resolve("latest"), IsOkAndHolds(1));
  // --force on delete removes them: they would point at nothing.
  auto report = registry_->Delete(2, true);
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->removed_aliases, ElementsAre("production", "staging"));
  EXPECT_THAT(registry_->GetAlias("production"), IsOkAndHolds(std::optional<int>()));
  EXPECT_THAT(registry_->Resolve("2"), StatusIs(Code::kNotFound, HasSubstr("version 2 was deleted")));
}

TEST_F(RegistryTest, ADeletedVersionIsGoneButItsNumberIsNeverReused) {
  for (int i = 0; i < 3; ++i) PublishOne();
  ASSERT_THAT(registry_->Describe(3, "to go"), IsOk());
  ASSERT_THAT(registry_->SetTags(3, {{"owner", "ana"}}), IsOk());
  auto report = registry_->Delete(3, false);
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->finished_earlier_delete);
  EXPECT_THAT(registry_->ListVersions(), IsOkAndHolds(ElementsAre(1, 2)));
  EXPECT_THAT(registry_->Resolve("latest"), IsOkAndHolds(2));
  std::vector<std::string> left;
  for (const auto& k : Keys()) {
    if (k.starts_with("3/")) left.push_back(k);
  }
  EXPECT_THAT(left, ElementsAre("3/.deleted", "3/.reserved"));
  EXPECT_EQ(PublishOne(), 4);
  EXPECT_THAT(registry_->Delete(3, false), StatusIs(Code::kNotFound, HasSubstr("version 3 was deleted")));
  EXPECT_THAT(registry_->Delete(7, false), StatusIs(Code::kNotFound, HasSubstr("does not exist")));
}

// A delete killed after any of its store writes leaves either the whole
// version (listed, loadable) or an invisible remainder: never a listed
// version that fails to load, never a `latest` that names a half-deleted
// one. A second delete finishes the job.
TEST_F(RegistryTest, ADeleteThatStopsAtAnyStepLeavesAWholeVersionOrNone) {
  for (int crash_at = 0;; ++crash_at) {
    SCOPED_TRACE(crash_at);
    fs::remove_all(root_);
    auto faulty = std::make_shared<FaultyStore>(store_);
    Registry registry(faulty);
    for (int i = 0; i < 2; ++i) {
      ASSERT_THAT(registry.Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {}), IsOk());
    }
    ASSERT_THAT(registry.SetTags(2, {{"owner", "ana"}}), IsOk());
    faulty->fail_delete_at = crash_at;
    auto first = registry.Delete(2, false);
    faulty->fail_delete_at = -1;
    if (first.ok()) {  // no delete left to fail: every step was covered
      EXPECT_GT(crash_at, 3);
      break;
    }
    auto versions = registry.ListVersions();
    ASSERT_THAT(versions, IsOk());
    if (versions->size() == 2) {
      EXPECT_THAT(registry.Fetch(2), IsOk()) << "a listed version must load";
      EXPECT_THAT(registry.Resolve("latest"), IsOkAndHolds(2));
    } else {
      EXPECT_THAT(*versions, ElementsAre(1));
      EXPECT_THAT(registry.Resolve("latest"), IsOkAndHolds(1));
      EXPECT_THAT(registry.Listing(true), IsOk()) << "a remainder must not break the listing";
    }
    auto second = registry.Delete(2, false);
    ASSERT_THAT(second, IsOk());
    EXPECT_EQ(second->finished_earlier_delete, versions->size() == 1);
    EXPECT_THAT(registry.ListVersions(), IsOkAndHolds(ElementsAre(1)));
    auto rest = store_->List("2/");
    ASSERT_THAT(rest, IsOk());
    EXPECT_EQ(rest->size(), 2u) << "only .deleted and .reserved stay";
  }
}

TEST_F(RegistryTest, TagsAndADescriptionLiveOutsideTheChecksummedMetadata) {
  PublishOne();
  const std::string metadata_before = *store_->Get("1/metadata.json");
  ASSERT_THAT(registry_->SetTags(1, {{"owner", "ana"}, {"ticket", "ML-7 (reviewed)"}}), IsOk());
  ASSERT_THAT(registry_->Describe(1, "baseline for the Q3 review — ünïcode"), IsOk());
  auto state = registry_->State(1);
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ(state->tags, (std::map<std::string, std::string>{{"owner", "ana"}, {"ticket", "ML-7 (reviewed)"}}));
  EXPECT_EQ(state->description, "baseline for the Q3 review — ünïcode");
  EXPECT_FALSE(state->archived);
  EXPECT_EQ(*store_->Get("1/metadata.json"), metadata_before);
  EXPECT_THAT(registry_->Fetch(1), IsOk()) << "checksums still verify";
  // An empty value removes a tag; "" removes the description.
  ASSERT_THAT(registry_->SetTags(1, {{"ticket", ""}}), IsOk());
  ASSERT_THAT(registry_->Describe(1, ""), IsOk());
  state = registry_->State(1);
  EXPECT_EQ(state->tags, (std::map<std::string, std::string>{{"owner", "ana"}}));
  EXPECT_EQ(state->description, "");
  // Bad input is refused whole: nothing of the call is written.
  EXPECT_THAT(registry_->SetTags(1, {{"team", "ml"}, {"Owner", "x"}}),
              StatusIs(Code::kInvalidArgument, HasSubstr("tag key 'Owner' is not valid")));
  EXPECT_THAT(registry_->SetTags(1, {{"team", "a\nb"}}),
              StatusIs(Code::kInvalidArgument, HasSubstr("control character")));
  EXPECT_THAT(registry_->SetTags(1, {{"team", std::string(300, 'x')}}),
              StatusIs(Code::kInvalidArgument, HasSubstr("at most 256")));
  EXPECT_THAT(registry_->Describe(1, "\xff\xfe"), StatusIs(Code::kInvalidArgument, HasSubstr("UTF-8")));
  EXPECT_THAT(registry_->SetTags(1, {{"a/../b", "x"}}), StatusIs(Code::kInvalidArgument, _));
  EXPECT_EQ(registry_->State(1)->tags, (std::map<std::string, std::string>{{"owner", "ana"}}));
  EXPECT_THAT(registry_->SetTags(5, {{"owner", "ana"}}), StatusIs(Code::kNotFound, _));
  // A damaged tag file is skipped, not fatal.
  ASSERT_THAT(store_->Put("1/tags/broken.json", "{"), IsOk());
  EXPECT_THAT(registry_->Listing(true), IsOk());
  EXPECT_EQ(registry_->Listing(true)->StateOf(1).tags.count("broken"), 0u);
  // So is one written by another tool with what `tag` refuses (a terminal escape).
  ASSERT_THAT(store_->Put("1/tags/evil.json", R"({"value": "\u001b[31mred"})"), IsOk());
  EXPECT_EQ(registry_->Listing(true)->StateOf(1).tags, (std::map<std::string, std::string>{{"owner", "ana"}}));
}

TEST_F(RegistryTest, ConcurrentTaggersOfDifferentKeysAllWin) {
  PublishOne();
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([this, i] {
      Registry own(store_);
      EXPECT_THAT(own.SetTags(1, {{"k" + std::to_string(i), std::to_string(i)}}), IsOk());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry_->State(1)->tags.size(), 8u);
}

TEST_F(RegistryTest, AListingReadsATagObjectAgainOnlyWhenItChanged) {
  auto counting = std::make_shared<FaultyStore>(store_);
  Registry registry(counting);
  ASSERT_THAT(registry.Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {}), IsOk());
  ASSERT_THAT(registry.SetTags(1, {{"owner", "ana"}, {"team", "ml"}}), IsOk());
  ASSERT_THAT(registry.Listing(true), IsOk());
  const int after_first = counting->gets;
  ASSERT_THAT(registry.Listing(true), IsOk());
  EXPECT_EQ(counting->gets, after_first) << "unchanged objects come from the cache";
  ASSERT_THAT(registry.SetTags(1, {{"owner", "bo"}}), IsOk());
  const int before = counting->gets;
  auto listing = registry.Listing(true);
  ASSERT_THAT(listing, IsOk());
  EXPECT_EQ(counting->gets, before + 1);
  EXPECT_EQ(listing->StateOf(1).tags.at("owner"), "bo");
}

TEST_F(RegistryTest, AliasRemoveRemovesOnlyTheAlias) {
  PublishOne();
  ASSERT_THAT(registry_->SetAlias("staging", 1, "test"), IsOk());
  ASSERT_THAT(registry_->RemoveAlias("staging"), IsOk());
  EXPECT_THAT(registry_->GetAlias("staging"), IsOkAndHolds(std::optional<int>()));
  EXPECT_THAT(registry_->Fetch(1), IsOk());
  EXPECT_THAT(registry_->RemoveAlias("staging"), StatusIs(Code::kNotFound, HasSubstr("no alias 'staging' is set")));
  EXPECT_THAT(registry_->RemoveAlias("latest"), StatusIs(Code::kInvalidArgument, HasSubstr("'latest'")));
}

TEST_F(RegistryTest, ImportingTheSameBundleAgainNamesTheEarlierImport) {
  PublishOne();
  auto bundle = registry_->Bundle(1);
  ASSERT_THAT(bundle, IsOk());
  auto first = registry_->Import(*bundle, "import");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->version, 2);
  EXPECT_FALSE(first->existing);
  auto again = registry_->Import(*bundle, "import");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->version, 2);
  EXPECT_TRUE(again->existing);
  EXPECT_THAT(registry_->ListVersions(), IsOkAndHolds(ElementsAre(1, 2)));
  auto forced = registry_->Import(*bundle, "import", "b.zip", /*duplicate=*/true);
  ASSERT_THAT(forced, IsOk());
  EXPECT_EQ(forced->version, 3);
  EXPECT_FALSE(forced->existing);
  // Once the imports are deleted, the bundle is new again.
  ASSERT_THAT(registry_->Delete(3, false), IsOk());
  ASSERT_THAT(registry_->Delete(2, false), IsOk());
  auto fresh = registry_->Import(*bundle, "import");
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(fresh->version, 4);
  EXPECT_FALSE(fresh->existing);
}

TEST_F(RegistryTest, HousekeepingOfANamedModelStaysInItsFolder) {
  PublishOne();
  Registry churn(ModelScope(store_, "churn"));
  for (int i = 0; i < 2; ++i) {
    ASSERT_THAT(churn.Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {}), IsOk());
  }
  ASSERT_THAT(churn.Archive(2, false), IsOk());
  ASSERT_THAT(churn.SetTags(1, {{"owner", "ana"}}), IsOk());
  EXPECT_THAT(churn.Resolve("latest"), IsOkAndHolds(1));
  EXPECT_THAT(registry_->Resolve("latest"), IsOkAndHolds(1));
  EXPECT_TRUE(registry_->State(1)->tags.empty());
  ASSERT_THAT(churn.Delete(1, false), IsOk());
  EXPECT_THAT(registry_->Fetch(1), IsOk());
  EXPECT_THAT(Keys(), ::testing::Contains(std::string("models/churn/1/.deleted")));
  EXPECT_THAT(Keys(), ::testing::Contains(std::string("models/churn/2/.archived")));
}

}  // namespace
}  // namespace modelbay
