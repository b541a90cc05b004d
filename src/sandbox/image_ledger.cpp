#include "sandbox/image_ledger.hpp"

#include "wire/home.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace swarm::sandbox {

std::vector<std::string> imagesToRemove(const std::vector<KeptImage>& kept,
                                        const ImageLimits& limits, std::int64_t nowMs) {
    std::vector<const KeptImage*> order;
    std::uint64_t total = 0;
    for (const auto& k : kept) {
        order.push_back(&k);
        total += k.bytes;
    }
    std::stable_sort(order.begin(), order.end(), [](const KeptImage* a, const KeptImage* b) {
        return a->lastUsedMs < b->lastUsedMs;
    });
    std::vector<std::string> out;
    std::set<const KeptImage*> gone;
    for (const auto* k : order) {
        if (k->running == 0 && nowMs - k->lastUsedMs > limits.maxAgeMs) {
            out.push_back(k->name);
            gone.insert(k);
            total -= k->bytes;
        }
    }
    for (const auto* k : order) {
        if (total <= limits.maxBytes)
            break;
        if (k->running == 0 && !gone.contains(k)) {
            out.push_back(k->name);
            total -= k->bytes;
        }
    }
    return out;
}

ImageLedger::ImageLedger(std::filesystem::path file) : file_(std::move(file)) {
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec))
        return;
    std::ifstream in(file_);
    if (!in)
        throw std::system_error(errno, std::generic_category(), "cannot read " + file_.string());
    // One image a line: name, id, bytes, last use (ms), tab-separated.
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        KeptImage k;
        if (std::getline(fields, k.name, '\t') && std::getline(fields, k.id, '\t') &&
            (fields >> k.bytes >> k.lastUsedMs) && !k.name.empty() && !k.id.empty())
            images_[k.name] = k;
    }
}

void ImageLedger::saveLocked() {
    std::string text;
    for (const auto& [name, k] : images_)
        text += k.name + "\t" + k.id + "\t" + std::to_string(k.bytes) + "\t" +
                std::to_string(k.lastUsedMs) + "\n";
    wire::writeFileAtomic(file_, text, 0600);
}

void ImageLedger::loaded(const std::string& name, const std::string& id, std::uint64_t bytes,
                         std::int64_t nowMs) {
    std::lock_guard lock(mutex_);
    auto& k = images_[name];
    const int running = k.id == id ? k.running : 0;
    k = KeptImage{name, id, bytes, nowMs, running};
    saveLocked();
}

void ImageLedger::started(const std::string& id, std::int64_t nowMs) {
    std::lock_guard lock(mutex_);
    bool known = false;
    for (auto& [name, k] : images_)
        if (k.id == id) {
            ++k.running;
            k.lastUsedMs = std::max(k.lastUsedMs, nowMs);
            known = true;
        }
    if (known)
        try {
            saveLocked();
        } catch (const std::exception&) {
        }
}

void ImageLedger::ended(const std::string& id, std::int64_t nowMs) {
    std::lock_guard lock(mutex_);
    bool known = false;
    for (auto& [name, k] : images_)
        if (k.id == id) {
            k.running = std::max(0, k.running - 1);
            k.lastUsedMs = std::max(k.lastUsedMs, nowMs);
            known = true;
        }
    if (!known)
        return;
    ended_ = true;
    try {
        saveLocked();
    } catch (const std::exception&) {
    }
}

std::vector<KeptImage> ImageLedger::collect(const ImageLimits& limits, std::int64_t nowMs,
                                            const Remover& remove) {
    std::lock_guard lock(mutex_);
    std::vector<KeptImage> all;
    for (const auto& [name, k] : images_)
        all.push_back(k);
    std::vector<KeptImage> removed;
    struct Save {
        ImageLedger& l;
        const std::vector<KeptImage>& removed;
        ~Save() {
            if (!removed.empty())
                try {
                    l.saveLocked();
                } catch (const std::exception&) {
                }
        }
    } save{*this, removed};
    for (const auto& name : imagesToRemove(all, limits, nowMs)) {
        if (!remove(name))
            continue;
        removed.push_back(images_.at(name));
        images_.erase(name);
    }
    return removed;
}

std::vector<KeptImage> ImageLedger::images() const {
    std::lock_guard lock(mutex_);
    std::vector<KeptImage> out;
    for (const auto& [name, k] : images_)
        out.push_back(k);
    return out;
}

std::uint64_t ImageLedger::bytes() const {
    std::lock_guard lock(mutex_);
    std::uint64_t total = 0;
    for (const auto& [name, k] : images_)
        total += k.bytes;
    return total;
}

bool ImageLedger::takeEnded() {
    std::lock_guard lock(mutex_);
    return std::exchange(ended_, false);
}

} // namespace swarm::sandbox
