// The serving cache's view of the registry over a local store: version specs
// are parsed by the registry's one parser, and one damaged alias never takes
// the others down. No sockets; models are never scored here.
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model_fixtures.h"
#include "registry/registry.h"
#include "serve/metrics.h"
#include "serve/model_cache.h"
#include "store/local_store.h"

namespace modelbay::serve {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ModelCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("mb-cache-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = std::make_shared<LocalStore>(root_);
    registry_ = std::make_shared<Registry>(store_);
    // A tiny valid model: these tests never get past resolving.
    auto v = registry_->Publish(fixtures::TinyModelJson(), fixtures::TinyPreprocessorJson(), {{"target", "churn"}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    cache_ = std::make_unique<ModelCache>(registry_, metrics_, std::chrono::milliseconds(60000));
  }
  void TearDown() override {
    cache_.reset();
    fs::remove_all(root_);
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
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad << ": " << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("is not a valid version")) << bad;
    // The CLI's resolver says the same.
    EXPECT_EQ(registry_->Resolve(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(cache_->Get(std::string("7")).status().code(), Code::kNotFound);
  EXPECT_EQ(cache_->Get(std::string("canary")).status().code(), Code::kNotFound);
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
  EXPECT_EQ(broken.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(broken.status().message(), HasSubstr("model alias \"broken\" is damaged"));
  auto canary = cache_->Resolve(*view, "canary");
  EXPECT_EQ(canary.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(canary.status().message(), HasSubstr("points to version 2, which is not a complete version"));
  EXPECT_EQ(*cache_->Resolve(*view, "1"), 1);
  EXPECT_EQ(*cache_->Resolve(*view, "latest"), 1);
}

}  // namespace
}  // namespace modelbay::serve
