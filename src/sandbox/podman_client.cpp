#include "sandbox/podman_client.hpp"

#include <curl/curl.h>

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <exception>

namespace swarm::sandbox {

namespace {

struct EasyDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct ListDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

struct SinkContext {
    const PodmanClient::Sink* sink;
    const std::function<void(long)>* onHeaders;
    CURL* easy;
    std::exception_ptr error;
    bool stopped = false;
};

extern "C" size_t headerThunk(char* data, size_t size, size_t count, void* user) {
    auto* ctx = static_cast<SinkContext*>(user);
    size_t n = size * count;
    try {
        std::string_view line(data, n);
        if ((line == "\r\n" || line == "\n") && ctx->onHeaders && *ctx->onHeaders) {
            long status = 0;
            curl_easy_getinfo(ctx->easy, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 200) // not an interim 1xx block
                (*ctx->onHeaders)(status);
        }
        return n;
    } catch (...) {
        ctx->error = std::current_exception();
        return 0;
    }
}

// libcurl callback: must not let an exception escape into C code.
// Feeds an upload from Request::bodyFile; a read error aborts the transfer.
extern "C" size_t readThunk(char* data, size_t size, size_t count, void* user) {
    const int fd = *static_cast<const int*>(user);
    for (;;) {
        const ssize_t n = ::read(fd, data, size * count);
        if (n >= 0)
            return static_cast<size_t>(n);
        if (errno != EINTR)
            return CURL_READFUNC_ABORT;
    }
}

extern "C" size_t writeThunk(char* data, size_t size, size_t count, void* user) {
    auto* ctx = static_cast<SinkContext*>(user);
    size_t n = size * count;
    try {
        if (!(*ctx->sink)(std::string_view(data, n))) {
            ctx->stopped = true;
            return 0;
        }
        return n;
    } catch (...) {
        ctx->error = std::current_exception();
        return 0;
    }
}

} // namespace

CurlGlobal::CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        throw std::runtime_error("curl_global_init failed");
}
CurlGlobal::~CurlGlobal() {
    curl_global_cleanup();
}

struct PodmanClient::Handle {
    Easy easy;
};

PodmanClient::PodmanClient(std::filesystem::path socket, std::string apiPrefix)
    : socket_(std::move(socket)), apiPrefix_(std::move(apiPrefix)),
      handle_(std::make_unique<Handle>()) {
    handle_->easy.reset(curl_easy_init());
    if (!handle_->easy)
        throw std::runtime_error("curl_easy_init failed");
}

PodmanClient::~PodmanClient() = default;
PodmanClient::PodmanClient(PodmanClient&&) noexcept = default;
PodmanClient& PodmanClient::operator=(PodmanClient&&) noexcept = default;

std::string PodmanClient::escape(std::string_view value) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

long PodmanClient::stream(const Request& request, const Sink& sink) {
    CURL* c = handle_->easy.get();
    curl_easy_reset(c);
    std::string url = "http://d" + (request.raw ? request.path : apiPrefix_ + request.path);
    SinkContext ctx{&sink, &request.onHeaders, c, nullptr};
    HeaderList headers;
    auto addHeader = [&](const std::string& h) {
        curl_slist* l = curl_slist_append(headers.get(), h.c_str());
        if (!l)
            throw std::bad_alloc();
        (void)headers.release();
        headers.reset(l);
    };
    addHeader("Expect:"); // no 100-continue round trip for uploads
    std::string method(request.method);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &writeThunk);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &headerThunk);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ctx);
    if (method == "GET") {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        if (method == "POST" || method == "PUT") {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            if (request.bodyFile >= 0) {
                curl_easy_setopt(c, CURLOPT_READFUNCTION, &readThunk);
                curl_easy_setopt(c, CURLOPT_READDATA, const_cast<int*>(&request.bodyFile));
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                 static_cast<curl_off_t>(request.bodyFileSize));
            } else {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                                 request.body.empty() ? "" : request.body.data());
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                 static_cast<curl_off_t>(request.body.size()));
            }
            addHeader("Content-Type: " + std::string(request.contentType));
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    CURLcode rc = curl_easy_perform(c);
    if (ctx.error)
        std::rethrow_exception(ctx.error);
    if (rc == CURLE_WRITE_ERROR && ctx.stopped)
        rc = CURLE_OK;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        throw TimeoutError("podman: " + method + " " + request.path + " timed out after " +
                           std::to_string(request.timeout.count()) + " ms");
    if (rc != CURLE_OK)
        throw base::Failure(base::PodmanErrc::kUnreachable,
                            "podman: " + method + " " + request.path + " via " + socket_.string() +
                                ": " + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

HttpResponse PodmanClient::call(const Request& request, std::uint64_t maxBody) {
    HttpResponse r;
    r.status = stream(request, [&](std::string_view chunk) {
        std::uint64_t room = maxBody - r.body.size();
        if (chunk.size() > room) {
            r.body.append(chunk.substr(0, room));
            r.truncated = true;
            return false;
        }
        r.body.append(chunk);
        return true;
    });
    return r;
}

bool PodmanClient::ping(std::chrono::milliseconds timeout) noexcept {
    try {
        Request req;
        req.path = "/_ping";
        req.raw = true;
        req.timeout = timeout;
        auto r = call(req, 64);
        return r.status == 200 && r.body == "OK";
    } catch (...) {
        return false;
    }
}

} // namespace swarm::sandbox
