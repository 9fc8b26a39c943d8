// Remote nodes over TLS with client certificates (remoting_options::tls,
// vitrine's TLS on both ends), on loopback: throwaway certificates made with
// the `openssl` command (support/test_pki.hpp); the node is another OS process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "remote_fixture.hpp"
#include "remote_tls_greeting.hpp"
#include "support/freeze.hpp"
#include "support/leftovers.hpp"
#include "support/test_pki.hpp"

namespace {

using namespace std::chrono_literals;
using vitrine::tls_options;
using vitrine::core::process_status;
using namespace vitrine::test;  // the fixture (remote_fixture.hpp)

tls_options node_tls(const test_pki& pki) {
  return {pki.node_cert, pki.node_key, pki.ca, {}};
}
tls_options controller_tls(const test_pki& pki) {
  return {pki.controller_cert, pki.controller_key, pki.ca, {}};
}

/// A controller that must never be let in: it tries for `window` (many
/// attempts: the backoff starts at 50 ms) and stays short of `connected`.
/// Why the last attempt failed (node_handle::last_error()).
std::string refused(const vitrine::remote_endpoint& node,
                    const std::optional<tls_options>& tls,
                    std::chrono::milliseconds attempt_timeout = 500ms,
                    std::chrono::milliseconds window = 3s) {
  vitrine::runtime rt{controller_options(200, 1000, tls)};
  vitrine::connect_options o;
  o.attempt_timeout = attempt_timeout;
  auto mirror = rt.connect(node, o);
  CHECK_FALSE(mirror.wait_connected(clock_type::now() + window));
  CHECK(mirror.status() == vitrine::node_status::connecting);
  CHECK(mirror.synchronisations() == 0);
  CHECK(mirror.processes().empty());
  return mirror.last_error();
}

/// A TCP socket listening on 127.0.0.1, at a free port (set in `port`).
int listen_on_loopback(std::uint16_t& port) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
          0);
  REQUIRE(::listen(listener, 16) == 0);
  socklen_t size = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &size);
  port = ntohs(addr.sin_port);
  return listener;
}

/// The message of the std::invalid_argument building `options` throws
/// ("" when it does not throw).
std::string construction_error(const vitrine::runtime_options& options) {
  try {
    vitrine::runtime rt{options};
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("a TLS controller mirrors a TLS node and forwards its commands",
          "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  node_process node{3, 200, 2000, 0, node_tls(pki)};
  controller_of controller{node.endpoint(), 200, 2000, 3, controller_tls(pki)};
  auto& mirror = controller.mirror;
  CHECK(mirror_converges(node, mirror));

  auto p0 = mirror.find("p0");
  REQUIRE(p0);
  const pid_t before = p0.read()->pid;
  CHECK(before > 0);
  CHECK(::kill(before, 0) == 0);  // a real pid, of this machine
  auto cmd = p0.restart();
  REQUIRE(cmd);
  REQUIRE(cmd.wait_until(
      [&](const vitrine::core::process_state& s) {
        return s.status == process_status::running && s.pid != before;
      },
      clock_type::now() + patience));
  CHECK(::kill(p0.read()->pid, 0) == 0);
  CHECK(mirror_converges(node, mirror));
  auto asked = mirror.ask("p0", 10s);
  REQUIRE(asked);
  CHECK(asked->pid == p0.read()->pid);
}

TEST_CASE(
    "a TLS controller learns at once that a SIGKILLed node's connection "
    "closed",
    "[remote][tls]") {
  // The relay that carries the connection for CAF (tls_relay.hpp) closes
  // CAF's end as soon as the node's ends: CAF does not wait for its
  // heartbeat timeout (5 s here) to call the node lost.
  temp_dir dir;
  const test_pki pki{dir};
  node_process node{2, 200, 5000, 0, node_tls(pki)};
  controller_of controller{node.endpoint(), 200, 5000, 2, controller_tls(pki)};
  auto& mirror = controller.mirror;
  ::kill(node.child.pid(), SIGKILL);
  REQUIRE(mirror.wait_for_status(vitrine::node_status::lost,
                                 clock_type::now() + patience));
  INFO(mirror.last_error());
  CHECK_THAT(mirror.last_error(), Catch::StartsWith("the connection closed"));
}

TEST_CASE(
    "a TLS node refuses controllers without a certificate its CA signed, "
    "and keeps serving good ones",
    "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  node_process node{2, 200, 1000, 0, node_tls(pki)};
  SECTION("plain BASP, no certificate at all") {
    refused(node.endpoint(), std::nullopt);
  }
  SECTION("a certificate from another CA (the node's CA trusted)") {
    // The node's alert names why (the guard sends it before it closes).
    CHECK_THAT(
        refused(node.endpoint(),
                tls_options{pki.stranger_cert, pki.stranger_key, pki.ca, {}}),
        Catch::Contains("no TLS handshake with the node (the node refused: "
                        "tlsv1 alert unknown ca)"));
  }
  SECTION("a controller that does not trust the node's CA") {
    CHECK_THAT(
        refused(node.endpoint(),
                tls_options{
                    pki.controller_cert, pki.controller_key, pki.other_ca, {}}),
        Catch::Contains("no TLS handshake with the node (the node's "
                        "certificate: "));
  }
  CHECK(::kill(node.child.pid(), 0) == 0);
  CHECK(node.dump().size() == 2);  // still supervising, still answering
  controller_of good{node.endpoint(), 200, 1000, 2, controller_tls(pki)};
  CHECK(mirror_converges(node, good.mirror));
}

TEST_CASE("a TLS controller refuses a plain node", "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  node_process plain{1, 200, 1000};
  // Not "nothing listening" alone: CAF's OpenSSL module reports a failed
  // handshake as a failed connect. Attempts of 2 s: on a loaded machine
  // one of 500 ms ended before the handshake failed (a timeout's message),
  // and under a full parallel ctest the last attempt of a window was once
  // cut by CAF's heartbeat tick (its connection check): up to 3 windows.
  std::string why;
  for (int window = 0; window < 3; ++window) {
    why = refused(plain.endpoint(), controller_tls(pki), 2s, 5s);
    if (why.find("no TLS handshake") != std::string::npos) break;
  }
  CHECK_THAT(why, Catch::Contains("no TLS handshake"));
  CHECK(::kill(plain.child.pid(), 0) == 0);
  // Every attempt says why. Before, about one in three read "the port
  // closed the connection" (the node's guard closed on the ClientHello
  // before its own greeting went out; an outside tester).
  const auto files = controller_tls(pki);
  for (int i = 0; i < 12; ++i) {
    const auto greeting = vitrine::detail::greet_tls_node(
        plain.endpoint(), files, 2s, std::stop_token{});
    INFO("attempt " << i);
    CHECK_THAT(greeting.error,
               Catch::Contains("it is a vitrine node without TLS"));
  }
}

TEST_CASE("bad TLS files are refused when the runtime is built, by name",
          "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  auto with = [](tls_options tls) {
    return controller_options(200, 1000, tls);
  };
  const auto missing = dir.file("no-such-cert.pem");
  auto error = construction_error(with({missing, pki.node_key, pki.ca, {}}));
  CHECK(error.find("certificate '" + missing + "'") != std::string::npos);
  CHECK(error.find("No such file") != std::string::npos);

  // A key that is not the certificate's.
  error =
      construction_error(with({pki.node_cert, pki.stranger_key, pki.ca, {}}));
  CHECK(error.find("key '" + pki.stranger_key + "'") != std::string::npos);
  CHECK(error.find("does not match") != std::string::npos);

  // An expired certificate (every peer refuses it with a TLS failure
  // that names no cause: an outside tester's node started with one).
  error =
      construction_error(with({pki.expired_cert, pki.expired_key, pki.ca, {}}));
  CHECK(error.find("certificate '" + pki.expired_cert + "'") !=
        std::string::npos);
  CHECK(error.find("expired on ") != std::string::npos);

  // A CA file without a certificate in it.
  const auto junk = dir.write("junk.pem", "not a certificate\n");
  error = construction_error(with({pki.node_cert, pki.node_key, junk, {}}));
  CHECK(error.find("CA file '" + junk + "'") != std::string::npos);
  error = construction_error(with({junk, pki.node_key, pki.ca, {}}));
  CHECK(error.find("certificate '" + junk + "'") != std::string::npos);
  // Both bad: the first flag's file is named (a stranger got the key's).
  error = construction_error(with({junk, junk, pki.ca, {}}));
  CHECK(error.find("certificate '" + junk + "'") != std::string::npos);

  // An encrypted key: no passphrase or a wrong one is refused (never a
  // terminal prompt); the right one is accepted.
  const auto encrypted = pki.node_key_encrypted;
  error = construction_error(with({pki.node_cert, encrypted, pki.ca, {}}));
  CHECK(error.find("key '" + encrypted + "'") != std::string::npos);
  CHECK(error.find("passphrase") != std::string::npos);
  error = construction_error(with({pki.node_cert, encrypted, pki.ca, "wrong"}));
  CHECK(error.find("key '" + encrypted + "'") != std::string::npos);
  CHECK(construction_error(
            with({pki.node_cert, encrypted, pki.ca, pki.passphrase}))
            .empty());

  // A FIFO (OpenSSL would open it blocking, for good) is refused at once.
  const auto fifo = dir.file("fifo.pem");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  error = construction_error(with({pki.node_cert, pki.node_key, fifo, {}}));
  CHECK(error.find("CA file '" + fifo + "': not a regular file") !=
        std::string::npos);

  // Mutual authentication: a certificate without a CA file is refused.
  error = construction_error(with({pki.node_cert, pki.node_key, "", {}}));
  CHECK(error.find("needs a CA file") != std::string::npos);

  // A node process fails the same way before serving anything.
  piped_child bad{{VITRINE_NODE_HELPER, "1", unique_token(), "200", "1000", "0",
                   missing, pki.node_key, pki.ca}};
  auto out = bad.read_until("\n", 20s);
  REQUIRE(out);
  CHECK(out->starts_with("error vitrine: TLS certificate '" + missing));
  CHECK(out->find("ready") == std::string::npos);

  CHECK(construction_error(with(controller_tls(pki))).empty());
}

TEST_CASE(
    "with TLS, serving on a non-loopback address needs no insecure; an "
    "encrypted key works with its passphrase",
    "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  // The node's key encrypted: CAF decrypts it with the passphrase for each
  // connection.
  vitrine::runtime node{
      controller_options(200, 1000,
                         tls_options{pki.node_cert, pki.node_key_encrypted,
                                     pki.ca, pki.passphrase})};
  vitrine::serve_options all;
  all.bind_address = "0.0.0.0";  // every local address; reached via loopback
  const auto port = node.serve(all);
  REQUIRE(port > 0);
  vitrine::runtime controller{
      controller_options(200, 1000, controller_tls(pki))};
  auto mirror = controller.connect({"127.0.0.1", port});
  CHECK(mirror.wait_connected(clock_type::now() + patience));
  // Without TLS the same bind stays refused.
  vitrine::runtime plain{controller_options(200, 1000)};
  CHECK_THROWS_AS(plain.serve(all), std::runtime_error);
}

namespace {

/// Whether `mirror` stays connected, with no new synchronisation, for
/// `window` (sampled every 5 ms).
bool stays_connected(const vitrine::node_handle& mirror,
                     std::chrono::milliseconds window) {
  const auto synchronisations = mirror.synchronisations();
  const auto until = clock_type::now() + window;
  bool connected = true;
  while (clock_type::now() < until) {
    connected = connected &&
                mirror.status() == vitrine::node_status::connected &&
                mirror.synchronisations() == synchronisations;
    std::this_thread::sleep_for(5ms);
  }
  return connected;
}

}  // namespace

// Found by a stranger: a TLS controller that also tried a node without TLS
// lost its good TLS node at every failed attempt (CAF 0.17's TLS session
// leaves OpenSSL's per-thread error queue full after a failed handshake,
// and the next session on the middleman's thread to read then fails).
TEST_CASE("a TLS controller's failed attempts do not cost its other nodes",
          "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  node_process good{2, 200, 2000, 0, node_tls(pki)};
  node_process plain{1, 200, 2000};
  controller_of controller{good.endpoint(), 200, 2000, 2, controller_tls(pki)};
  REQUIRE(mirror_converges(good, controller.mirror));
  vitrine::connect_options o;
  o.attempt_timeout = 500ms;
  auto bad = controller.rt.connect(plain.endpoint(), o);
  CHECK(stays_connected(controller.mirror, 3s));
  CHECK(bad.status() == vitrine::node_status::connecting);
  CHECK_THAT(bad.last_error(), Catch::Contains("TLS"));
}

// The node's side of the same: a client without a certificate the CA
// signed, trying again and again, must not cost the node its good
// controllers.
TEST_CASE("a TLS node's refused clients do not cost its good controllers",
          "[remote][tls]") {
  temp_dir dir;
  const test_pki pki{dir};
  node_process node{2, 200, 2000, 0, node_tls(pki)};
  controller_of good{node.endpoint(), 200, 2000, 2, controller_tls(pki)};
  REQUIRE(mirror_converges(node, good.mirror));
  vitrine::runtime stranger{controller_options(
      200, 2000, tls_options{pki.stranger_cert, pki.stranger_key, pki.ca, {}})};
  vitrine::connect_options o;
  o.attempt_timeout = 500ms;
  auto refused_mirror = stranger.connect(node.endpoint(), o);
  CHECK(stays_connected(good.mirror, 3s));
  CHECK(refused_mirror.status() == vitrine::node_status::connecting);
}

TEST_CASE(
    "a TLS controller whose key file went bad fails its attempts by name, "
    "and connects once the file is put back",
    "[remote][tls]") {
  // CAF reads a controller's files again for each connection and threw on
  // its OpenSSL actor when one no longer matched: every later attempt
  // failed, for good (an outside tester's `watch`).
  temp_dir dir;
  const test_pki pki{dir};
  const auto key = dir.file("rotating.key");
  std::filesystem::copy_file(pki.controller_key, key);
  vitrine::runtime rt{controller_options(
      200, 2000, tls_options{pki.controller_cert, key, pki.ca, {}})};
  std::filesystem::copy_file(pki.node_key, key,
                             std::filesystem::copy_options::overwrite_existing);
  node_process node{2, 200, 2000, 0, node_tls(pki)};
  vitrine::connect_options o;
  o.attempt_timeout = 500ms;
  auto mirror = rt.connect(node.endpoint(), o);
  CHECK_FALSE(mirror.wait_connected(clock_type::now() + 1500ms));
  CHECK_THAT(mirror.last_error(),
             Catch::Contains("TLS key '" + key + "'") &&
                 Catch::Contains("does not match the certificate"));
  std::filesystem::copy_file(pki.controller_key, key,
                             std::filesystem::copy_options::overwrite_existing);
  CHECK(mirror.wait_connected(clock_type::now() + 10s));
}

TEST_CASE("a TLS controller's attempts at a stopped node cost it no CPU",
          "[remote][tls]") {
  // CAF 0.17.6's TLS handshake spins while it waits on the peer: each
  // attempt at a stopped node took a core of the controller for its whole
  // timeout (1.36 s user + 1.19 s sys in a 2.5 s `status --node`), again
  // at every reconnection. The controller's own handshake comes first now
  // (remote_tls_greeting.hpp), waiting in poll().
  temp_dir dir;
  const test_pki pki{dir};
  node_process node{1, 200, 1000, 0, node_tls(pki)};
  REQUIRE(vitrine::test::freeze(node.child.pid()));
  vitrine::runtime rt{controller_options(200, 1000, controller_tls(pki))};
  vitrine::connect_options o;
  o.attempt_timeout = 1000ms;
  const auto cpu = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto ms = [](const timeval& t) {
      return t.tv_sec * 1000.0 + t.tv_usec / 1000.0;
    };
    return ms(u.ru_utime) + ms(u.ru_stime);
  };
  const double before = cpu();
  auto mirror = rt.connect(node.endpoint(), o);
  CHECK_FALSE(mirror.wait_connected(clock_type::now() + 2500ms));
  const double used_ms = cpu() - before;
  INFO("controller CPU over 2.5 s of attempts: " << used_ms << " ms");
  CHECK(used_ms < 500);
  CHECK_THAT(mirror.last_error(), Catch::Contains("no answer within 1000 ms"));
  ::kill(node.child.pid(), SIGCONT);
  CHECK(mirror.wait_connected(clock_type::now() + 10s));
}

TEST_CASE(
    "a TLS controller at a port that accepts and closes at once says so, "
    "and is not killed by SIGPIPE",
    "[remote][tls]") {
  // OpenSSL's socket BIO writes its alert with write(2): to a peer that
  // had closed, that raised SIGPIPE, which ended `status --node` (exit
  // 141) at such a port and at a node refusing more handshakes from the
  // address (an outside tester). The controller's own handshake now sends
  // with MSG_NOSIGNAL.
  temp_dir dir;
  const test_pki pki{dir};
  std::uint16_t port = 0;
  const int listener = listen_on_loopback(port);
  std::atomic<int> closed{0};
  std::thread closer{[&] {
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;  // shut down
      ::close(fd);         // at once: the ClientHello then meets a reset
      ++closed;
    }
  }};
  const auto why =
      refused({"127.0.0.1", port}, controller_tls(pki), 500ms, 1500ms);
  ::shutdown(listener, SHUT_RDWR);
  closer.join();
  ::close(listener);
  CHECK(closed >= 2);  // attempts came, and this process outlived them
  CHECK_THAT(why, Catch::Contains("no TLS handshake with the node (the port "
                                  "closed the connection"));
}

TEST_CASE(
    "a TLS server that completes the handshake and closes is no node, and "
    "the controller says so",
    "[remote][tls]") {
  // Before: "no TLS handshake with the node (the port closed the
  // connection ...)", although the handshake had completed (an outside
  // tester).
  temp_dir dir;
  const test_pki pki{dir};
  SSL_CTX* ctx = ::SSL_CTX_new(::TLS_server_method());
  REQUIRE(ctx != nullptr);
  REQUIRE(::SSL_CTX_use_certificate_chain_file(ctx, pki.node_cert.c_str()) ==
          1);
  REQUIRE(::SSL_CTX_use_PrivateKey_file(ctx, pki.node_key.c_str(),
                                        SSL_FILETYPE_PEM) == 1);
  REQUIRE(::SSL_CTX_load_verify_locations(ctx, pki.ca.c_str(), nullptr) == 1);
  ::SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  std::uint16_t port = 0;
  const int listener = listen_on_loopback(port);
  std::atomic<int> handshakes{0};
  std::thread server{[&] {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    SSL* ssl = ::SSL_new(ctx);
    ::SSL_set_fd(ssl, fd);
    if (::SSL_accept(ssl) == 1) ++handshakes;
    ::SSL_free(ssl);
    ::close(fd);  // no close_notify, nothing said
  }};
  const auto greeting = vitrine::detail::greet_tls_node(
      {"127.0.0.1", port}, controller_tls(pki), 5s, std::stop_token{});
  server.join();
  ::close(listener);
  ::SSL_CTX_free(ctx);
  CHECK(handshakes == 1);
  CHECK_THAT(greeting.error,
             Catch::StartsWith("no vitrine node answered (the connection was "
                               "closed after the TLS handshake"));
}
