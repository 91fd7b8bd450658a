// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
// A small HTTP/1.1 server for Prometheus scrapes: GET /metrics on one thread, one
// request per connection, the exposition rendered per scrape. Enough for Prometheus
// and curl; not a general web server.
#include <tcpxi/stats.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <tcpxi/error.hpp>

namespace tcpxi {

struct MetricsServer::Impl {
	std::string address;
	std::function<std::string()> render;
	std::string host;
	uint16_t port = 0;
	int listen_fd = -1;
	int wake[2] = {-1, -1};
	std::thread thread;
	bool running = false;

	void serve();
	void handle(int fd);
};

namespace {

// "HOST:PORT", "[V6]:PORT", ":PORT", "PORT".
void split_address(const std::string &address, std::string &host, std::string &port)
{
	if (!address.empty() && address.front() == '[') {
		auto close = address.find(']');
		if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
			throw Error(ErrorKind::usage, "bad metrics address '" + address + "': use [V6ADDR]:PORT");
		host = address.substr(1, close - 1);
		port = address.substr(close + 2);
		return;
	}
	auto colon = address.rfind(':');
	if (colon == std::string::npos) {
		host = "";
		port = address;
	} else {
		host = address.substr(0, colon);
		port = address.substr(colon + 1);
	}
	if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
		throw Error(ErrorKind::usage, "bad metrics address '" + address + "': use HOST:PORT, e.g. 127.0.0.1:9464");
}

void send_all(int fd, const std::string &data)
{
	size_t done = 0;
	while (done < data.size()) {
		ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		done += n;
	}
}

std::string response(int code, const char *reason, const std::string &type, const std::string &body, bool head)
{
	std::string r = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n";
	r += "Content-Type: " + type + "\r\n";
	r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
	r += "Connection: close\r\n\r\n";
	if (!head)
		r += body;
	return r;
}

} // namespace

MetricsServer::MetricsServer(std::string address, std::function<std::string()> render) : impl_(new Impl)
{
	impl_->address = std::move(address);
	impl_->render = std::move(render);
}

std::unique_ptr<MetricsServer> MetricsServer::for_instance(const Options &options, const std::string &address)
{
	return std::make_unique<MetricsServer>(address, [options] {
		Tcpxi tcpxi(options);
		return prometheus_text(read_stats(tcpxi));
	});
}

MetricsServer::~MetricsServer()
{
	stop();
}

void MetricsServer::start()
{
	Impl &s = *impl_;
	if (s.running)
		return;
	std::string port;
	split_address(s.address, s.host, port);
	addrinfo hints {};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	addrinfo *res = nullptr;
	int rc = getaddrinfo(s.host.empty() ? nullptr : s.host.c_str(), port.c_str(), &hints, &res);
	if (rc)
		throw Error(ErrorKind::usage, "bad metrics address '" + s.address + "': " + gai_strerror(rc));
	// Prefer IPv6 "any" (dual stack) when no host is given.
	addrinfo *chosen = res;
	for (addrinfo *a = res; a && s.host.empty(); a = a->ai_next)
		if (a->ai_family == AF_INET6)
			chosen = a;
	int fd = socket(chosen->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		throw_errno(errno, "cannot create the metrics socket");
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (chosen->ai_family == AF_INET6 && s.host.empty())
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, chosen->ai_addr, chosen->ai_addrlen) || listen(fd, 64)) {
		int err = errno;
		close(fd);
		freeaddrinfo(res);
		throw_errno(err, "cannot listen on " + s.address, "is another exporter on that port?");
	}
	freeaddrinfo(res);
	sockaddr_storage bound {};
	socklen_t len = sizeof(bound);
	getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &len);
	s.port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
						   : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
	if (pipe2(s.wake, O_CLOEXEC)) {
		close(fd);
		throw_errno(errno, "cannot create a pipe");
	}
	s.listen_fd = fd;
	s.running = true;
	s.thread = std::thread([&s] { s.serve(); });
}

void MetricsServer::stop()
{
	Impl &s = *impl_;
	if (!s.running)
		return;
	(void)!write(s.wake[1], "x", 1);
	s.thread.join();
	close(s.listen_fd);
	close(s.wake[0]);
	close(s.wake[1]);
	s.listen_fd = s.wake[0] = s.wake[1] = -1;
	s.running = false;
}

uint16_t MetricsServer::port() const
{
	return impl_->port;
}

std::string MetricsServer::url() const
{
	std::string host = impl_->host.empty() ? "localhost" : impl_->host;
	if (host.find(':') != std::string::npos)
		host = "[" + host + "]";
	return "http://" + host + ":" + std::to_string(impl_->port) + "/metrics";
}

void MetricsServer::Impl::serve()
{
	for (;;) {
		pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (fds[1].revents)
			return;
		if (!(fds[0].revents & POLLIN))
			continue;
		int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		timeval tv{5, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		handle(fd);
		close(fd);
	}
}

void MetricsServer::Impl::handle(int fd)
{
	std::string request;
	char buf[4096];
	while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		request.append(buf, n);
	}
	auto line_end = request.find("\r\n");
	std::string line = request.substr(0, line_end);
	auto sp1 = line.find(' '), sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
	if (sp1 == std::string::npos || sp2 == std::string::npos) {
		send_all(fd, response(400, "Bad Request", "text/plain", "bad request\n", false));
		return;
	}
	std::string method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
	bool head = method == "HEAD";
	if (method != "GET" && !head) {
		send_all(fd, response(405, "Method Not Allowed", "text/plain", "GET only\n", false));
		return;
	}
	std::string path = target.substr(0, target.find('?'));
	if (path == "/metrics") {
		std::string body;
		try {
			body = render();
		} catch (const std::exception &e) {
			send_all(fd, response(500, "Internal Server Error", "text/plain", std::string(e.what()) + "\n", head));
			return;
		}
		send_all(fd, response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head));
	} else if (path == "/") {
		send_all(fd, response(200, "OK", "text/html",
				      "<html><body><a href=\"/metrics\">tcpxi metrics</a></body></html>\n", head));
	} else {
		send_all(fd, response(404, "Not Found", "text/plain", "see /metrics\n", head));
	}
}

} // namespace tcpxi
