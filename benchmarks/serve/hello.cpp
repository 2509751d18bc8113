// The ceiling for benchmarks/serve: a bare HTTP/1.1 hello-world on the same
// stack as `modelbay serve` (Boost.Beast 1.74, one io_context per io thread,
// connections dealt to the threads in turn, keep-alive). It reads the
// request, ignores the body, and answers a fixed JSON body.
//   hello PORT THREADS [shared]
// `shared`: the stack modelbay used before (one io_context run by N threads,
// a strand per connection), kept to show what the change is worth.
#include <utility>  // Boost 1.74's Asio needs it first under C++20.

#include <cstdlib>
#include <functional>
#include <string_view>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& s) : stream_(std::move(s)) {}
  void Read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

 private:
  void OnRead(beast::error_code ec, size_t) {
    if (ec) return;
    res_ = {http::status::ok, req_.version()};
    res_.set(http::field::content_type, "application/json");
    res_.keep_alive(req_.keep_alive());
    res_.body() = R"({"message":"hello"})";
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->res_.keep_alive()) self->Read();
    });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 8080);
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const bool shared = argc > 3 && std::string_view(argv[3]) == "shared";
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (int i = 0; i < (shared ? 1 : threads); ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(shared ? threads : 1));
    guards.push_back(asio::make_work_guard(*contexts.back()));
  }
  tcp::acceptor acceptor(*contexts[0], {asio::ip::make_address("127.0.0.1"), port});
  size_t next = 0;
  std::function<void()> accept = [&] {
    auto on_accept = [&](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(s))->Read();
      }
      accept();
    };
    if (shared) {
      acceptor.async_accept(asio::make_strand(*contexts[0]), on_accept);
    } else {
      acceptor.async_accept(*contexts[next++ % contexts.size()], on_accept);
    }
  };
  accept();
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) {
    asio::io_context& c = *contexts[shared ? 0 : i];
    pool.emplace_back([&c] { c.run(); });
  }
  contexts[0]->run();
  for (auto& t : pool) t.join();
}
