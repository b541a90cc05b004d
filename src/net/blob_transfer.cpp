#include "net/blob_transfer.hpp"

#include "wire/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <unistd.h>

namespace swarm::net {

namespace {
const wire::Logger kLog("net");
} // namespace

wire::Digest toDigest(const wire::RawDigest& raw) noexcept {
    wire::Digest d;
    d.bytes = raw;
    return d;
}

wire::RawDigest toRaw(const wire::Digest& digest) noexcept {
    return digest.bytes;
}

namespace {

// A BlobChunk without its data, decoded by the same MSGPACK_DEFINE_MAP rules.
struct ChunkHead {
    std::uint32_t version = 1;
    wire::RawDigest digest{};
    std::uint64_t offset = 0;
    std::uint64_t total = 0;
    MSGPACK_DEFINE_MAP(version, digest, offset, total)
};

} // namespace

std::expected<ChunkView, wire::Error> chunkView(const wire::RawMessage& raw) {
    using wire::Error;
    if (raw.type != wire::MsgType::kBlobChunk)
        return std::unexpected(
            Error(Error::Code::kMalformed, std::string("expected ") +
                                               wire::msgTypeName(wire::MsgType::kBlobChunk) +
                                               ", got " + wire::msgTypeName(raw.type)));
    auto head = wire::convertAs<ChunkHead>(raw.body, wire::msgTypeName(wire::MsgType::kBlobChunk));
    if (!head)
        return std::unexpected(head.error());
    ChunkView view{head->digest, head->offset, head->total, {}};
    // As MSGPACK_DEFINE_MAP reads `data` into a byte vector: the first key of
    // that name wins (convertAs above has checked every key is a string);
    // its value must be bin or str.
    const msgpack::object_map& map = raw.body.via.map;
    for (std::uint32_t i = 0; i < map.size; ++i) {
        const msgpack::object& key = map.ptr[i].key;
        if (std::string_view(key.via.str.ptr, key.via.str.size) != "data")
            continue;
        const msgpack::object& val = map.ptr[i].val;
        if (val.type == msgpack::type::BIN)
            view.data = wire::ByteView(reinterpret_cast<const std::uint8_t*>(val.via.bin.ptr),
                                       val.via.bin.size);
        else if (val.type == msgpack::type::STR)
            view.data = wire::ByteView(reinterpret_cast<const std::uint8_t*>(val.via.str.ptr),
                                       val.via.str.size);
        else
            return std::unexpected(
                Error(Error::Code::kMalformed, std::string(wire::msgTypeName(raw.type)) +
                                                   ": wrong shape (data is not bytes)"));
        break;
    }
    if (head->version == 0)
        return std::unexpected(Error(Error::Code::kUnknownType, "schema version 0"));
    if (auto ok = wire::judgeChunk(view.digest, view.offset, view.total, view.data.size()); !ok)
        return std::unexpected(ok.error());
    return view;
}

std::expected<void, Error> sendBlob(Session& session, BlobStore& store,
                                    const wire::Digest& digest) {
    auto file = store.open(digest);
    if (!file) {
        wire::ErrorMsg missing;
        missing.code = kBlobMissingCode;
        missing.message = digest.str();
        if (auto sent = session.send(missing); !sent)
            return sent;
        return std::unexpected(file.error());
    }
    return sendBlobFile(session, digest, *file);
}

std::expected<void, Error> sendBlobFile(Session& session, const wire::Digest& digest,
                                        const BlobFile& blob) {
    const BlobFile* file = &blob;
    wire::BlobChunk chunk;
    chunk.digest = toRaw(digest);
    chunk.total = file->size;
    std::uint64_t offset = 0;
    do {
        std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(kBlobChunkSize, file->size - offset));
        chunk.offset = offset;
        chunk.data.resize(n);
        std::size_t got = 0;
        while (got < n) {
            ssize_t r = ::pread(file->fd.get(), chunk.data.data() + got, n - got,
                                static_cast<off_t>(offset + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                // The sender's own file is broken: end the stream so the
                // receiver fails cleanly instead of waiting.
                session.abort();
                return std::unexpected(
                    Error(Error::Code::kIo, "read blob " + digest.str() + ": " +
                                                (r < 0 ? std::strerror(errno) : "short file")));
            }
            got += static_cast<std::size_t>(r);
        }
        if (auto sent = session.send(chunk); !sent)
            return sent;
        offset += n;
    } while (offset < file->size);
    return {};
}

std::expected<void, Error> serveBlobs(Session& session, BlobStore& store,
                                      const wire::NeedBlobs& request) {
    for (const auto& raw : request.digests) {
        auto sent = sendBlob(session, store, toDigest(raw));
        if (!sent && sent.error().code != Error::Code::kNotFound)
            return sent;
    }
    return {};
}

std::expected<void, Error> receiveBlob(Session& session, BlobStore& store,
                                       const wire::Digest& digest, const FetchOptions& options) {
    std::optional<BlobWriter> writer;
    for (;;) {
        auto raw = session.receive(options.idle);
        if (!raw) {
            if (raw.error().code == Error::Code::kTimeout)
                session.abort(); // the peer owes us bytes; do not resynchronise
            return std::unexpected(raw.error());
        }
        if (raw->type == wire::MsgType::kError) {
            auto err = session.bodyOrBreak<wire::ErrorMsg>(*raw);
            if (!err)
                return std::unexpected(err.error());
            if (err->code == kBlobMissingCode && !writer)
                return std::unexpected(
                    Error(Error::Code::kNotFound, "peer does not have " + digest.str()));
            session.abort();
            return std::unexpected(
                Error(Error::Code::kProtocol, "peer error during blob transfer: " + err->message));
        }
        if (raw->type != wire::MsgType::kBlobChunk) {
            if (options.onOther && options.onOther(*raw))
                continue;
            session.abort();
            return std::unexpected(Error(Error::Code::kProtocol, std::string("unexpected ") +
                                                                     wire::msgTypeName(raw->type) +
                                                                     " during blob transfer"));
        }
        auto chunk = chunkView(*raw);
        if (!chunk) {
            session.abort();
            return std::unexpected(fromWire(chunk.error()));
        }
        auto protocol = [&](std::string why) -> std::expected<void, Error> {
            session.abort();
            return std::unexpected(Error(Error::Code::kProtocol, why + " (" + digest.str() + ")"));
        };
        if (toDigest(chunk->digest) != digest)
            return protocol("chunk of another blob");
        if (!writer) {
            if (chunk->total > options.maxBlobBytes) {
                session.abort();
                return std::unexpected(
                    Error(Error::Code::kTooLarge, "blob of " + std::to_string(chunk->total) +
                                                      " bytes is over the fetch limit"));
            }
            auto w = store.begin(digest, chunk->total);
            if (!w) {
                session.abort();
                return std::unexpected(w.error());
            }
            writer.emplace(std::move(*w));
        }
        if (chunk->total != writer->size() || chunk->offset != writer->written())
            return protocol("chunk out of order");
        if (chunk->data.size() > kBlobChunkSize || (chunk->data.empty() && chunk->total != 0))
            return protocol("chunk of a bad size");
        if (auto ok = writer->append(chunk->data); !ok) {
            session.abort();
            return ok;
        }
        if (writer->written() == chunk->total) {
            auto committed = writer->commit();
            if (!committed)
                kLog.warn("blob {} rejected: {}", digest.str(), describe(committed.error()));
            return committed;
        }
    }
}

std::expected<void, Error> fetchBlobs(Session& session, BlobStore& store,
                                      std::span<const wire::Digest> wanted,
                                      const FetchOptions& options) {
    std::vector<wire::Digest> todo = store.missing(wanted);
    if (options.usable) {
        std::set<wire::Digest> queued(todo.begin(), todo.end());
        for (const auto& d : wanted)
            if (!queued.contains(d) && !options.usable(d) && queued.insert(d).second)
                todo.push_back(d);
    }
    std::optional<Error> notFound;
    for (int round = 0; !todo.empty(); ++round) {
        std::vector<wire::Digest> corrupt;
        for (std::size_t start = 0; start < todo.size(); start += kMaxNeedBlobs) {
            std::size_t end = std::min(todo.size(), start + kMaxNeedBlobs);
            wire::NeedBlobs need;
            for (std::size_t i = start; i < end; ++i)
                need.digests.push_back(toRaw(todo[i]));
            if (auto sent = session.send(need); !sent)
                return sent;
            for (std::size_t i = start; i < end; ++i) {
                auto got = receiveBlob(session, store, todo[i], options);
                if (got)
                    continue;
                if (got.error().code == Error::Code::kCorrupt && !session.broken()) {
                    corrupt.push_back(todo[i]);
                    continue;
                }
                // Keep reading the rest of the batch so the stream stays in
                // step; report the missing blob at the end.
                if (got.error().code == Error::Code::kNotFound && !session.broken()) {
                    if (!notFound)
                        notFound = got.error();
                    continue;
                }
                return got;
            }
        }
        if (!corrupt.empty() && round >= options.retries)
            return std::unexpected(Error(Error::Code::kCorrupt, "blob " + corrupt.front().str() +
                                                                    " failed verification after " +
                                                                    std::to_string(round + 1) +
                                                                    " attempt(s)"));
        if (!corrupt.empty())
            kLog.info("refetching {} blob(s) that failed verification", corrupt.size());
        todo = std::move(corrupt);
    }
    if (notFound)
        return std::unexpected(*notFound);
    return {};
}

} // namespace swarm::net
