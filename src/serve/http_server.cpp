#include <utility>  // Boost 1.74's Asio needs it first under C++20.

#include "serve/http_server.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/end_of_turn.h"
#include "core/thread_name.h"
#include "serve/access_log.h"


namespace modelbay::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

struct ServerState {
  ServerOptions options;
  Service& service;
  Metrics& metrics;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, ServerState& state) : stream_(std::move(socket)), state_(state) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::ReadHeader,
                                                                     shared_from_this()));
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(state_.options.max_header_bytes));
    parser_->body_limit(state_.options.max_body_bytes);
    stream_.expires_after(state_.options.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, req.version());
      http::async_write(stream_, *continue_,
                        beast::bind_front_handler(&Session::OnContinue, shared_from_this()));
      return;
    }
    ReadBody();
  }

  void OnContinue(beast::error_code ec, size_t) {
    if (ec) return Close();
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnReadError(beast::error_code ec) {
    // The client went away, was too slow (timeouts land here: that is how a
    // slow client is cut off), the connection broke, or it closed mid-request.
    if (ec.category() != beast::error_code(http::error::end_of_stream).category() ||
        ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return Close();
    }
    // A malformed or oversized request: answer once (through the same
    // error writer as the routes), then close.
    Status error = InvalidArgument(fmt::format("malformed HTTP request: {}", ec.message()));
    if (ec == http::error::body_limit) {
      error = ResourceExhausted(fmt::format("the body is larger than the limit of {} bytes (--max-body-bytes)",
                                            state_.options.max_body_bytes));
    } else if (ec == http::error::header_limit) {
      error = HeadersTooLarge(fmt::format("the request headers are larger than the limit of {} bytes",
                                          state_.options.max_header_bytes));
    }
    state_.in_flight.fetch_add(1);
    started_ = SteadyClock::now();
    reply_ = Reply{};
    WriteErrorReply(error, reply_);
    Respond(/*transport_error=*/true);
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    state_.in_flight.fetch_add(1);
    started_ = SteadyClock::now();
    auto& req = parser_->get();
    const Request request{req.method_string(), req.target(), req[http::field::content_type],
                          req[http::field::authorization], req["X-Request-Id"], req.body(),
                          req["Inference-Header-Content-Length"], req[http::field::accept]};
    reply_ = Reply{};
    state_.service.Handle(request, reply_, /*defer_log=*/true);
    if (!reply_.pending) return Respond();
    // No thread waits for the disk: the log calls back once the rows are
    // durable, and the answer is written on this connection's strand. With
    // --fsync never the callback runs inline, here on the strand, so dispatch
    // answers at once with no hop; from the committer thread it is posted.
    // Nothing below this call touches the session: it may have answered (and
    // started the next read) before LogInference returns.
    state_.service.LogInference(reply_, [self = shared_from_this()](const Status& logged) {
      asio::dispatch(self->stream_.get_executor(), [self, logged] {
        self->state_.service.CompleteInference(self->reply_, logged);
        self->Respond();
      });
    });
  }

  // The one response writer: a route's reply, or (transport_error) the
  // error reply to a request that could not be read, after which the
  // connection closes.
  void Respond(bool transport_error = false) {
    auto& req = parser_->get();
    res_.emplace(http::status(reply_.status), req.version() != 0 ? req.version() : 11);
    res_->set(http::field::content_type, reply_.content_type);
    if (reply_.retry_after > 0) res_->set(http::field::retry_after, std::to_string(reply_.retry_after));
    if (!reply_.allow.empty()) res_->set(http::field::allow, reply_.allow);
    if (reply_.www_authenticate) res_->set(http::field::www_authenticate, "Bearer");
    if (!reply_.request_id.empty()) res_->set("X-Request-Id", reply_.request_id);
    if (!reply_.content_security_policy.empty()) {
      res_->set("Content-Security-Policy", reply_.content_security_policy);
      res_->set("X-Content-Type-Options", "nosniff");
      res_->set("Referrer-Policy", "no-referrer");
      res_->set(http::field::cache_control, "no-cache");
    }
    if (reply_.inference_header_length >= 0) {
      res_->set("Inference-Header-Content-Length", std::to_string(reply_.inference_header_length));
    }
    res_->keep_alive(!transport_error && req.keep_alive() && !state_.stopping.load());
    if (reply_.head_only) {
      res_->content_length(reply_.body.size());  // what GET would send; no body follows
    } else {
      res_->body() = std::move(reply_.body);
      res_->prepare_payload();
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - started_).count();
    const Route route = transport_error ? Route::kOther : Service::RouteOf(req.target());
    state_.metrics.ObserveRequest(route, reply_.status, seconds);
    if (state_.options.access_log) {
      LogAccessBatched({req.method_string(), req.target(), RouteName(route), reply_.status, seconds * 1000,
                        reply_.model_version, reply_.rows, reply_.request_id});
    }

    stream_.expires_after(state_.options.write_timeout);
    http::async_write(stream_, *res_, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    state_.in_flight.fetch_sub(1);
    const bool keep_alive = res_->keep_alive();
    res_.reset();
    if (ec || !keep_alive || state_.stopping.load()) return Close();
    ReadHeader();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ServerState& state_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> res_;
  Reply reply_;
  SteadyClock::time_point started_;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, Service& service, Metrics& metrics)
      : state_{std::move(options), service, metrics},
        threads_(state_.options.threads > 0 ? state_.options.threads
                                            : std::max(1u, std::thread::hardware_concurrency())),
        contexts_(MakeContexts(threads_)),
        acceptor_(*contexts_[0]),
        signals_(*contexts_[0], SIGINT, SIGTERM),
        drain_timer_(*contexts_[0]) {
    for (auto& c : contexts_) guards_.push_back(asio::make_work_guard(*c));
  }

  Status Listen() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(state_.options.host, ec);
    if (ec) {
      return InvalidArgument(fmt::format("--host {}: not an IP address ({}); use e.g. 0.0.0.0 or 127.0.0.1",
                                         state_.options.host, ec.message()));
    }
    const tcp::endpoint endpoint(address, state_.options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable(fmt::format("cannot listen on {}:{}: {}; pick another --port or stop the "
                                     "process using it", state_.options.host, state_.options.port,
                                     ec.message()));
    }
    return Status::Ok();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  Status Run() {
    signals_.async_wait([this](beast::error_code ec, int signo) {
      if (ec) return;
      spdlog::info("signal {}: stopping (finishing requests in flight)", signo);
      BeginStop();
    });
    Accept();
    std::vector<std::thread> pool;
    for (int i = 1; i < threads_; ++i) {
      pool.emplace_back([this, i] {
        SetThreadName("mb-io-" + std::to_string(i));
        RunThread(*contexts_[i]);
      });
    }
    RunThread(*contexts_[0]);  // this thread keeps its name (the main thread: modelbay)
    for (auto& t : pool) t.join();
    return Status::Ok();
  }

  void PostStop() {
    asio::post(*contexts_[0], [this] { BeginStop(); });
  }

  // On contexts_[0].
  void BeginStop() {
    if (state_.stopping.exchange(true)) return;
    beast::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel();
    drain_deadline_ = SteadyClock::now() + state_.options.shutdown_grace;
    Drain();
  }

 private:
  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (int i = 0; i < n; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    return contexts;
  }

  // An io thread's EndOfTurn: what is scheduled during a turn runs in one
  // handler posted behind the handlers ready now (this context has one
  // thread, so it runs here, once they have run).
  class Turn final : public EndOfTurn {
   public:
    explicit Turn(asio::io_context& context) : context_(context) {}
    void Schedule(std::function<void()> fn) override {
      if (scheduled_.empty()) asio::post(context_, [this] { RunScheduled(); });
      scheduled_.push_back(std::move(fn));
    }
    void RunScheduled() {
      while (!scheduled_.empty()) {
        auto fns = std::exchange(scheduled_, {});
        for (auto& fn : fns) fn();
      }
    }

   private:
    asio::io_context& context_;
    std::vector<std::function<void()>> scheduled_;
  };

  static void RunThread(asio::io_context& context) {
    Turn turn(context);
    EndOfTurn::Install(&turn);
    context.run();
    turn.RunScheduled();  // what the last turn left, if the loop stopped first
    EndOfTurn::Install(nullptr);
  }

  // Connections are dealt to the io threads in turn (on contexts_[0]).
  void Accept() {
    asio::io_context& home = *contexts_[next_context_++ % contexts_.size()];
    acceptor_.async_accept(home, [this](beast::error_code ec, tcp::socket socket) {
      if (state_.stopping.load()) return;
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        spdlog::warn("accept: {}", ec.message());  // e.g. out of file descriptors: retry shortly
        auto timer = std::make_shared<asio::steady_timer>(*contexts_[0], std::chrono::milliseconds(50));
        timer->async_wait([this, timer](beast::error_code) { Accept(); });
        return;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), state_)->Start();
      Accept();
    });
  }

  // Waits for the requests in flight, then stops the io threads (idle
  // keep-alive connections are dropped). On contexts_[0].
  void Drain() {
    if (state_.in_flight.load() == 0 || SteadyClock::now() >= drain_deadline_) {
      if (state_.in_flight.load() != 0) {
        spdlog::warn("{} requests still in flight after the shutdown grace period", state_.in_flight.load());
      }
      for (auto& c : contexts_) c->stop();
      return;
    }
    drain_timer_.expires_after(std::chrono::milliseconds(10));
    drain_timer_.async_wait([this](beast::error_code) { Drain(); });
  }

  ServerState state_;
  int threads_;
  // One io_context per io thread: a connection lives on one thread, so its
  // handlers need no strand and the threads share no queue.
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  size_t next_context_ = 0;  // on contexts_[0]
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  SteadyClock::time_point drain_deadline_;
};

HttpServer::HttpServer(ServerOptions options, Service& service, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), service, metrics)) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Listen() { return impl_->Listen(); }
uint16_t HttpServer::port() const { return impl_->port(); }
Status HttpServer::Run() { return impl_->Run(); }
void HttpServer::Stop() { impl_->PostStop(); }

}  // namespace modelbay::serve
