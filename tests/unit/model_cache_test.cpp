// The serving cache's view of the registry over a local store: version specs
// are parsed by the registry's one parser, and one damaged alias never takes
// the others down. No sockets; models are never scored here.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model_fixtures.h"
#include "registry/registry.h"
#include "serve/metrics.h"
#include "serve/model_cache.h"
#include "store/local_store.h"
#include "test_util.h"

namespace modelbay::serve {
namespace {
namespace fs = std::filesystem;
using ::testing::_;
using ::testing::HasSubstr;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

class ModelCacheTest : public TempDirTest {
 protected:
  void SetUp() override {
    root_ = tmp() / "store";
    store_ = std::make_shared<LocalStore>(root_);
    registry_ = std::make_shared<Registry>(store_);
    // A tiny valid model: these tests never get past resolving.
    auto v = registry_->Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {{"target", "churn"}});
    ASSERT_THAT(v, IsOk());
    cache_ = std::make_unique<ModelCache>(registry_, metrics_, std::chrono::milliseconds(60000));
  }

  fs::path root_;
  std::shared_ptr<LocalStore> store_;
  std::shared_ptr<Registry> registry_;
  Metrics metrics_;
  std::unique_ptr<ModelCache> cache_;
};

TEST_F(ModelCacheTest, MalformedVersionsAreBadRequestsLikeOnTheCommandLine) {
  ASSERT_TRUE(cache_->Refresh().ok());
  for (const char* bad : {"01", "1.0", "-1", "../1", " 1", "latest ", "99999999999", "Production"}) {
    auto r = cache_->Get(std::string(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r, StatusIs(Code::kInvalidArgument, HasSubstr("is not a valid version"))) << bad;
    // The CLI's resolver says the same.
    EXPECT_THAT(registry_->Resolve(bad), StatusIs(Code::kInvalidArgument, _)) << bad;
  }
  EXPECT_THAT(cache_->Get(std::string("7")), StatusIs(Code::kNotFound, _));
  EXPECT_THAT(cache_->Get(std::string("canary")), StatusIs(Code::kNotFound, _));
}

TEST_F(ModelCacheTest, DamagedOrDanglingAliasesAreReportedAsSuchAndTheRestServes) {
  ASSERT_TRUE(registry_->SetAlias("staging", 1, "").ok());
  ASSERT_TRUE(store_->Put("aliases/broken.json", "{not json").ok());
  ASSERT_TRUE(store_->PutIfAbsent("2/.reserved", "{}").ok());
  ASSERT_TRUE(store_->Put("aliases/canary.json", R"({"version": 2})").ok());
  ASSERT_TRUE(cache_->Refresh().ok());  // one bad file does not fail the refresh

  const auto view = cache_->view();
  EXPECT_EQ(view->versions, std::vector<int>{1});
  auto broken = cache_->Resolve(*view, "broken");
  EXPECT_THAT(broken, StatusIs(Code::kFailedPrecondition, HasSubstr("model alias \"broken\" is damaged")));
  auto canary = cache_->Resolve(*view, "canary");
  EXPECT_THAT(canary, StatusIs(Code::kFailedPrecondition,
                               HasSubstr("points to version 2, which is not a complete version")));
  EXPECT_EQ(*cache_->Resolve(*view, "1"), 1);
  EXPECT_EQ(*cache_->Resolve(*view, "latest"), 1);
}

}  // namespace
}  // namespace modelbay::serve
