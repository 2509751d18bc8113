#include "train/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace modelbay {
namespace {

// Debian's python3-xgboost puts the tracker here; the Docker image copies
// only this file (it needs nothing but the standard library). It is loaded
// by path so that python3 does not import the whole xgboost package.
constexpr const char* kTrackerPath = "/usr/lib/python3/dist-packages/xgboost/tracker.py";

constexpr const char* kTrackerScript = R"PY(
import importlib.util, sys
spec = importlib.util.spec_from_file_location("xgboost_tracker", sys.argv[1])
tracker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tracker)
t = tracker.RabitTracker(host_ip=sys.argv[2], n_workers=int(sys.argv[4]), port=int(sys.argv[3]), sortby="task")
t.start(int(sys.argv[4]))
print(t.port, flush=True)
sys.stdout = open("/dev/null", "w")
t.join()
)PY";

Result<int> EnvInt(const std::map<std::string, std::string>& env, const std::string& name, int min) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return InvalidArgument(fmt::format("{} is not set", name));
  char* end = nullptr;
  long v = std::strtol(it->second.c_str(), &end, 10);
  if (*end != '\0' || v < min || v > 65535) {
    return InvalidArgument(fmt::format("{}={} is not a number of at least {}", name, it->second, min));
  }
  return static_cast<int>(v);
}

std::string EnvOr(const std::map<std::string, std::string>& env, const std::string& name, std::string fallback) {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? fallback : it->second;
}

// Zero-padded so the tracker's sort by task id is the numeric order: rank = index.
std::string TaskId(int index) { return fmt::format("{:05d}", index); }

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, int stdout_fd) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (stdout_fd >= 0) dup2(stdout_fd, STDOUT_FILENO);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::string SelfPath() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("modelbay") : p.string();
}

}  // namespace

std::map<std::string, std::string> EnvironmentMap() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

Result<WorkerPlace> WorkerPlaceFromEnv(const std::map<std::string, std::string>& env) {
  WorkerPlace place;
  if (env.count("AWS_BATCH_JOB_NUM_NODES")) {
    place.scheduler = "aws-batch";
    MB_ASSIGN_OR_RETURN(int index, EnvInt(env, "AWS_BATCH_JOB_NODE_INDEX", 0));
    MB_ASSIGN_OR_RETURN(int nodes, EnvInt(env, "AWS_BATCH_JOB_NUM_NODES", 1));
    MB_ASSIGN_OR_RETURN(int main_index, EnvInt(env, "AWS_BATCH_JOB_MAIN_NODE_INDEX", 0));
    int port = kDefaultTrackerPort;
    if (env.count("MODELBAY_TRACKER_PORT")) {
      MB_ASSIGN_OR_RETURN(port, EnvInt(env, "MODELBAY_TRACKER_PORT", 1));
    }
    if (index >= nodes) {
      return InvalidArgument(fmt::format("AWS_BATCH_JOB_NODE_INDEX={} is not below AWS_BATCH_JOB_NUM_NODES={}",
                                         index, nodes));
    }
    place.rank_hint = index;
    place.runs_tracker = index == main_index;
    place.tracker_port = port;
    // AWS Batch sets the main node's address on the other nodes only.
    std::string host = place.runs_tracker ? "127.0.0.1"
                                          : EnvOr(env, "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS", "");
    if (host.empty()) return InvalidArgument("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is not set");
    place.collective = {host, port, TaskId(index), nodes};
    return place;
  }
  if (env.count("DMLC_TRACKER_URI") || env.count("DMLC_NUM_WORKER")) {
    place.scheduler = "dmlc";
    MB_ASSIGN_OR_RETURN(int port, EnvInt(env, "DMLC_TRACKER_PORT", 1));
    MB_ASSIGN_OR_RETURN(int world, EnvInt(env, "DMLC_NUM_WORKER", 1));
    MB_ASSIGN_OR_RETURN(int task, EnvInt(env, "DMLC_TASK_ID", 0));
    std::string host = EnvOr(env, "DMLC_TRACKER_URI", "");
    if (host.empty()) return InvalidArgument("DMLC_TRACKER_URI is not set");
    if (task >= world) {
      return InvalidArgument(fmt::format("DMLC_TASK_ID={} is not below DMLC_NUM_WORKER={}", task, world));
    }
    place.rank_hint = task;
    place.runs_tracker = task == 0 && EnvOr(env, "MODELBAY_TRACKER_STARTED", "") != "1";
    place.tracker_port = port;
    place.collective = {host, port, TaskId(task), world};
    return place;
  }
  return InvalidArgument(
      "train --distributed: no scheduler variables; set AWS Batch multi-node parallel ones "
      "(AWS_BATCH_JOB_NODE_INDEX, AWS_BATCH_JOB_NUM_NODES, AWS_BATCH_JOB_MAIN_NODE_INDEX, "
      "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS) or DMLC_TRACKER_URI, DMLC_TRACKER_PORT, DMLC_NUM_WORKER, "
      "DMLC_TASK_ID; or use --workers N on one machine");
}

Result<TrackerProcess> TrackerProcess::Start(const std::string& host, int port, int world) {
  std::string path = EnvOr(EnvironmentMap(), "MODELBAY_RABIT_TRACKER", kTrackerPath);
  if (::access(path.c_str(), R_OK) != 0) {
    return FailedPrecondition(fmt::format("XGBoost's tracker is not at {}: install python3-xgboost (Debian) or set "
                                          "MODELBAY_RABIT_TRACKER to its tracker.py",
                                          path));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Unavailable("cannot create a pipe for the tracker");
  pid_t pid = Spawn({"python3", "-c", kTrackerScript, path, host, std::to_string(port), std::to_string(world)}, {},
                    fds[1]);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return Unavailable("cannot start the tracker (fork failed)");
  }
  TrackerProcess tracker(pid, 0);
  std::string line;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(fds[0]);
  if (line.empty()) {
    return Unavailable(fmt::format("XGBoost's tracker did not start on {}:{} (python3 and {} needed; is the port "
                                   "free?)",
                                   host, port, path));
  }
  tracker.port_ = std::atoi(line.c_str());
  return tracker;
}

TrackerProcess::~TrackerProcess() {
  if (pid_ <= 0) return;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, &status, 0);
  }
}

Status RunLocalWorkers(int workers, const std::vector<std::string>& worker_args) {
  MB_ASSIGN_OR_RETURN(TrackerProcess tracker, TrackerProcess::Start("127.0.0.1", 0, workers));
  std::vector<pid_t> pids;
  for (int i = 0; i < workers; ++i) {
    std::vector<std::string> argv = {SelfPath()};
    argv.insert(argv.end(), worker_args.begin(), worker_args.end());
    pid_t pid = Spawn(argv,
                      {"DMLC_TRACKER_URI=127.0.0.1", fmt::format("DMLC_TRACKER_PORT={}", tracker.port()),
                       fmt::format("DMLC_NUM_WORKER={}", workers), fmt::format("DMLC_TASK_ID={}", i),
                       "MODELBAY_TRACKER_STARTED=1"},
                      -1);
    if (pid < 0) {
      for (pid_t p : pids) ::kill(p, SIGKILL);
      return Unavailable("cannot start a worker process (fork failed)");
    }
    pids.push_back(pid);
  }
  // Wait for all; the first failure stops the rest.
  Status result = Status::Ok();
  size_t running = pids.size();
  while (running > 0) {
    int status = 0;
    struct rusage usage{};
    pid_t done = ::wait4(-1, &status, 0, &usage);
    if (done < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = std::find(pids.begin(), pids.end(), done);
    if (it == pids.end()) continue;
    *it = -1;
    --running;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) {  // ru_maxrss is in KiB on Linux
      spdlog::info("worker {} finished (peak RSS {} MiB)", it - pids.begin(), usage.ru_maxrss / 1024);
    }
    if (!ok && result.ok()) {
      int worker = static_cast<int>(it - pids.begin());
      result = Unavailable(fmt::format("worker {} {}; the distributed training failed",
                                       worker,
                                       WIFSIGNALED(status) ? fmt::format("was killed by signal {}", WTERMSIG(status))
                                                           : fmt::format("exited with status {}", WEXITSTATUS(status))));
      for (pid_t p : pids) {
        if (p > 0) ::kill(p, SIGTERM);
      }
    }
  }
  return result;
}

}  // namespace modelbay
